"""Round trips to a libSQL server: one HTTP request per store call, and several statements of
one call are all or none, on both adapters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from media_jobs_testing.helpers import WallClock
from media_jobs_testing.proxy import Proxy
from media_jobs_testing.sqld import SqldServer
from stores import JobStatus, JobStore, JobStoreError, JobTypeInfo, TursoJobStore

pytestmark = pytest.mark.sqld


@pytest.fixture
def proxy(sqld: SqldServer) -> Iterator[Proxy]:
    p = Proxy(sqld.port)
    yield p
    p.close()


async def test_every_store_call_is_one_http_request(proxy: Proxy, wall: WallClock) -> None:
    """Each call a worker makes, those of several statements included, reaches the server in
    exactly one HTTP request."""
    store = TursoJobStore(proxy.url, clock=wall, timeout=5.0)
    try:
        await store.get(1)  # the schema check, once per store
        for _ in range(2):
            await store.create("tone", {})
        calls = {
            "claim": lambda: store.claim("w-1"),
            "heartbeat": lambda: store.heartbeat(claimed.lease),
            "update": lambda: store.update(claimed.lease, stage="encoding", progress=5.0),
            "check_cancel": lambda: store.check_cancel(claimed.lease),
            "complete_and_claim": lambda: store.complete_and_claim(claimed.lease, None, "w-1"),
            "poll": lambda: store.poll(1),
            "reap (tick and reap)": lambda: store.reap(60.0, steady_gap=30.0),
            "register_types (two)": lambda: store.register_types(
                [JobTypeInfo("a", ("x",), 2, 10.0), JobTypeInfo("b", ("y",), 2, 10.0)]
            ),
        }
        counts = {}
        claimed = None
        for name, call in calls.items():
            proxy.requests.clear()
            answer = await call()
            if name == "claim":
                claimed = answer
            counts[name] = len(proxy.requests)
        assert counts == dict.fromkeys(calls, 1)
    finally:
        store.close()


async def test_the_statements_of_one_call_are_all_or_none(store: JobStore) -> None:
    """When a later statement of a call fails, the earlier ones of the same call are undone."""
    job = await store.create("tone", {})
    transport = store._transport  # type: ignore[attr-defined]
    ops = [
        ("UPDATE jobs SET status = 'failed' WHERE id = ?", (job.id,)),
        ("SELECT no_such_column FROM jobs", ()),
    ]
    with pytest.raises(JobStoreError):
        await transport.run(ops)
    again = await store.get(job.id)
    assert again is not None
    assert again.status is JobStatus.PENDING
