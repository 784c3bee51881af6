"""The storage adapter's errors: few classes, each saying who caused the problem."""

from __future__ import annotations

__all__ = [
    "InvalidKey",
    "ObjectNotFound",
    "ObjectTooLarge",
    "StorageConfigError",
    "StorageError",
    "StorageUnavailable",
]


class StorageError(Exception):
    """Base class of every error the storage adapter raises on purpose."""


class InvalidKey(StorageError, ValueError):
    """A key (or file name) breaks the naming rules; nothing was read or written."""


class ObjectNotFound(StorageError, LookupError):
    """No object has this key (never uploaded, deleted, or swept)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no stored object has the key {key!r}: upload it first")
        self.key = key


class ObjectTooLarge(StorageError, ValueError):
    """An object (or a body being received) is larger than the limit it must keep to."""

    def __init__(self, key: str, size: int, limit: int) -> None:
        super().__init__(
            f"the object {key!r} is {size} bytes, over the limit of {limit} bytes "
            "(SUPERVISOR_MAX_UPLOAD_BYTES)"
        )
        self.key, self.size, self.limit = key, size, limit


class StorageUnavailable(StorageError, ConnectionError):
    """The storage could not be reached, or failed, mid-call: trying again may work.

    Nothing half-written is left: an interrupted upload is aborted.
    """


class StorageConfigError(StorageError):
    """The storage settings are wrong (a bad URL, refused credentials, no such bucket)."""
