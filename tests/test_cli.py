"""Every CLI command through a real subprocess, as a script or a person would use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO
from .workers import TIMINGS

POLL_KEYS = {
    "id",
    "type",
    "status",
    "stage",
    "stages",
    "progress",
    "indeterminate",
    "queue_position",
    "attempt",
    "error",
    "error_kind",
    "created_at",
    "updated_at",
}
COMMANDS = [
    "run",
    "submit",
    "status",
    "list",
    "cancel",
    "resubmit",
    "history",
    "watch",
    "demo",
    "prune",
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("TURSO_")},
        "JOBS_DB_PATH": str(tmp_path / "jobs.db"),
        "SUPERVISOR_OUTPUT_DIR": str(tmp_path / "out"),
    }


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supervisor", *args],
        cwd=env.get("CWD", REPO),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "run", *TIMINGS],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=log,
    )
    yield proc
    proc.terminate()
    proc.wait(30)
    log.close()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(env: dict[str, str], command: str) -> None:
    """`COMMAND --help` explains itself and exits 0."""
    result = cli(env, command, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout


def test_submit_prints_only_the_id_and_status_json_has_the_poll_keys(
    env: dict[str, str],
) -> None:
    """submit's stdout is exactly the id; status --json and list --json are parseable."""
    result = cli(env, "submit", "tone", "--payload", '{"seconds": 1}')
    assert result.returncode == 0 and result.stdout.strip().isdigit()
    job_id = result.stdout.strip()
    assert result.stdout == f"{job_id}\n"
    status = json.loads(cli(env, "status", job_id, "--json").stdout)
    assert POLL_KEYS <= set(status) and status["status"] == "pending"
    assert status["queue_position"] == 1 and status["stages"] is None
    listing = json.loads(cli(env, "list", "--json", "--status", "pending").stdout)
    assert [v["id"] for v in listing] == [int(job_id)]
    human = cli(env, "status", job_id)
    assert "pending, 0 ahead" in human.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["status", "42"], "job 42 not found"),
        (["status", "abc"], "a job id is a positive integer"),
        (["cancel", "-1"], "a job id is a positive integer"),
        (["submit", "nope"], "unknown job type 'nope'"),
        (["submit", "tone", "--payload", "{bad json"], "--payload is not valid JSON"),
        (["submit", "tone", "--payload", '{"x": "' + "y" * 70_000 + '"}'], "over the limit"),
        (["resubmit", "7"], "job 7 not found"),
        (["run", "--heartbeat-interval", "30", "--stale-after", "40"], "stale_after"),
    ],
)
def test_errors_are_one_clear_line(env: dict[str, str], args: list[str], message: str) -> None:
    """Bad input: one line on stderr naming the problem, exit 2, no traceback."""
    result = cli(env, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr


DEEP = "[" * 3000 + "]" * 3000


@pytest.mark.parametrize(
    "args, message",
    [
        (["submit", "tone", "--payload", '"\\ud800"'], "not valid Unicode"),
        (["submit", "tone", "--payload", "9" * 5000], "--payload is not valid JSON"),
        (["submit", "tone", "--payload", DEEP], "--payload is nested too deeply"),
        (["status", "9" * 25], "positive integer below 2**63"),
        (["cancel", "9" * 25], "positive integer below 2**63"),
        (["watch", "1", "--interval", "-1"], "--interval"),
        (["watch", "1", "--interval", "0"], "--interval"),
        (["run", "--worker-id", "a\tb"], "printable"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    env: dict[str, str], args: list[str], message: str
) -> None:
    """Input the store cannot take is refused with one line, exit 2, and no row written."""
    result = cli(env, *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr
    assert json.loads(cli(env, "list", "--json").stdout) == []


@pytest.mark.parametrize("command", [["list"], ["run"]])
def test_a_database_path_that_is_not_sqlite_is_one_line(
    env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    """JOBS_DB_PATH naming another kind of file: one line, exit 2, the file untouched."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 200)
    result = cli({**env, "JOBS_DB_PATH": str(notes)}, *command)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "is not a SQLite database" in result.stderr
    assert notes.read_text() == "not a database\n" * 200


def test_a_token_with_a_line_break_is_one_line(env: dict[str, str]) -> None:
    """A malformed TURSO_AUTH_TOKEN is refused at once, named, and never shown."""
    bad = {**env, "TURSO_DATABASE_URL": "http://127.0.0.1:9", "TURSO_AUTH_TOKEN": "tok-X\r\n"}
    for command in (["list"], ["run"]):
        result = cli(bad, *command)
        assert result.returncode == 2 and "TURSO_AUTH_TOKEN" in result.stderr
        assert result.stderr.count("\n") == 1 and "tok-X" not in result.stderr


def test_bad_timing_variable_is_refused(env: dict[str, str]) -> None:
    """A malformed SUPERVISOR_* variable names itself."""
    result = cli({**env, "SUPERVISOR_POLL_INTERVAL": "soon"}, "run")
    assert result.returncode == 2 and "SUPERVISOR_POLL_INTERVAL" in result.stderr


def test_watch_exit_status_says_how_the_job_ended(
    env: dict[str, str], worker: subprocess.Popen[bytes]
) -> None:
    """watch exits 0 for completed, 1 for failed, 3 for cancelled; cancel and resubmit work."""
    ok = cli(env, "submit", "tone", "--payload", '{"seconds": 1}').stdout.strip()
    bad = cli(env, "submit", "fail", "--payload", '{"message": "bad input: demo"}').stdout.strip()
    watched = cli(env, "watch", ok)
    assert watched.returncode == 0 and "completed" in watched.stderr
    failed = cli(env, "watch", bad)
    assert failed.returncode == 1 and "failed: bad input: demo (permanent)" in failed.stderr
    again = cli(env, "resubmit", bad).stdout.strip()
    assert again.isdigit() and again != bad
    assert json.loads(cli(env, "status", again, "--json").stdout)["status"] in (
        "pending",
        "running",
        "failed",
    )
    long = cli(env, "submit", "tone", "--payload", '{"seconds": 60, "realtime": true}').stdout
    cancel = cli(env, "cancel", long.strip())
    assert cancel.returncode == 0 and cancel.stdout.startswith(f"job {long.strip()}: ")
    assert cli(env, "watch", long.strip()).returncode == 3
    history = cli(env, "history", long.strip()).stdout
    assert "cancelled" in history


def test_demo_finishes_on_its_own(env: dict[str, str], tmp_path: Path) -> None:
    """demo runs a worker in-process and three real jobs to their ends, then exits 0."""
    result = cli({**env, "CWD": str(tmp_path)}, "demo", timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "cancelled while running" in out and "completed in" in out
    assert "failed: input not found: no-such-recording.wav (permanent)" in out


def test_handlers_module_names_the_served_types(env: dict[str, str], tmp_path: Path) -> None:
    """--handlers (or SUPERVISOR_HANDLERS) loads a module's JOB_TYPES; a bad module is one
    clear line."""
    (tmp_path / "my_handlers.py").write_text(
        "from supervisor import JobType\n"
        "async def shout(ctx, payload):\n"
        "    await ctx.set_stage('shouting', 100)\n"
        "    return payload['text'].upper()\n"
        "JOB_TYPES = [JobType('shout', shout, stages=('shouting',))]\n"
    )
    env = {**env, "PYTHONPATH": str(tmp_path)}
    assert cli(env, "--handlers", "my_handlers", "submit", "tone").returncode == 2
    job = cli(
        env, "--handlers", "my_handlers", "submit", "shout", "--payload", '{"text": "hi"}'
    ).stdout.strip()
    worker = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "run", *TIMINGS],
        cwd=REPO,
        env={**env, "SUPERVISOR_HANDLERS": "my_handlers"},
        stderr=subprocess.DEVNULL,
    )
    try:
        assert cli(env, "watch", job).returncode == 0
    finally:
        worker.terminate()
        worker.wait(30)
    status = json.loads(cli(env, "status", job, "--json").stdout)
    assert status["stages"] == ["shouting"] and status["progress"] == 100
    missing = cli(env, "--handlers", "no_such_module", "submit", "x")
    assert missing.returncode == 2 and "cannot import handlers module" in missing.stderr


def test_one_shot_commands_load_neither_trio_nor_sqlalchemy(env: dict[str, str]) -> None:
    """status, submit, cancel and list run without importing Trio, SQLAlchemy or the worker
    (a one-shot call is mostly Python's start-up; those imports would triple it)."""
    code = (
        "import sys\n"
        "from supervisor._cli import main\n"
        "codes = [main(a) for a in (['submit', 'tone'], ['status', '1', '--json'],\n"
        "         ['list'], ['cancel', '1'])]\n"
        "heavy = [m for m in ('trio', 'sqlalchemy', 'actors', 'libsql') if m in sys.modules]\n"
        "print(codes, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[0, 0, 0, 0] []", result.stderr


def test_prune_deletes_only_jobs_past_their_retention(env: dict[str, str]) -> None:
    """prune --dry-run counts, prune deletes finished jobs older than SUPERVISOR_RETAIN_*
    (with their history); pending jobs and younger finished ones stay."""
    done = [cli(env, "submit", "tone").stdout.strip() for _ in range(3)]
    for job in done:
        assert cli(env, "cancel", job).returncode == 0
    waiting = cli(env, "submit", "tone").stdout.strip()
    time.sleep(5)
    young = cli(env, "submit", "tone").stdout.strip()
    cli(env, "cancel", young)
    short = {**env, "SUPERVISOR_RETAIN_CANCELLED": "4"}
    dry = cli(short, "prune", "--dry-run")
    assert dry.returncode == 0 and "would delete 0 completed, 3 cancelled, 0 failed" in dry.stdout
    assert len(json.loads(cli(env, "list", "--json").stdout)) == 5
    real = cli(short, "prune")
    assert real.returncode == 0 and "deleted 0 completed, 3 cancelled, 0 failed" in real.stdout
    left = {v["id"] for v in json.loads(cli(env, "list", "--json").stdout)}
    assert left == {int(waiting), int(young)}
    off = {
        **env,
        **dict.fromkeys(
            (
                "SUPERVISOR_RETAIN_COMPLETED",
                "SUPERVISOR_RETAIN_CANCELLED",
                "SUPERVISOR_RETAIN_FAILED",
            ),
            "0",
        ),
    }
    assert "retention is off" in cli(off, "prune").stdout


def test_json_logs_carry_the_fields_and_never_the_token(
    env: dict[str, str], tmp_path: Path
) -> None:
    """SUPERVISOR_LOG_FORMAT=json: one JSON object per line with the key=value fields
    (worker, job_id, ...); the token appears nowhere."""
    job = cli(env, "submit", "sleep", "--payload", '{"seconds": 0.2}').stdout.strip()
    token = "tok-JSON-SECRET-77"
    proc = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "run", *TIMINGS],
        cwd=REPO,
        env={**env, "SUPERVISOR_LOG_FORMAT": "json", "TURSO_AUTH_TOKEN": token},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli(env, "watch", job).returncode == 0
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert records and token not in err
    started = next(r for r in records if r["message"] == "worker started")
    assert {"time", "level", "logger", "worker", "types", "timings"} <= set(started)
    done = next(r for r in records if r["message"] == "job completed")
    assert done["job_id"] == int(job) and done["job_type"] == "sleep" and done["attempt"] == 1
    bad = cli({**env, "SUPERVISOR_LOG_FORMAT": "xml"}, "list")
    assert bad.returncode == 2 and "SUPERVISOR_LOG_FORMAT" in bad.stderr
