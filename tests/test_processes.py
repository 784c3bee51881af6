"""Workers as real processes: killed, paused, stopped and run side by side.

Real time (real child processes, real signals), with short timings (media_jobs_testing/workers.py).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from media_jobs_testing.helpers import pid_alive, wait_for_status
from media_jobs_testing.workers import WorkerProcess, worker_env
from stores import JobStatus, JobStore, LocalJobStore
from stores._compiled import SCHEMA_REVISION

# The store reads what worker processes write, on the real clock they write it by.
pytestmark = [pytest.mark.slow, pytest.mark.store(clock="real")]


@pytest.fixture
def env(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    env = worker_env()
    if backend == "turso":
        env["TURSO_DATABASE_URL"] = request.getfixturevalue("sqld").url
    else:
        env["JOBS_DB_PATH"] = str(tmp_path / "jobs.db")
    return env


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    started: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        started.append(WorkerProcess(name, env, tmp_path))
        return started[-1]

    yield start
    for w in started:
        w.kill()


async def child_of(store: JobStore, job_id: int, *, other_than: int | None = None) -> Any:
    with trio.fail_after(20):
        while True:
            job = await store.get(job_id)
            if job and job.child_pid and job.child_pid != other_than and job.status == "running":
                return job
            await trio.sleep(0.05)


async def test_sigkill_of_a_worker_kills_its_child_and_the_job_is_rerun(
    store: JobStore, workers: Any
) -> None:
    """SIGKILL a worker mid-child: the child dies with it; another worker reaps the job after
    stale_after and runs it again (attempt 2)."""
    job = await store.create("child", {"seconds": 60})
    first = workers("w-first")
    running = await child_of(store, job.id)
    first.signal(signal.SIGKILL)
    first.wait(10)
    with trio.fail_after(3):
        while pid_alive(running.child_pid):
            await trio.sleep(0.02)
    second = workers("w-second")
    rerun = await child_of(store, job.id, other_than=running.child_pid)
    assert (rerun.worker_id, rerun.attempt) == ("w-second", 2)
    assert rerun.error_kind == "stalled"
    assert "w-first" in rerun.error
    second.signal(signal.SIGTERM)
    assert second.wait(15) == 0, second.log()
    assert not pid_alive(rerun.child_pid)
    released = await store.get(job.id)
    assert released is not None
    assert released.status is JobStatus.PENDING
    assert released.attempt == 1  # the shutdown did not charge an attempt


async def test_a_paused_worker_is_fenced_out_and_never_runs_with_another(
    store: JobStore, workers: Any
) -> None:
    """SIGSTOP a worker mid-child: its sentinel kills the child before another worker can
    reap the job; the other worker runs it; once resumed, the first writes nothing."""
    job = await store.create("child", {"seconds": 60})
    paused = workers("w-paused")
    first = await child_of(store, job.id)
    paused.signal(signal.SIGSTOP)
    stopped_at = time.monotonic()
    with trio.fail_after(10):
        while pid_alive(first.child_pid):
            await trio.sleep(0.02)
    killed_after = time.monotonic() - stopped_at
    assert killed_after < 3  # before stale_after: nobody else could have claimed it yet
    workers("w-other")
    second = await child_of(store, job.id, other_than=first.child_pid)
    assert (second.worker_id, second.attempt) == ("w-other", 2)
    paused.signal(signal.SIGCONT)
    await trio.sleep(2)  # the resumed worker learns it lost the lease
    row = await store.get(job.id)
    assert row is not None
    assert (row.worker_id, row.status) == ("w-other", JobStatus.RUNNING)
    assert pid_alive(second.child_pid)
    assert "lease lost" in paused.log()


async def test_cancel_from_another_process_ends_with_the_child_dead(
    store: JobStore, workers: Any
) -> None:
    """cancel() from this process: the worker kills the child, then writes cancelled."""
    job = await store.create("child", {"seconds": 60})
    workers("w-cancel")
    running = await child_of(store, job.id)
    requested = time.monotonic()
    await store.cancel(job.id)
    with trio.fail_after(5):
        await wait_for_status(store, job.id, JobStatus.CANCELLED)
    latency = time.monotonic() - requested
    assert not pid_alive(running.child_pid)
    assert latency < 0.3 + 1 + 1  # one heartbeat, the kill, the write


async def test_several_worker_processes_run_each_job_once(store: JobStore, workers: Any) -> None:
    """Three worker processes, 30 jobs: all complete, each claimed exactly once."""
    jobs = [await store.create("sleep", {"seconds": 0.05, "steps": 1}) for _ in range(30)]
    for i in range(3):
        workers(f"w-{i}")
    with trio.fail_after(60):
        for job in jobs:
            await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.1)
    done = [await store.get(j.id) for j in jobs]
    assert all(j is not None and j.attempt == 1 for j in done)
    by_worker = Counter(j.worker_id for j in done if j)
    assert len(by_worker) >= 2, by_worker
    for job in jobs:
        starts = [h for h in await store.history(job.id) if h.to_status == "running"]
        assert len(starts) == 1


def sentinels_of(pid: int) -> list[int]:
    """The sentinel processes a worker started (its children running actors/_sentinel.py)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z" and b"_sentinel.py" in cmdline:
            found.append(int(entry.name))
    return found


async def test_a_dead_sentinel_is_replaced_and_still_guards_the_child(
    store: JobStore, workers: Any
) -> None:
    """Kill a worker's sentinel mid-job: the next heartbeat starts another, armed with the
    running child, which then still dies when the worker is paused."""
    job = await store.create("child", {"seconds": 60})
    worker = workers("w-sentinel")
    running = await child_of(store, job.id)
    (first,) = sentinels_of(worker.pid)
    os.kill(first, signal.SIGKILL)
    with trio.fail_after(5):
        while not (replaced := [p for p in sentinels_of(worker.pid) if p != first]):
            await trio.sleep(0.05)
    assert len(replaced) == 1
    worker.signal(signal.SIGSTOP)
    with trio.fail_after(6):
        while pid_alive(running.child_pid):
            await trio.sleep(0.05)


async def test_several_workers_migrate_a_previous_revision_database_holding_jobs(
    tmp_path: Path,
) -> None:
    """A database at the previous schema revision, with a pending job and a running one
    whose worker died, gets three new workers at the same moment (a deploy): they migrate
    it in place and both jobs complete."""
    path = tmp_path / "jobs.db"
    async with LocalJobStore(path, clock=lambda: time.time() - 600) as old:
        orphaned = await old.create("sleep", {"seconds": 0.2})
        waiting = await old.create("sleep", {"seconds": 0.2})
        claimed = await old.claim("w-old")  # the first in line; its worker then died
    assert claimed is not None
    assert claimed.job.id == orphaned.id
    with sqlite3.connect(path) as raw:  # what revision 2 looked like
        raw.execute("DROP TRIGGER jobs_history_delete")
        raw.execute("DROP INDEX ix_jobs_child_host")
        raw.execute("UPDATE schema_meta SET value = 2 WHERE key = 'revision'")
    env = worker_env(JOBS_DB_PATH=str(path))
    started = [WorkerProcess(f"w-new-{i}", env, tmp_path) for i in range(3)]
    store = LocalJobStore(path)
    try:
        with trio.fail_after(30):
            for job in (waiting, orphaned):
                await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.1)
    finally:
        for w in started:
            w.kill()
        store.close()
    with sqlite3.connect(path) as raw:
        meta = dict(raw.execute("SELECT key, value FROM schema_meta").fetchall())
        names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    assert meta["revision"] == SCHEMA_REVISION
    assert {"jobs_history_delete", "ix_jobs_child_host"} <= names
    assert all("Traceback" not in w.log() for w in started)


async def test_a_long_write_lock_does_not_let_a_reaper_take_a_live_job(
    tmp_path: Path,
) -> None:
    """Another process holds the database's write lock for longer than stale_after while a
    job runs: nobody could renew a lease meanwhile, so the other worker's reaper judges
    staleness as of when it asked, not when its turn came. The job is not reaped: its holder
    fences itself (the database did not confirm its lease) and gives it back uncharged."""
    path = tmp_path / "jobs.db"
    env = worker_env(JOBS_DB_PATH=str(path))
    store = LocalJobStore(path)
    holder = WorkerProcess("w-holder", env, tmp_path)
    other: WorkerProcess | None = None
    locker = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        job = await store.create("child", {"seconds": 60})
        await child_of(store, job.id)
        other = WorkerProcess("w-other", env, tmp_path)
        await trio.sleep(1.5)
        locker.execute("BEGIN IMMEDIATE")
        await trio.sleep(4.5)  # stale_after is 3 s
        locker.execute("COMMIT")
        await trio.sleep(2)
        history = await store.history(job.id)
        assert not any((h.reason or "").startswith("reaped") for h in history), history
        claims = [h for h in history if h.to_status == "running" and h.from_status != "running"]
        assert all(h.reason == "claimed, attempt 1" for h in claims), history
        assert "reaped" not in other.log()
    finally:
        locker.close()
        holder.kill()
        if other is not None:
            other.kill()
        store.close()
