"""The job store contract, run against both adapters (local SQLite and a real sqld)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

from media_jobs_testing.helpers import POLL_KEYS, StoreFactory, WallClock
from stores import (
    InvalidJob,
    InvalidTransition,
    JobNotFound,
    JobStatus,
    JobStore,
    JobTypeInfo,
    Lease,
    LeaseLost,
    LocalJobStore,
    TursoJobStore,
)

NASTY = "'; DROP TABLE jobs; -- \" \\ % _ ` ) ( \x00? ü 🎬"


async def snapshot(store: JobStore) -> list[Any]:
    return [(j, await store.history(j.id)) for j in await store.list(limit=1000)]


async def test_create_returns_a_pending_job_with_defaults(store: JobStore, wall: WallClock) -> None:
    """A new job is pending, attempt 0, retried once by default, with its payload intact."""
    job = await store.create("tone", {"seconds": 2, "text": NASTY})
    assert job.status is JobStatus.PENDING
    assert (job.attempt, job.max_attempts) == (0, 2)
    assert job.payload == {"seconds": 2, "text": NASTY}
    assert job.created_at == job.updated_at == wall.now
    assert await store.get(job.id) == job
    assert (await store.create("tone")).payload == {}


async def test_unknown_ids_raise_job_not_found(store: JobStore) -> None:
    """Every app-side call on an id that does not exist says so; get() answers None."""
    assert await store.get(999) is None
    for call in (store.poll, store.cancel, store.resubmit, store.history):
        with pytest.raises(JobNotFound, match="999"):
            await call(999)


async def test_claim_is_fifo_even_with_equal_timestamps(store: JobStore) -> None:
    """Jobs created at the same instant are claimed in creation order."""
    ids = [(await store.create("tone", {"n": n})).id for n in range(5)]
    claimed = []
    while (c := await store.claim("w-1")) is not None:
        claimed.append(c.job.id)
        assert c.job.status is JobStatus.RUNNING
        assert c.job.attempt == 1
        assert c.lease.job_id == c.job.id
        assert c.lease.worker_id == "w-1"
    assert claimed == ids


async def test_claim_by_type_skips_other_types(store: JobStore) -> None:
    """A worker that serves only some types never claims the others."""
    a = await store.create("alpha")
    b = await store.create("beta")
    c = await store.claim("w", types=["beta"])
    assert c is not None
    assert c.job.id == b.id
    assert await store.claim("w", types=["beta"]) is None
    assert await store.claim("w", types=[]) is None
    c2 = await store.claim("w")
    assert c2 is not None
    assert c2.job.id == a.id


async def test_complete_records_result_and_history(store: JobStore, wall: WallClock) -> None:
    """A completed job keeps its result, and history lists each transition once."""
    job = await store.create("tone")
    wall.advance(1)
    c = await store.claim("w-1")
    assert c is not None
    wall.advance(2)
    done = await store.complete(c.lease, {"path": NASTY})
    assert done.status is JobStatus.COMPLETED
    assert done.result == {"path": NASTY}
    assert done.finished_at == wall.now
    steps = [
        (h.from_status, h.to_status, h.worker_id, h.lease_token)
        for h in await store.history(job.id)
    ]
    assert steps == [
        (None, "pending", None, 0),
        ("pending", "running", "w-1", 1),
        ("running", "completed", "w-1", 1),
    ]
    # Retrying the same write (its answer was lost) is answered, not refused.
    assert (await store.complete(c.lease, {"path": NASTY})).status is JobStatus.COMPLETED
    assert len(await store.history(job.id)) == 3


async def test_terminal_states_never_change(store: JobStore) -> None:
    """Completed, failed and cancelled jobs refuse cancel (except cancel-again) and claims."""
    done = await store.create("a")
    c = await store.claim("w")
    assert c is not None
    await store.complete(c.lease, None)
    with pytest.raises(InvalidTransition, match="completed"):
        await store.cancel(done.id)
    with pytest.raises(LeaseLost):
        await store.fail(c.lease, "late", kind="permanent")
    with pytest.raises(LeaseLost):
        await store.release(c.lease, "late")
    assert (await store.get(done.id)).status is JobStatus.COMPLETED  # type: ignore[union-attr]

    cancelled = await store.create("a")
    assert (await store.cancel(cancelled.id)).status is JobStatus.CANCELLED
    assert (await store.cancel(cancelled.id)).status is JobStatus.CANCELLED  # idempotent
    assert await store.claim("w") is None


async def test_completing_a_cancelled_job_is_refused(store: JobStore) -> None:
    """Once the worker confirmed a cancel, a late complete changes nothing."""
    job = await store.create("a")
    c = await store.claim("w")
    assert c is not None
    requested = await store.cancel(job.id)
    assert requested.status is JobStatus.RUNNING
    assert requested.cancel_requested
    assert (await store.heartbeat(c.lease)).cancel_requested
    cancelled = await store.confirm_cancelled(c.lease)
    assert cancelled.status is JobStatus.CANCELLED
    with pytest.raises(LeaseLost, match="cancelled"):
        await store.complete(c.lease, {"late": True})
    after = await store.get(job.id)
    assert after is not None
    assert after.status is JobStatus.CANCELLED
    assert after.result is None


async def test_transient_failure_retries_once_then_fails(store: JobStore) -> None:
    """A transient failure goes back to pending while attempts remain, then fails."""
    job = await store.create("a")
    c1 = await store.claim("w")
    assert c1 is not None
    back = await store.fail(c1.lease, "connection reset", kind="transient")
    assert back.status is JobStatus.PENDING
    assert back.error == "connection reset"
    view = await store.poll(job.id)
    assert view.queue_position == 1
    assert "connection reset" in view.reason
    c2 = await store.claim("w")
    assert c2 is not None
    assert c2.job.attempt == 2
    assert c2.lease.token == c1.lease.token + 1
    failed = await store.fail(c2.lease, "connection reset again", kind="transient")
    assert failed.status is JobStatus.FAILED
    assert failed.error_kind == "transient"
    assert (await store.poll(job.id)).reason == "failed: connection reset again (transient)"


async def test_permanent_failure_fails_at_once(store: JobStore) -> None:
    """A permanent failure is final on the first attempt, with the handler's message."""
    job = await store.create("a")
    c = await store.claim("w")
    assert c is not None
    failed = await store.fail(c.lease, "unsupported format: " + NASTY, kind="permanent")
    assert failed.status is JobStatus.FAILED
    assert failed.attempt == 1
    assert failed.error == "unsupported format: " + NASTY
    assert (await store.poll(job.id)).reason.startswith("failed: unsupported format")


async def test_fencing_after_reap_and_reclaim(store: JobStore, wall: WallClock) -> None:
    """A worker whose job was reaped and re-claimed cannot write to it in any way."""
    job = await store.create("a")
    old = await store.claim("w-old")
    assert old is not None
    wall.advance(61)
    reaped = await store.reap(60)
    assert [r.id for r in reaped] == [job.id]
    assert reaped[0].status is JobStatus.PENDING
    assert reaped[0].error_kind == "stalled"
    assert "w-old" in (reaped[0].error or "")
    new = await store.claim("w-new")
    assert new is not None
    assert new.job.attempt == 2
    before = await snapshot(store)
    with pytest.raises(LeaseLost, match="claimed again"):
        await store.heartbeat(old.lease)
    with pytest.raises(LeaseLost):
        await store.update(old.lease, stage="encoding", progress=50)
    with pytest.raises(LeaseLost):
        await store.complete(old.lease, "stale")
    with pytest.raises(LeaseLost):
        await store.fail(old.lease, "stale", kind="permanent")
    with pytest.raises(LeaseLost):
        await store.release(old.lease, "stale")
    with pytest.raises(LeaseLost):
        await store.confirm_cancelled(old.lease)
    with pytest.raises(LeaseLost):
        await store.record_child(old.lease, pid=1, host="h", started=1.0)
    assert await snapshot(store) == before
    assert (await store.complete(new.lease, "fresh")).result == "fresh"


async def test_reaper_fails_a_stale_job_with_no_attempt_left(
    store: JobStore, wall: WallClock
) -> None:
    """A stale job on its last attempt fails, saying it stalled and the limit."""
    job = await store.create("a", max_attempts=1)
    assert (await store.claim("w-9")) is not None
    wall.advance(30)
    assert await store.reap(60) == []  # not stale yet
    wall.advance(31)
    (failed,) = await store.reap(60)
    assert failed.status is JobStatus.FAILED
    assert failed.error_kind == "stalled"
    assert failed.error == "stalled: no heartbeat from worker w-9 for over 60 s"
    assert await store.reap(60) == []  # idempotent
    assert (await store.poll(job.id)).reason.startswith("failed: stalled")


async def test_heartbeat_keeps_a_job_alive(store: JobStore, wall: WallClock) -> None:
    """Heartbeats and progress reports push the stale deadline forward."""
    await store.create("a")
    c = await store.claim("w")
    assert c is not None
    for _ in range(3):
        wall.advance(40)
        await store.heartbeat(c.lease)
    wall.advance(40)
    await store.update(c.lease, stage="encoding", progress=10)
    wall.advance(40)
    assert await store.reap(60) == []


async def test_stale_job_with_cancel_requested_ends_cancelled(
    store: JobStore, wall: WallClock
) -> None:
    """A dead worker's job whose cancel was requested is cancelled, not retried."""
    job = await store.create("a")
    assert (await store.claim("w")) is not None
    await store.cancel(job.id)
    wall.advance(100)
    (reaped,) = await store.reap(60)
    assert reaped.status is JobStatus.CANCELLED


async def test_release_refunds_the_attempt(store: JobStore) -> None:
    """A job released at shutdown goes back to pending without being charged an attempt."""
    job = await store.create("a")
    c = await store.claim("w")
    assert c is not None
    back = await store.release(c.lease, "worker shutting down")
    assert back.status is JobStatus.PENDING
    assert back.attempt == 0
    c2 = await store.claim("w")
    assert c2 is not None
    assert c2.job.attempt == 1
    await store.cancel(job.id)
    assert (await store.release(c2.lease, "shutdown")).status is JobStatus.CANCELLED


async def test_poll_reports_queue_position_stages_and_progress(
    store: JobStore, wall: WallClock
) -> None:
    """poll() gives the queue position, the type's stage list and real progress."""
    await store.register_types([JobTypeInfo("prep", ("analyzing", "normalizing", "encoding"))])
    jobs = [await store.create("prep") for _ in range(3)]
    views = [await store.poll(j.id) for j in jobs]
    assert [v.queue_position for v in views] == [1, 2, 3]
    assert views[2].reason == "pending, 2 ahead"
    assert views[0].stages == ("analyzing", "normalizing", "encoding")
    c = await store.claim("w")
    assert c is not None
    await store.update(c.lease, stage="analyzing", progress=None)
    running = await store.poll(c.job.id)
    assert running.queue_position is None
    assert running.indeterminate
    assert running.to_dict()["indeterminate"] is True
    await store.update(c.lease, stage="encoding", progress=42.5)
    running = await store.poll(c.job.id)
    assert (running.stage, running.progress, running.indeterminate) == ("encoding", 42.5, False)
    assert (await store.poll(jobs[2].id)).queue_position == 2
    assert set(running.to_dict()) >= POLL_KEYS
    await store.cancel(c.job.id)
    wall.advance(3)
    assert (await store.poll(c.job.id)).reason == (
        "cancel requested 3 s ago, waiting for the child to exit"
    )


async def test_resubmit_links_a_new_job(store: JobStore) -> None:
    """Only failed or cancelled jobs can be resubmitted; the new job points back."""
    job = await store.create("a", {"x": NASTY}, max_attempts=3)
    with pytest.raises(InvalidTransition, match="pending"):
        await store.resubmit(job.id)
    c = await store.claim("w")
    assert c is not None
    await store.fail(c.lease, "bad input", kind="permanent")
    again = await store.resubmit(job.id)
    assert again.id != job.id
    assert again.retry_of == job.id
    assert (again.status, again.payload, again.max_attempts, again.attempt) == (
        JobStatus.PENDING,
        {"x": NASTY},
        3,
        0,
    )
    c2 = await store.claim("w")
    assert c2 is not None
    assert c2.job.id == again.id
    await store.complete(c2.lease, None)
    with pytest.raises(InvalidTransition, match="completed"):
        await store.resubmit(again.id)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: s.create(""), "invalid job type"),
        (lambda s: s.create("x" * 65), "invalid job type"),
        (lambda s: s.create("tone'; DROP TABLE jobs;--"), "invalid job type"),
        (lambda s: s.create(None), "invalid job type"),
        (lambda s: s.create("tone", {"f": object()}), "not JSON-serialisable"),
        (lambda s: s.create("tone", {"x": math.nan}), "not JSON-serialisable"),
        (lambda s: s.create("tone", {"blob": "x" * 70_000}), "over the limit"),
        (lambda s: s.create("tone", max_attempts=0), "max_attempts"),
        (lambda s: s.get("1; DROP TABLE jobs"), "positive integer"),
        (lambda s: s.get(-3), "positive integer"),
        (lambda s: s.cancel(True), "positive integer"),
        (lambda s: s.list(status="done"), "unknown status"),
        (lambda s: s.list(limit=0), "limit"),
        (lambda s: s.claim(""), "worker id"),
        (lambda s: s.reap(0), "stale_after"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(
    store: JobStore, call: Any, message: str
) -> None:
    """Bad input raises InvalidJob naming the problem; the table is unchanged."""
    await store.create("tone", {"keep": 1})
    before = await snapshot(store)
    with pytest.raises(InvalidJob, match=message):
        await call(store)
    assert await snapshot(store) == before


async def test_bad_worker_input_changes_nothing(store: JobStore) -> None:
    """A bad stage, progress, result or error kind from a worker writes nothing."""
    await store.create("tone")
    c = await store.claim("w")
    assert c is not None
    before = await snapshot(store)
    with pytest.raises(InvalidJob, match="stage"):
        await store.update(c.lease, stage="bad stage!", progress=1)
    with pytest.raises(InvalidJob, match="progress"):
        await store.update(c.lease, stage="encoding", progress=math.nan)
    with pytest.raises(InvalidJob, match="result"):
        await store.complete(c.lease, {1, 2})
    with pytest.raises(InvalidJob, match="error kind"):
        await store.fail(c.lease, "x", kind="weird")
    assert await snapshot(store) == before


async def test_metacharacters_survive_in_every_string(store: JobStore) -> None:
    """Quotes, comment markers and NUL in payload, worker id, error and result survive."""
    job = await store.create("tone", {NASTY: [NASTY]})
    c = await store.claim("w " + NASTY.replace("\x00", ""))
    assert c is not None
    failed = await store.fail(c.lease, NASTY, kind="transient")
    assert failed.error == NASTY
    c2 = await store.claim("w2")
    assert c2 is not None
    done = await store.complete(c2.lease, {"out": NASTY})
    got = await store.get(job.id)
    assert got is not None
    assert got.payload == {NASTY: [NASTY]}
    assert done.result == {"out": NASTY}
    assert got.error is None  # cleared on completion; the history keeps it
    assert f"will retry: {NASTY}" in [h.reason for h in await store.history(job.id)]
    assert len(await store.list()) == 1


async def test_list_filters_newest_first(store: JobStore, wall: WallClock) -> None:
    """list() filters by status and type and returns the newest first."""
    a = await store.create("alpha")
    wall.advance(1)
    b = await store.create("beta")
    wall.advance(1)
    c = await store.create("alpha")
    await store.cancel(c.id)
    assert [j.id for j in await store.list()] == [c.id, b.id, a.id]
    assert [j.id for j in await store.list(type="alpha")] == [c.id, a.id]
    assert [j.id for j in await store.list(status="pending", type="alpha")] == [a.id]
    assert [j.id for j in await store.list(status=JobStatus.CANCELLED)] == [c.id]
    assert len(await store.list(limit=1)) == 1


async def test_two_stores_see_one_database(store_factory: StoreFactory) -> None:
    """Two store objects on one database (two workers) share jobs and migrations."""
    one, two = store_factory(), store_factory()
    job = await one.create("tone")
    c = await two.claim("w-2")
    assert c is not None
    assert c.job.id == job.id
    assert await one.claim("w-1") is None
    assert (await one.get(job.id)).worker_id == "w-2"  # type: ignore[union-attr]


async def test_views_equal_the_poll_of_each_listed_job(store: JobStore, wall: WallClock) -> None:
    """views() gives, in one query, exactly what poll() gives job by job, with the filters."""
    await store.register_types([JobTypeInfo("prep", ("analyzing", "encoding"))])
    jobs = [await store.create(t) for t in ("prep", "tone", "prep", "tone")]
    claimed = await store.claim("w")
    assert claimed is not None
    await store.update(claimed.lease, stage="analyzing", progress=30)
    await store.cancel(jobs[3].id)
    wall.advance(2)
    for filters in (
        {},
        {"status": "pending"},
        {"type": "prep"},
        {"status": "pending", "type": "tone"},
    ):
        listed = await store.list(**filters)  # type: ignore[arg-type]
        views = await store.views(**filters)  # type: ignore[arg-type]
        assert views == [await store.poll(job.id) for job in listed]
    positions = [v.queue_position for v in await store.views(status="pending")]
    assert positions == [2, 1]  # newest first: the tone job is second in the queue


# -- for the HTTP layer: live updates and keyset pages ---------------------------------------


async def test_changes_are_the_rows_written_after_a_mark(store: JobStore, wall: WallClock) -> None:
    """changes(mark) gives the poll view of each job written after the mark (progress,
    heartbeat, cancel request, transitions), in the order of the writes, nothing else, and
    the mark to continue from; changes(None) reads the latest mark and the store's clock."""
    await store.create("tone")
    old = (await store.list())[0]
    wall.advance(10)
    assert await store.changes(None) == ([], (old.changed_at, old.id), wall.now)
    _, mark, _ = await store.changes(None)
    assert await store.changes(mark) == ([], mark, None)
    running = await store.create("tone")
    c = await store.claim("w")  # takes `old`
    assert c is not None
    assert c.job.id == old.id
    wall.advance(1)
    await store.update(c.lease, stage="encoding", progress=10)
    views, after, read_at = await store.changes(mark)
    assert [v.id for v in views] == [running.id, old.id]
    assert read_at == wall.now
    assert views == [await store.poll(v.id) for v in views]
    assert after == (views[-1].changed_at, old.id)
    await store.heartbeat(c.lease)
    (beat,), after, _ = await store.changes(after)
    assert (beat.id, beat.updated_at) == (old.id, wall.now)
    await store.cancel(old.id)  # a cancel request leaves updated_at (the heartbeat) alone
    (cancelled,), _, _ = await store.changes(after)
    assert cancelled.id == old.id
    assert cancelled.cancel_requested
    assert cancelled.updated_at == beat.updated_at
    (first,), next_mark, _ = await store.changes(mark, limit=1)
    assert first.id == running.id
    assert next_mark == (first.changed_at, running.id)


async def test_change_stamps_grow_when_the_clock_steps_back(
    store: JobStore, wall: WallClock
) -> None:
    """With the database clock stepped back by 600 s, each write still comes after the
    last mark read: change stamps only grow, times on the row are the clock's."""
    job = await store.create("tone")
    claimed = await store.claim("w")
    assert claimed is not None
    _, mark, _ = await store.changes(None)
    wall.advance(-600)
    await store.heartbeat(claimed.lease)
    (beat,), mark, _ = await store.changes(mark)
    assert beat.id == job.id
    assert beat.updated_at == wall.now
    later = await store.create_many("tone", [{}, {}, {}])
    views, mark, _ = await store.changes(mark, limit=2)  # the batch shares one stamp
    rest, _, _ = await store.changes(mark)
    assert [v.id for v in views + rest] == [j.id for j in later]


async def test_changes_and_now_use_the_database_clock(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Without an injected clock, now() is the database's clock and changes() finds a write
    by the stamp the database gave it."""
    if backend == "turso":
        store: JobStore = TursoJobStore(request.getfixturevalue("sqld").url, timeout=10)
    else:
        store = LocalJobStore(tmp_path / "db-clock.db")
    async with store:
        await check_database_clock(store)


async def check_database_clock(store: JobStore) -> None:
    before = await store.now()
    assert abs(before - time.time()) < 5
    _, mark, _ = await store.changes(None)
    job = await store.create("tone")
    views, _, read_at = await store.changes(mark)
    assert [v.id for v in views] == [job.id]
    assert read_at is not None
    assert before <= views[0].updated_at <= read_at


async def test_queue_lists_pending_ids_in_claim_order(store: JobStore) -> None:
    """queue() is the claim order: the first id is claimed next; non-pending jobs are not in it."""
    ids = [(await store.create("tone")).id for _ in range(4)]
    await store.cancel(ids[1])
    assert await store.queue() == [ids[0], ids[2], ids[3]]
    assert await store.queue(limit=2) == [ids[0], ids[2]]
    c = await store.claim("w")
    assert c is not None
    assert c.job.id == ids[0]
    assert await store.queue() == [ids[2], ids[3]]
    moved = (await store.poll(ids[3])).moved_to(1)
    assert (moved.queue_position, moved.reason) == (1, "pending, 0 ahead")


async def test_views_pages_by_keyset(store: JobStore, wall: WallClock) -> None:
    """views(before=(created_at, id)) continues the newest-first list after that job, even
    when jobs share a creation time."""
    ids = []
    for n in range(5):
        ids.append((await store.create("tone")).id)
        if n % 2:
            wall.advance(1)
    newest_first = list(reversed(ids))
    seen: list[int] = []
    before = None
    while True:
        page = await store.views(limit=2, before=before)
        seen += [v.id for v in page]
        if len(page) < 2:
            break
        before = (page[-1].created_at, page[-1].id)
    assert seen == newest_first
    oldest = await store.poll(ids[0])
    assert await store.views(status="pending", before=(oldest.created_at, oldest.id)) == []
    with pytest.raises(InvalidJob, match="cursor"):
        await store.views(before=(1.0,))  # type: ignore[arg-type]


async def test_create_many_adds_all_in_order_or_none(store: JobStore) -> None:
    """create_many writes every job in one go, FIFO in the given order, each with its own
    history; one bad payload refuses the whole batch and writes nothing."""
    jobs = await store.create_many("tone", [{"n": n} for n in range(50)], max_attempts=3)
    assert [j.payload for j in jobs] == [{"n": n} for n in range(50)]
    assert all(j.status is JobStatus.PENDING and j.max_attempts == 3 for j in jobs)
    first = await store.claim("w")
    assert first is not None
    assert first.job.id == jobs[0].id
    assert [h.to_status for h in await store.history(jobs[7].id)] == ["pending"]
    before = await snapshot(store)
    with pytest.raises(InvalidJob, match="payload #2"):
        await store.create_many("tone", [{}, {}, {"bad": math.nan}])
    assert await snapshot(store) == before
    assert await store.create_many("tone", []) == []


async def test_complete_and_claim_finishes_one_job_and_takes_the_next(store: JobStore) -> None:
    """One request completes the running job and claims the next (FIFO); with nothing
    pending the completion still lands; a refused completion gives the claim back."""
    a, b = await store.create("tone"), await store.create("tone")
    first = await store.claim("w")
    assert first is not None
    assert first.job.id == a.id
    done, nxt = await store.complete_and_claim(first.lease, {"ok": 1}, "w")
    assert done.status is JobStatus.COMPLETED
    assert done.result == {"ok": 1}
    assert nxt is not None
    assert nxt.job.id == b.id
    assert nxt.job.attempt == 1
    last, none = await store.complete_and_claim(nxt.lease, None, "w", types=["tone"])
    assert last.status is JobStatus.COMPLETED
    assert none is None
    c = await store.create("tone")
    with pytest.raises(LeaseLost):
        await store.complete_and_claim(Lease(a.id, 99, "w"), "not mine", "w")
    row = await store.get(c.id)
    assert row is not None
    assert (row.status, row.attempt) == (JobStatus.PENDING, 0)


async def test_prune_deletes_old_finished_jobs_with_their_history_only(
    store: JobStore, wall: WallClock
) -> None:
    """Finished jobs older than the retention go, in batches, history and all; younger
    ones, other statuses, and pending or running jobs stay; a dry run only counts."""
    old = await store.create_many("tone", [{}] * 5)
    for _ in old[:3]:
        claimed = await store.claim("w")
        assert claimed is not None
        await store.complete(claimed.lease, None)
    await store.cancel(old[3].id)
    running = await store.claim("w")  # old[4] stays running
    wall.advance(3600)
    young = await store.create("tone")
    await store.cancel(young.id)
    assert await store.prune("completed", 1800, dry_run=True) == 3
    assert await store.prune("completed", 1800, limit=2, dry_run=True) == 2
    assert await store.prune("completed", 1800, limit=None, dry_run=True) == 3
    assert await store.prune("completed", 1800, limit=2) == 2
    assert await store.prune("completed", 1800, limit=2) == 1
    assert await store.prune("cancelled", 1800) == 1  # old[3]; the young one stays
    assert [j.id for j in await store.list(limit=100)] == [young.id, old[4].id]
    with pytest.raises(JobNotFound):
        await store.history(old[0].id)
    assert running is not None
    assert (await store.get(running.job.id)) is not None
    with pytest.raises(InvalidJob, match="only finished jobs"):
        await store.prune("running", 1)


async def test_a_batch_over_the_byte_limit_is_refused_whole(store: JobStore) -> None:
    """create_many refuses payloads adding up to more than one statement can carry (sqld's
    limit), as bad input naming the fix, before anything is written."""
    big = {"b": "é" * 30_000}  # 60 kB of UTF-8 each
    with pytest.raises(InvalidJob, match="split the batch"):
        await store.create_many("tone", [big] * 80)
    assert await store.list() == []
    assert len(await store.create_many("tone", [big] * 40)) == 40


async def test_counts_follow_every_transition(store: JobStore, wall: WallClock) -> None:
    """The counts by status (what a metrics scrape reads) equal the table's after every
    kind of change: create, claim, complete, fail, retry, release, cancel, reap, prune."""

    async def agree() -> dict[str, int]:
        truth = {status.value: 0 for status in JobStatus}
        for job in await store.list(limit=1000):
            truth[job.status.value] += 1
        counts = await store.counts()
        assert counts == truth
        return counts

    assert await agree() == {status.value: 0 for status in JobStatus}
    jobs = await store.create_many("tone", [{}] * 6)
    await store.create("tone", max_attempts=1)
    assert (await agree())["pending"] == 7
    a = await store.claim("w")
    assert a is not None
    await store.complete(a.lease, None)
    b = await store.claim("w")
    assert b is not None
    await store.fail(b.lease, "flaky", kind="transient")  # back to pending
    await agree()
    b2 = await store.claim("w")
    assert b2 is not None
    await store.fail(b2.lease, "bad", kind="permanent")
    c = await store.claim("w")
    assert c is not None
    await store.release(c.lease, "shutdown")
    await store.cancel(jobs[3].id)  # pending: cancelled at once
    d = await store.claim("w")
    assert d is not None
    await store.cancel(d.job.id)  # running: requested
    await agree()
    await store.confirm_cancelled(d.lease)
    e = await store.claim("w")
    assert e is not None
    wall.advance(120)
    await store.reap(60)
    counts = await agree()
    assert counts["completed"] == 1
    assert counts["failed"] == 1
    assert counts["cancelled"] == 2
    assert await store.prune("cancelled", 60) == 2
    assert (await agree())["cancelled"] == 0


async def test_the_reaper_rides_out_a_database_clock_stepped_back(
    store: JobStore, wall: WallClock
) -> None:
    """The database clock steps back 600 s right after a worker died: the reapers' steady
    period goes on, the dead job's last heartbeat (now in the future) counts as made at the
    step, and the job is reaped stale_after later, not 600 s later; a job whose holder
    keeps beating is never reaped."""
    dead_job, live_job = await store.create("tone"), await store.create("tone")
    dead, live = await store.claim("w-dead"), await store.claim("w-live")
    assert dead is not None
    assert live is not None

    async def round_() -> list[int]:
        await store.heartbeat(live.lease)
        reaped = [job.id for job in await store.reap(60, steady_gap=15)]
        wall.advance(10)
        return reaped

    for _ in range(8):  # the reapers have ticked steadily for 70 s
        await store.heartbeat(dead.lease)
        assert await round_() == []
    wall.advance(-600)
    waited = 0
    while not (reaped := await round_()):
        waited += 10
        assert waited <= 600, "not reaped within the size of the step"
    assert reaped == [dead_job.id]
    assert 60 <= waited <= 70
    assert (await store.get(live_job.id)).status is JobStatus.RUNNING  # type: ignore[union-attr]


async def test_the_poll_view_carries_the_result_and_its_outputs(store: JobStore) -> None:
    """A finished job's view has its result, and ``outputs``: name, size, content type
    and duration of each stored file (no key, hash or URL); the same in list views."""
    job = await store.create("prep")
    c = await store.claim("w")
    assert c is not None
    entry = {
        "name": "a.mp3",
        "key": "jobs/1/a.mp3",
        "size": 10,
        "content_type": "audio/mpeg",
        "sha256": "ab" * 32,
        "duration": 1.5,
    }
    result = {"input_lufs": -30.0, "outputs": [entry, "junk", {"no": "name"}]}
    await store.complete(c.lease, result)
    view = (await store.poll(job.id)).to_dict()
    assert view["result"] == result
    assert view["outputs"] == [
        {"name": "a.mp3", "size": 10, "content_type": "audio/mpeg", "duration": 1.5}
    ]
    (listed,) = await store.views()
    assert listed.to_dict() == view


async def test_prune_hands_back_the_results_of_what_it_deletes(
    store: JobStore, wall: WallClock
) -> None:
    """With ``results``, prune also gives the pruned jobs' results (a dry run those it
    would prune), so the files they name can go too."""
    for n in range(2):
        await store.create("tone")
        c = await store.claim("w")
        assert c is not None
        await store.complete(c.lease, {"n": n})
    wall.advance(3600)
    seen: list[object] = []
    assert await store.prune("completed", 1800, dry_run=True, results=seen) == 2
    assert sorted(seen, key=str) == [{"n": 0}, {"n": 1}]
    deleted: list[object] = []
    assert await store.prune("completed", 1800, results=deleted) == 2
    assert sorted(deleted, key=str) == [{"n": 0}, {"n": 1}]
    assert await store.list() == []


async def test_progress_reports_carry_the_log_tail_and_a_new_attempt_starts_without_one(
    store: JobStore,
) -> None:
    """A progress report writes the job's log tail in the same statement; a report without
    one keeps it; the view carries it with the worker and the start time; the next attempt's
    claim clears it."""
    job = await store.create("tone")
    c = await store.claim("w-tail")
    assert c is not None
    await store.update(c.lease, stage="encoding", progress=10, log_tail="size=1kB time=00:01")
    await store.update(c.lease, stage="encoding", progress=20)
    view = (await store.poll(job.id)).to_dict()
    assert view["log_tail"] == "size=1kB time=00:01"
    assert view["worker_id"] == "w-tail"
    assert view["started_at"] == c.job.started_at
    await store.fail(c.lease, "connection reset", kind="transient", log_tail="[error] reset")
    assert (await store.poll(job.id)).log_tail == "[error] reset"
    again = await store.claim("w-tail")
    assert again is not None
    assert (await store.poll(job.id)).log_tail is None


async def test_a_failure_keeps_its_telling_line_apart_from_its_message(store: JobStore) -> None:
    """``fail(detail=...)`` stores the line that says most beside the message: the view's
    ``failure`` is {kind, message, detail}; a completion after a retried failure clears
    it with the error."""
    job = await store.create("a", max_attempts=2)
    c = await store.claim("w")
    assert c is not None
    message = "ffmpeg failed (exit 234): Invalid frame size: nonsense. | Error opening output"
    await store.fail(c.lease, message, kind="transient", detail="Invalid frame size: nonsense.")
    failure = (await store.poll(job.id)).to_dict()["failure"]
    assert failure == {
        "kind": "transient",
        "message": message,
        "detail": "Invalid frame size: nonsense.",
    }
    c2 = await store.claim("w")
    assert c2 is not None
    await store.complete(c2.lease, {"ok": True}, log_tail="done")
    view = (await store.poll(job.id)).to_dict()
    assert (view["failure"], view["error"], view["log_tail"]) == (None, None, "done")


async def test_the_log_tail_is_escaped_and_clipped(store: JobStore) -> None:
    """The stored tail keeps its last 20 lines and at most 4 KiB, each line with its control
    and bidi characters escaped (the rules of the CLI's and the log's text)."""
    job = await store.create("a")
    c = await store.claim("w")
    assert c is not None
    lines = [f"line {n} \x1b[31mred\x1b[0m\r\u202e" for n in range(30)]
    await store.update(c.lease, stage=None, progress=None, log_tail="\n".join(lines))
    tail = (await store.poll(job.id)).log_tail
    assert tail is not None
    kept = tail.split("\n")
    assert len(kept) == 20
    assert kept[-1] == "line 29 \\x1b[31mred\\x1b[0m\\r\\u202e"
    await store.update(c.lease, stage=None, progress=None, log_tail="x" * 10_000)
    long_tail = (await store.poll(job.id)).log_tail
    assert long_tail is not None
    assert len(long_tail.encode()) <= 4096
    assert long_tail.endswith("x")


async def test_a_type_example_payload_is_registered(store: JobStore) -> None:
    """The example payload a job type declares is kept with its stage list."""
    await store.register_types(
        [JobTypeInfo("tone", ("encoding",), example={"seconds": 3}), JobTypeInfo("bare")]
    )
    examples = {t.name: t.example for t in await store.types()}
    assert examples == {"bare": None, "tone": {"seconds": 3}}
