"""Files named by key, in a local folder or an S3-compatible bucket: the storage adapter.

Same shape as ``stores``: one interface (:class:`Storage`), two backends
(:class:`LocalStorage`, :class:`S3Storage`), a process-wide instance chosen from the
environment (:func:`get_storage`, :func:`reset_storage`). ``S3Storage`` loads on first use,
so the local default never imports boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import (
    InvalidKey,
    ObjectNotFound,
    ObjectTooLarge,
    StorageConfigError,
    StorageError,
    StorageUnavailable,
)
from ._factory import (
    DEFAULT_FILES_PATH,
    DEFAULT_MAX_UPLOAD_BYTES,
    STORAGE_URL_ENV,
    get_storage,
    max_upload_bytes,
    reset_storage,
    storage_from_env,
)
from ._interface import ObjectInfo, Progress, Storage, UploadTicket
from ._keys import check_name, key_parts, new_upload_key, output_key
from ._local import LocalStorage, make_folder
from ._outputs import BadTarget, download_targets, result_outputs

if TYPE_CHECKING:
    from ._s3 import S3Storage

__all__ = [
    "DEFAULT_FILES_PATH",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "STORAGE_URL_ENV",
    "BadTarget",
    "InvalidKey",
    "LocalStorage",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectTooLarge",
    "Progress",
    "S3Storage",
    "Storage",
    "StorageConfigError",
    "StorageError",
    "StorageUnavailable",
    "UploadTicket",
    "check_name",
    "download_targets",
    "get_storage",
    "key_parts",
    "make_folder",
    "max_upload_bytes",
    "new_upload_key",
    "output_key",
    "reset_storage",
    "result_outputs",
    "storage_from_env",
]


def __getattr__(name: str) -> object:
    if name == "S3Storage":
        from ._s3 import S3Storage

        S3Storage.__module__ = __name__
        return S3Storage
    raise AttributeError(f"module 'files' has no attribute {name!r}")


for _name in __all__:
    _obj = globals().get(_name)
    if getattr(_obj, "__module__", "").startswith("files._"):
        _obj.__module__ = __name__
