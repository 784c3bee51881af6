"""Chaos: actors crashed by name, repeatedly and at random moments; the restart policy,
its intensity limit, and the invariants (no job lost, none run twice, no child left)."""

from __future__ import annotations

import random
from typing import Any

import pytest
import trio
import trio.testing

from actors import JobContext, JobType
from media_jobs_testing.helpers import FAST, pid_alive, wait_for_status
from stores import JobStatus, LocalJobStore
from supervisor import RestartIntensityExceeded, WorkerConfig, open_supervisor
from supervisor.reference import JOB_TYPES

pytestmark = pytest.mark.store(backends=("local",), clock="trio")


async def counted(ctx: JobContext, payload: Any) -> int:
    await ctx.set_stage("working", 0)
    await trio.sleep(payload["seconds"])
    await ctx.set_progress(100)
    return ctx.job.id


TYPES = [*JOB_TYPES, JobType("counted", counted, stages=("working",))]


def cfg(**overrides: Any) -> WorkerConfig:
    return WorkerConfig(worker_id="w-chaos", **{**FAST, **overrides})


@pytest.mark.parametrize("actor", ["poller", "executor", "heartbeat", "reaper"])
async def test_a_crashed_actor_is_restarted_alone(
    store: LocalJobStore, fast_clock: trio.testing.MockClock, actor: str
) -> None:
    """Crashing one actor restarts it (and only it); the worker keeps serving jobs."""
    async with open_supervisor(store, TYPES, cfg()) as sup:
        assert sup.actors == ("reaper", "heartbeat", "executor", "poller")  # start order
        sup.crash(actor)
        await trio.sleep(0.1)
        assert dict(sup.restarts) == {actor: 1}
        job = await store.create("counted", {"seconds": 1})
        done = await wait_for_status(store, job.id, JobStatus.COMPLETED)
    assert done.attempt == 1


async def test_executor_crash_mid_job_kills_the_child_and_releases_the_row(
    store: LocalJobStore,
) -> None:
    """A crash of the executor mid-job: child killed first, row back to pending with the
    attempt refunded, then the restarted executor runs it again."""
    async with open_supervisor(store, TYPES, cfg(heartbeat_interval=0.2)) as sup:
        job = await store.create("child", {"seconds": 2})
        with trio.fail_after(10):
            while not (row := await store.get(job.id)) or not row.child_pid:
                await trio.sleep(0.02)
        first_child = row.child_pid
        sup.crash("executor")
        with trio.fail_after(10):
            done = await wait_for_status(store, job.id, JobStatus.COMPLETED)
        assert not pid_alive(first_child)
    assert sup.restarts["executor"] == 1
    assert done.attempt == 1
    reasons = [h.reason for h in await store.history(job.id)]
    assert "released: the executor stopped mid-job" in reasons


async def test_restart_intensity_exceeded_stops_the_worker_cleanly(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """More crashes than the intensity allows: everything stops, the job is released, and
    RestartIntensityExceeded comes out."""
    job = await store.create("counted", {"seconds": 100})
    with pytest.RaisesGroup(RestartIntensityExceeded, flatten_subgroups=True):
        async with open_supervisor(store, TYPES, cfg(max_restarts=3)) as sup:
            await wait_for_status(store, job.id, JobStatus.RUNNING)
            for _ in range(4):
                sup.crash("heartbeat")
                await trio.sleep(0.1)
            await trio.sleep_forever()
    row = await store.get(job.id)
    assert row is not None
    assert row.status is JobStatus.PENDING
    assert row.attempt == 0


async def test_crashes_outside_the_window_do_not_add_up(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """Crashes spread wider than the restart window never exceed the intensity."""
    async with open_supervisor(store, TYPES, cfg(max_restarts=2, restart_window=10)) as sup:
        for _ in range(6):
            sup.crash("reaper")
            await trio.sleep(6)
        assert sup.restarts["reaper"] == 6
        assert sup.stats.recent <= 2


async def test_random_crashes_lose_nothing_and_run_nothing_twice_at_once(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """Random crashes of random actors while 20 jobs run: every job completes exactly once
    (a job interrupted by an executor crash may start again, never concurrently)."""
    rng = random.Random(1234)
    jobs = [await store.create("counted", {"seconds": rng.uniform(0.2, 2)}) for _ in range(20)]
    async with open_supervisor(store, TYPES, cfg(max_restarts=1000)) as sup:

        async def chaos() -> None:
            while True:
                await trio.sleep(rng.uniform(0.1, 1.5))
                sup.crash(rng.choice(sup.actors))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(chaos)
            for job in jobs:
                await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.5)
            nursery.cancel_scope.cancel()
        total = sum(sup.restarts.values())
    assert total >= 5, sup.restarts
    completed = await store.list(status="completed", limit=100)
    assert sorted(j.id for j in completed) == sorted(j.id for j in jobs)
    for job in jobs:
        history = await store.history(job.id)
        # Never two running leases at once: every start is preceded by an end.
        open_runs = 0
        for entry in history:
            if entry.to_status == "running" and entry.from_status != "running":
                open_runs += 1
            elif entry.from_status == "running" and entry.to_status != "running":
                open_runs -= 1
            assert open_runs in (0, 1)
        assert history[-1].to_status == "completed"


async def test_random_crashes_with_real_children_leave_no_child_behind(
    store: LocalJobStore,
) -> None:
    """Real child processes (real time) under random actor crashes: every job completes,
    never two runs at once, and no child process outlives its run."""
    rng = random.Random(99)
    jobs = [await store.create("child", {"seconds": 0.4}) for _ in range(8)]
    children: set[int] = set()
    config = cfg(max_restarts=1000, heartbeat_interval=0.1, poll_interval=0.05)
    async with open_supervisor(store, TYPES, config) as sup:

        async def chaos() -> None:
            while True:
                await trio.sleep(rng.uniform(0.05, 0.3))
                sup.crash(rng.choice(sup.actors))

        async def watch_children() -> None:
            while True:
                for job in jobs:
                    row = await store.get(job.id)
                    if row is not None and row.child_pid:
                        children.add(row.child_pid)
                await trio.sleep(0.02)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(chaos)
            nursery.start_soon(watch_children)
            with trio.fail_after(60):
                for job in jobs:
                    await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.05)
            nursery.cancel_scope.cancel()
        restarts = sum(sup.restarts.values())
    assert restarts >= 5
    assert len(children) >= len(jobs)
    assert not [pid for pid in children if pid_alive(pid)]
    for job in jobs:
        starts = ends = 0
        for entry in await store.history(job.id):
            starts += entry.to_status == "running" and entry.from_status != "running"
            ends += entry.from_status == "running" and entry.to_status != "running"
            assert starts - ends in (0, 1)
