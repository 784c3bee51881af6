"""The process-wide storage, chosen from the environment (factory and singleton)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from media_jobs_config import Environment, declared, environment

from ._errors import StorageConfigError
from ._interface import Storage

__all__ = [
    "DEFAULT_FILES_PATH",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "STORAGE_URL_ENV",
    "get_storage",
    "max_upload_bytes",
    "reset_storage",
    "storage_from_env",
]

DEFAULT_FILES_PATH = "./data/files"
STORAGE_URL_ENV = "SUPERVISOR_STORAGE_URL"
MAX_UPLOAD_ENV = "SUPERVISOR_MAX_UPLOAD_BYTES"
DEFAULT_MAX_UPLOAD_BYTES = int(declared(MAX_UPLOAD_ENV).default or 0)

_lock = threading.Lock()
_storage: Storage | None = None


def storage_from_env(env: Mapping[str, str] | Environment | None = None) -> Storage:
    """A new storage as the environment says: ``SUPERVISOR_STORAGE_URL`` ``s3://BUCKET/PREFIX``
    (with the standard AWS variables) or ``file://PATH``; unset, the folder ``./data/files``.

    The local default never imports boto3 or httpx.
    """
    env = environment(env)
    url = env.get(STORAGE_URL_ENV, "").strip()
    if not url:
        from ._local import LocalStorage

        return LocalStorage(DEFAULT_FILES_PATH)
    parts = urlsplit(url)
    if parts.scheme == "file":
        from ._local import LocalStorage

        # file:///abs/path, or file://./relative for a folder under the working directory
        return LocalStorage(unquote(parts.netloc + parts.path) or DEFAULT_FILES_PATH)
    if parts.scheme == "s3":
        if parts.username or parts.password or parts.query:
            raise StorageConfigError(
                f"{STORAGE_URL_ENV} must be s3://BUCKET/PREFIX only: credentials go in "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        from ._s3 import S3Storage

        return S3Storage(
            parts.netloc,
            unquote(parts.path).strip("/"),
            endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            access_key_id=env.get("AWS_ACCESS_KEY_ID"),
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        )
    raise StorageConfigError(
        f"{STORAGE_URL_ENV} must start with s3:// or file:// (got {parts.scheme or 'no'} scheme)"
    )


def max_upload_bytes(env: Mapping[str, str] | Environment | None = None) -> int:
    """The largest object an upload or an input may be (``SUPERVISOR_MAX_UPLOAD_BYTES``)."""
    given = environment(env).get(MAX_UPLOAD_ENV, "").strip()
    if not given:
        return DEFAULT_MAX_UPLOAD_BYTES
    try:
        value = int(given)
    except ValueError:
        value = 0
    if value <= 0:
        raise StorageConfigError(f"{MAX_UPLOAD_ENV} must be a positive number of bytes")
    return value


def get_storage() -> Storage:
    """The process-wide storage, created from the environment on first use."""
    global _storage
    with _lock:
        if _storage is None:
            _storage = storage_from_env()
        return _storage


def reset_storage() -> None:
    """Close and forget the process-wide storage (test isolation)."""
    global _storage
    with _lock:
        storage, _storage = _storage, None
    if storage is not None:
        storage.close()
