"""The HTTP client's files (issue 18 #3): upload an input with ``submit(..., file=)``,
``fetch`` the outputs, from sync code, asyncio and Trio, against a real ``run --http``
worker on both storage backends: the local folder (the bytes through the API) and a real
SeaweedFS (presigned URLs; the API token never goes to the bucket)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from media_jobs_client import AsyncClient, Client, NotFound, TransferError
from media_jobs_testing.media import make_audio
from media_jobs_testing.seaweed import SeaweedServer
from media_jobs_testing.workers import TIMINGS, Served, worker_env

TOKEN = "a-token-of-at-least-16-chars-files"


@pytest.fixture(scope="module", params=["local", "s3"])
def worker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One `run --http` worker per backend, for the whole module."""
    tmp = tmp_path_factory.mktemp(f"client-files-{request.param}")
    if request.param == "s3":
        seaweed: SeaweedServer = request.getfixturevalue("seaweed")
        storage = seaweed.env(f"client-{tmp.name}")
    else:
        storage = {"SUPERVISOR_STORAGE_URL": f"file://{tmp / 'files'}"}
    env = worker_env(
        JOBS_DB_PATH=str(tmp / "jobs.db"),
        SUPERVISOR_API_TOKEN=TOKEN,
        SUPERVISOR_SCRATCH_DIR=str(tmp / "scratch"),
        **storage,
    )
    served = Served(env, ["run", "--http", "127.0.0.1:0", *TIMINGS], tmp / "worker.log")
    yield served
    assert served.stop() == 0


class Recorder(httpx.HTTPTransport):
    """The real transport, noting each request's URL and whether it carried the token."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[httpx.URL, bool]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url, TOKEN in request.headers.get("authorization", "")))
        return super().handle_request(request)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_submit_a_file_then_fetch_the_output_sync(worker: Served, tmp_path: Path) -> None:
    """Upload, prep on its key, fetch: the file on disk is the output the result names
    (its SHA-256 and size), and only the API's own origin ever saw the token."""
    take = make_audio(tmp_path / "take.wav", seconds=2, volume_db=-30)
    recorder = Recorder()
    with Client(worker.url, token=TOKEN, transport=recorder) as jobs:
        job = jobs.submit("prep", file=take)
        done = jobs.wait(job.id, timeout=60)
        assert done.status == "completed", done.error
        (path,) = jobs.fetch(job.id, to=tmp_path / "out")
    (output,) = done.data["result"]["outputs"]
    assert path == tmp_path / "out"
    assert sha256(path) == output["sha256"]
    assert path.stat().st_size == output["size"]
    api = httpx.URL(worker.url)
    elsewhere = [(url, token) for url, token in recorder.seen if url.netloc != api.netloc]
    assert [token for _, token in elsewhere] == [False] * len(elsewhere)
    if worker.log.parent.name.startswith("client-files-s3"):
        assert len(elsewhere) == 2  # the presigned PUT and the redirect's GET


def test_fetch_names_a_missing_output_and_a_job_without_outputs(
    worker: Served, tmp_path: Path
) -> None:
    with Client(worker.url, token=TOKEN) as jobs:
        done = jobs.wait(jobs.submit("sleep", {"seconds": 0}).id, timeout=30)
        with pytest.raises(TransferError, match="has no outputs"):
            jobs.fetch(done.id, to=tmp_path)
        with pytest.raises(NotFound, match=r"no output named 'x\.mp3'"):
            jobs.fetch(done.id, "x.mp3", to=tmp_path)
    assert list(tmp_path.iterdir()) == []


async def _round_trip(url: str, take: Path, folder: Path) -> tuple[str, list[Path]]:
    async with AsyncClient(url, token=TOKEN) as jobs:
        job = await jobs.submit("prep", file=take)
        done = await jobs.wait(job.id, timeout=60)
        assert done.status == "completed", done.error
        paths = await jobs.fetch(job.id, f"prep-{job.id}.mp3", to=folder)
    (output,) = done.data["result"]["outputs"]
    return str(output["sha256"]), paths


def test_submit_a_file_then_fetch_from_asyncio(worker: Served, tmp_path: Path) -> None:
    """From asyncio.run: into a folder, under the output's own name."""
    take = make_audio(tmp_path / "take.wav", seconds=1)
    (tmp_path / "out").mkdir()
    digest, (path,) = asyncio.run(_round_trip(worker.url, take, tmp_path / "out"))
    assert path.parent == tmp_path / "out"
    assert path.name.startswith("prep-")
    assert sha256(path) == digest


def test_submit_a_file_then_fetch_from_trio(worker: Served, tmp_path: Path) -> None:
    take = make_audio(tmp_path / "take.wav", seconds=1)
    digest, (path,) = trio.run(_round_trip, worker.url, take, tmp_path)
    assert sha256(path) == digest
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


class Tamper(httpx.HTTPTransport):
    """The real transport, but an output's bytes arrive with their first byte changed."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = super().handle_request(request)
        if answer.status_code != 200 or answer.headers.get("content-type") != "audio/mpeg":
            return answer
        body = answer.read()
        return httpx.Response(200, headers=answer.headers, content=bytes([body[0] ^ 1]) + body[1:])


def test_a_download_that_does_not_match_its_sha256_is_refused_and_not_kept(
    worker: Served, tmp_path: Path
) -> None:
    take = make_audio(tmp_path / "take.wav", seconds=1)
    with Client(worker.url, token=TOKEN) as jobs:
        job = jobs.submit("prep", file=take)
        assert jobs.wait(job.id, timeout=60).status == "completed"
    (tmp_path / "out").mkdir()
    with (
        Client(worker.url, token=TOKEN, transport=Tamper()) as tampered,
        pytest.raises(TransferError, match="does not match its SHA-256"),
    ):
        tampered.fetch(job.id, to=tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # no target, no partial


async def _upload_async(url: str, path: Path) -> str:
    async with AsyncClient(url, token=TOKEN) as jobs:
        return await jobs.upload(path)


def _upload_sync(url: str, path: Path) -> str:
    with Client(url, token=TOKEN) as jobs:
        return jobs.upload(path)


@pytest.mark.parametrize("mode", ["sync", "asyncio"])
def test_an_upload_is_streamed_never_held_whole(worker: Served, tmp_path: Path, mode: str) -> None:
    """A 24 MiB upload: the client's Python allocations peak far below the file's size."""
    import tracemalloc

    big = tmp_path / "big.bin"
    with open(big, "wb") as out:
        for _ in range(24):
            out.write(os.urandom(1 << 20))
    tracemalloc.start()
    try:
        if mode == "sync":
            key = _upload_sync(worker.url, big)
        else:
            key = asyncio.run(_upload_async(worker.url, big))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert key.endswith("/big.bin")
    assert peak < 8 << 20, f"peak {peak / (1 << 20):.1f} MiB"
