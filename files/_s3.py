"""The S3 backend: any S3-compatible service (R2, AWS S3, Tigris, SeaweedFS).

Rationale. No S3 client is both Trio-native and fast (aiobotocore's httpx backend sent an
8 MiB body in over 4 s; obstore's async API needs asyncio). So the work is split:
``botocore`` (through ``boto3``) signs URLs and makes the small control calls (create,
complete and abort a multipart upload, head, delete, list), each in a worker thread; the
bytes move through presigned URLs with ``httpx`` on Trio, streamed a chunk at a time, so
a transfer is cancellable between any two chunks and memory stays flat. Every PUT carries
``Content-Length``: S3 refuses chunked uploads (SeaweedFS accepts them, so a test against
it alone would not notice). Files larger than one part (16 MiB) go up as a multipart
upload (four parts at a time), aborted on failure or cancellation, so no object and
no part is left behind.

The secret key lives only inside the botocore client: never in a repr, a log or an error.
"""

from __future__ import annotations

import builtins
import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote

import httpx
import trio

from ._errors import (
    InvalidKey,
    ObjectNotFound,
    ObjectTooLarge,
    StorageConfigError,
    StorageError,
    StorageUnavailable,
)
from ._interface import CHUNK, ObjectInfo, Progress, Storage, UploadTicket
from ._keys import key_parts

__all__ = ["PARALLEL_PARTS", "PART_SIZE", "S3Storage"]

#: Bytes per part of a multipart upload (S3 takes 5 MiB to 5 GiB, at most 10,000 parts).
PART_SIZE = 16 << 20
#: Parts in flight at once: one stream alone does not fill a fast link (measured in
#: benchmarks/storage.py); each streams from its own file handle, so memory stays flat.
PARALLEL_PARTS = 4
#: Seconds a presigned URL used by the worker itself stays valid (per request or part).
_OWN_URL_SECONDS = 3600
_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
_DENIED = {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "403"}
_MISSING = {"NoSuchKey", "404", "NotFound"}
T = TypeVar("T")


class S3Storage(Storage):
    """Objects under ``prefix`` in ``bucket``; credentials as the AWS variables name them."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        part_size: int = PART_SIZE,
    ) -> None:
        if not bucket:
            raise StorageConfigError("an s3:// storage URL must name a bucket: s3://BUCKET/PREFIX")
        if prefix:
            key_parts(prefix, what="the storage URL's prefix", inside="the bucket")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or None
        self.part_size = part_size
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        self.label = f"s3://{bucket}/{self.prefix}{where}"
        self._client = _make_client(endpoint_url, region, access_key_id, secret_access_key)

    def __repr__(self) -> str:
        return f"<S3Storage {self.label}>"

    def _full(self, key: str) -> str:
        key_parts(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _url(self, method: str, key: str, *, expires: int = _OWN_URL_SECONDS, **params: Any) -> str:
        url: str = self._client.generate_presigned_url(
            method,
            Params={"Bucket": self.bucket, "Key": self._full(key), **params},
            ExpiresIn=expires,
        )
        return url

    async def _call(self, key: str, fn: Callable[[], T]) -> T:
        """A control call in a thread, its errors mapped to the adapter's."""
        try:
            return await trio.to_thread.run_sync(fn)
        except StorageError:
            raise
        except Exception as exc:
            _raise_mapped(self, key, exc)

    # -- uploads ---------------------------------------------------------------------------

    async def upload_file(
        self,
        key: str,
        path: Path,
        *,
        content_type: str | None = None,
        progress: Progress | None = None,
    ) -> ObjectInfo:
        size = (await trio.to_thread.run_sync(os.stat, path)).st_size
        headers = {"Content-Type": content_type} if content_type else {}
        counter = _Counter(progress)
        async with _client() as http:
            if size > self.part_size:
                await self._multipart(http, key, path, size, content_type, counter)
            else:
                url = self._url("put_object", key, **_type_param(content_type))
                async with (
                    await trio.open_file(path, "rb") as source,
                    contextlib.aclosing(_read(source, size, counter)) as body,
                ):
                    await self._put(http, key, url, body, size, headers)
        return ObjectInfo(key, size, content_type)

    async def _multipart(
        self,
        http: httpx.AsyncClient,
        key: str,
        path: Path,
        size: int,
        content_type: str | None,
        counter: _Counter,
    ) -> None:
        full = self._full(key)
        created = await self._call(
            key,
            lambda: self._client.create_multipart_upload(
                Bucket=self.bucket, Key=full, **_type_param(content_type)
            ),
        )
        upload_id: str = created["UploadId"]
        try:
            etags = await self._parts(http, key, path, size, upload_id, counter)
            parts = [{"ETag": etag, "PartNumber": n} for n, etag in enumerate(etags, start=1)]
            await self._call(
                key,
                lambda: self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                ),
            )
        except BaseException:
            # Shielded and bounded: a cancelled upload still leaves no part behind.
            with trio.move_on_after(15, shield=True), contextlib.suppress(Exception):
                await trio.to_thread.run_sync(
                    lambda: self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=full, UploadId=upload_id
                    )
                )
            raise

    async def _parts(
        self,
        http: httpx.AsyncClient,
        key: str,
        path: Path,
        size: int,
        upload_id: str,
        counter: _Counter,
    ) -> list[str]:
        """Upload every part, ``PARALLEL_PARTS`` at a time (one stream each is slower than
        the network); their ETags in order. The first failure stops the others and is
        raised as itself (not in a group)."""
        offsets = list(range(0, size, self.part_size))
        etags = [""] * len(offsets)
        failures: list[Exception] = []
        limiter = trio.CapacityLimiter(PARALLEL_PARTS)

        async def one(index: int, nursery: trio.Nursery) -> None:
            number, offset = index + 1, offsets[index]
            length = min(self.part_size, size - offset)
            url = self._url("upload_part", key, UploadId=upload_id, PartNumber=number)
            try:
                async with limiter, await trio.open_file(path, "rb") as source:
                    await source.seek(offset)
                    # Closed at once when the part is cut off or cancelled, not when collected.
                    async with contextlib.aclosing(_read(source, length, counter)) as body:
                        etags[index] = await self._put(http, key, url, body, length, {})
            except Exception as exc:
                failures.append(exc)
                nursery.cancel_scope.cancel()

        async with trio.open_nursery() as nursery:
            for index in range(len(offsets)):
                nursery.start_soon(one, index, nursery)
        if failures:
            raise failures[0]
        return etags

    async def _put(
        self,
        http: httpx.AsyncClient,
        key: str,
        url: str,
        body: AsyncIterator[bytes],
        size: int,
        headers: dict[str, str],
    ) -> str:
        """PUT ``size`` bytes from ``body``; Content-Length always (never chunked)."""
        try:
            response = await http.put(
                url, content=body, headers={**headers, "Content-Length": str(size)}
            )
        except httpx.TransportError as exc:
            raise StorageUnavailable(f"uploading {key!r} to {self.label} failed: {exc}") from None
        _check(self, key, response)
        return str(response.headers.get("ETag", ""))

    async def receive(
        self, key: str, chunks: AsyncIterable[bytes], *, size: int, content_type: str | None = None
    ) -> ObjectInfo:
        headers = {"Content-Type": content_type} if content_type else {}
        url = self._url("put_object", key, **_type_param(content_type))

        async def exact() -> AsyncIterator[bytes]:
            sent = 0
            async for chunk in chunks:
                sent += len(chunk)
                if sent > size:
                    raise ObjectTooLarge(key, sent, size)
                yield chunk
            if sent != size:
                raise StorageError(f"the upload of {key!r} ended after {sent} of {size} bytes")

        async with _client() as http:
            await self._put(http, key, url, exact(), size, headers)
        return ObjectInfo(key, size, content_type)

    # -- downloads and the rest ------------------------------------------------------------

    async def download_file(
        self,
        key: str,
        path: Path,
        *,
        max_bytes: int | None = None,
        progress: Progress | None = None,
    ) -> ObjectInfo:
        url = self._url("get_object", key)
        async with _client() as http:
            try:
                async with http.stream("GET", url) as response:
                    _check(self, key, response)
                    size = int(response.headers.get("Content-Length", -1))
                    if max_bytes is not None and size > max_bytes:
                        raise ObjectTooLarge(key, size, max_bytes)
                    content_type = response.headers.get("Content-Type")
                    await _save(response, path, progress, max_bytes=max_bytes, key=key)
            except httpx.TransportError as exc:
                raise StorageUnavailable(
                    f"downloading {key!r} from {self.label} failed: {exc}"
                ) from None
        return ObjectInfo(key, os.stat(path).st_size, content_type)

    async def head(self, key: str) -> ObjectInfo:
        full = self._full(key)
        reply = await self._call(
            key, lambda: self._client.head_object(Bucket=self.bucket, Key=full)
        )
        return ObjectInfo(key, int(reply["ContentLength"]), reply.get("ContentType"))

    async def delete(self, key: str) -> None:
        full = self._full(key)
        await self._call(key, lambda: self._client.delete_object(Bucket=self.bucket, Key=full))

    async def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        base = f"{self.prefix}/" if self.prefix else ""

        def pages() -> builtins.list[ObjectInfo]:
            paginator = self._client.get_paginator("list_objects_v2")
            found = []
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
                for item in page.get("Contents", []):
                    key, size = item["Key"][len(base) :], int(item["Size"])
                    found.append(ObjectInfo(key, size, None, item["LastModified"].timestamp()))
            return sorted(found, key=lambda o: o.key)

        return await self._call(prefix, pages)

    async def pending_uploads(self) -> builtins.list[str]:
        """Keys of multipart uploads begun and neither completed nor aborted (for checks)."""
        base = f"{self.prefix}/" if self.prefix else ""
        reply = await self._call(
            "", lambda: self._client.list_multipart_uploads(Bucket=self.bucket, Prefix=base)
        )
        return [u["Key"][len(base) :] for u in reply.get("Uploads", [])]

    async def presign_put(
        self, key: str, *, size: int, content_type: str | None, expires: int
    ) -> UploadTicket:
        # Content-Length is signed: the service refuses a body of any other size.
        url = self._url(
            "put_object", key, expires=expires, ContentLength=size, **_type_param(content_type)
        )
        headers = {"Content-Type": content_type} if content_type else {}
        return UploadTicket("PUT", url, headers)

    async def presign_get(
        self, key: str, *, filename: str, content_type: str | None, expires: int
    ) -> str:
        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        params = {"ResponseContentDisposition": disposition}
        if content_type:
            params["ResponseContentType"] = content_type
        return self._url("get_object", key, expires=expires, **params)

    def origin(self) -> str:
        # Where botocore points a URL (path- or virtual-host style, the region's host):
        # presigned URLs are made locally, without a request.
        return self._url("get_object", "origin")

    def close(self) -> None:
        self._client.close()


def _make_client(
    endpoint_url: str | None, region: str | None, key_id: str | None, secret: str | None
) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        # Custom endpoints (SeaweedFS, R2, Tigris) take path-style URLs reliably.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=10,
        read_timeout=60,
    )
    session = boto3.session.Session(
        aws_access_key_id=key_id or None,
        aws_secret_access_key=secret or None,
        region_name=region or "us-east-1",
    )
    return session.client("s3", endpoint_url=endpoint_url or None, config=config)


def _type_param(content_type: str | None) -> dict[str, Any]:
    return {"ContentType": content_type} if content_type else {}


@contextlib.asynccontextmanager
async def _client() -> AsyncIterator[httpx.AsyncClient]:
    # One client per transfer: a client's connections belong to the Trio run that made them.
    async with httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False) as http:
        yield http


class _Counter:
    """Bytes sent so far across the parts of one upload, reported to ``progress``."""

    def __init__(self, progress: Progress | None) -> None:
        self.done = 0
        self._progress = progress

    async def add(self, n: int) -> None:
        self.done += n
        if self._progress is not None:
            await self._progress(self.done)


async def _read(source: Any, length: int, counter: _Counter) -> AsyncGenerator[bytes, None]:
    """Exactly ``length`` bytes of ``source`` (a Trio async file), a chunk at a time."""
    left = length
    while left:
        data = await source.read(min(CHUNK, left))
        if not data:
            raise StorageError(f"the file shrank while it was being uploaded ({left} bytes short)")
        left -= len(data)
        await counter.add(len(data))
        yield data


async def _save(
    response: httpx.Response,
    path: Path,
    progress: Progress | None,
    *,
    max_bytes: int | None,
    key: str,
) -> None:
    """Write the body to a new file ``path``; removed again on any failure or cancellation."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        with os.fdopen(fd, "wb", buffering=0) as target:
            done = 0
            async for chunk in response.aiter_bytes(CHUNK):
                done += len(chunk)
                if max_bytes is not None and done > max_bytes:
                    raise ObjectTooLarge(key, done, max_bytes)
                await trio.to_thread.run_sync(target.write, chunk)
                if progress is not None:
                    await progress(done)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def _check(storage: S3Storage, key: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    if status == 404:
        raise ObjectNotFound(key)
    if status == 403:
        raise _denied(storage)
    if status >= 500 or status in (408, 429):
        raise StorageUnavailable(f"{storage.label} answered {status} for {key!r}: try again")
    raise StorageError(f"{storage.label} refused {key!r} ({status})")


def _denied(storage: S3Storage) -> StorageConfigError:
    return StorageConfigError(
        f"{storage.label} refused the credentials or the bucket: check AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY and the bucket's permissions"
    )


def _raise_mapped(storage: S3Storage, key: str, exc: Exception) -> NoReturn:
    """botocore's errors as the adapter's (httpcore's ``map_exceptions``, by table)."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if code in _MISSING:
            raise ObjectNotFound(key) from None
        if code in _DENIED:
            raise _denied(storage) from None
        if code == "NoSuchBucket":
            raise StorageConfigError(f"{storage.label}: the bucket does not exist") from None
        if status >= 500 or status == 0:
            raise StorageUnavailable(f"{storage.label} failed ({code}): try again") from None
        raise StorageError(f"{storage.label} refused {key!r} ({code})") from None
    if isinstance(exc, ParamValidationError):
        raise InvalidKey(f"{storage.label} refused the request for {key!r}") from None
    if isinstance(exc, BotoCoreError):
        raise StorageUnavailable(f"{storage.label} could not be reached: {exc}") from None
    raise exc
