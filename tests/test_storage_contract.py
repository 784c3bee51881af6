"""The storage adapter's contract, run on both backends: a local folder and a real S3
server (SeaweedFS with signatures enforced). No mock of S3."""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from files import (
    InvalidKey,
    LocalStorage,
    ObjectNotFound,
    ObjectTooLarge,
    S3Storage,
    Storage,
    StorageConfigError,
    StorageError,
    StorageUnavailable,
    storage_from_env,
)
from media_jobs_testing.proxy import Proxy
from media_jobs_testing.seaweed import SeaweedServer

PART = 5 << 20  # the smallest part S3 takes, so multipart is tried on small files


def s3_storage(
    server: SeaweedServer, *, endpoint: str | None = None, secret: str | None = None
) -> S3Storage:
    return S3Storage(
        server.bucket,
        f"t-{uuid.uuid4().hex[:10]}",
        endpoint_url=endpoint or server.endpoint,
        region="us-east-1",
        access_key_id=server.access_key,
        secret_access_key=secret or server.secret_key,
        part_size=PART,
    )


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    made: Storage
    if request.param == "s3":
        made = s3_storage(request.getfixturevalue("seaweed"))
    else:
        made = LocalStorage(tmp_path / "files")
    yield made
    made.close()


def payload(path: Path, size: int) -> bytes:
    data = secrets.token_bytes(size)
    path.write_bytes(data)
    return data


async def leftovers(storage: Storage) -> list[str]:
    """Objects and unfinished multipart uploads, and for a folder its hidden files too."""
    found = [o.key for o in await storage.list()]
    if isinstance(storage, S3Storage):
        found += [f"multipart:{k}" for k in await storage.pending_uploads()]
    if isinstance(storage, LocalStorage) and storage.root.exists():
        found += [str(p.relative_to(storage.root)) for p in storage.root.rglob(".*")]
    return found


async def test_a_file_goes_up_and_comes_back_whole(storage: Storage, tmp_path: Path) -> None:
    """upload_file then download_file gives the same bytes; head knows the size and the
    type (as given on S3; from the name in a folder, which keeps no metadata)."""
    data = payload(tmp_path / "in.wav", 300_000)
    info = await storage.upload_file(
        "uploads/a/in.wav", tmp_path / "in.wav", content_type="audio/wav"
    )
    assert info.size == len(data)
    await storage.download_file("uploads/a/in.wav", tmp_path / "out.wav")
    assert (tmp_path / "out.wav").read_bytes() == data
    head = await storage.head("uploads/a/in.wav")
    assert head.size == len(data)
    assert head.content_type == ("audio/wav" if isinstance(storage, S3Storage) else "audio/x-wav")


async def test_a_large_file_goes_up_in_parts_and_leaves_no_upload_open(
    storage: Storage, tmp_path: Path
) -> None:
    """A file of several parts (multipart on S3) arrives whole; no part is left over."""
    data = payload(tmp_path / "big.bin", 2 * PART + 12345)
    seen: list[int] = []

    async def progress(done: int) -> None:
        seen.append(done)

    await storage.upload_file("big.bin", tmp_path / "big.bin", progress=progress)
    await storage.download_file("big.bin", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
    assert seen == sorted(seen)
    assert seen[-1] == len(data)
    assert await leftovers(storage) == ["big.bin"]


async def test_a_missing_key_is_object_not_found(storage: Storage, tmp_path: Path) -> None:
    """head and download of a key never stored raise ObjectNotFound; no file is made."""
    with pytest.raises(ObjectNotFound, match=r"nope/x\.wav"):
        await storage.head("nope/x.wav")
    with pytest.raises(ObjectNotFound):
        await storage.download_file("nope/x.wav", tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize(
    "key, rule",
    [
        ("../escape.wav", "'..'"),
        ("a/../../escape.wav", "'..'"),
        ("/etc/passwd", "absolute"),
        (".hidden/x.wav", "hidden"),
        ("a/.partial-1", "hidden"),
        ("bad\nname.wav", "control"),
        ("", "non-empty"),
    ],
)
async def test_keys_stay_inside_the_prefix(
    storage: Storage, tmp_path: Path, key: str, rule: str
) -> None:
    """Every method refuses a key that breaks the rules, naming the rule; nothing is written."""
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(InvalidKey, match=rule):
        await storage.upload_file(key, tmp_path / "f")
    with pytest.raises(InvalidKey, match=rule):
        await storage.download_file(key, tmp_path / "g")
    with pytest.raises(InvalidKey, match=rule):
        await storage.head(key)
    assert await leftovers(storage) == []


async def test_an_object_over_the_limit_is_refused_before_any_byte_is_kept(
    storage: Storage, tmp_path: Path
) -> None:
    """download_file with max_bytes below the object's size: ObjectTooLarge, no file."""
    payload(tmp_path / "in", 10_000)
    await storage.upload_file("k/in", tmp_path / "in")
    with pytest.raises(ObjectTooLarge, match="10000 bytes, over the limit of 9999"):
        await storage.download_file("k/in", tmp_path / "out", max_bytes=9999)
    assert not (tmp_path / "out").exists()


async def test_list_and_delete(storage: Storage, tmp_path: Path) -> None:
    """list finds objects by prefix, sorted; delete removes one and is idempotent."""
    payload(tmp_path / "f", 10)
    for key in ("jobs/2/b.mp3", "jobs/1/a.mp3", "uploads/x/c.wav"):
        await storage.upload_file(key, tmp_path / "f")
    assert [o.key for o in await storage.list("jobs/")] == ["jobs/1/a.mp3", "jobs/2/b.mp3"]
    await storage.delete("jobs/1/a.mp3")
    await storage.delete("jobs/1/a.mp3")
    await storage.delete("never/there")
    assert [o.key for o in await storage.list()] == ["jobs/2/b.mp3", "uploads/x/c.wav"]


class chunks_of:
    """``data`` in chunks of ``size``: a plain async iterator, so that a receive that stops
    reading early (as it must, for a body longer than declared) leaves no generator open."""

    def __init__(self, data: bytes, size: int = 4096) -> None:
        self._chunks = iter([data[start : start + size] for start in range(0, len(data), size)])

    def __aiter__(self) -> chunks_of:
        return self

    async def __anext__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            raise StopAsyncIteration from None


async def test_receive_stores_exactly_the_declared_size(storage: Storage) -> None:
    """A body of the declared size is stored; one longer or shorter stores nothing."""
    data = secrets.token_bytes(50_000)
    await storage.receive("u/ok.bin", chunks_of(data), size=len(data))
    assert (await storage.head("u/ok.bin")).size == len(data)
    with pytest.raises(ObjectTooLarge):
        await storage.receive("u/long.bin", chunks_of(data), size=len(data) - 1)
    with pytest.raises(StorageError, match="ended after"):
        await storage.receive("u/short.bin", chunks_of(data), size=len(data) + 1)
    assert await leftovers(storage) == ["u/ok.bin"]


async def test_a_cancelled_upload_leaves_no_object_and_no_part(
    storage: Storage, tmp_path: Path
) -> None:
    """Cancelled in its second part, a multipart upload is aborted: nothing stays."""
    payload(tmp_path / "big.bin", 3 * PART)
    with trio.CancelScope() as scope:

        async def progress(done: int) -> None:
            if done > PART + (1 << 20):
                scope.cancel()

        await storage.upload_file("big.bin", tmp_path / "big.bin", progress=progress)
    assert scope.cancelled_caught
    assert await leftovers(storage) == []


async def test_a_cancelled_download_leaves_no_file(storage: Storage, tmp_path: Path) -> None:
    """Cancelled mid-body, a download removes its partial file."""
    payload(tmp_path / "big.bin", 3 * PART)
    await storage.upload_file("big.bin", tmp_path / "big.bin")
    with trio.CancelScope() as scope:

        async def progress(done: int) -> None:
            if done > PART:
                scope.cancel()

        await storage.download_file("big.bin", tmp_path / "partial.bin", progress=progress)
    assert scope.cancelled_caught
    assert not (tmp_path / "partial.bin").exists()


# -- S3 only -----------------------------------------------------------------------------


async def test_the_server_enforces_signatures(seaweed: SeaweedServer, tmp_path: Path) -> None:
    """A wrong secret is refused (so every other test proves the signing), and the error
    names the variables to check, never the secret."""
    wrong = "WRONG-" + secrets.token_hex(8)
    storage = s3_storage(seaweed, secret=wrong)
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(StorageConfigError, match="AWS_SECRET_ACCESS_KEY") as info:
        await storage.upload_file("f", tmp_path / "f")
    assert wrong not in str(info.value)
    async with httpx.AsyncClient() as http:
        anonymous = await http.put(f"{seaweed.endpoint}/{seaweed.bucket}/anon", content=b"x")
    assert anonymous.status_code == 403


def test_no_secret_in_the_repr(seaweed: SeaweedServer) -> None:
    """repr and label show the bucket, prefix and endpoint, never the credentials."""
    storage = s3_storage(seaweed)
    shown = repr(storage) + storage.label + str(vars(storage).get("label"))
    assert seaweed.secret_key not in shown
    assert seaweed.bucket in shown


class RecordingProxy(Proxy):
    """A loopback proxy that keeps the head of every request it forwards."""

    def __init__(self, target: int) -> None:
        self.heads: list[bytes] = []
        self._heads_lock = threading.Lock()
        super().__init__(target)

    def _pump(self, source, sink, answering, requests):  # type: ignore[no-untyped-def]
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if requests is not None and data[:4] in (b"PUT ", b"POST", b"GET "):
                    with self._heads_lock:
                        self.heads.append(data.split(b"\r\n\r\n", 1)[0])
                sink.sendall(data)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.close()


async def test_every_put_carries_content_length_never_chunked(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    """S3 refuses chunked uploads: single PUTs and parts all send Content-Length."""
    proxy = RecordingProxy(seaweed.port)
    try:
        storage = s3_storage(seaweed, endpoint=proxy.url)
        payload(tmp_path / "small", 1000)
        payload(tmp_path / "big", PART + 10)
        await storage.upload_file("small", tmp_path / "small")
        await storage.upload_file("big", tmp_path / "big")
        await storage.receive("streamed", chunks_of(b"y" * 5000), size=5000)
    finally:
        proxy.close()
    puts = [h.lower() for h in proxy.heads if h.startswith(b"PUT ")]
    assert len(puts) == 4  # small, two parts of big, streamed
    assert all(b"\r\ncontent-length: " in h for h in puts)
    assert not any(b"transfer-encoding" in h for h in puts)


async def test_a_network_cut_is_storage_unavailable_and_leaves_nothing(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    """A connection cut mid-upload raises StorageUnavailable (try again); the multipart
    upload is aborted."""
    proxy = Proxy(seaweed.port)
    storage = s3_storage(seaweed, endpoint=proxy.url)
    payload(tmp_path / "big", 3 * PART)

    async def progress(done: int) -> None:
        if done > PART + (1 << 20):
            proxy.cut()

    try:
        with pytest.raises(StorageUnavailable, match=r"try again|failed"):
            await storage.upload_file("big", tmp_path / "big", progress=progress)
    finally:
        proxy.close()
    direct = s3_storage(seaweed)
    direct.prefix = storage.prefix
    assert await leftovers(direct) == []


async def test_a_presigned_put_is_bound_to_its_size(seaweed: SeaweedServer) -> None:
    """The URL presign_put gives takes the declared size and refuses any other."""
    storage = s3_storage(seaweed)
    ticket = await storage.presign_put("u/a.wav", size=10, content_type="audio/wav", expires=300)
    async with httpx.AsyncClient() as http:
        wrong = await http.put(ticket.url, content=b"x" * 11, headers=dict(ticket.headers))
        right = await http.put(ticket.url, content=b"x" * 10, headers=dict(ticket.headers))
    assert wrong.status_code == 403
    assert right.status_code == 200
    assert (await storage.head("u/a.wav")).size == 10


def test_the_environment_picks_the_backend(seaweed: SeaweedServer, tmp_path: Path) -> None:
    """SUPERVISOR_STORAGE_URL: unset is the local default, file:// a folder, s3:// a bucket."""
    assert isinstance(storage_from_env({}), LocalStorage)
    local = storage_from_env({"SUPERVISOR_STORAGE_URL": f"file://{tmp_path}/f"})
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "f"
    s3 = storage_from_env(seaweed.env("some/prefix"))
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix) == (seaweed.bucket, "some/prefix")
    with pytest.raises(StorageConfigError, match="s3:// or file://"):
        storage_from_env({"SUPERVISOR_STORAGE_URL": "ftp://x"})
    with pytest.raises(StorageConfigError, match="AWS_SECRET_ACCESS_KEY"):
        storage_from_env({"SUPERVISOR_STORAGE_URL": "s3://key:secret@bucket/p"})


def test_a_symlink_in_the_folder_is_refused(tmp_path: Path) -> None:
    """The local folder never follows a link under it, for reads or writes."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.wav").write_bytes(b"s")
    root = tmp_path / "files"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "file.wav").symlink_to(outside / "secret.wav")
    storage = LocalStorage(root)
    with pytest.raises(InvalidKey, match="symbolic link"):
        trio.run(storage.head, "link/secret.wav")
    with pytest.raises(InvalidKey, match="symbolic link"):
        trio.run(storage.head, "file.wav")
    (tmp_path / "f").write_bytes(b"new")
    with pytest.raises(InvalidKey, match="symbolic link"):
        trio.run(storage.upload_file, "link/x.wav", tmp_path / "f")
    assert sorted(os.listdir(outside)) == ["secret.wav"]
