"""Through the HTTP API, on both stores: creation is idempotent (Idempotency-Key, one
resubmit per job), and only types a live worker serves are accepted; the live workers are
listed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from media_jobs_testing.web_client import Server, live_worker, running_server
from stores import JobStore, JobTypeInfo, WorkerInfo
from web import WebSettings

pytestmark = pytest.mark.store(clock="real", timeout=10)

TYPES = [JobTypeInfo("tone", ("encoding",)), JobTypeInfo("sleep", ("sleeping",))]
RACERS = 10


@pytest.fixture
async def api(store: JobStore) -> AsyncIterator[Server]:
    await live_worker(store, TYPES)
    async with running_server(store, WebSettings(tick=0.1)) as server:
        yield server


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    text: str = response.json()["error"]
    return text


async def _failed_job(api: Server) -> int:
    made = await api.client.post("/api/jobs", json={"type": "tone"})
    job_id: int = made.json()["id"]
    await api.store.cancel(job_id)
    return job_id


async def test_ten_concurrent_resubmits_make_one_job(api: Server) -> None:
    """Ten POST /resubmit of one job at once: one new job; every answer is 201 with it."""
    source = await _failed_job(api)
    answers: list[httpx.Response] = []

    async def resubmit() -> None:
        answers.append(await api.client.post(f"/api/jobs/{source}/resubmit"))

    async with trio.open_nursery() as nursery:
        for _ in range(RACERS):
            nursery.start_soon(resubmit)
    jobs = (await api.client.get("/api/jobs")).json()["jobs"]
    assert len(jobs) == 2
    assert {(r.status_code, r.json()["id"]) for r in answers} == {(201, jobs[0]["id"])}
    assert {r.headers["location"] for r in answers} == {f"/api/jobs/{jobs[0]['id']}"}


async def test_the_same_key_and_body_answer_the_first_job(api: Server) -> None:
    """A POST repeated with the same Idempotency-Key and body is answered as the first
    (201, the same job and Location); the draft's quoted form names the same key."""
    body = {"type": "tone", "payload": {"seconds": 2}}
    first = await api.client.post("/api/jobs", json=body, headers={"Idempotency-Key": "k-1"})
    again = await api.client.post("/api/jobs", json=body, headers={"Idempotency-Key": '"k-1"'})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert len((await api.client.get("/api/jobs")).json()["jobs"]) == 1


async def test_ten_concurrent_posts_with_one_key_make_one_job(api: Server) -> None:
    """Ten POSTs with one key at once: one job, ten 201 answers naming it."""
    ids: list[tuple[int, int]] = []

    async def post() -> None:
        made = await api.client.post(
            "/api/jobs", json={"type": "tone"}, headers={"Idempotency-Key": "race"}
        )
        ids.append((made.status_code, made.json()["id"]))

    async with trio.open_nursery() as nursery:
        for _ in range(RACERS):
            nursery.start_soon(post)
    jobs = (await api.client.get("/api/jobs")).json()["jobs"]
    assert len(jobs) == 1
    assert set(ids) == {(201, jobs[0]["id"])}


async def test_the_same_key_with_another_body_is_422(api: Server) -> None:
    """Reusing a key for another request is 422, naming the key; nothing is written."""
    key = {"Idempotency-Key": "k-2"}
    first = await api.client.post("/api/jobs", json={"type": "tone"}, headers=key)
    other = await api.client.post("/api/jobs", json={"type": "sleep"}, headers=key)
    message = error_of(other, 422)
    assert (
        f"Idempotency-Key 'k-2' was first used for another request (job {first.json()['id']}"
        in (message)
    )
    assert len((await api.client.get("/api/jobs")).json()["jobs"]) == 1


@pytest.mark.parametrize("key", ["", "é", "x" * 256, '"a"b"'])
async def test_a_malformed_key_is_400(api: Server, key: str) -> None:
    """An empty, non-ASCII, overlong or badly quoted key is refused before anything runs."""
    made = await api.client.post(
        "/api/jobs", json={"type": "tone"}, headers={"Idempotency-Key": key.encode()}
    )
    assert "Idempotency-Key header" in error_of(made, 400)


async def test_a_type_only_a_dead_worker_served_is_422(api: Server) -> None:
    """A type whose only worker went silent is refused on create and on resubmit, naming
    the types live workers serve."""
    gone = WorkerInfo("w-gone", "h", 2, ("render",), "test", beat_interval=0.1)
    await api.store.register_types([JobTypeInfo("render", ("encoding",))])
    await api.store.register_worker(gone)
    made = await api.client.post("/api/jobs", json={"type": "render"})
    assert made.status_code == 201
    await api.store.cancel(made.json()["id"])
    await trio.sleep(0.5)  # three beats missed: dead
    refused = await api.client.post("/api/jobs", json={"type": "render"})
    assert error_of(refused, 422).startswith(
        "no live worker serves job type 'render'; live workers serve sleep, tone"
    )
    again = await api.client.post(f"/api/jobs/{made.json()['id']}/resubmit")
    assert "no live worker serves job type 'render'" in error_of(again, 422)
    info = (await api.client.get("/api/info")).json()
    assert [t["name"] for t in info["types"]] == ["sleep", "tone"]


async def test_with_no_live_worker_creation_says_to_start_one(store: JobStore) -> None:
    """`serve` alone on a fresh database: 422, saying how to start a worker."""
    async with running_server(store, WebSettings(tick=0.1)) as api:
        refused = await api.client.post("/api/jobs", json={"type": "tone"})
        assert "start one with `python -m supervisor run`" in error_of(refused, 422)
        assert (await api.client.get("/api/info")).json()["types"] == []


async def test_the_workers_are_listed_with_their_beat_age(api: Server) -> None:
    """GET /api/workers lists each worker: id, host, version, types, job, beat age."""
    made = await api.client.post("/api/jobs", json={"type": "tone"})
    await api.store.claim("w-api")
    (worker,) = (await api.client.get("/api/workers")).json()["workers"]
    assert {k: worker[k] for k in ("id", "host", "version", "types", "live", "job_id")} == {
        "id": "w-api",
        "host": "test-host",
        "version": "test",
        "types": ["tone", "sleep"],
        "live": True,
        "job_id": made.json()["id"],
    }
    assert 0 <= worker["beat_age"] < 60
