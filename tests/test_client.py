"""The HTTP client for apps that are not Trio (issue 18 #3), against a real `run --http`
process (a worker and the API in one): sync, from asyncio (asyncio.run) and from Trio; and
an asyncio loop that stays responsive while the database behind `serve` stalls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from media_jobs_client import (
    AsyncClient,
    AuthError,
    BadRequest,
    Client,
    Conflict,
    JobView,
    NotFound,
    Unprocessable,
)
from media_jobs_testing.loop_lag import a_job_on, lag_during_stall
from media_jobs_testing.sqld import SqldServer
from media_jobs_testing.workers import TIMINGS, Served, worker_env

TOKEN = "a-token-of-at-least-16-chars"


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One worker serving the API with a token, for the whole module."""
    tmp = tmp_path_factory.mktemp("client")
    env = worker_env(JOBS_DB_PATH=str(tmp / "jobs.db"), SUPERVISOR_API_TOKEN=TOKEN)
    served = Served(env, ["run", "--http", "127.0.0.1:0", *TIMINGS], tmp / "worker.log")
    yield served
    assert served.stop() == 0


@pytest.fixture
def client(worker: Served) -> Iterator[Client]:
    with Client(worker.url, token=TOKEN) as jobs:
        yield jobs


def test_submit_wait_get_sync(client: Client) -> None:
    job = client.submit("sleep", {"seconds": 0.3, "steps": 3}, max_attempts=2)
    assert (job.type, job.max_attempts) == ("sleep", 2)
    done = client.wait(job.id, timeout=30)
    assert done.status == "completed"
    assert client.get(job.id) == done


def test_events_follow_the_job_to_its_end(client: Client) -> None:
    job = client.submit("sleep", {"seconds": 0.6, "steps": 3})
    views = list(client.events(job.id))
    progress = [v.progress for v in views if v.status == "running" and v.progress is not None]
    assert progress == sorted(progress)
    assert views[-1].status == "completed"
    assert all(not v.terminal for v in views[:-1])


def test_cancel_then_resubmit(client: Client) -> None:
    job = client.submit("child", {"seconds": 30})
    while client.get(job.id).status != "running":
        time.sleep(0.05)
    assert client.cancel(job.id).data["cancel_requested"] is True
    assert client.wait(job.id, timeout=30).status == "cancelled"
    again = client.resubmit(job.id)
    assert again.retry_of == job.id
    client.cancel(again.id)
    assert client.wait(again.id, timeout=30).status == "cancelled"


def test_errors_carry_the_servers_line_and_status(client: Client, worker: Served) -> None:
    with pytest.raises(NotFound) as missing:
        client.get(999_999)
    assert missing.value.status == 404
    assert "999999" in missing.value.message
    with pytest.raises(Unprocessable, match="no live worker serves") as unknown:
        client.submit("no-such-type")
    assert unknown.value.status == 422
    with pytest.raises(BadRequest, match="max_attempts"):
        client.submit("sleep", max_attempts=0)
    done = client.wait(client.submit("sleep", {"seconds": 0}).id, timeout=30)
    with pytest.raises(Conflict):
        client.resubmit(done.id)
    with Client(worker.url) as anonymous, pytest.raises(AuthError) as refused:
        anonymous.get(done.id)
    assert refused.value.status == 401


def test_wait_falls_back_to_polling_with_etags(client: Client, worker: Served) -> None:
    """A stream that cannot be had (here: every events request refused) leaves polling."""
    polls: list[str | None] = []
    job = client.submit("sleep", {"seconds": 0.5, "steps": 2})
    with httpx.Client(base_url=worker.url) as real:

        def route(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/events"):
                raise httpx.ConnectError("no streams here", request=request)
            polls.append(request.headers.get("if-none-match"))
            sent = real.send(request)
            sent.read()
            return sent

        with Client(worker.url, token=TOKEN, transport=httpx.MockTransport(route)) as polling:
            assert polling.wait(job.id, poll_interval=0.1, timeout=30).status == "completed"
    assert polls[0] is None
    assert all(etag for etag in polls[1:])


def test_the_idempotency_key_is_sent_and_the_answer_returned(worker: Served) -> None:
    seen: list[str | None] = []
    with httpx.Client(base_url=worker.url) as real:

        def route(request: httpx.Request) -> httpx.Response:
            seen.append(request.headers.get("idempotency-key"))
            sent = real.send(request)
            sent.read()
            return sent

        with Client(worker.url, token=TOKEN, transport=httpx.MockTransport(route)) as jobs:
            job = jobs.submit("sleep", {"seconds": 0}, idempotency_key="order-42")
            assert seen == ["order-42"]
            assert jobs.get(job.id).id == job.id


async def drive(jobs: AsyncClient) -> list[JobView]:
    job = await jobs.submit("sleep", {"seconds": 0.3, "steps": 3})
    views = [view async for view in jobs.events(job.id)]
    views.append(await jobs.wait(job.id, timeout=30))
    return views


def test_async_client_under_asyncio(worker: Served) -> None:
    async def main() -> list[JobView]:
        async with AsyncClient(worker.url, token=TOKEN) as jobs:
            return await drive(jobs)

    views = asyncio.run(main())
    assert [views[-2].status, views[-1].status] == ["completed", "completed"]


async def test_async_client_under_trio(worker: Served) -> None:
    async with AsyncClient(worker.url, token=TOKEN) as jobs:
        views = await drive(jobs)
        with pytest.raises(NotFound):
            await jobs.get(999_999)
    assert views[-1].status == "completed"
    assert trio.lowlevel.current_trio_token() is not None


# -- an asyncio app during a database stall ---------------------------------------------


@pytest.mark.sqld
def test_an_asyncio_loop_stays_responsive_while_the_database_stalls(tmp_path: Path) -> None:
    """The issue's finding: the store through run_sync froze an asyncio loop 5.9 s during a
    6 s stall (benchmarks/client_lag.py measures both). Through the client the app waits
    for answers; its loop never stops."""

    async def app(url: str, sqld: SqldServer, job_id: int) -> tuple[float, float]:
        async with AsyncClient(url) as jobs:
            return await lag_during_stall(lambda: jobs.get(job_id), sqld, stall=6.0)

    with SqldServer(tmp_path / "db") as sqld:
        job_id = a_job_on(sqld)
        env = worker_env(TURSO_DATABASE_URL=sqld.url)
        served = Served(env, ["serve", "--port", "0"], tmp_path / "serve.log")
        try:
            worst, longest = asyncio.run(app(served.url, sqld, job_id))
        finally:
            served.stop()
    print(f"worst asyncio loop lag during a 6 s stall: {worst * 1000:.0f} ms")
    assert longest > 3.0  # the stall was real: a call waited through it
    assert worst < 0.5


def test_wait_gives_up_at_its_timeout(client: Client, worker: Served) -> None:
    job = client.submit("child", {"seconds": 30})
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.wait(job.id, timeout=1.0, poll_interval=0.1)
    assert time.monotonic() - started < 5
    client.cancel(job.id)
    assert client.wait(job.id, timeout=30).status == "cancelled"


async def test_async_wait_gives_up_at_its_timeout(worker: Served) -> None:
    async with AsyncClient(worker.url, token=TOKEN) as jobs:
        job = await jobs.submit("child", {"seconds": 30})
        with pytest.raises(TimeoutError):
            await jobs.wait(job.id, timeout=1.0)
        await jobs.cancel(job.id)
        assert (await jobs.wait(job.id, timeout=30)).status == "cancelled"
