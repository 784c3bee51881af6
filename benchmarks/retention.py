"""Retention: what pruning costs on sqld, and whether a busy database stops growing.

    python benchmarks/retention.py [--finished 100000] [--jobs 50000]

1. **Cost on sqld** (what Turso bills): a table with ``--finished`` finished jobs (and their
   history rows), all past their retention. sqld's own statistics give the rows read and
   written by one prune statement (a batch of 1,000 jobs), by a whole prune of the
   backlog, and by a worker's prune round once nothing is left (its idle cost).
2. **Steady state** (local file): ``--jobs`` trivial jobs through an in-process worker with
   a short retention (2 s, pruned every second); the file's size and the row counts are
   printed as the jobs go through. Under steady load the database stops growing: SQLite
   reuses the pages pruning frees.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors import JobContext, JobType, prune_once
from media_jobs_testing.bulk import fill
from media_jobs_testing.sqld import SqldServer
from stores import LocalJobStore, TursoJobStore
from supervisor import WorkerConfig, open_supervisor
from supervisor._metrics import Metrics

RETAIN = {"completed": 60.0, "cancelled": 60.0, "failed": 60.0}


def _stats(server: SqldServer) -> tuple[int, int]:
    data = server.stats()
    return int(data["rows_read_count"]), int(data["rows_written_count"])


async def cost_on_sqld(finished: int) -> None:
    import libsql

    with tempfile.TemporaryDirectory() as folder, SqldServer(Path(folder) / "db") as server:
        store = TursoJobStore(server.url)
        await store.list(limit=1)  # creates the schema
        raw = libsql.connect(server.url, isolation_level=None)
        fill(raw, finished)
        raw.close()
        print(f"sqld, {finished} finished jobs past their retention (plus their history)")
        print(f"{'what':44s} {'rows read':>10s} {'rows written':>13s} {'seconds':>8s}")

        async def measure(what: str, call: Any) -> Any:
            r0, w0 = _stats(server)
            t0 = time.perf_counter()
            result = await call
            took = time.perf_counter() - t0
            r1, w1 = _stats(server)
            print(f"{what:44s} {r1 - r0:10d} {w1 - w0:13d} {took:8.2f}")
            return result

        await measure("a /metrics scrape (job counts), full table", Metrics().render(store))
        n = await measure("one prune statement (batch of 1,000)", store.prune("completed", 60))
        counts = await measure(
            "the whole backlog, batches of 1,000", prune_once(store, RETAIN, batches=None)
        )
        await measure("a worker's prune round, nothing left", prune_once(store, RETAIN))
        await measure("a dry run, nothing left", prune_once(store, RETAIN, dry_run=True))
        await measure("a /metrics scrape (job counts), empty table", Metrics().render(store))
        left = await store.list(limit=10)
        print(f"deleted {n + sum(counts.values())} jobs; {len(left)} left")
        await store.aclose()


async def noop(ctx: JobContext, payload: Any) -> None:
    return None


def _sizes(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        jobs = conn.execute("SELECT count(*) FROM jobs").fetchone()[0]
        history = conn.execute("SELECT count(*) FROM job_history").fetchone()[0]
        pages, free = (
            conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count")
        )
    wal = path.with_name(path.name + "-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    return (
        f"file {path.stat().st_size / 1e6:7.2f} MB (pages {pages}, free {free}), "
        f"WAL {wal_size / 1e6:5.2f} MB, jobs {jobs:6d}, history {history:6d}"
    )


async def steady_state(jobs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "jobs.db"
        store = LocalJobStore(path)
        config = WorkerConfig(
            worker_id="w-retention", retain_completed=2, prune_interval=1, poll_interval=0.05
        )
        batch = 1000
        print(f"\nlocal file, {jobs} jobs through a worker, retention 2 s, pruned every 1 s")
        async with open_supervisor(store, [JobType("noop", noop)], config):
            done = 0
            t0 = time.perf_counter()
            while done < jobs:
                await store.create_many("noop", [{}] * batch)
                done += batch
                while await store.list(status="pending", limit=1):
                    await trio.sleep(0.02)
                if done % 10_000 == 0:
                    print(f"{done:6d} jobs, {time.perf_counter() - t0:6.1f} s: {_sizes(path)}")
            await trio.sleep(3.5)  # the last batch ages past its retention and is pruned
            print(f"  after the last prune:          {_sizes(path)}")
        await store.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--finished", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=50_000)
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on 2 cores")
    trio.run(cost_on_sqld, args.finished)
    trio.run(steady_state, args.jobs)


if __name__ == "__main__":
    main()
