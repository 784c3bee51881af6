"""The lease protocol's model (model/lease.pml), checked with spin.

The model's timings are computed here by ``WorkerConfig`` (one tick stands for one second)
and handed to spin, so the model checks the code's own formulas. Each check compiles spin's
verifier with gcc and runs it to completion: safety (never two children of a job alive, one
terminal outcome), liveness under weak fairness (every job ends), and variants with a known
bug or one tick less of margin, which spin must catch. See model/README.md.

CI needs spin and gcc: ``apt-get install -y -qq spin gcc``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from supervisor import WorkerConfig

MODEL = Path(__file__).resolve().parent.parent / "model" / "lease.pml"

#: The model's worker timings, in seconds of WorkerConfig (= ticks of the model).
CONFIG = WorkerConfig(
    stale_after=7.0,
    heartbeat_interval=1.0,
    kill_grace=1.0,
    poll_interval=1.0,
    max_poll_interval=1.0,
    reaper_interval=1.0,
    shutdown_grace=1.0,
)
#: The slowest store call the model explores (the code allows up to ``store_timeout``).
CALL_TIMEOUT = 1

#: A search of the whole state space: never cut short by the depth limit or memory.
PAN_DEPTH = 1_000_000
SPIN_TIMEOUT = 180

#: A bounded environment that spin can check in seconds (model/README.md has the figures
#: of the full one): one fault (crash, pause or cut) for one worker, one lost message, one
#: cancel; or one fault for each worker.
ONE_FAULTY = {"FAULTS": 1, "FAULTS1": 0, "LOSSES": 1, "CANCELS": 1}
BOTH_FAULTY = {"FAULTS": 1, "FAULTS1": 1, "LOSSES": 0, "CANCELS": 0}
#: Enough to meet each bug variant's counterexample.
SMALL = {"FAULTS": 1, "FAULTS1": 0, "LOSSES": 0, "CANCELS": 0}

TWO_CHILDREN = re.compile(r"assertion violated\s+!\(\(\(child\[")


def ticks(seconds: float) -> int:
    assert float(seconds).is_integer(), f"{seconds} s is not a whole number of ticks"
    return int(seconds)


def timings() -> dict[str, int]:
    """The model's timing constants, from the code's formulas."""
    return {
        "HB": ticks(CONFIG.heartbeat_interval),
        "KILL": ticks(CONFIG.kill_grace),
        "STALE": ticks(CONFIG.stale_after),
        "FENCE_AFTER": ticks(CONFIG.fence_after),
        "SENTINEL_AFTER": ticks(CONFIG.sentinel_after),
        "CALL_TIMEOUT": CALL_TIMEOUT,
    }


def model_defaults() -> dict[str, int]:
    """The model's own default constants (its ``#define`` lines), evaluated."""
    raw = dict(re.findall(r"^#define (\w+) (.+?)\s*(?:/\*.*)?$", MODEL.read_text(), re.M))
    values: dict[str, int] = {}

    def value(name: str) -> int:
        if name not in values:
            expr = re.sub(r"[A-Z_]{2,}", lambda m: str(value(m.group())), raw[name])
            assert re.fullmatch(r"[\d\s()+*-]+", expr), f"{name}: {raw[name]}"
            values[name] = int(eval(expr))  # digits and + - * ( ) only, checked above
        return values[name]

    return {name: value(name) for name in timings()}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: apt-get install -y {name} (CI installs it)")
    return path


def run(workdir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=workdir, capture_output=True, text=True, timeout=SPIN_TIMEOUT, check=False
    )


def spin(
    workdir: Path,
    defines: dict[str, int],
    *flags: str,
    liveness: bool = False,
    fair: bool = True,
    quick: bool = False,
) -> str:
    """Run spin's verifier on the model with ``defines`` and ``flags``; return its report.

    ``quick``: a search expected to end soon (a counterexample) is not worth optimising."""
    dflags = [f"-D{k}={v}" for k, v in {**timings(), **defines}.items()] + list(flags)
    generated = run(workdir, tool("spin"), "-a", *dflags, str(MODEL))
    assert generated.returncode == 0, generated.stdout + generated.stderr
    cflags = ["-DNFAIR=3"] if liveness else ["-DSAFETY", "-DNOCLAIM"]
    built = run(workdir, tool("gcc"), "-O0" if quick else "-O1", *cflags, "-o", "pan", "pan.c")
    assert built.returncode == 0, built.stderr
    args = ["-a", *(["-f"] if fair else [])] if liveness else []
    checked = run(workdir, "./pan", f"-m{PAN_DEPTH}", *args)
    report = checked.stdout + checked.stderr
    print(" ".join(dflags), "\n", report)  # pytest shows it when a test fails
    assert "depth too small" not in report, report
    assert "out of memory" not in report, report
    return report


def errors(report: str) -> int:
    found = re.search(r"errors: (\d+)", report)
    assert found is not None, report
    return int(found.group(1))


def test_model_constants_follow_the_code() -> None:
    """The model's timings are WorkerConfig's formulas, and its calls fit the store timeout."""
    constants = timings()
    assert constants["FENCE_AFTER"] == constants["STALE"] - 2 * constants["HB"] - constants["KILL"]
    assert constants["SENTINEL_AFTER"] == constants["STALE"] - constants["HB"]
    assert 0 < constants["HB"] < constants["FENCE_AFTER"] < constants["SENTINEL_AFTER"]
    assert CALL_TIMEOUT <= CONFIG.store_timeout
    # Run by hand without -D flags, the model uses the same numbers.
    assert model_defaults() == constants


def test_safety_with_one_faulty_worker(tmp_path: Path) -> None:
    """One worker crashes, pauses or is cut off, a message is lost, a user cancels: safe."""
    report = spin(tmp_path, ONE_FAULTY)
    assert "Full statespace search" in report
    assert "assertion violations\t+" in report
    assert errors(report) == 0


def test_safety_with_two_faulty_workers(tmp_path: Path) -> None:
    """Each worker crashes, pauses or is cut off once: never two children alive."""
    report = spin(tmp_path, BOTH_FAULTY)
    assert "Full statespace search" in report
    assert errors(report) == 0


def test_every_job_ends_under_weak_fairness(tmp_path: Path) -> None:
    """With weak fairness, the job reaches a terminal state whatever the faults do."""
    report = spin(tmp_path, ONE_FAULTY, liveness=True)
    assert "acceptance   cycles \t+ (fairness enabled)" in report
    assert "never claim         \t+ (terminates)" in report
    assert errors(report) == 0


def test_without_fairness_a_job_may_never_end(tmp_path: Path) -> None:
    """Without fairness spin finds a run that never ends, so the liveness check has teeth."""
    report = spin(tmp_path, SMALL, liveness=True, fair=False, quick=True)
    assert "acceptance cycle" in report
    assert errors(report) >= 1


@pytest.mark.parametrize(
    ("defines", "flags"),
    [
        pytest.param({}, ["-DBUG_ANSWER_TIME"], id="confirmed-when-answered"),
        pytest.param({}, ["-DBUG_ARM_BEAT"], id="arming-is-a-beat"),
        pytest.param({}, ["-DBUG_START_UNVETTED"], id="child-runs-before-armed"),
        pytest.param({"SENTINEL_AFTER": ticks(CONFIG.stale_after)}, [], id="sentinel-tick-late"),
        pytest.param(
            {"FENCE_AFTER": ticks(CONFIG.fence_after) + 1},
            ["-DNO_SENTINEL", "-DNO_PAUSE"],
            id="fence-tick-late",
        ),
    ],
)
def test_spin_catches_a_broken_protocol(
    tmp_path: Path, defines: dict[str, int], flags: list[str]
) -> None:
    """A known bug, or one tick less of margin, lets two children of the job run at once."""
    report = spin(tmp_path, {**SMALL, **defines}, *flags, quick=True)
    assert TWO_CHILDREN.search(report), report
    assert errors(report) >= 1


def test_self_fence_alone_is_safe_without_pauses(tmp_path: Path) -> None:
    """Without a sentinel, the worker's own fence suffices while the worker is not paused."""
    report = spin(tmp_path, ONE_FAULTY, "-DNO_SENTINEL", "-DNO_PAUSE")
    assert errors(report) == 0
