"""Creation is idempotent, on both adapters: a resubmit makes at most one job however many
callers race, and a job created with an idempotency key is made once per key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import trio

from media_jobs_testing.helpers import StoreFactory, WallClock
from stores import IdempotencyMismatch, InvalidJob, JobStatus, JobStore, LocalJobStore

RACERS = 10


async def _failed_job(store: JobStore) -> int:
    job = await store.create("a", {"n": 1})
    claimed = await store.claim("w")
    assert claimed is not None
    await store.fail(claimed.lease, "bad input", kind="permanent")
    return job.id


async def test_ten_concurrent_resubmits_make_one_job(store_factory: StoreFactory) -> None:
    """Ten resubmits of one failed job, each through its own store (connection), racing:
    exactly one new job, and every caller is answered with it."""
    source = await _failed_job(store_factory())
    stores = [store_factory() for _ in range(RACERS)]
    answers: list[int] = []

    async def resubmit(store: JobStore) -> None:
        answers.append((await store.resubmit(source)).id)

    async with trio.open_nursery() as nursery:
        for store in stores:
            nursery.start_soon(resubmit, store)
    jobs = await stores[0].list(limit=100)
    assert len(jobs) == 2
    assert set(answers) == {max(j.id for j in jobs)}


async def test_a_second_resubmit_answers_the_first_copy(store: JobStore) -> None:
    """Resubmitting a job again returns the copy its first resubmit made, as it is now."""
    source = await _failed_job(store)
    first = await store.resubmit(source)
    await store.cancel(first.id)
    again = await store.resubmit(source)
    assert again.id == first.id
    assert again.status is JobStatus.CANCELLED
    assert len(await store.list(limit=10)) == 2


async def test_the_same_key_and_request_answer_the_first_job(store: JobStore) -> None:
    """The same key with the same type, payload (key order aside) and max_attempts makes no
    second job; the first is returned."""
    first = await store.create("a", {"x": 1, "y": [2]}, idempotency_key="k-1")
    again = await store.create("a", {"y": [2], "x": 1}, idempotency_key="k-1")
    assert again.id == first.id
    assert [j.id for j in await store.list(limit=10)] == [first.id]


@pytest.mark.parametrize(
    ("type_", "payload", "max_attempts"),
    [("b", {"x": 1}, None), ("a", {"x": 2}, None), ("a", {"x": 1}, 3)],
)
async def test_the_same_key_with_another_request_is_refused(
    store: JobStore, type_: str, payload: dict[str, int], max_attempts: int | None
) -> None:
    """Reusing a key for another type, payload or max_attempts raises, naming the key and
    the job that holds it, and writes nothing."""
    first = await store.create("a", {"x": 1}, idempotency_key="k-2")
    with pytest.raises(IdempotencyMismatch, match=f"'k-2'.*job {first.id}"):
        await store.create(type_, payload, max_attempts=max_attempts, idempotency_key="k-2")
    assert len(await store.list(limit=10)) == 1


async def test_ten_concurrent_creates_with_one_key_make_one_job(
    store_factory: StoreFactory,
) -> None:
    """Ten creations with one key, racing on ten connections: one job, ten equal answers."""
    stores = [store_factory() for _ in range(RACERS)]
    answers: list[int] = []

    async def create(store: JobStore) -> None:
        answers.append((await store.create("a", {"n": 7}, idempotency_key="race")).id)

    async with trio.open_nursery() as nursery:
        for store in stores:
            nursery.start_soon(create, store)
    jobs = await stores[0].list(limit=100)
    assert len(jobs) == 1
    assert answers == [jobs[0].id] * RACERS


async def test_keys_are_forgotten_after_their_retention(store: JobStore, wall: WallClock) -> None:
    """Past its retention a key is swept; the same key then makes a new job, and the old
    job stays."""
    first = await store.create("a", idempotency_key="k-3")
    wall.advance(100)
    assert await store.forget_keys(200) == 0
    wall.advance(101)
    assert await store.forget_keys(200) == 1
    again = await store.create("a", idempotency_key="k-3")
    assert again.id != first.id
    assert await store.get(first.id) is not None


async def test_a_resubmits_key_is_never_forgotten(store: JobStore, wall: WallClock) -> None:
    """The rule "one resubmit per job" outlives the retention of clients' keys."""
    source = await _failed_job(store)
    first = await store.resubmit(source)
    wall.advance(10_000)
    assert await store.forget_keys(1) == 0
    assert (await store.resubmit(source)).id == first.id


@pytest.mark.parametrize("key", ["", " k", "k\n", "é", "x" * 256])
async def test_a_malformed_key_is_refused(store: JobStore, key: str) -> None:
    """An empty, padded, non-ASCII, control-character or overlong key is refused."""
    with pytest.raises(InvalidJob, match="idempotency key"):
        await store.create("a", idempotency_key=key)
    assert await store.list() == []


#: What revision 7 did not have: the dedup columns and their indexes, the worker registry.
REVISION_7 = (
    "DROP INDEX ux_jobs_dedup_key",
    "DROP INDEX ix_jobs_client_keys",
    "ALTER TABLE jobs DROP COLUMN dedup_key",
    "ALTER TABLE jobs DROP COLUMN request_hash",
    "DROP TABLE workers",
    "UPDATE schema_meta SET value = 7 WHERE key = 'revision'",
)


async def test_a_revision_7_database_with_duplicate_resubmits_upgrades(tmp_path: Path) -> None:
    """A database of revision 7, where a job was resubmitted twice (the old race), gains
    the rule on upgrade: its jobs are kept, and keyed creation and the registry work."""
    path = tmp_path / "jobs.db"
    async with LocalJobStore(path) as store:
        source = await _failed_job(store)
    with sqlite3.connect(path) as raw:
        for statement in REVISION_7:
            raw.execute(statement)
        for _ in range(2):  # revision 7's resubmit, twice
            raw.execute(
                "INSERT INTO jobs (type, payload, status, max_attempts, created_at, "
                "updated_at, retry_of) SELECT type, payload, 'pending', max_attempts, "
                "created_at, updated_at, id FROM jobs WHERE id = ?",
                (source,),
            )
    async with LocalJobStore(path) as store:
        keyed = await store.create("a", idempotency_key="k")
        assert (await store.create("a", idempotency_key="k")).id == keyed.id
        assert len(await store.list(limit=10)) == 4
        assert await store.workers() == []
