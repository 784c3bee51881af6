"""Worker memory: RSS of a worker process and the processes it starts (the sentinel and,
on Turso, the helper that owns the libsql connection), idle and after many short jobs.

    python benchmarks/memory.py [--stores local turso] [--checkpoints 1000 5000 10000]

One ``python -m supervisor run`` at default settings per store (a local file, or a real
sqld). RSS is VmRSS from /proc/PID/status, summed over the worker and its children (found
by the ppid in /proc/*/stat). Measured once the worker is idle after start-up, then after
the cumulative number of ``sleep`` jobs (0 s, one step) in each checkpoint has completed;
jobs are added in one INSERT statement per checkpoint and the script waits until none is
pending or running (then 2 s more).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libsql
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (
    PYTHON,
    REPO,
    TursoJobStore,
    children,
    command,
    load_line,
    rss_kib,
    table,
    worker_env,
)
from media_jobs_testing.sqld import SqldServer
from stores import JobStore, LocalJobStore

NOW = "((julianday('now') - 2440587.5) * 86400.0)"
BULK_INSERT = f"""
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested,
                  created_at, updated_at, note, noted_at)
SELECT 'sleep', ?, 'pending', 0, 2, 0, 0, {NOW}, {NOW}, 'created', {NOW} FROM seq
"""
PAYLOAD = json.dumps({"seconds": 0, "steps": 1})


def role(pid: int) -> str:
    text = command(pid)
    if "sentinel" in text:
        return "sentinel"
    if "_helper" in text:
        return "helper"
    return "other"


def measure(worker: int) -> dict[str, float]:
    """MiB per role: the worker itself and each kind of child."""
    out = {"worker": rss_kib(worker) / 1024}
    for child in children(worker):
        name = role(child)
        out[name] = out.get(name, 0.0) + rss_kib(child) / 1024
    return out


def pending_or_running(execute: Callable[[str], list[Any]]) -> bool:
    pending = execute("SELECT id FROM jobs WHERE status = 'pending' LIMIT 1")
    running = execute("SELECT id FROM jobs WHERE status = 'running' LIMIT 1")
    return bool(pending or running)


def run_store(kind: str, checkpoints: list[int], tmp: Path) -> list[list[str]]:
    server: SqldServer | None = None
    if kind == "turso":
        server = SqldServer(tmp / "sqld").start()
        store: JobStore = TursoJobStore(server.url)
        env = worker_env(TURSO_DATABASE_URL=server.url, SUPERVISOR_STORAGE_URL=f"file://{tmp}")
        conn: Any = libsql.connect(server.url, isolation_level=None)
    else:
        db = tmp / "jobs.db"
        store = LocalJobStore(db)
        env = worker_env(JOBS_DB_PATH=str(db), SUPERVISOR_STORAGE_URL=f"file://{tmp}")
        conn = None
    trio.run(store.get, 1)  # schema
    store.close()
    if conn is None:
        conn = sqlite3.connect(tmp / "jobs.db", isolation_level=None, timeout=30)

    def execute(sql: str, *params: object) -> list[Any]:
        return list(conn.execute(sql, params).fetchall() or [])

    log = open(tmp / "worker.log", "wb")
    proc = subprocess.Popen(
        [PYTHON, "-m", "supervisor", "run"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    rows: list[list[str]] = []
    try:
        deadline = time.monotonic() + 60
        while not any(role(c) == "sentinel" for c in children(proc.pid)):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start: see {tmp / 'worker.log'}")
            time.sleep(0.1)
        time.sleep(5)
        idle = measure(proc.pid)
        base = sum(idle.values())
        rows.append(_row(kind, "idle", idle, base, None))
        done = 0
        for target in checkpoints:
            start = time.monotonic()
            execute(BULK_INSERT, target - done, PAYLOAD)
            while pending_or_running(execute):
                if proc.poll() is not None:
                    raise RuntimeError(f"the worker exited: see {tmp / 'worker.log'}")
                time.sleep(0.5)
            rate = (target - done) / (time.monotonic() - start)
            done = target
            time.sleep(2)
            rows.append(_row(kind, f"after {target}", measure(proc.pid), base, rate))
            print(f"  {kind}: {target} jobs done; {load_line()}", flush=True)
        failed = execute("SELECT count(*) FROM jobs WHERE status != 'completed'")[0][0]
        if failed:
            print(f"  warning: {failed} {kind} jobs did not complete")
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        conn.close()
        if server is not None:
            server.stop()
    return rows


def _row(kind: str, when: str, mib: dict[str, float], base: float, rate: float | None) -> list[str]:
    total = sum(mib.values())
    return [
        f"{kind}: {when}",
        f"{mib.get('worker', 0):.1f}",
        f"{mib.get('sentinel', 0):.1f}",
        f"{mib.get('helper', 0):.1f}" if "helper" in mib else "-",
        f"{mib.get('other', 0):.1f}" if "other" in mib else "-",
        f"{total:.1f}",
        f"{total - base:+.1f}",
        "-" if rate is None else f"{rate:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--stores", nargs="+", choices=["local", "turso"], default=["local", "turso"]
    )
    parser.add_argument(
        "--checkpoints",
        type=int,
        nargs="+",
        default=[1000, 5000, 10000],
        help="cumulative job counts at which to measure",
    )
    args = parser.parse_args()
    checkpoints = sorted(args.checkpoints)
    print(f"memory: worker RSS (MiB), default settings; {load_line()}")
    rows = []
    for kind in args.stores:
        with tempfile.TemporaryDirectory() as name:
            rows += run_store(kind, checkpoints, Path(name))
    print()
    print(
        table(
            ["store: when", "worker", "sentinel", "helper", "other", "total", "vs idle", "jobs/s"],
            rows,
        )
    )
    print(f"\nend: {load_line()}")


if __name__ == "__main__":
    main()
