"""One-shot CLI latency: ``status ID --json``, ``submit tone`` and ``cancel ID`` as fresh
processes, against a real sqld (``TURSO_DATABASE_URL``) and a local file (``JOBS_DB_PATH``),
each next to a bare one-shot that reads the same row with the raw driver.

    python benchmarks/cli.py [--runs 10] [--importtime]

Every command is a new ``.venv/bin/python`` process, timed from spawn to exit (wall
clock), run RUNS times; commands take turns within each round. Baselines:

* sqld: ``python -c "import libsql; c = libsql.connect(URL, isolation_level=None);
  print(c.execute('SELECT * FROM jobs WHERE id = ?', (ID,)).fetchall())"``
* local: ``python -c "import sqlite3; c = sqlite3.connect(PATH);
  print(c.execute('SELECT * FROM jobs WHERE id = ?', (ID,)).fetchall())"``
* ``python -c pass``: the interpreter's own start-up, for scale.

``cancel`` gets a fresh pending job in every run (made beforehand, outside the timing). No
worker runs. Before timing, the project's packages are compiled to bytecode
(``compileall``), as an installed package's are: with ``PYTHONDONTWRITEBYTECODE`` set (as
it is on the development machine) an edited module's stale ``.pyc`` is never refreshed,
and every call would compile the module again (about 20 ms of the figure).
``--importtime`` adds the slowest imports of ``status --json`` (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (
    PYTHON,
    REPO,
    TursoJobStore,
    load_line,
    median,
    percentile,
    table,
    worker_env,
)
from media_jobs_testing.sqld import SqldServer
from stores import JobStore, LocalJobStore

#: The project's packages, compiled to bytecode before timing.
PACKAGES: list[str] = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
    "packages"
]
LIBSQL_ONE_SHOT = (
    "import libsql, sys; c = libsql.connect(sys.argv[1], isolation_level=None); "
    "print(c.execute('SELECT * FROM jobs WHERE id = ?', (int(sys.argv[2]),)).fetchall())"
)
SQLITE_ONE_SHOT = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
    "print(c.execute('SELECT * FROM jobs WHERE id = ?', (int(sys.argv[2]),)).fetchall())"
)


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv[1:]} exited {done.returncode}: {done.stderr.strip()}")
    return elapsed


async def prepare(store: JobStore, cancels: int) -> tuple[int, list[int]]:
    """A job for `status` to read, and one pending job per `cancel` run."""
    job = await store.create("tone", {"seconds": 1})
    pending = [(await store.create("tone", {"seconds": 1})).id for _ in range(cancels)]
    return job.id, pending


def importtime(env: dict[str, str], job_id: int) -> list[tuple[float, str]]:
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-m", "supervisor", "status", str(job_id), "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line[12:].split("|"))
            if cumulative.isdigit():
                rows.append((int(cumulative) / 1e6, name))
    return sorted(rows, reverse=True)[:10]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="runs of each command")
    parser.add_argument(
        "--importtime", action="store_true", help="also list the slowest imports of status"
    )
    args = parser.parse_args()
    subprocess.run(
        [PYTHON, "-m", "compileall", "-q", *PACKAGES], cwd=REPO, check=True, env=worker_env()
    )
    print(f"cli: one-shot commands, {args.runs} runs each; {load_line()}")
    print(f"interpreter: {PYTHON}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        db = tmp / "jobs.db"
        with SqldServer(tmp / "sqld") as server:
            turso = TursoJobStore(server.url)
            local = LocalJobStore(db)
            turso_job, turso_pending = trio.run(prepare, turso, args.runs)
            local_job, local_pending = trio.run(prepare, local, args.runs)
            turso.close()
            local.close()
            turso_env = worker_env(
                TURSO_DATABASE_URL=server.url, SUPERVISOR_STORAGE_URL=f"file://{name}"
            )
            local_env = worker_env(JOBS_DB_PATH=str(db), SUPERVISOR_STORAGE_URL=f"file://{name}")
            plain_env = worker_env()
            cli = [PYTHON, "-m", "supervisor"]
            commands: dict[str, tuple[str, Callable[[int], list[str]]]] = {
                "sqld: raw libsql one-shot (baseline)": (
                    "turso",
                    lambda i: [PYTHON, "-c", LIBSQL_ONE_SHOT, server.url, str(turso_job)],
                ),
                "sqld: status ID --json": (
                    "turso",
                    lambda i: [*cli, "status", str(turso_job), "--json"],
                ),
                "sqld: submit tone": ("turso", lambda i: [*cli, "submit", "tone"]),
                "sqld: cancel ID": ("turso", lambda i: [*cli, "cancel", str(turso_pending[i])]),
                "local: sqlite3 one-shot (baseline)": (
                    "local",
                    lambda i: [PYTHON, "-c", SQLITE_ONE_SHOT, str(db), str(local_job)],
                ),
                "local: status ID --json": (
                    "local",
                    lambda i: [*cli, "status", str(local_job), "--json"],
                ),
                "local: submit tone": ("local", lambda i: [*cli, "submit", "tone"]),
                "local: cancel ID": ("local", lambda i: [*cli, "cancel", str(local_pending[i])]),
                "python -c pass": ("plain", lambda i: [PYTHON, "-c", "pass"]),
            }
            envs = {"turso": turso_env, "local": local_env, "plain": plain_env}
            samples: dict[str, list[float]] = {label: [] for label in commands}
            for i in range(args.runs):
                for label, (kind, make) in commands.items():
                    samples[label].append(run_once(make(i), envs[kind]))
            slow = importtime(local_env, local_job) if args.importtime else []
    baselines = {
        "sqld": median(samples["sqld: raw libsql one-shot (baseline)"]),
        "local": median(samples["local: sqlite3 one-shot (baseline)"]),
    }
    rows = []
    for label, values in samples.items():
        kind = label.split(":", 1)[0]
        base = baselines.get(kind)
        rows.append(
            [
                label,
                f"{median(values) * 1000:.0f}",
                f"{percentile(values, 90) * 1000:.0f}",
                f"{min(values) * 1000:.0f}",
                f"{median(values) / base:.1f}x" if base else "-",
            ]
        )
    print()
    print(table(["command (one process each)", "p50 ms", "p90 ms", "min ms", "vs baseline"], rows))
    if slow:
        print("\nslowest imports of `status ID --json` (local), cumulative (nested included):")
        for seconds, module in slow:
            print(f"  {seconds * 1000:7.1f} ms  {module}")
    print(f"\nend: {load_line()}")


if __name__ == "__main__":
    main()
