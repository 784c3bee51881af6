"""What a worker costs on Turso: rows read per hour while idle, and rows per job.

    python benchmarks/idle_cost.py [--seconds 120] [--finished 100000]

Measured with sqld's own statistics (what Turso bills) against a real worker process at
default settings, with FINISHED finished jobs in the table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import libsql
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from media_jobs_testing.bulk import fill
from media_jobs_testing.helpers import wait_for_status
from media_jobs_testing.sqld import SqldServer
from stores import JobStatus, TursoJobStore

REPO = Path(__file__).resolve().parent.parent


async def main(seconds: float, finished: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, SqldServer(Path(tmp) / "sqld") as server:
        store = TursoJobStore(server.url)
        await store.get(1)  # creates the schema
        raw = libsql.connect(server.url, isolation_level=None)
        fill(raw, finished)
        raw.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERVISOR_")}
        env.update({"TURSO_DATABASE_URL": server.url, "SUPERVISOR_STORAGE_URL": f"file://{tmp}"})
        worker = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run"],
            cwd=REPO,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            await trio.sleep(15)  # start-up done, idle backoff reached
            before = server.stats()
            start = time.monotonic()
            await trio.sleep(seconds)
            after = server.stats()
            elapsed = time.monotonic() - start
            read = after["rows_read_count"] - before["rows_read_count"]
            written = after["rows_written_count"] - before["rows_written_count"]
            print(f"idle worker, default settings, {finished} finished jobs, {elapsed:.0f} s:")
            print(
                f"  rows read {read} ({read / elapsed * 3600:.0f} per hour), rows written "
                f"{written} ({written / elapsed * 3600:.0f} per hour)"
            )
            before = server.stats()
            job = await store.create("tone", {"seconds": 5})
            await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.5)
            await store.get(job.id)
            after = server.stats()
            print(
                f"  one tone job (submit, run, complete, plus this script's polls every "
                f"0.5 s): rows read {after['rows_read_count'] - before['rows_read_count']}, "
                f"written {after['rows_written_count'] - before['rows_written_count']}"
            )
        finally:
            worker.terminate()
            worker.wait()
            store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--finished", type=int, default=100_000)
    args = parser.parse_args()
    trio.run(main, args.seconds, args.finished)
