"""Property tests: whatever a caller stores comes back exactly, and bad input never writes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores import InvalidJob, LocalJobStore

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)

STORE_DIR = Path(tempfile.mkdtemp(prefix="jobs-props-"))


def run(fn: Any, *args: Any) -> Any:
    async def main() -> Any:
        async with LocalJobStore(STORE_DIR / "jobs.db") as store:
            return await fn(store, *args)

    return trio.run(main)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=json_values,
    error=st.text(min_size=1, max_size=300),
    worker=st.text(min_size=1, max_size=40).filter(str.isprintable),
)
def test_payload_error_and_worker_id_round_trip(payload: Any, error: str, worker: str) -> None:
    """Any JSON payload, error text and printable worker id is stored and read back as is."""

    async def scenario(store: LocalJobStore) -> None:
        job = await store.create("tone", payload)
        expected = {} if payload is None else payload  # None means "no payload": {}
        assert json.dumps(job.payload, sort_keys=True) == json.dumps(expected, sort_keys=True)
        while (claimed := await store.claim(worker)) is not None and claimed.job.id != job.id:
            await store.complete(claimed.lease, None)
        assert claimed is not None
        assert claimed.job.worker_id == worker
        failed = await store.fail(claimed.lease, error, kind="permanent")
        assert failed.error == error
        assert failed.payload == job.payload

    run(scenario)


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=80))
def test_type_names_are_accepted_or_refused_without_writing(name: str) -> None:
    """A type name is either valid and stored verbatim, or refused with nothing written."""

    async def scenario(store: LocalJobStore) -> None:
        before = len(await store.list(limit=10_000))
        try:
            job = await store.create(name)
        except InvalidJob as exc:
            assert "invalid job type" in str(exc)
            assert len(await store.list(limit=10_000)) == before
        else:
            assert job.type == name
            assert len(await store.list(limit=10_000)) == before + 1

    run(scenario)
