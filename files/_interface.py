"""What both backends do: the storage adapter's interface and its values."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from pathlib import Path

import attrs

__all__ = ["CHUNK", "ObjectInfo", "Progress", "Storage", "UploadTicket"]

#: Bytes moved per read or write: large enough for full speed, small enough that memory
#: stays flat and a cancellation is seen between two chunks.
CHUNK = 1 << 20

#: Called with the bytes moved so far, after each chunk.
Progress = Callable[[int], Awaitable[None]]


@attrs.frozen
class ObjectInfo:
    """A stored object: its key, size in bytes, content type (if the backend knows it) and,
    from ``list``, when it was last written (Unix seconds)."""

    key: str
    size: int
    content_type: str | None = None
    modified: float | None = None


@attrs.frozen
class UploadTicket:
    """How a client uploads one object: send ``method`` to ``url`` with ``headers``."""

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"method": self.method, "url": self.url, "headers": dict(self.headers)}


class Storage(abc.ABC):
    """Objects named by key (see ``files._keys``), in a local folder or an S3 bucket.

    Every method is async (Trio) and cancellable. Cancellation and failure leave nothing
    half-written: an interrupted upload leaves no object and no part, an interrupted
    download no file at its destination.
    """

    #: Where the objects live, for messages (never a secret).
    label: str

    @abc.abstractmethod
    async def upload_file(
        self,
        key: str,
        path: Path,
        *,
        content_type: str | None = None,
        progress: Progress | None = None,
    ) -> ObjectInfo:
        """Store the file at ``path`` as ``key`` (replacing an object of that key), streamed."""

    @abc.abstractmethod
    async def download_file(
        self,
        key: str,
        path: Path,
        *,
        max_bytes: int | None = None,
        progress: Progress | None = None,
    ) -> ObjectInfo:
        """Write object ``key`` to a new file ``path``, streamed. Raises ``ObjectNotFound``,
        or ``ObjectTooLarge`` (before writing anything where the size is known up front).
        On any failure or cancellation ``path`` is removed."""

    @abc.abstractmethod
    async def receive(
        self, key: str, chunks: AsyncIterable[bytes], *, size: int, content_type: str | None = None
    ) -> ObjectInfo:
        """Store exactly ``size`` bytes from ``chunks`` as ``key``; more or fewer is an error
        (``ObjectTooLarge``, or ``StorageError``) and stores nothing."""

    @abc.abstractmethod
    async def head(self, key: str) -> ObjectInfo:
        """The object's size and type; ``ObjectNotFound`` if there is none."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove object ``key``; removing a missing object is not an error."""

    @abc.abstractmethod
    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix``, sorted by key."""

    async def presign_put(
        self, key: str, *, size: int, content_type: str | None, expires: int
    ) -> UploadTicket | None:
        """A URL a client can upload ``key`` to directly, or None when the backend has none
        (the local folder: the HTTP API receives the body itself)."""
        return None

    async def presign_get(
        self, key: str, *, filename: str, content_type: str | None, expires: int
    ) -> str | None:
        """A short-lived URL to download ``key`` directly, or None (the local folder)."""
        return None

    def origin(self) -> str | None:
        """A URL on the host presigned URLs point at (for a page's security policy), or
        None when there are none (the local folder)."""
        return None

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release what the backend holds (nothing for the local folder)."""
