"""The HTTP API through a real server (Hypercorn on a free loopback port), on both stores."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
import trio

from media_jobs_testing.helpers import wait_for_status
from media_jobs_testing.sqld import SqldServer
from media_jobs_testing.web_client import POLL_KEYS, Event, Server, live_worker, running_server, sse
from stores import JobStatus, JobStore
from stores._validate import MAX_PAYLOAD_BYTES
from supervisor import WorkerConfig, open_supervisor
from supervisor.reference import JOB_TYPES
from web import Broadcaster, WebSettings
from web._api import MAX_BODY_BYTES, PAYLOAD_LIMIT

pytestmark = pytest.mark.store(clock="real", timeout=10)

TYPES = [t.info() for t in JOB_TYPES]
TOKEN = "tok-http-SECRET-0123456789abcdef"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
FAST = WorkerConfig(
    worker_id="w-http",
    poll_interval=0.1,
    heartbeat_interval=0.3,
    stale_after=5,
    kill_grace=1,
    progress_interval=0.1,  # every step of a 1.5 s job is written (the default is 2 s)
)


@pytest.fixture
async def api(store: JobStore) -> AsyncIterator[Server]:
    await live_worker(store, TYPES)
    async with running_server(store, WebSettings(tick=0.1)) as server:
        yield server


async def snapshot(store: JobStore) -> list[Any]:
    return [(j, await store.history(j.id)) for j in await store.list(limit=1000)]


def assert_error(response: httpx.Response, status: int, text: str) -> None:
    """The status, and one JSON line naming the problem."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert "\n" not in body["error"], body
    assert text in body["error"], body


async def test_health_answers_ok(api: Server) -> None:
    """GET /healthz is 200 {"status": "ok"} while the store answers."""
    response = await api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.sqld
@pytest.mark.store(backends=("turso",), clock="real", timeout=10)
async def test_health_is_503_when_the_database_is_down(api: Server, sqld: SqldServer) -> None:
    """With the libSQL server stopped, /healthz says 503 with a reason, and the API 503s."""
    sqld.stop()
    response = await api.client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert_error(await api.client.get("/api/jobs/1"), 503, "job database is unreachable")


async def test_create_then_poll_with_etags(api: Server) -> None:
    """POST gives 201, Location and the poll view; GET gives the same view with an ETag, 304
    on If-None-Match, and a new ETag once the job changed."""
    created = await api.client.post("/api/jobs", json={"type": "tone", "payload": {"seconds": 2}})
    assert created.status_code == 201
    view = created.json()
    assert POLL_KEYS <= set(view)
    assert view["status"] == "pending"
    assert view["queue_position"] == 1
    assert created.headers["location"] == f"/api/jobs/{view['id']}"
    polled = await api.client.get(created.headers["location"])
    assert polled.status_code == 200
    assert polled.json() == view
    etag = polled.headers["etag"]
    again = await api.client.get(f"/api/jobs/{view['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    await api.store.cancel(view["id"])
    changed = await api.client.get(f"/api/jobs/{view['id']}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["status"] == "cancelled"


async def test_one_jobs_view_has_its_worker_timings_tail_failure_and_payload(api: Server) -> None:
    """What the dashboard's detail shows: GET /api/jobs/{id} has the worker, the start, the
    log tail and the failure as fields (as the list has); GET /api/jobs/{id}/payload the
    payload, with an ETag; 404 for an unknown job."""
    created = await api.client.post("/api/jobs", json={"type": "tone", "payload": {"seconds": 2}})
    job_id = created.json()["id"]
    claimed = await api.store.claim("w-detail")
    assert claimed is not None and claimed.job.id == job_id
    await api.store.update(claimed.lease, stage="encoding", progress=5, log_tail="size=1kB")
    await api.store.fail(claimed.lease, "ffmpeg failed", kind="permanent", detail="Bad size.")
    view = (await api.client.get(f"/api/jobs/{job_id}")).json()
    assert (view["worker_id"], view["log_tail"]) == ("w-detail", "size=1kB")
    assert view["started_at"] == claimed.job.started_at
    assert view["failure"] == {
        "kind": "permanent",
        "message": "ffmpeg failed",
        "detail": "Bad size.",
    }
    listed = (await api.client.get("/api/jobs")).json()["jobs"]
    assert listed[0] == view
    payload = await api.client.get(f"/api/jobs/{job_id}/payload")
    assert payload.json() == {"id": job_id, "payload": {"seconds": 2}}
    again = await api.client.get(
        f"/api/jobs/{job_id}/payload", headers={"If-None-Match": payload.headers["etag"]}
    )
    assert again.status_code == 304
    assert_error(await api.client.get("/api/jobs/424242/payload"), 404, "424242")


async def test_the_payload_limit_is_the_stores(api: Server) -> None:
    """The API refuses with 413 exactly what the store would refuse for size."""
    assert PAYLOAD_LIMIT == MAX_PAYLOAD_BYTES
    exact = "x" * (PAYLOAD_LIMIT - len('{"b":""}'))
    ok = await api.client.post("/api/jobs", json={"type": "tone", "payload": {"b": exact}})
    assert ok.status_code == 201
    over = await api.client.post("/api/jobs", json={"type": "tone", "payload": {"b": exact + "y"}})
    assert_error(over, 413, "over the limit of 65536 bytes")


BAD_CREATES: list[tuple[str, Any, int, str]] = [
    ("malformed JSON", b'{"type": "tone",', 400, "not valid JSON"),
    ("not UTF-8", b'{"type": "\xff"}', 400, "not UTF-8"),
    ("NaN", b'{"type": "tone", "payload": {"x": NaN}}', 400, "NaN is not JSON"),
    ("duplicate key", b'{"type": "tone", "type": "sleep"}', 400, "duplicate key 'type'"),
    ("deep nesting", b'{"type": "tone", "payload": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     400, "nested too deeply"),
    ("an array", [1, 2], 400, "must be a JSON object"),
    ("a string", "tone", 400, "must be a JSON object"),
    ("no type", {"payload": {}}, 400, "'type' must be a job type name"),
    ("type not a string", {"type": 5}, 400, "or '-'), got 5"),
    ("type with SQL", {"type": "tone'; DROP TABLE jobs;--"}, 400, "'type' must be a job type"),
    ("unknown field", {"type": "tone", "priority": 1}, 400, "unknown field 'priority'"),
    ("max_attempts text", {"type": "tone", "max_attempts": "3"}, 400, "max_attempts"),
    ("max_attempts bool", {"type": "tone", "max_attempts": True}, 400, "max_attempts"),
    ("max_attempts 0", {"type": "tone", "max_attempts": 0}, 400, "from 1 to 100"),
    ("unknown type", {"type": "nope"}, 422,
     "no live worker serves job type 'nope'; live workers serve child, fail, prep"),
    ("payload too large", {"type": "tone", "payload": {"b": "x" * 70_000}}, 413, "over the limit"),
    ("body too large", b" " * (MAX_BODY_BYTES + 1), 413, "request body is over"),
    ("lone surrogate", b'{"type": "tone", "payload": {"a": "\\ud800"}}', 400,
     "not valid Unicode"),
]  # fmt: skip


@pytest.mark.parametrize(
    "body, status, text", [c[1:] for c in BAD_CREATES], ids=[c[0] for c in BAD_CREATES]
)
async def test_bad_creates_are_refused_and_nothing_is_written(
    api: Server, body: Any, status: int, text: str
) -> None:
    """Each bad job request gets its status and a one-line error; the table is unchanged."""
    await api.store.create("tone", {"keep": 1})
    before = await snapshot(api.store)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await api.client.post(
        "/api/jobs", content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(response, status, text)
    assert await snapshot(api.store) == before


BAD_REQUESTS: list[tuple[str, str, str, int, str]] = [
    ("wrong content type", "POST", "/api/jobs", 415, "Content-Type: application/json"),
    ("letters as id", "GET", "/api/jobs/abc", 400, "a job id is a positive integer"),
    ("negative id", "GET", "/api/jobs/-1", 400, "a job id is a positive integer"),
    ("zero id", "GET", "/api/jobs/0", 400, "a job id is a positive integer"),
    ("huge id", "GET", "/api/jobs/99999999999999999999", 400, "up to 9223372036854775807"),
    ("largest id, unknown", "GET", "/api/jobs/9223372036854775807", 404, "not found"),
    ("unknown id", "GET", "/api/jobs/424242", 404, "job 424242 not found"),
    ("cancel bad id", "POST", "/api/jobs/1e3/cancel", 400, "positive integer"),
    ("cancel unknown", "POST", "/api/jobs/424242/cancel", 404, "not found"),
    ("resubmit unknown", "POST", "/api/jobs/424242/resubmit", 404, "not found"),
    ("history unknown", "GET", "/api/jobs/424242/history", 404, "not found"),
    ("history bad id", "GET", "/api/jobs/%F0%9F%8E%AC/history", 400, "positive integer"),
    ("events unknown", "GET", "/api/jobs/424242/events", 404, "not found"),
    ("unknown path", "GET", "/api/nope", 404, "no such page"),
    ("unknown sub-path", "GET", "/api/jobs/1/nope", 404, "no such page"),
    ("delete the list", "DELETE", "/api/jobs", 405, "not allowed here: use GET, HEAD, POST"),
    ("put a job", "PUT", "/api/jobs/1", 405, "not allowed"),
    ("get a cancel", "GET", "/api/jobs/1/cancel", 405, "use POST"),
    ("post to history", "POST", "/api/jobs/1/history", 405, "use GET, HEAD"),
    ("unknown status", "GET", "/api/jobs?status=done", 400, "unknown status 'done'"),
    ("limit zero", "GET", "/api/jobs?limit=0", 400, "'limit' must be an integer from 1 to 500"),
    ("limit words", "GET", "/api/jobs?limit=ten", 400, "'limit'"),
    ("limit too big", "GET", "/api/jobs?limit=501", 400, "'limit'"),
    ("bad cursor", "GET", "/api/jobs?before=yesterday", 400, "'before' is the 'next' cursor"),
    ("bad type filter", "GET", "/api/jobs?type=a%20b", 400, "'type' must be a job type name"),
    ("unknown parameter", "GET", "/api/jobs?stauts=failed", 400, "unknown query parameter"),
    ("repeated parameter", "GET", "/api/jobs?limit=1&limit=2", 400, "more than once"),
    ("since in the future", "GET", "/api/events?since=nan", 400, "since is a time"),
]


@pytest.mark.parametrize(
    "method, path, status, text", [c[1:] for c in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS]
)
async def test_bad_requests_get_their_status_and_write_nothing(
    api: Server, method: str, path: str, status: int, text: str
) -> None:
    """Bad ids, unknown paths, wrong methods and bad queries: status, one line, no write."""
    job = await api.store.create("tone")
    before = await snapshot(api.store)
    response = await api.client.request(method, path.replace("/1/", f"/{job.id}/"), content=b"{}")
    assert_error(response, status, text)
    if status == 405:
        assert response.headers["allow"]
    assert await snapshot(api.store) == before


async def test_pages_are_keyset_paginated_newest_first(api: Server) -> None:
    """limit/before walk every job once, newest first; filters apply to every page."""
    ids = [(await api.store.create("tone" if n % 2 else "sleep")).id for n in range(7)]
    seen: list[int] = []
    url: str | None = "/api/jobs?limit=3"
    while url is not None:
        page = (await api.client.get(url)).json()
        assert len(page["jobs"]) <= 3
        assert isinstance(page["now"], float)
        seen += [v["id"] for v in page["jobs"]]
        url = f"/api/jobs?limit=3&before={page['next']}" if page["next"] else None
    assert seen == ids[::-1]
    tones = (await api.client.get("/api/jobs?type=tone&status=pending")).json()
    assert [v["id"] for v in tones["jobs"]] == ids[1::2][::-1]
    assert tones["next"] is None
    assert all(POLL_KEYS <= set(v) for v in tones["jobs"])


async def test_list_etag_ignores_the_clock(api: Server) -> None:
    """The list's ETag changes with the jobs, not with the server's "now"."""
    await api.store.create("tone")
    first = await api.client.get("/api/jobs")
    etag = first.headers["etag"]
    assert (await api.client.get("/api/jobs", headers={"If-None-Match": etag})).status_code == 304
    await api.store.create("tone")
    assert (await api.client.get("/api/jobs", headers={"If-None-Match": etag})).status_code == 200


async def test_cancel_and_resubmit_statuses(api: Server) -> None:
    """Cancel: 200 for pending (and again), 202 for running, 409 once completed. Resubmit:
    201 with Location for failed or cancelled jobs, 409 otherwise."""
    client = api.client
    pending = (await client.post("/api/jobs", json={"type": "tone"})).json()
    first = await client.post(f"/api/jobs/{pending['id']}/cancel")
    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    assert (await client.post(f"/api/jobs/{pending['id']}/cancel")).status_code == 200
    again = await client.post(f"/api/jobs/{pending['id']}/resubmit")
    assert again.status_code == 201
    assert again.json()["retry_of"] == pending["id"]
    assert again.headers["location"] == f"/api/jobs/{again.json()['id']}"
    assert_error(await client.post(f"/api/jobs/{again.json()['id']}/resubmit"), 409, "pending")
    await api.store.cancel(again.json()["id"])
    async with open_supervisor(api.store, JOB_TYPES, FAST):
        long = (await client.post("/api/jobs", json={"type": "child", "payload": {}})).json()
        with trio.fail_after(30):
            await wait_for_status(api.store, long["id"], JobStatus.RUNNING)
        requested = await client.post(f"/api/jobs/{long['id']}/cancel")
        assert requested.status_code == 202
        assert requested.json()["cancel_requested"] is True
        assert requested.json()["status"] == "running"
        with trio.fail_after(30):
            await wait_for_status(api.store, long["id"], JobStatus.CANCELLED)
        quick = await client.post("/api/jobs", json={"type": "sleep", "payload": {"seconds": 0}})
        with trio.fail_after(30):
            await wait_for_status(api.store, quick.json()["id"], JobStatus.COMPLETED)
    done = quick.json()["id"]
    assert_error(await client.post(f"/api/jobs/{done}/cancel"), 409, "already completed")
    assert_error(await client.post(f"/api/jobs/{done}/resubmit"), 409, "only failed or cancelled")


async def test_history_times_are_iso_utc(api: Server) -> None:
    """GET /history lists each transition with ISO 8601 UTC times."""
    job = await api.store.create("tone")
    await api.store.cancel(job.id)
    history = (await api.client.get(f"/api/jobs/{job.id}/history")).json()["history"]
    assert [h["to_status"] for h in history] == ["pending", "cancelled"]
    assert all(ISO.fullmatch(h["at"]) for h in history)
    assert history[1]["from_status"] == "pending"
    assert history[1]["reason"]


async def next_event(events: AsyncIterator[Event], name: str = "job") -> Event:
    async for event in events:
        if event.event == name:
            return event
    raise AssertionError(f"the stream ended before a {name!r} event")


async def test_job_stream_sends_the_view_at_once_then_changes_and_ends(api: Server) -> None:
    """/api/jobs/{id}/events: the view at once, every progress step, and the end after a
    final state."""
    job = await api.store.create("sleep", {"seconds": 1.5, "steps": 5})
    seen: list[dict[str, Any]] = []
    async with api.client.stream("GET", f"/api/jobs/{job.id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response)
        first = await next_event(events)
        assert first.json()["status"] == "pending"
        assert first.id
        async with open_supervisor(api.store, JOB_TYPES, FAST):
            with trio.fail_after(60):
                async for event in events:
                    assert event.event == "job"
                    seen.append(event.json())
    assert seen[-1]["status"] == "completed"
    progress = [v["progress"] for v in seen if v["status"] == "running"]
    assert len(set(progress)) >= 2
    assert progress == sorted(p for p in progress)


async def test_a_finished_job_stream_sends_one_view_and_ends(api: Server) -> None:
    """A stream opened on a final job sends its view once and ends."""
    job = await api.store.create("tone")
    await api.store.cancel(job.id)
    async with api.client.stream("GET", f"/api/jobs/{job.id}/events") as response:
        with trio.fail_after(30):
            events = [e async for e in sse(response)]
    assert [e.json()["status"] for e in events] == ["cancelled"]


async def test_the_multiplexed_stream_and_a_reconnect(api: Server) -> None:
    """/api/events sends each change and the queue order; reconnecting with Last-Event-ID
    replays what happened while the client was away."""
    async with api.client.stream("GET", "/api/events") as response:
        events = sse(response)
        hello = await next_event(events, "hello")
        assert hello.json()["tick"] == 0.1
        created = await api.store.create("tone")
        with trio.fail_after(30):
            change = await next_event(events)
            queue = await next_event(events, "queue")
        assert change.json()["id"] == created.id
        assert queue.json()["pending"] == [created.id]
        last_id = queue.id
    assert last_id is not None
    await api.store.cancel(created.id)
    missed = await api.store.create("sleep")
    headers = {"Last-Event-ID": last_id}
    async with api.client.stream("GET", "/api/events", headers=headers) as response:
        events = sse(response)
        with trio.fail_after(30):
            replay = {}
            while missed.id not in replay or created.id not in replay:
                event = await next_event(events)
                replay[event.json()["id"]] = event.json()["status"]
    assert replay == {created.id: "cancelled", missed.id: "pending"}
    headers = {"Last-Event-ID": "12"}  # far too old to replay: the client must reload
    async with api.client.stream("GET", "/api/events", headers=headers) as response:
        names = []
        async for event in sse(response):
            names.append(event.event)
            if len(names) == 2:
                break
    assert names == ["hello", "reset"]


async def test_queue_positions_move_for_watchers(api: Server) -> None:
    """A watcher of a pending job sees its position move up as the jobs ahead leave."""
    ahead = await api.store.create("tone")
    job = await api.store.create("tone")
    async with api.client.stream("GET", f"/api/jobs/{job.id}/events") as response:
        events = sse(response)
        assert (await next_event(events)).json()["queue_position"] == 2
        await api.store.cancel(ahead.id)
        with trio.fail_after(30):
            moved = (await next_event(events)).json()
    assert (moved["queue_position"], moved["reason"]) == (1, "pending, 0 ahead")


async def test_one_store_query_per_tick_for_any_number_of_watchers(api: Server) -> None:
    """Thirty open streams (ten per-job, twenty multiplexed) cost the store one changes query
    per tick, plus one queue read when the queue moved: never one per watcher."""
    jobs = [await api.store.create("tone") for _ in range(10)]
    async with trio.open_nursery() as nursery:
        opened = trio.Semaphore(0)

        async def watch(path: str) -> None:
            async with api.client.stream("GET", path) as response:
                opened.release()
                async for _ in sse(response):
                    pass

        for job in jobs:
            nursery.start_soon(watch, f"/api/jobs/{job.id}/events")
        for _ in range(20):
            nursery.start_soon(watch, "/api/events")
        for _ in range(30):
            await opened.acquire()
        with trio.fail_after(30):
            while api.broadcaster.subscribers < 30:
                await trio.sleep(0.05)
        queries, ticks = api.broadcaster.queries, api.broadcaster.ticks
        for job in jobs[:3]:
            await api.store.cancel(job.id)
            await trio.sleep(0.3)
        with trio.fail_after(30):
            while api.broadcaster.ticks < ticks + 10:
                await trio.sleep(0.05)
        queries, ticks = api.broadcaster.queries - queries, api.broadcaster.ticks - ticks
        nursery.cancel_scope.cancel()
    assert ticks <= queries <= ticks + 3 + 1, (queries, ticks)


async def test_token_guards_everything_but_health(store: JobStore, caplog: Any) -> None:
    """With a token: 401 without it or with a wrong one (nothing written), 200 with it; the
    login form sets an HttpOnly SameSite=Strict cookie; cross-site posts are refused; the
    token appears in no log line."""
    caplog.set_level(logging.DEBUG)
    settings = WebSettings(token=TOKEN, tick=0.1)
    await live_worker(store, TYPES)
    async with running_server(store, settings) as api:
        client = api.client
        assert (await client.get("/healthz")).status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            response = await client.post("/api/jobs", json={"type": "tone"}, headers=headers)
            assert_error(response, 401, "missing or wrong token")
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert_error(await client.get("/api/jobs", headers=headers), 401, "wrong token")
            assert_error(await client.get("/api/nope", headers=headers), 401, "wrong token")
        assert await store.list() == []
        page = await client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 401
        assert '<form method="post" action="/login">' in page.text
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.get("/api/jobs", headers=bearer)).status_code == 200
        wrong = await client.post("/login", data={"token": TOKEN[:-1]})
        assert wrong.status_code == 401
        assert "Wrong token" in wrong.text
        assert "set-cookie" not in wrong.headers
        login = await client.post("/login", data={"token": TOKEN})
        assert login.status_code == 303
        assert login.headers["location"] == "/"
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert TOKEN not in cookie
        assert (await client.get("/")).status_code == 200  # the client keeps the cookie
        session = next(c for c in client.cookies.jar if c.name == "mj_session").value
        for odd in ('other={"a":1}', "a=b c", "=x", "broken"):  # other apps' cookies
            mixed = {"Cookie": f"{odd}; mj_session={session}"}
            assert (await client.get("/api/jobs", headers=mixed)).status_code == 200
        made = await client.post("/api/jobs", json={"type": "tone"})
        assert made.status_code == 201
        evil = {"Origin": "https://evil.example"}
        cross = await client.post(f"/api/jobs/{made.json()['id']}/cancel", headers=evil)
        assert_error(cross, 403, "cross-site request refused")
        assert (await store.get(made.json()["id"])).status is JobStatus.PENDING  # type: ignore[union-attr]
        await client.post("/logout")
        assert (await client.get("/api/jobs")).status_code == 401
    assert caplog.records
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


async def test_without_a_token_only_loopback_host_names_are_served(api: Server) -> None:
    """No token: a request naming another host (DNS rebinding) is refused."""
    rebound = await api.client.get("/api/jobs", headers={"Host": "attacker.example:80"})
    assert_error(rebound, 403, "answers only to localhost")
    assert (await api.client.get("/api/jobs", headers={"Host": "localhost"})).status_code == 200


async def test_the_dashboard_and_its_files_are_served(api: Server) -> None:
    """GET / is the page (with a strict content policy); its script and style are served."""
    page = await api.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/app.css"):
        assert (await api.client.get(asset)).status_code == 200
    info = (await api.client.get("/api/info")).json()
    tone = {"name": "tone", "stages": ["encoding", "uploading"], "example": ANY}
    assert tone in info["types"]
    assert info["auth"] is False


async def test_info_carries_the_example_payload_each_served_type_declares(api: Server) -> None:
    """/api/info gives each served type's example (from ``JobType(example=...)``, as the
    worker registered it): what the dashboard's form starts with."""
    info = (await api.client.get("/api/info")).json()
    examples = {t["name"]: t["example"] for t in info["types"]}
    assert examples["tone"] == {"seconds": 8, "realtime": True}
    assert examples == {t.name: t.example for t in JOB_TYPES}


async def test_nobody_watching_reads_nothing(api: Server) -> None:
    """The broadcaster reads the store only while a stream is open."""
    await trio.sleep(1)
    assert api.broadcaster.queries == 0
    async with api.client.stream("GET", "/api/events") as response:
        events = sse(response)  # held: a dropped generator would close the stream
        await next_event(events, "hello")
        with trio.fail_after(30):
            while api.broadcaster.ticks < 2:
                await trio.sleep(0.05)
    with trio.fail_after(30):
        while api.broadcaster.subscribers:
            await trio.sleep(0.05)
    await trio.sleep(0.5)  # a tick in flight ends
    after = api.broadcaster.queries
    await trio.sleep(1)
    assert api.broadcaster.queries == after


async def test_a_burst_larger_than_one_read_reaches_every_watcher(store: JobStore) -> None:
    """More changes than one tick may read (its limit): the next ticks continue after the
    last one read, so a watcher of every job still sees each of them once."""
    broadcaster = Broadcaster(store, interval=0.05, limit=3)
    async with trio.open_nursery() as nursery:
        await nursery.start(broadcaster.run)
        subscription = broadcaster.subscribe(None)
        ids = []
        for _ in range(10):
            ids.append((await store.create("tone")).id)
            await trio.sleep(0.005)  # distinct stamps (the database clock counts milliseconds)
        seen: list[int] = []
        with trio.fail_after(30):
            while set(seen) != set(ids):
                event, _, data = await subscription.receive.receive()
                assert event in ("job", "queue"), event
                if event == "job":
                    seen.append(json.loads(data)["id"])
        nursery.cancel_scope.cancel()
    assert sorted(seen) == sorted(ids)  # each once
    assert broadcaster.ticks >= 4  # at most three per read
