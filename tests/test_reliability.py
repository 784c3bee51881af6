"""Regression tests for failure modes found by trying the store from outside (issue 8).

Each test failed on the code before its fix. Store-level rules run on both adapters.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from stores import (
    InvalidJob,
    JobStatus,
    JobStore,
    LocalJobStore,
    StoreConfigError,
    StoreUnavailable,
    TursoJobStore,
)

from .conftest import WallClock
from .proxy import Proxy
from .sqld import SqldServer

SURROGATE = "take-\udcff.wav"  # a non-UTF-8 file name, as os.listdir returns it


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


async def test_error_text_with_a_lone_surrogate_is_stored_escaped(store: JobStore) -> None:
    """A failure message holding a lone surrogate is made storable, not refused."""
    await store.create("tone", max_attempts=1)
    claimed = await store.claim("w")
    assert claimed is not None
    failed = await store.fail(claimed.lease, f"cannot open {SURROGATE}", kind="permanent")
    assert failed.status is JobStatus.FAILED
    assert failed.error == "cannot open take-\\udcff.wav"


@pytest.mark.parametrize("result", [{"file": SURROGATE}, nested(3000)], ids=["surrogate", "deep"])
async def test_an_unstorable_result_is_refused_and_changes_nothing(
    store: JobStore, result: object
) -> None:
    """A result that cannot become JSON text raises InvalidJob naming why; the row stays."""
    await store.create("tone")
    claimed = await store.claim("w")
    assert claimed is not None
    with pytest.raises(InvalidJob, match="result"):
        await store.complete(claimed.lease, result)
    row = await store.get(claimed.job.id)
    assert row is not None and row.status is JobStatus.RUNNING


@pytest.mark.parametrize(
    "payload, message",
    [
        ("\ud800", "not valid Unicode"),
        (10**5000, "not JSON-serialisable"),
        (nested(3000), "nested too deeply"),
    ],
    ids=["surrogate", "huge-int", "deep"],
)
async def test_unstorable_payloads_are_refused_and_nothing_is_written(
    store: JobStore, payload: object, message: str
) -> None:
    """create() refuses a payload that cannot become JSON text, with a reason; no row."""
    with pytest.raises(InvalidJob, match=message):
        await store.create("tone", payload)
    assert await store.list() == []


async def test_an_id_beyond_64_bits_is_invalid_not_a_crash(store: JobStore) -> None:
    """A 25-digit id is refused as invalid input before any SQL runs."""
    for call in (store.get, store.poll, store.cancel, store.resubmit, store.history):
        with pytest.raises(InvalidJob, match="positive integer"):
            await call(10**24)


async def test_a_charged_release_on_the_last_attempt_fails_the_job(store: JobStore) -> None:
    """release(charge_attempt=True) at the attempt limit ends the job failed, never pending."""
    job = await store.create("tone", max_attempts=2)
    for attempt in (1, 2):
        claimed = await store.claim("w")
        assert claimed is not None and claimed.job.attempt == attempt
        released = await store.release(
            claimed.lease, "outcome could not be recorded", charge_attempt=True
        )
    assert released.status is JobStatus.FAILED
    assert released.error == "outcome could not be recorded"
    assert await store.claim("w") is None
    row = await store.get(job.id)
    assert row is not None and row.attempt == 2


async def test_completion_after_a_retry_clears_the_old_error(store: JobStore) -> None:
    """A job completed on its second attempt shows no error; its history keeps the first."""
    job = await store.create("tone")
    first = await store.claim("w")
    assert first is not None
    await store.fail(first.lease, "connection reset", kind="transient")
    second = await store.claim("w")
    assert second is not None
    done = await store.complete(second.lease, "ok")
    assert (done.error, done.error_kind) == (None, None)
    reasons = [h.reason for h in await store.history(job.id)]
    assert "will retry: connection reset" in reasons


def test_a_file_that_is_not_sqlite_is_a_config_error(tmp_path: Path) -> None:
    """JOBS_DB_PATH naming some other file is refused as configuration, not an outage."""
    path = tmp_path / "notes.txt"
    path.write_text("these are not the jobs you are looking for\n" * 100)

    async def use() -> None:
        async with LocalJobStore(path) as store:
            await store.list()

    with pytest.raises(StoreConfigError, match="not a SQLite database"):
        trio.run(use)
    assert path.read_text().startswith("these are not")


def test_a_token_with_a_line_break_is_refused_without_showing_it() -> None:
    """A token with CR/LF (a copy-paste accident) is a configuration error, not an outage."""
    token = "eyJhbGciOi-SECRET\r\n"
    with pytest.raises(StoreConfigError, match="TURSO_AUTH_TOKEN") as info:
        TursoJobStore("http://127.0.0.1:8080", token)
    assert "SECRET" not in str(info.value)


@pytest.mark.sqld
async def test_a_claim_whose_answer_is_lost_is_recovered_without_charge(
    sqld: SqldServer, wall: WallClock
) -> None:
    """The claim committed but its answer never arrived: the next claim gives the job back
    uncharged and takes it again, so it runs exactly once, on attempt 1."""
    proxy = Proxy(sqld.port)
    store = TursoJobStore(proxy.url, clock=wall, timeout=2.0)
    observer = TursoJobStore(sqld.url, clock=wall)
    try:
        job = await store.create("tone", max_attempts=1)
        proxy.hold("/v3/cursor")
        with pytest.raises(StoreUnavailable):
            await store.claim("w-1")
        proxy.release()
        stranded = await observer.get(job.id)
        assert stranded is not None and stranded.status is JobStatus.RUNNING
        claimed = await store.claim("w-1")
        assert claimed is not None and claimed.job.id == job.id
        assert claimed.job.attempt == 1
        steps = [(h.to_status, h.reason) for h in await observer.history(job.id)]
        assert steps[2][0] == "pending" and "answer was lost" in (steps[2][1] or "")
    finally:
        proxy.close()
        await store.aclose()
        await observer.aclose()
