"""The live worker registry, on both adapters: a worker's row from start to clean shutdown,
its beats, when it counts as dead, and what a worker writes to keep it."""

from __future__ import annotations

import trio

from stores import JobStore, WorkerInfo, served_types

from .conftest import StoreFactory, WallClock

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
