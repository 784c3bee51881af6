"""Keys: the names of stored objects, confined to the configured folder or prefix.

A key is a relative, ``/``-separated path: no absolute path, no ``..``, no part starting
with ``.`` (hidden files, and the adapter's own ``.partial-*`` files), no control
characters, parts of at most 255 bytes. The same rules guard a local folder and an S3
prefix, so a key that names a file under one names a file under the other, and no key
reaches outside either. Job payloads name their files by key: the rules are the boundary
between an untrusted submitter and the worker's disk.
"""

from __future__ import annotations

import secrets

from ._errors import InvalidKey

__all__ = ["MAX_KEY", "MAX_PART", "check_name", "key_parts", "new_upload_key", "output_key"]

MAX_KEY = 1024
MAX_PART = 255


def _shown(given: str) -> str:
    return repr(given if len(given) <= 200 else given[:200] + "…")


def key_parts(
    given: object, *, what: str = "the key", inside: str = "the storage"
) -> tuple[str, ...]:
    """The parts of ``given`` if it is a valid key, else :class:`InvalidKey` naming the rule.

    ``what`` names the value in messages (e.g. ``payload 'input'``), ``inside`` the place it
    must stay in.
    """
    if not isinstance(given, str) or not given:
        raise InvalidKey(f"{what} must be a non-empty file path inside {inside}")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in given):
        raise InvalidKey(f"{what} may not contain control characters")
    if len(given) > MAX_KEY:
        raise InvalidKey(f"{what} is longer than {MAX_KEY} characters")
    if given.startswith("/"):
        raise InvalidKey(
            f"{what} must be relative to {inside}, not an absolute path: {_shown(given)}"
        )
    parts = tuple(part for part in given.split("/") if part not in ("", "."))
    if ".." in parts:
        raise InvalidKey(
            f"{what} may not contain '..' (it must stay inside {inside}): {_shown(given)}"
        )
    if any(part.startswith(".") for part in parts):
        raise InvalidKey(
            f"{what} may not name hidden files or folders (a part starting with '.'): "
            f"{_shown(given)}"
        )
    if any(len(part.encode()) > MAX_PART for part in parts):
        raise InvalidKey(f"{what} has a part longer than {MAX_PART} bytes")
    if not parts:
        raise InvalidKey(f"{what} must name a file inside {inside}")
    return parts


def check_name(given: object, *, what: str = "the file name") -> str:
    """``given`` if it is a plain file name (one part of a key, no ``/``), else InvalidKey."""
    if isinstance(given, str) and "/" in given:
        raise InvalidKey(f"{what} must be a file name without '/': {_shown(given)}")
    (name,) = key_parts(given, what=what)
    return name


def new_upload_key(name: str) -> str:
    """A fresh, unguessable key for an upload called ``name`` (checked)."""
    return f"uploads/{secrets.token_urlsafe(12)}/{check_name(name)}"


def output_key(job_id: int, name: str) -> str:
    """Where job ``job_id`` stores its output ``name`` (checked)."""
    return f"jobs/{int(job_id)}/{check_name(name, what='the output name')}"
