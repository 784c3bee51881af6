"""Worker figures, measured here: pickup latency, cancel latency, actor restart time, the
demo's duration, and the worker CPU that following ffmpeg's progress costs.

    python benchmarks/worker.py

Real processes and default timings (poll 1 s backing off to 5 s, heartbeat 5 s) unless a
line says otherwise.
"""

from __future__ import annotations

import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trio.lowlevel

from media_jobs_testing.helpers import pid_alive, wait_for_status
from stores import JobStatus, LocalJobStore
from supervisor import WorkerConfig, open_supervisor
from supervisor.reference import JOB_TYPES

REPO = Path(__file__).resolve().parent.parent


async def pickup_and_cancel(tmp: Path) -> None:
    db = tmp / "jobs.db"
    env = {**os.environ, "JOBS_DB_PATH": str(db)}
    store = LocalJobStore(db)
    await store.get(1)
    worker = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "run"], cwd=REPO, env=env, stderr=subprocess.DEVNULL
    )
    try:
        await trio.sleep(3)
        pickups = []
        for idle in (0.5, 2.0, 7.0, 12.0, 3.0, 9.0):
            await trio.sleep(idle)  # the idle poller has backed off by a varying amount
            job = await store.create("sleep", {"seconds": 0.01, "steps": 1})
            await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.01)
            created, started = (await store.history(job.id))[:2]
            pickups.append(started.at - created.at)
        print(
            f"pickup latency, another process submits, default poll (1 s -> 5 s backoff): "
            f"mean {statistics.mean(pickups):.2f} s, max {max(pickups):.2f} s "
            f"over {len(pickups)} jobs"
        )
        requests, reaped, rows = [], [], []
        for _ in range(4):
            job = await store.create("child", {"seconds": 120})
            while not (row := await store.get(job.id)).child_pid:  # type: ignore[union-attr]
                await trio.sleep(0.01)
            await trio.sleep(1.3)
            start = time.monotonic()
            await store.cancel(job.id)
            while pid_alive(row.child_pid):  # type: ignore[union-attr]
                await trio.sleep(0.005)
            reaped.append(time.monotonic() - start)
            await wait_for_status(store, job.id, JobStatus.CANCELLED, poll=0.005)
            rows.append(time.monotonic() - start)
            requests.append(start)
        print(
            f"cancel latency, default heartbeat 5 s: request -> child reaped mean "
            f"{statistics.mean(reaped):.2f} s (max {max(reaped):.2f}); request -> row "
            f"cancelled mean {statistics.mean(rows):.2f} s (max {max(rows):.2f})"
        )
    finally:
        worker.terminate()
        worker.wait()
        store.close()


async def restart_time(tmp: Path) -> None:
    store = LocalJobStore(tmp / "restart.db")
    samples: dict[str, list[float]] = {}
    async with open_supervisor(store, JOB_TYPES, WorkerConfig(max_restarts=1000)) as sup:
        for name in ("poller", "executor", "heartbeat", "reaper") * 25:
            before = sup.started_at(name)
            start = trio.current_time()
            sup.crash(name)
            while sup.started_at(name) == before:
                await trio.lowlevel.checkpoint()
            samples.setdefault(name, []).append(trio.current_time() - start)
    store.close()
    text = ", ".join(f"{n} {statistics.median(v) * 1000:.2f} ms" for n, v in samples.items())
    print(f"actor restart time (crash -> new incarnation ready), median of 25: {text}")


def demo_and_cpu(tmp: Path) -> None:
    env = {**os.environ, "JOBS_DB_PATH": str(tmp / "demo.db")}
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "supervisor", "demo"],
        cwd=tmp,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"demo: {time.monotonic() - start:.1f} s wall, start to exit")


async def progress_cpu(tmp: Path) -> None:
    store = LocalJobStore(tmp / "cpu.db")
    os.environ["SUPERVISOR_STORAGE_URL"] = f"file://{tmp}/files"
    async with open_supervisor(store, JOB_TYPES, WorkerConfig(poll_interval=0.1)):
        await trio.sleep(1)
        before = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.monotonic()
        job = await store.create("tone", {"seconds": 20, "realtime": True})
        await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.5)
        wall = time.monotonic() - wall
        after = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    store.close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        f"worker CPU while following a {wall:.1f} s realtime ffmpeg encode "
        f"(progress parsing, throttled writes, heartbeats): {cpu:.3f} s = "
        f"{100 * cpu / wall:.2f}% of one core; ffmpeg itself "
        f"{children.ru_utime + children.ru_stime:.2f} s"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        await restart_time(tmp)
        await progress_cpu(tmp)
        demo_and_cpu(tmp)
        await pickup_and_cancel(tmp)


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)  # figures only
    trio.run(main)
