"""The local store against its peers: enqueue N trivial jobs, then one consumer runs until
the queue is empty. Every contender runs side by side in one run, in a fresh temporary
folder each time, on a SQLite file in WAL mode with ``synchronous=NORMAL``.

    python benchmarks/peers.py [--jobs 2000] [--repeat 3] [--only NAME ...]

Contenders (the figure is total time, enqueue + consume, and its ratio to raw sqlite3):

* raw sqlite3: one INSERT per job (autocommit); then per job one atomic claim
  (``UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING``) and one "done" UPDATE.
* huey: ``SqliteHuey`` (storage subclassed only to set ``synchronous=NORMAL``); a no-op
  ``@huey.task()`` called N times, then huey's own ``consumer.Worker`` driven exactly as
  ``Consumer._create_process`` drives it (``while not stop_flag.is_set(): worker.loop()``);
  the task sets the stop flag at the N-th run.
* persist-queue: ``SQLiteAckQueue``: put N; then get + ack until empty.
* litequeue: ``LiteQueue``: put N; then pop + done until empty.
* store loop: ``LocalJobStore``: ``create`` N; then ``claim`` + ``complete`` until empty.
* store loop, complete_and_claim: the same with ``complete_and_claim`` (the completion
  and the next claim in one call), where the store has it (else n/a).
* worker: ``create`` N through the store, then ``open_supervisor`` with a no-op handler
  (default ``WorkerConfig``) until all N are completed (the handler counts its calls; at
  the N-th the script polls a count of completed rows every millisecond).

Plus bulk creation: the store's ``create_many(type, payloads)`` (if it exists) against a raw
``executemany`` of N INSERTs in one transaction.

Set-up (schema creation, opening connections) is outside the timings. Logging stays at
Python's default (warnings only, no handler) for every contender. The median of
``--repeat`` rounds is reported; contenders take turns within each round.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import load_line, median, table
from stores import LocalJobStore
from supervisor import JobContext, JobType, WorkerConfig, open_supervisor

#: (enqueue seconds, consume seconds)
Timing = tuple[float, float]

RAW_SCHEMA = """
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    worker_id TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX jobs_pending ON jobs (created_at, id) WHERE status = 'pending';
"""
RAW_INSERT = (
    "INSERT INTO jobs (type, payload, status, created_at, updated_at) "
    "VALUES (?, ?, 'pending', ?, ?)"
)
RAW_CLAIM = """
UPDATE jobs SET status = 'running', worker_id = ?, attempt = attempt + 1, updated_at = ?
WHERE id = (SELECT id FROM jobs WHERE status = 'pending' ORDER BY created_at, id LIMIT 1)
  AND status = 'pending'
RETURNING id, type, payload
"""
RAW_DONE = (
    "UPDATE jobs SET status = 'completed', result = ?, finished_at = ?, updated_at = ? "
    "WHERE id = ? AND status = 'running'"
)


def _raw_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


# -- contenders ---------------------------------------------------------------------------


def raw_sqlite(folder: Path, jobs: int) -> Timing:
    conn = _raw_connect(folder / "raw.db")
    conn.executescript(RAW_SCHEMA)
    start = time.perf_counter()
    for n in range(jobs):
        now = time.time()
        conn.execute(RAW_INSERT, ("noop", json.dumps({"n": n}), now, now))
    enqueued = time.perf_counter()
    done = 0
    while (row := conn.execute(RAW_CLAIM, ("bench", time.time())).fetchone()) is not None:
        json.loads(row[2])  # "run" it
        now = time.time()
        conn.execute(RAW_DONE, ("null", now, now, row[0]))
        done += 1
    end = time.perf_counter()
    conn.close()
    assert done == jobs, done
    return enqueued - start, end - enqueued


def huey_contender(folder: Path, jobs: int) -> Timing:
    from huey import SqliteHuey
    from huey.consumer import Worker
    from huey.storage import SqliteStorage

    class NormalSyncStorage(SqliteStorage):  # type: ignore[misc]
        """huey's own storage; its ``fsync`` option offers only FULL or OFF."""

        def _create_connection(self) -> sqlite3.Connection:
            conn: sqlite3.Connection = super()._create_connection()
            conn.execute("pragma synchronous=NORMAL")
            return conn

    huey = SqliteHuey("bench", filename=str(folder / "huey.db"), storage_class=NormalSyncStorage)
    stop_flag = threading.Event()
    ran = [0]

    @huey.task()  # type: ignore[untyped-decorator]
    def noop(n: int) -> None:
        ran[0] += 1
        if ran[0] == jobs:
            stop_flag.set()

    # Consumer defaults: initial_delay 0.1, max_delay 10, backoff 1.15.
    worker = Worker(huey, stop_flag, 0.1, 10.0, 1.15)
    worker.initialize()
    start = time.perf_counter()
    for n in range(jobs):
        noop(n)
    enqueued = time.perf_counter()
    while not stop_flag.is_set():  # Consumer._create_process's loop
        worker.loop()
    end = time.perf_counter()
    worker.shutdown()
    assert ran[0] == jobs
    assert worker.task_count == jobs
    assert huey.pending_count() == 0
    huey.storage.close()
    return enqueued - start, end - enqueued


def persist_queue(folder: Path, jobs: int) -> Timing:
    import persistqueue

    queue = persistqueue.SQLiteAckQueue(str(folder / "pq"), auto_commit=True)
    for conn in (queue._conn, queue._putter):  # one connection unless multithreading
        if conn is not None:
            conn.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    for n in range(jobs):
        queue.put({"n": n})
    enqueued = time.perf_counter()
    done = 0
    while True:
        try:
            item = queue.get(block=False)
        except persistqueue.Empty:
            break
        queue.ack(item)
        done += 1
    end = time.perf_counter()
    assert done == jobs
    assert queue.acked_count() == jobs
    queue.close()
    return enqueued - start, end - enqueued


def litequeue_contender(folder: Path, jobs: int) -> Timing:
    from litequeue import LiteQueue

    queue = LiteQueue(str(folder / "lq.db"))  # sets WAL and synchronous=NORMAL itself
    queue.conn.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    for n in range(jobs):
        queue.put(json.dumps({"n": n}))
    enqueued = time.perf_counter()
    done = 0
    while (message := queue.pop()) is not None:
        json.loads(message.data)
        queue.done(message.message_id)
        done += 1
    end = time.perf_counter()
    assert done == jobs
    queue.conn.close()
    return enqueued - start, end - enqueued


def _store_run(path: Path, jobs: int, drain: Callable[[LocalJobStore], Awaitable[int]]) -> Timing:
    """``create`` N jobs one by one, then ``drain`` them (it returns how many it ran)."""

    async def run() -> Timing:
        async with LocalJobStore(path) as store:
            await store.get(1)  # schema
            start = time.perf_counter()
            for n in range(jobs):
                await store.create("noop", {"n": n})
            enqueued = time.perf_counter()
            done = await drain(store)
            end = time.perf_counter()
        assert done == jobs, done
        return enqueued - start, end - enqueued

    return trio.run(run)


def store_loop(folder: Path, jobs: int) -> Timing:
    async def drain(store: LocalJobStore) -> int:
        done = 0
        while (claimed := await store.claim("bench")) is not None:
            await store.complete(claimed.lease, None)
            done += 1
        return done

    return _store_run(folder / "store.db", jobs, drain)


def store_loop_cc(folder: Path, jobs: int) -> Timing:
    """The store loop with ``complete_and_claim`` (the completion and the next claim in
    one call), where the store has it."""

    async def drain(store: LocalJobStore) -> int:
        done = 0
        claimed = await store.claim("bench")
        while claimed is not None:
            _, claimed = await store.complete_and_claim(claimed.lease, None, "bench")
            done += 1
        return done

    return _store_run(folder / "store-cc.db", jobs, drain)


#: Seconds from calling open_supervisor to its yield (part of the worker's consume time).
STARTUP: list[float] = []


def whole_worker(folder: Path, jobs: int) -> Timing:
    path = folder / "worker.db"
    counted = [0]

    async def run() -> Timing:
        everything_ran = trio.Event()

        async def noop(ctx: JobContext, payload: Any) -> None:
            counted[0] += 1
            if counted[0] == jobs:
                everything_ran.set()

        async with LocalJobStore(path) as store:
            await store.get(1)  # schema
            reader = _raw_connect(path)
            start = time.perf_counter()
            for n in range(jobs):
                await store.create("noop", {"n": n})
            enqueued = time.perf_counter()
            async with open_supervisor(store, [JobType("noop", noop)], WorkerConfig()):
                STARTUP.append(time.perf_counter() - enqueued)
                await everything_ran.wait()
                while (
                    reader.execute("SELECT count(*) FROM jobs WHERE status = 'completed'")
                ).fetchone()[0] < jobs:
                    await trio.sleep(0.001)
                end = time.perf_counter()
            reader.close()
        return enqueued - start, end - enqueued

    timing = trio.run(run)
    assert counted[0] == jobs, counted[0]
    return timing


def bulk_raw(folder: Path, jobs: int) -> float:
    conn = _raw_connect(folder / "bulk.db")
    conn.executescript(RAW_SCHEMA)
    start = time.perf_counter()
    now = time.time()
    rows = [("noop", json.dumps({"n": n}), now, now) for n in range(jobs)]
    conn.execute("BEGIN")
    conn.executemany(RAW_INSERT, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == jobs
    conn.close()
    return elapsed


def bulk_store(folder: Path, jobs: int) -> float | None:
    async def run() -> float | None:
        async with LocalJobStore(folder / "bulk-store.db") as store:
            create_many = getattr(store, "create_many", None)
            if create_many is None:
                return None
            await store.get(1)  # schema
            start = time.perf_counter()
            payloads = [{"n": n} for n in range(jobs)]
            created = []
            for first in range(0, jobs, 10_000):  # the store takes at most 10,000 a call
                created += await create_many("noop", payloads[first : first + 10_000])
            elapsed = time.perf_counter() - start
            assert len(created) == jobs, len(created)
            return elapsed

    return trio.run(run)


CONTENDERS: dict[str, tuple[str, Callable[[Path, int], Timing]]] = {
    "raw": ("raw sqlite3 (UPDATE … RETURNING claim + done UPDATE)", raw_sqlite),
    "huey": ("huey SqliteHuey, consumer Worker.loop", huey_contender),
    "persist-queue": ("persist-queue SQLiteAckQueue (put, get, ack)", persist_queue),
    "litequeue": ("litequeue LiteQueue (put, pop, done)", litequeue_contender),
    "store": ("this project: store loop (create; claim + complete)", store_loop),
    "store-cc": ("this project: store loop, complete_and_claim", store_loop_cc),
    "worker": ("this project: in-process worker (open_supervisor)", whole_worker),
}


def _usable(name: str) -> str | None:
    """None if the contender's package imports, else why not."""
    if name == "store-cc" and not hasattr(LocalJobStore, "complete_and_claim"):
        return "n/a: the store has no complete_and_claim"
    module = {"huey": "huey", "persist-queue": "persistqueue", "litequeue": "litequeue"}.get(name)
    if module is None:
        return None
    try:
        __import__(module)
    except ImportError as exc:
        return f"not installed ({exc}); pip install -e '.[bench]'"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per run (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is shown")
    parser.add_argument(
        "--only", nargs="+", choices=[*CONTENDERS, "bulk"], help="run only these contenders"
    )
    args = parser.parse_args()
    chosen = args.only or [*CONTENDERS, "bulk"]
    if "raw" not in chosen:
        chosen = ["raw", *chosen]  # the ratio needs it

    print(f"peers: {args.jobs} trivial jobs, median of {args.repeat} rounds; {load_line()}")
    print(f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")
    skipped = {name: why for name in chosen if (why := _usable(name)) is not None}
    results: dict[str, list[Timing]] = {name: [] for name in chosen if name in CONTENDERS}
    bulk: dict[str, list[float]] = {"raw": [], "store": []}
    for _round in range(args.repeat):
        for name in results:
            if name in skipped:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                results[name].append(CONTENDERS[name][1](Path(tmp), args.jobs))
        if "bulk" in chosen:
            with tempfile.TemporaryDirectory() as tmp:
                bulk["raw"].append(bulk_raw(Path(tmp), args.jobs))
            with tempfile.TemporaryDirectory() as tmp:
                store_bulk = bulk_store(Path(tmp), args.jobs)
            if store_bulk is not None:
                bulk["store"].append(store_bulk)

    raw_total = median([e + c for e, c in results["raw"]])
    rows = []
    for name, timings in results.items():
        label = CONTENDERS[name][0]
        if name in skipped:
            rows.append([label, "n/a", "n/a", "n/a", "n/a", "n/a"])
            continue
        total = median([e + c for e, c in timings])
        rows.append(
            [
                label,
                f"{median([e for e, _ in timings]) * 1000:.0f}",
                f"{median([c for _, c in timings]) * 1000:.0f}",
                f"{total * 1000:.0f}",
                f"{args.jobs / total:.0f}",
                f"{total / raw_total:.2f}x",
            ]
        )
    print()
    print(
        table(
            ["contender", "enqueue ms", "consume ms", "total ms", "jobs/s", "time vs raw"],
            rows,
        )
    )
    for name, why in skipped.items():
        print(f"  {name}: {why}")
    if STARTUP:
        print(
            f"  worker: open_supervisor took {median(STARTUP) * 1000:.1f} ms to start "
            "(median; counted in its consume time)"
        )
    if "bulk" in chosen:
        raw_bulk = median(bulk["raw"])
        print()
        bulk_rows = [
            [
                "raw executemany, one transaction",
                f"{raw_bulk * 1000:.1f}",
                f"{args.jobs / raw_bulk:.0f}",
                "1.00x",
            ]
        ]
        if bulk["store"]:
            store_bulk_s = median(bulk["store"])
            bulk_rows.append(
                [
                    "store.create_many",
                    f"{store_bulk_s * 1000:.1f}",
                    f"{args.jobs / store_bulk_s:.0f}",
                    f"{raw_bulk / store_bulk_s:.2f}x",
                ]
            )
        else:
            bulk_rows.append(["store.create_many", "n/a", "n/a", "n/a (no create_many)"])
        print(table(["bulk create", "ms", "rows/s", "speed vs raw"], bulk_rows))
        if results.get("store"):
            single = median([e for e, _ in results["store"]])
            print(
                f"  for comparison, store.create one by one: {args.jobs / single:.0f}/s; "
                f"raw single INSERTs: {args.jobs / median([e for e, _ in results['raw']]):.0f}/s"
            )
    print(f"\nend: {load_line()}")


if __name__ == "__main__":
    main()
