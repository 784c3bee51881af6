"""The live worker registry, on both adapters: a worker's row from start to clean shutdown,
its beats, when it counts as dead, and what a worker writes to keep it."""

from __future__ import annotations

import os
import socket
from importlib import metadata
from pathlib import Path

import trio
import trio.testing

from media_jobs_testing.helpers import StoreFactory, WallClock
from stores import JobStore, LocalJobStore, WorkerInfo, served_types
from supervisor import WorkerConfig, open_supervisor
from supervisor._metrics import Metrics
from supervisor.reference import JOB_TYPES

W1 = WorkerInfo("w-1", "host-a", 101, ("tone", "sleep"), "0.1.0", beat_interval=30)
W2 = WorkerInfo("w-2", "host-b", 202, ("prep",), "0.1.0", beat_interval=10)


async def test_a_registered_worker_is_live_with_what_it_said(
    store: JobStore, wall: WallClock
) -> None:
    """A worker's row holds its id, host, pid, types, version, start and last beat."""
    await store.register_worker(W1)
    (seen,) = await store.workers()
    assert seen.info == W1
    assert (seen.started_at, seen.last_beat, seen.beat_age) == (wall.now, wall.now, 0)
    assert seen.live
    assert seen.job_id is None


async def test_a_worker_is_dead_after_three_silent_beats(store: JobStore, wall: WallClock) -> None:
    """Silent for three of its own beat intervals a worker is dead, and its types are no
    longer served; a beat brings it back."""
    await store.register_worker(W1)
    await store.register_worker(W2)
    wall.advance(31)
    assert served_types(await store.workers()) == ("sleep", "tone")
    await store.beat_worker(W1)
    wall.advance(70)
    ages = {w.info.id: (w.beat_age, w.live) for w in await store.workers()}
    assert ages == {"w-1": (70, True), "w-2": (101, False)}
    await store.beat_worker(W2)
    assert served_types(await store.workers()) == ("prep", "sleep", "tone")


async def test_the_job_a_worker_runs_is_shown(store: JobStore) -> None:
    """The registry names the job each worker is running, read from the job table."""
    await store.register_worker(W1)
    job = await store.create("tone")
    claimed = await store.claim("w-1")
    assert claimed is not None
    assert [w.job_id for w in await store.workers()] == [job.id]
    await store.complete(claimed.lease, None)
    assert [w.job_id for w in await store.workers()] == [None]


async def test_clean_shutdown_and_the_sweep_remove_rows(store: JobStore, wall: WallClock) -> None:
    """Unregistering deletes the row at once; a dead worker's row goes when swept."""
    await store.register_worker(W1)
    await store.register_worker(W2)
    await store.unregister_worker("w-1")
    assert [w.info.id for w in await store.workers()] == ["w-2"]
    wall.advance(500)
    assert await store.forget_workers(600) == 0
    wall.advance(101)
    assert await store.forget_workers(600) == 1
    assert await store.workers() == []


async def test_a_swept_worker_that_beats_is_registered_again(
    store_factory: StoreFactory, wall: WallClock
) -> None:
    """A worker whose row was swept (it was silent through a long outage) writes it again
    at its next beat."""
    store = store_factory()
    await store.register_worker(W1)
    wall.advance(4000)
    assert await store.forget_workers(3600) == 1
    await store.beat_worker(W1)
    (seen,) = await store.workers()
    assert (seen.info, seen.live) == (W1, True)


async def test_many_concurrent_beats_keep_one_row(store_factory: StoreFactory) -> None:
    """Beats and registrations of one worker from several connections leave one row."""
    stores = [store_factory() for _ in range(5)]
    await stores[0].register_worker(W1)
    async with trio.open_nursery() as nursery:
        for s in stores:
            nursery.start_soon(s.beat_worker, W1)
            nursery.start_soon(s.register_worker, W1)
    assert len(await stores[0].workers()) == 1


async def test_metrics_give_each_workers_beat_age(store: JobStore, wall: WallClock) -> None:
    """A scrape (what `serve` answers at /metrics) gives every registered worker's beat age,
    labelled by worker id: a dead worker's grows; live workers are counted."""
    await store.register_worker(W1)
    await store.register_worker(W2)
    wall.advance(100)
    await store.beat_worker(W1)
    wall.advance(5)
    text = (await Metrics().render(store)).decode()
    assert 'media_jobs_worker_beat_age_seconds{worker="w-1"} 5.0' in text
    assert 'media_jobs_worker_beat_age_seconds{worker="w-2"} 105.0' in text
    assert "media_jobs_workers_live 1.0" in text


def trio_wall() -> float:
    return 1_800_000_000.0 + trio.current_time()


class CountingStore(LocalJobStore):
    """Counts the registry's writes (each is one row)."""

    writes = 0

    async def register_worker(self, info: WorkerInfo) -> None:
        self.writes += 1
        await super().register_worker(info)

    async def beat_worker(self, info: WorkerInfo) -> None:
        self.writes += 1
        await super().beat_worker(info)


async def test_a_worker_is_registered_from_start_to_stop(
    tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    """A running worker's row names it, its host, pid, types and version, and is live; an
    idle worker writes it once per reaper round; a clean stop deletes it."""
    store = CountingStore(tmp_path / "jobs.db", clock=trio_wall)
    config = WorkerConfig(
        worker_id="w-reg", reaper_interval=30.0, poll_interval=30.0, max_poll_interval=30.0
    )
    try:
        async with open_supervisor(store, JOB_TYPES, config):
            (seen,) = await store.workers()
            assert (seen.info.id, seen.info.host, seen.info.pid) == (
                "w-reg",
                socket.gethostname(),
                os.getpid(),
            )
            assert seen.info.types == tuple(sorted(t.name for t in JOB_TYPES))
            assert seen.live
            assert seen.info.version == metadata.version("media-jobs")
            before = store.writes
            await trio.sleep(1200)
            rounds = 1200 / config.reap_every
            assert rounds - 1 <= store.writes - before <= rounds + 1
            assert (await store.workers())[0].beat_age <= config.reap_every
        assert await store.workers() == []
    finally:
        store.close()


async def test_a_running_worker_forgets_keys_past_their_retention(
    tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    """A worker's prune round forgets idempotency keys older than their retention: the
    same key then makes a new job (the old one stays)."""
    store = LocalJobStore(tmp_path / "jobs.db", clock=trio_wall)
    config = WorkerConfig(
        worker_id="w-keys",
        retain_idempotency_keys=100.0,
        prune_interval=30.0,
        poll_interval=30.0,
        max_poll_interval=30.0,
    )
    try:
        async with open_supervisor(store, JOB_TYPES, config):
            first = await store.create("fail", {"message": "x"}, idempotency_key="k")
            await trio.sleep(60)
            assert (await store.create("fail", {"message": "x"}, idempotency_key="k")).id == (
                first.id
            )
            await trio.sleep(100)
            again = await store.create("fail", {"message": "x"}, idempotency_key="k")
            assert again.id != first.id
    finally:
        store.close()
