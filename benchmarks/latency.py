"""Pickup and cancel latency of a real worker process at DEFAULT settings, both stores, and
what an idle or busy worker reads from sqld (what Turso bills).

    python benchmarks/latency.py [--stores local turso] [--pickups 30] [--cancels 20]
                                 [--idle-seconds 120] [--running-seconds 60]

One ``python -m supervisor run`` with no timing flags and no SUPERVISOR_* variables
(the code's own defaults: an idle poll every 0.5 s, a heartbeat every 5 s, a
read-only cancel check every 0.5 s; see WorkerConfig). This script is the other process:

* pickup: PICKUPS ``sleep`` jobs (0 s, one step), each submitted after a random pause of
  0 to MAX_GAP seconds (so the idle poller is caught at every stage of its backoff); the
  latency is the job's ``running`` history time minus its ``created`` time (both from the
  database's clock).
* cancel: CANCELS ``child`` jobs (``sleep 120``); once the row names its child pid, a
  random pause of 0 to 5 s (a random phase of the heartbeat or cancel check), then
  ``store.cancel(id)``; times from just before that call until the child is dead
  (polling /proc every 5 ms), and until the row says ``cancelled`` (polling the row
  every 5 ms).
* sqld only: rows read per hour by the idle worker (sqld's admin statistics over
  IDLE_SECONDS, after 15 s of settling; this script makes no call meanwhile), and by the
  same worker running one long ``child`` job over RUNNING_SECONDS; the difference is the
  extra cost of a running hour.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
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
    pid_alive,
    table,
    worker_env,
)
from media_jobs_testing.sqld import SqldServer
from stores import JobStatus, JobStore, LocalJobStore


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "supervisor", "run"],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def check(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the worker exited with {self.proc.returncode}:\n{tail}")


async def wait_status(
    store: JobStore, job_id: int, status: JobStatus, *, poll: float, worker: Worker
) -> None:
    while True:
        job = await store.get(job_id)
        assert job is not None
        if job.status is status:
            return
        if job.status.terminal:
            raise RuntimeError(f"job {job_id} ended {job.status.value}: {job.error}")
        worker.check()
        await trio.sleep(poll)


async def wait_child(store: JobStore, job_id: int, worker: Worker) -> int:
    while True:
        job = await store.get(job_id)
        assert job is not None
        if job.child_pid:
            return int(job.child_pid)
        if job.status.terminal:
            raise RuntimeError(f"job {job_id} ended {job.status.value}: {job.error}")
        worker.check()
        await trio.sleep(0.02)


async def pickups(store: JobStore, worker: Worker, count: int, max_gap: float) -> list[float]:
    out = []
    for _ in range(count):
        await trio.sleep(random.uniform(0, max_gap))
        job = await store.create("sleep", {"seconds": 0, "steps": 1})
        await wait_status(store, job.id, JobStatus.COMPLETED, poll=0.05, worker=worker)
        history = await store.history(job.id)
        created = next(h for h in history if h.to_status == "pending")
        started = next(h for h in history if h.to_status == "running")
        out.append(started.at - created.at)
    return out


async def cancels(
    store: JobStore, worker: Worker, count: int, phase: float
) -> tuple[list[float], list[float], list[float]]:
    call, dead, row = [], [], []
    for _ in range(count):
        job = await store.create("child", {"seconds": 120})
        pid = await wait_child(store, job.id, worker)
        await trio.sleep(random.uniform(0, phase))
        start = time.monotonic()
        await store.cancel(job.id)
        call.append(time.monotonic() - start)
        while pid_alive(pid):
            await trio.sleep(0.005)
        dead.append(time.monotonic() - start)
        await wait_status(store, job.id, JobStatus.CANCELLED, poll=0.005, worker=worker)
        row.append(time.monotonic() - start)
    return call, dead, row


def _stats(values: list[float]) -> list[str]:
    return [
        f"{median(values):.2f}",
        f"{percentile(values, 95):.2f}",
        f"{max(values):.2f}",
        f"{sum(values) / len(values):.2f}",
        str(len(values)),
    ]


async def run_store(
    kind: str, tmp: Path, args: argparse.Namespace, rows: list[list[str]], costs: list[str]
) -> None:
    server: SqldServer | None = None
    if kind == "turso":
        server = SqldServer(tmp / "sqld").start()
        store: JobStore = TursoJobStore(server.url)
        env = worker_env(TURSO_DATABASE_URL=server.url, SUPERVISOR_STORAGE_URL=f"file://{tmp}")
    else:
        db = tmp / "jobs.db"
        store = LocalJobStore(db)
        env = worker_env(JOBS_DB_PATH=str(db), SUPERVISOR_STORAGE_URL=f"file://{tmp}")
    await store.get(1)  # schema
    worker = Worker(env, tmp / f"worker-{kind}.log")
    try:
        warm = await store.create("sleep", {"seconds": 0, "steps": 1})  # worker is up
        with trio.fail_after(120):
            await wait_status(store, warm.id, JobStatus.COMPLETED, poll=0.1, worker=worker)
        if args.pickups:
            picked = await pickups(store, worker, args.pickups, args.max_gap)
            rows.append([f"{kind}: pickup (created -> running)", *_stats(picked)])
        if args.cancels:
            call, dead, row = await cancels(store, worker, args.cancels, 5.0)
            rows.append([f"{kind}: cancel request -> child dead", *_stats(dead)])
            rows.append([f"{kind}: cancel request -> row cancelled", *_stats(row)])
            rows.append([f"{kind}: (the store.cancel call itself)", *_stats(call)])
        if server is not None and (args.idle_seconds or args.running_seconds):
            idle_rate = await idle_rows(server, args.idle_seconds, costs)
            if args.running_seconds:
                await running_rows(server, store, worker, args.running_seconds, idle_rate, costs)
    finally:
        worker.stop()
        await store.aclose()
        if server is not None:
            server.stop()


async def idle_rows(server: SqldServer, seconds: float, costs: list[str]) -> float:
    if not seconds:
        return float("nan")
    await trio.sleep(15)  # any idle backoff has reached its ceiling
    before = server.stats()
    start = time.monotonic()
    await trio.sleep(seconds)
    after = server.stats()
    elapsed = time.monotonic() - start
    read = after["rows_read_count"] - before["rows_read_count"]
    written = after["rows_written_count"] - before["rows_written_count"]
    rate = float(read / elapsed * 3600)
    costs.append(
        f"idle worker: {read} rows read in {elapsed:.0f} s = {rate:.0f} rows read per hour "
        f"({written / elapsed * 3600:.0f} rows written per hour)"
    )
    return rate


async def running_rows(
    server: SqldServer,
    store: JobStore,
    worker: Worker,
    seconds: float,
    idle_rate: float,
    costs: list[str],
) -> None:
    job = await store.create("child", {"seconds": seconds + 120})
    await wait_child(store, job.id, worker)
    await trio.sleep(2)
    before = server.stats()
    start = time.monotonic()
    await trio.sleep(seconds)
    after = server.stats()
    elapsed = time.monotonic() - start
    read = after["rows_read_count"] - before["rows_read_count"]
    written = after["rows_written_count"] - before["rows_written_count"]
    rate = read / elapsed * 3600
    costs.append(
        f"worker running one child job: {read} rows read in {elapsed:.0f} s = {rate:.0f} "
        f"per hour ({written / elapsed * 3600:.0f} rows written per hour)"
    )
    costs.append(f"extra rows read per running hour (running - idle): {rate - idle_rate:.0f}")
    await store.cancel(job.id)
    await wait_status(store, job.id, JobStatus.CANCELLED, poll=0.1, worker=worker)


async def main(args: argparse.Namespace) -> None:
    print(f"latency: a worker process at default settings; {load_line()}")
    rows: list[list[str]] = []
    costs: list[str] = []
    for kind in args.stores:
        with tempfile.TemporaryDirectory() as name:
            await run_store(kind, Path(name), args, rows, costs)
        print(f"  {kind} done; {load_line()}", flush=True)
    print()
    print(table(["seconds", "p50", "p95", "max", "mean", "n"], rows))
    if costs:
        print("\nsqld statistics (rows read are what Turso bills):")
        for line in costs:
            print(f"  {line}")
    print(f"\nend: {load_line()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--stores", nargs="+", choices=["local", "turso"], default=["local", "turso"]
    )
    parser.add_argument("--pickups", type=int, default=30, help="pickup samples per store")
    parser.add_argument(
        "--max-gap", type=float, default=8.0, help="longest random pause before a submission"
    )
    parser.add_argument("--cancels", type=int, default=20, help="cancel samples per store")
    parser.add_argument(
        "--idle-seconds", type=float, default=120, help="idle window on sqld (0: skip)"
    )
    parser.add_argument(
        "--running-seconds", type=float, default=60, help="busy window on sqld (0: skip)"
    )
    trio.run(main, parser.parse_args())
