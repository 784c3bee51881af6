"""Uploads and downloads over HTTP (a real server, a real worker, the real ffmpeg), on
both storage backends: the local folder and a real SeaweedFS."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from files import Storage
from media_jobs_testing.helpers import wait_for_status
from media_jobs_testing.media import make_audio
from media_jobs_testing.web_client import Server, live_worker, running_server
from stores import JobStatus, LocalJobStore
from supervisor import WorkerConfig, open_supervisor
from supervisor.reference import JOB_TYPES
from web import WebSettings

pytestmark = pytest.mark.store(backends=("local",), clock="real")

TYPES = [t.info() for t in JOB_TYPES]
TOKEN = "tok-files-SECRET-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAST = WorkerConfig(poll_interval=0.1, heartbeat_interval=0.3, stale_after=5, kill_grace=1)


@pytest.fixture
def storage(env_storage: Storage) -> Storage:
    return env_storage


@pytest.fixture
async def api(storage: Storage, store: LocalJobStore) -> AsyncIterator[Server]:
    await live_worker(store, TYPES)  # the API takes only types a live worker serves
    settings = WebSettings(token=TOKEN, tick=0.1)
    async with running_server(store, settings) as server:
        server.client.headers.update(AUTH)
        yield server


async def upload(api: Server, data: bytes, name: str, content_type: str = "audio/wav") -> str:
    """POST /api/uploads, then send the bytes as told; returns the key."""
    body = {"name": name, "size": len(data), "content_type": content_type}
    answer = await api.client.post("/api/uploads", json=body)
    assert answer.status_code == 201, answer.text
    ticket = answer.json()["upload"]
    assert ticket["method"] == "PUT"
    url = httpx.URL(api.url).join(ticket["url"])
    # The bucket's URL is presigned: no API token goes to it.
    headers = {**ticket["headers"], **(AUTH if str(url).startswith(api.url) else {})}
    async with httpx.AsyncClient(timeout=30) as http:
        sent = await http.put(url, content=data, headers=headers)
    assert sent.status_code == 200, sent.text
    key: str = answer.json()["key"]
    return key


async def download(api: Server, path: str, **headers: str) -> httpx.Response:
    """GET ``path``; a redirect (to the bucket) is followed without the API token."""
    answer = await api.client.get(path, headers=headers)
    if answer.status_code != 302:
        return answer
    assert answer.headers["cache-control"] == "no-store"
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.get(answer.headers["location"], headers=headers)


async def test_upload_prep_and_download_the_output(
    api: Server, store: LocalJobStore, storage: Storage, tmp_path: Path
) -> None:
    """The whole flow: upload a recording, run prep on its key, watch it end, see the
    output in the poll view (stable ETag, no URL) and download exactly those bytes."""
    key = await upload(
        api, make_audio(tmp_path / "take.wav", seconds=3, volume_db=-30).read_bytes(), "take.wav"
    )
    assert key.startswith("uploads/")
    assert key.endswith("/take.wav")
    assert (await storage.head(key)).size == (tmp_path / "take.wav").stat().st_size
    async with open_supervisor(store, JOB_TYPES, FAST):
        created = await api.client.post(
            "/api/jobs", json={"type": "prep", "payload": {"input": key}}
        )
        job_id = created.json()["id"]
        with trio.fail_after(60):
            await wait_for_status(store, job_id, JobStatus.COMPLETED)
    first = await api.client.get(f"/api/jobs/{job_id}")
    view = first.json()
    (output,) = view["outputs"]
    assert output == {
        "name": f"prep-{job_id}.mp3",
        "size": view["result"]["outputs"][0]["size"],
        "content_type": "audio/mpeg",
        "duration": pytest.approx(3, abs=0.1),
    }
    assert "http" not in json.dumps(view)
    again = await api.client.get(
        f"/api/jobs/{job_id}", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    got = await download(api, f"/api/jobs/{job_id}/outputs/{output['name']}")
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == view["result"]["outputs"][0]["sha256"]
    assert got.headers["content-type"] == "audio/mpeg"
    assert got.headers["content-length"] == str(output["size"])
    assert f"prep-{job_id}.mp3" in got.headers["content-disposition"]
    part = await download(api, f"/api/jobs/{job_id}/outputs/{output['name']}", Range="bytes=0-99")
    assert part.status_code == 206
    assert part.content == got.content[:100]


@pytest.mark.parametrize(
    "body, status, text",
    [
        ({"name": "../x.wav", "size": 10}, 400, "without '/'"),
        ({"name": "a/b.wav", "size": 10}, 400, "without '/'"),
        ({"name": ".hidden.wav", "size": 10}, 400, "hidden"),
        ({"name": "", "size": 10}, 400, "non-empty"),
        ({"name": "x.wav", "size": 0}, 400, "positive integer"),
        ({"name": "x.wav", "size": "10"}, 400, "positive integer"),
        ({"name": "x.wav", "size": 10, "content_type": "audio wav"}, 400, "media type"),
        ({"name": "x.wav", "size": 10, "path": "/etc"}, 400, "unknown field"),
        ({"name": "x.wav", "size": (2 << 30) + 1}, 413, "over the limit of 2147483648"),
    ],
)
async def test_bad_upload_requests_are_refused_naming_the_problem(
    api: Server, storage: Storage, body: dict[str, Any], status: int, text: str
) -> None:
    """Names outside the rules are 400, sizes over SUPERVISOR_MAX_UPLOAD_BYTES 413."""
    answer = await api.client.post("/api/uploads", json=body)
    assert answer.status_code == status, answer.text
    assert text in answer.json()["error"]
    assert await storage.list() == []


async def test_the_file_endpoints_are_behind_the_token(api: Server) -> None:
    """Without the token: 401 for an upload, a local PUT and a download."""
    async with httpx.AsyncClient(base_url=api.url) as anonymous:
        for method, path in [
            ("POST", "/api/uploads"),
            ("PUT", "/api/uploads/uploads/x/a.wav?size=1"),
            ("GET", "/api/jobs/1/outputs/a.mp3"),
        ]:
            answer = await anonymous.request(method, path, content=b"{}")
            assert answer.status_code == 401, (method, path, answer.text)


async def test_unknown_jobs_and_outputs_are_404(api: Server, store: LocalJobStore) -> None:
    """A job that does not exist, or has no such output: 404 naming it."""
    assert (await api.client.get("/api/jobs/999/outputs/a.mp3")).status_code == 404
    job = await store.create("tone")
    answer = await api.client.get(f"/api/jobs/{job.id}/outputs/a.mp3")
    assert answer.status_code == 404
    assert "no output named 'a.mp3'" in answer.json()["error"]


@pytest.mark.parametrize("env_storage", ["local"], indirect=True)
async def test_a_local_upload_takes_exactly_its_declared_size(
    api: Server, storage: Storage
) -> None:
    """The local PUT streams to disk and enforces the size it was issued for: longer is
    413, shorter 400, a URL with its size changed 403; none leaves an object."""
    answer = await api.client.post("/api/uploads", json={"name": "a.wav", "size": 100})
    url = answer.json()["upload"]["url"]
    assert (await api.client.put(url, content=b"x" * 101)).status_code == 413

    async def short() -> AsyncIterator[bytes]:
        yield b"x" * 99

    assert (await api.client.put(url, content=short())).status_code == 400
    widened = url.replace("size=100", "size=1000")
    assert (await api.client.put(widened, content=b"x" * 1000)).status_code == 403
    assert await storage.list() == []
    assert (await api.client.put(url, content=b"x" * 100)).status_code == 200
    assert [o.size for o in await storage.list()] == [100]


async def test_the_page_may_reach_the_bucket_and_nothing_else(
    api: Server, storage: Storage
) -> None:
    """With S3 the page's security policy lets it upload to and play from the bucket's
    origin (presigned URLs point there); with the local folder, only this server."""
    page = await api.client.get("/")
    policy = page.headers["content-security-policy"]
    origin = httpx.URL(storage.origin() or api.url)
    allowed = (
        "'self'"
        if storage.origin() is None
        else f"'self' {origin.scheme}://{origin.netloc.decode()}"
    )
    assert f"connect-src {allowed};" in policy
    assert f"media-src {allowed};" in policy


async def test_a_name_with_url_characters_round_trips(api: Server, storage: Storage) -> None:
    """A file name with spaces, '#', '?', '%' and non-ASCII letters is uploaded under that
    very name (the upload URL escapes it)."""
    name = "take 1 #2 ?x=%41 é.wav"
    key = await upload(api, b"RIFF" + b"x" * 60, name)
    assert key.endswith("/" + name)
    assert (await storage.head(key)).size == 64
