"""The local store's reads run beside the loop (issue 19, goal 5): real SQLite, real Trio.

A read of more than a row inside Trio runs on a read-only connection in a thread (WAL lets
readers run beside the writer), so a slow read neither stops the event loop nor holds up
the calls behind it; a poll (one row by its key) runs on the loop's thread meanwhile.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import trio

from stores import JobStatus, LocalJobStore

FINISHED_JOBS = 200_000


async def _many_finished(path: Path) -> LocalJobStore:
    """A store holding FINISHED_JOBS completed jobs (long finished: prunable) and one
    pending job, the last."""
    store = LocalJobStore(path)
    for _ in range(FINISHED_JOBS // 10_000):
        await store.create_many("tone", [{}] * 10_000)
    with sqlite3.connect(path) as raw:
        raw.execute(
            "UPDATE jobs SET status = 'completed', created_at = 1, finished_at = 1, noted_at = 1, "
            "changed_at = 1"
        )
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    await store.create("tone")
    return store


async def test_a_slow_read_lets_the_loop_and_other_reads_run_meanwhile(tmp_path: Path) -> None:
    """A dry-run prune counting 200,000 jobs (tens of milliseconds of SQLite) is under
    way while another task runs and a poll is answered: neither waits for it."""
    store = await _many_finished(tmp_path / "jobs.db")
    pending = (await store.list(status="pending"))[0]
    async with trio.open_nursery() as nursery:  # readers open (as in a server's life)
        for _ in range(2):
            nursery.start_soon(store.queue)
    counting = trio.Event()
    counted: list[int] = []

    async def slow_read() -> None:
        counting.set()
        counted.append(await store.prune("completed", 1.0, dry_run=True, limit=None))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(slow_read)
        await counting.wait()
        await trio.lowlevel.checkpoint()
        loop_ran_while_counting = not counted
        view = await store.poll(pending.id)
        poll_answered_while_counting = not counted
    assert loop_ran_while_counting
    assert poll_answered_while_counting
    assert view.status is JobStatus.PENDING
    assert counted == [FINISHED_JOBS]
    await store.aclose()


async def test_reads_see_the_writes_before_them_and_a_reader_never_writes(
    tmp_path: Path,
) -> None:
    """A read after a write sees it (each read starts a new snapshot), several reads at
    once all answer, and the readers are read-only connections."""
    store = LocalJobStore(tmp_path / "jobs.db")
    job = await store.create("tone")
    results: list[list[JobStatus]] = []

    async def list_jobs() -> None:
        results.append([j.status for j in await store.list()])

    await store.cancel(job.id)
    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(list_jobs)
    assert results == [[JobStatus.CANCELLED]] * 20
    assert store._transport._readers  # type: ignore[attr-defined]
    for _, reader in store._transport._readers:  # type: ignore[attr-defined]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("DELETE FROM jobs")
    assert await store.get(job.id) is not None
    await store.aclose()
