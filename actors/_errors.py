"""How a handler says why it failed, and the default for errors it did not classify."""

from __future__ import annotations

import errno
import json
import subprocess

from stores import ErrorKind

__all__ = ["PermanentError", "StalledError", "TransientError", "classify"]


class TransientError(Exception):
    """The run failed for a reason that may pass (network, I/O, a busy service): retry."""


class StalledError(TransientError):
    """A child was alive but made no progress for too long (e.g. ffmpeg on a dead input)."""


class PermanentError(Exception):
    """The run can never succeed as submitted (bad input, unsupported format): fail now."""


# OSErrors that are about the input itself, not the weather.
_PERMANENT_ERRNOS = frozenset(
    {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG}
)


def classify(exc: BaseException) -> ErrorKind:
    """The documented default classification (see docs/ARCHITECTURE.md, "Failures").

    * ``TransientError``, ``ConnectionError``, ``TimeoutError`` and other ``OSError`` (I/O,
      disk full, network) are transient: retried while attempts remain;
    * ``PermanentError``, missing or unreadable files (``ENOENT``, ``EACCES``, ...), bad
      input (``ValueError``, ``TypeError``, ``LookupError``, JSON errors) are permanent;
    * anything else is a bug in the handler and is permanent too: retrying a bug only hides
      it and doubles the bill.
    """
    if isinstance(exc, StalledError):
        return ErrorKind.STALLED
    if isinstance(exc, TransientError):
        return ErrorKind.TRANSIENT
    if isinstance(exc, PermanentError):
        return ErrorKind.PERMANENT
    if isinstance(exc, ConnectionError | TimeoutError | subprocess.TimeoutExpired):
        return ErrorKind.TRANSIENT
    if isinstance(exc, OSError):
        return ErrorKind.PERMANENT if exc.errno in _PERMANENT_ERRNOS else ErrorKind.TRANSIENT
    if isinstance(exc, ValueError | TypeError | LookupError | json.JSONDecodeError):
        return ErrorKind.PERMANENT
    return ErrorKind.PERMANENT
