"""How a handler says why it failed, and the default for errors it did not classify."""

from __future__ import annotations

import errno
import json
import subprocess

from stores import ErrorKind

__all__ = ["PermanentError", "StalledError", "TransientError", "classify", "describe"]


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
    """The error kind of ``exc`` (see :func:`_classify`); never raises: an exception whose
    attributes cannot even be read is a bug, and bugs are permanent."""
    try:
        return _classify(exc)
    except Exception:
        return ErrorKind.PERMANENT


def describe(exc: BaseException) -> str:
    """One line saying what was raised, for a failed job's ``error``; never raises.

    The handler's own verdicts (``TransientError``, ``PermanentError``) read as their
    message, which is the reason the handler chose. Anything else keeps its type, as the last
    line of a traceback does: ``KeyError: 'input'``, not the bare ``'input'``. An exception
    whose ``__str__`` itself raises is named by its type alone.
    """
    name = type(exc).__name__
    try:
        message = str(exc)
    except Exception as broken:
        return f"{name} (its message could not be read: {type(broken).__name__})"
    if isinstance(exc, TransientError | PermanentError):
        return message or name
    return f"{name}: {message}" if message else name


def _classify(exc: BaseException) -> ErrorKind:
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
