"""How a handler says why it failed, and the default for errors it did not classify."""

from __future__ import annotations

import errno
import json
import subprocess

import trio

from stores import RETRYABLE, ErrorKind

__all__ = [
    "PermanentError",
    "StalledError",
    "TransientError",
    "chosen",
    "classify",
    "describe",
    "leaves",
    "telling",
]


class _Verdict(Exception):
    """A failure whose kind the handler chose. ``detail``, if given, is the one line that
    says most (e.g. ffmpeg's "Invalid frame size: x."): kept beside the message, so that a
    reader (the dashboard) shows it without parsing the message."""

    def __init__(self, *args: object, detail: str | None = None) -> None:
        super().__init__(*args)
        self.detail = detail


class TransientError(_Verdict):
    """The run failed for a reason that may pass (network, I/O, a busy service): retry."""


class StalledError(TransientError):
    """A child was alive but made no progress for too long (e.g. ffmpeg on a dead input)."""


class PermanentError(_Verdict):
    """The run can never succeed as submitted (bad input, unsupported format): fail now."""


# OSErrors that are about the input itself, not the weather.
_PERMANENT_ERRNOS = frozenset(
    {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG}
)


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc``: itself, or the leaves of an exception group (a
    handler's nursery raises its children's errors grouped)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def chosen(exc: BaseException) -> bool:
    """Whether the handler chose this verdict itself (every leaf a ``TransientError`` or a
    ``PermanentError``): its message is then the reason, and no traceback is needed."""
    return all(isinstance(leaf, TransientError | PermanentError) for leaf in leaves(exc))


def classify(exc: BaseException) -> ErrorKind:
    """The error kind of ``exc`` (see :func:`_classify`); a group is retried only if all its
    errors would be. Never raises: an exception whose attributes cannot even be read is a
    bug, and bugs are permanent."""
    try:
        kinds = [_classify(leaf) for leaf in leaves(exc)]
    except Exception:
        return ErrorKind.PERMANENT
    if all(kind in RETRYABLE for kind in kinds):
        return kinds[0]
    return ErrorKind.PERMANENT


def telling(exc: BaseException) -> str | None:
    """The ``detail`` the handler gave its verdict (the first leaf's that has one)."""
    for leaf in leaves(exc):
        detail = getattr(leaf, "detail", None) if isinstance(leaf, _Verdict) else None
        if isinstance(detail, str) and detail.strip():
            return detail
    return None


def describe(exc: BaseException) -> str:
    """One line saying what was raised, for a failed job's ``error``; never raises.

    The handler's own verdicts (``TransientError``, ``PermanentError``) read as their
    message, which is the reason the handler chose. Anything else keeps its type, as the last
    line of a traceback does: ``KeyError: 'input'``, not the bare ``'input'``. An exception
    group reads as its errors, ``; ``-separated. An exception whose ``__str__`` (or its
    class's name) itself raises is described as far as it can be.
    """
    found = leaves(exc)
    if len(found) > 1:
        return "; ".join(_describe_one(leaf) for leaf in found[:5])
    return _describe_one(found[0])


def _describe_one(exc: BaseException) -> str:
    name = _name(exc)
    try:
        message = str(exc)
    except (KeyboardInterrupt, trio.Cancelled):
        raise
    except BaseException as broken:  # a foreign __str__: whatever it raises is its failure
        return f"{name} (its message could not be read: {_name(broken)})"
    if isinstance(exc, TransientError | PermanentError):
        return message or name
    return f"{name}: {message}" if message else name


def _name(exc: BaseException) -> str:
    try:
        return str(type(exc).__name__)
    except Exception:
        return "an exception whose class has no readable name"


def _classify(exc: BaseException) -> ErrorKind:
    """The documented default classification (see docs/reference/worker.md, "Failures").

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
