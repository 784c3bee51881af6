"""Claims per second for one process, on each adapter, measured side by side in one run.

    python benchmarks/claims.py [--jobs 2000] [--finished 100000]

Each claim is followed by a complete (the worker's minimal loop); the figure is claims (and
completes) per second of wall time, with FINISHED finished jobs already in the table.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import libsql
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from media_jobs_testing.bulk import fill
from media_jobs_testing.sqld import SqldServer
from stores import JobStore, LocalJobStore, TursoJobStore


async def measure(store: JobStore, jobs: int) -> tuple[float, float]:
    for n in range(jobs):
        await store.create("tone", {"n": n})
    start = time.perf_counter()
    done = 0
    while (claimed := await store.claim("bench")) is not None:
        await store.complete(claimed.lease, None)
        done += 1
    elapsed = time.perf_counter() - start
    assert done == jobs
    idle_start = time.perf_counter()
    for _ in range(200):
        assert await store.claim("bench") is None
    idle = (time.perf_counter() - idle_start) / 200
    return jobs / elapsed, idle * 1000


async def main(jobs: int, finished: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jobs.db"
        async with LocalJobStore(path) as store:
            await store.get(1)
            with sqlite3.connect(path) as raw:
                fill(raw, finished)
            local = await measure(store, jobs)
        with SqldServer(Path(tmp) / "sqld") as server:
            async with TursoJobStore(server.url) as store:
                await store.get(1)
                raw_conn = libsql.connect(server.url, isolation_level=None)
                fill(raw_conn, finished)
                raw_conn.close()
                turso = await measure(store, jobs)
    print(f"{jobs} jobs, {finished} finished jobs in the table, one process:")
    print(f"  local (sqlite3 file): {local[0]:8.0f} claim+complete/s, idle claim {local[1]:.2f} ms")
    print(f"  turso (sqld, libsql): {turso[0]:8.0f} claim+complete/s, idle claim {turso[1]:.2f} ms")
    print(f"  ratio local/turso: {local[0] / turso[0]:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--finished", type=int, default=100_000)
    args = parser.parse_args()
    trio.run(main, args.jobs, args.finished)
