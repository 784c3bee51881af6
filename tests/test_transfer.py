"""The handler's file API (fetch_input, store_output) and the `prep` job, in a real worker,
on both storage backends (a folder and a real SeaweedFS), with the real ffmpeg."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from files import S3Storage, Storage, get_storage, reset_storage
from media_jobs_testing.helpers import wait_for_status
from media_jobs_testing.media import make_audio
from media_jobs_testing.proxy import Proxy
from media_jobs_testing.seaweed import SeaweedServer
from stores import JobStatus, LocalJobStore
from supervisor import (
    JobContext,
    JobType,
    WorkerConfig,
    fetch_input,
    open_scratch,
    open_supervisor,
    store_output,
)
from supervisor.reference import JOB_TYPES

pytestmark = pytest.mark.store(backends=("local",), clock="real")

CONFIG = dict(
    poll_interval=0.1, heartbeat_interval=0.2, stale_after=10, kill_grace=2, progress_interval=0.05
)


@pytest.fixture
def storage(env_storage: Storage) -> Storage:
    return env_storage


def scratch_left(tmp_path: Path) -> list[str]:
    root = tmp_path / "scratch"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


async def test_prep_fetches_normalises_and_stores_its_output(
    storage: Storage, store: LocalJobStore, tmp_path: Path
) -> None:
    """prep on an uploaded key: all five stages in order, loudness before and after, an
    output entry whose size and SHA-256 are those of the stored object; no scratch left."""
    await storage.upload_file(
        "uploads/x/take.wav", make_audio(tmp_path / "take.wav", seconds=3, volume_db=-30)
    )
    async with open_supervisor(store, JOB_TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("prep", {"input": "uploads/x/take.wav"})
        seen = []
        with trio.fail_after(60):
            while (row := await store.get(job.id)) and row.status != JobStatus.COMPLETED:
                assert row.status != JobStatus.FAILED, row.error
                if row.stage and row.stage not in seen:
                    seen.append(row.stage)
                await trio.sleep(0.01)
    if row.stage and row.stage not in seen:
        seen.append(row.stage)  # the last stage can be shorter than a poll: the row keeps it
    result = row.result
    (output,) = result["outputs"]
    await storage.download_file(output["key"], tmp_path / "back.mp3")
    data = (tmp_path / "back.mp3").read_bytes()
    assert output["key"] == f"jobs/{job.id}/prep-{job.id}.mp3"
    assert (output["size"], output["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert output["content_type"] == "audio/mpeg"
    assert abs(output["duration"] - 3) < 0.1
    assert result["input_lufs"] < -40
    assert abs(result["output_lufs"] + 16) < 1.5
    assert set(result["loudness_before"]) == set(result["loudness_after"])
    assert [s for s in seen if s != "uploading"][:1] == ["downloading"]
    assert seen[-1] == "uploading"
    assert scratch_left(tmp_path) == []


async def test_a_missing_key_fails_at_once_naming_it(
    storage: Storage, store: LocalJobStore, tmp_path: Path
) -> None:
    """An input key nobody uploaded: failed, permanent, first attempt, the key named."""
    async with open_supervisor(store, JOB_TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("prep", {"input": "uploads/none/x.wav"})
        with trio.fail_after(20):
            failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert (failed.error_kind, failed.attempt) == ("permanent", 1)
    assert failed.error == "input not found: uploads/none/x.wav"
    assert scratch_left(tmp_path) == []


async def test_an_input_over_the_size_limit_fails_permanently(
    storage: Storage, store: LocalJobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An object over SUPERVISOR_MAX_UPLOAD_BYTES is refused before it is downloaded."""
    monkeypatch.setenv("SUPERVISOR_MAX_UPLOAD_BYTES", "1000")
    await storage.upload_file("uploads/big.wav", make_audio(tmp_path / "big.wav"))
    async with open_supervisor(store, JOB_TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("prep", {"input": "uploads/big.wav"})
        with trio.fail_after(20):
            failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert failed.error_kind == "permanent"
    assert "'uploads/big.wav'" in failed.error
    assert "over the limit of 1000 bytes" in failed.error


@pytest.mark.parametrize(
    "key, rule", [("../x.wav", "'..'"), ("/etc/passwd", "absolute"), (".h/x.wav", "hidden")]
)
async def test_an_input_key_outside_the_storage_fails_naming_the_rule(
    storage: Storage, store: LocalJobStore, key: str, rule: str
) -> None:
    """The key rules hold for payloads: permanent, naming the rule and payload 'input'."""
    async with open_supervisor(store, JOB_TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("prep", {"input": key})
        with trio.fail_after(20):
            failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert failed.error_kind == "permanent"
    assert rule in failed.error
    assert "payload 'input'" in failed.error


async def test_an_unreachable_storage_is_a_transient_failure(
    store: LocalJobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storage that cannot be reached fails the attempt as transient (it is retried)."""
    closed = Proxy(1)  # a free port with nothing behind it
    closed.close()
    for name, value in {
        "SUPERVISOR_STORAGE_URL": "s3://media/x",
        "AWS_ENDPOINT_URL_S3": closed.url,
        "AWS_ACCESS_KEY_ID": "AK",
        "AWS_SECRET_ACCESS_KEY": "SK",
    }.items():
        monkeypatch.setenv(name, value)
    reset_storage()
    async with open_supervisor(store, JOB_TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("prep", {"input": "uploads/a.wav"}, max_attempts=1)
        with trio.fail_after(60):
            failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert failed.error_kind == "transient"
    assert "could not be reached" in failed.error
    reset_storage()


class SlowProxy(Proxy):
    """A loopback proxy that moves at most ``rate`` bytes a second each way."""

    def __init__(self, target: int, rate: int) -> None:
        self.rate = rate
        super().__init__(target)

    def _pump(self, source, sink, answering, requests):  # type: ignore[no-untyped-def]
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
                time.sleep(len(data) / self.rate)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.close()


async def fetch_only(ctx: JobContext, payload: Any) -> None:
    async with open_scratch(ctx) as scratch:
        await fetch_input(ctx, payload["key"], scratch)
        await trio.sleep_forever()


async def store_only(ctx: JobContext, payload: Any) -> None:
    async with open_scratch(ctx) as scratch:
        path = scratch.path / "big.bin"
        path.write_bytes(secrets.token_bytes(payload["size"]))
        await store_output(ctx, path, name="big.bin")


TRANSFERS = [
    JobType("fetch", fetch_only, stages=("downloading",)),
    JobType("store", store_only, stages=("uploading",)),
]


@pytest.fixture
def slow_s3(
    seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[S3Storage]:
    """The process-wide storage on SeaweedFS behind a proxy of 8 MB/s."""
    proxy = SlowProxy(seaweed.port, rate=8 << 20)
    monkeypatch.setenv("SUPERVISOR_SCRATCH_DIR", str(tmp_path / "scratch"))
    for name, value in seaweed.env(f"t-{uuid.uuid4().hex[:10]}").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
    reset_storage()
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    yield storage
    reset_storage()
    proxy.close()


async def cancel_when_moving(store: LocalJobStore, job_id: int, stage: str) -> float:
    """Wait until the job reports progress in ``stage``, cancel it, return the seconds
    from the request to `cancelled`."""
    with trio.fail_after(60):
        while not ((row := await store.get(job_id)) and row.stage == stage and row.progress):
            await trio.sleep(0.02)
        requested = time.monotonic()
        await store.cancel(job_id)
        await wait_for_status(store, job_id, JobStatus.CANCELLED)
    return time.monotonic() - requested


async def test_cancel_mid_download_stops_in_time_and_leaves_no_scratch_file(
    slow_s3: S3Storage, store: LocalJobStore, tmp_path: Path
) -> None:
    """Cancelled while its input is coming in: `cancelled` within a heartbeat and a second,
    and the partial download is gone."""
    big = tmp_path / "big.bin"
    big.write_bytes(secrets.token_bytes(64 << 20))
    await slow_s3.upload_file("uploads/big.bin", big)
    async with open_supervisor(store, TRANSFERS, WorkerConfig(**CONFIG)):
        job = await store.create("fetch", {"key": "uploads/big.bin"})
        took = await cancel_when_moving(store, job.id, "downloading")
    assert took < CONFIG["heartbeat_interval"] + 1
    assert scratch_left(tmp_path) == []


async def test_cancel_mid_upload_aborts_it_leaving_no_object_or_part(
    slow_s3: S3Storage, store: LocalJobStore, tmp_path: Path
) -> None:
    """Cancelled during a multipart upload: `cancelled` in time, no object, no open upload."""
    async with open_supervisor(store, TRANSFERS, WorkerConfig(**CONFIG)):
        job = await store.create("store", {"size": 48 << 20})
        took = await cancel_when_moving(store, job.id, "uploading")
    assert took < CONFIG["heartbeat_interval"] + 1
    assert await slow_s3.list() == []
    assert await slow_s3.pending_uploads() == []
    assert scratch_left(tmp_path) == []


async def test_pruning_a_job_deletes_its_outputs(storage: Storage, store: LocalJobStore) -> None:
    """A finished job past its retention goes with its outputs; a dry run counts both and
    deletes nothing."""
    from actors import prune_once

    async with open_supervisor(store, JOB_TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("tone", {"seconds": 0.5})
        with trio.fail_after(30):
            done = await wait_for_status(store, job.id, JobStatus.COMPLETED)
    (output,) = done.result["outputs"]
    await trio.sleep(1.2)  # the store's own clock decides what is past its retention
    dry = await prune_once(store, {"completed": 1}, dry_run=True, storage=storage)
    assert dry == {"completed": 1, "outputs": 1}
    assert (await storage.head(output["key"])).size == output["size"]
    assert await prune_once(store, {"completed": 1}, storage=storage) == dry
    assert await storage.list("jobs/") == []
    assert await store.get(job.id) is None


async def test_old_uploads_are_swept_and_nothing_else(storage: Storage, tmp_path: Path) -> None:
    """sweep_uploads deletes uploads written before the cutoff (a dry run only counts
    them); outputs and younger uploads stay."""
    from actors import sweep_uploads

    (tmp_path / "f").write_bytes(b"x" * 10)
    for key in ("uploads/a/one.wav", "uploads/b/two.wav", "jobs/1/out.mp3"):
        await storage.upload_file(key, tmp_path / "f")
    assert await sweep_uploads(storage, 3600) == 0  # all written just now
    later = time.time() + 7200
    assert await sweep_uploads(storage, 3600, dry_run=True, now=later) == 2
    assert len(await storage.list()) == 3
    assert await sweep_uploads(storage, 3600, limit=1, now=later) == 1
    assert await sweep_uploads(storage, 3600, now=later) == 1
    assert [o.key for o in await storage.list()] == ["jobs/1/out.mp3"]
