"""The client's errors: one class per kind of answer, each carrying the server's line."""

from __future__ import annotations

__all__ = [
    "ApiError",
    "AuthError",
    "BadRequest",
    "Conflict",
    "MediaJobsError",
    "NotFound",
    "ServerError",
    "TransferError",
    "Unprocessable",
    "Unreachable",
    "error_for",
]


class MediaJobsError(Exception):
    """Anything the client raises for the server or the network."""


class Unreachable(MediaJobsError, ConnectionError):
    """No answer: the server is down, unreachable, or took longer than the timeout."""


class TransferError(MediaJobsError, ValueError):
    """A file transfer that cannot be done as asked: the job has no such output, the
    destination does not fit the outputs, or a download does not match its SHA-256."""


class ApiError(MediaJobsError):
    """The server answered with an error: ``status`` and its ``{"error": ...}`` line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class BadRequest(ApiError, ValueError):
    """400, 413, 415: the request itself is wrong (fields, payload, its size)."""


class AuthError(ApiError):
    """401 or 403: a missing or wrong token (``Authorization: Bearer``), or a refused host."""


class NotFound(ApiError, LookupError):
    """404: no such job (it may have been pruned past its retention)."""


class Conflict(ApiError):
    """409: not in that state now (cancel a finished job, resubmit a running one)."""


class Unprocessable(ApiError):
    """422: no (live) worker serves that job type (the message names the served ones), or
    an ``Idempotency-Key`` was reused for another request."""


class ServerError(ApiError):
    """5xx: the server failed, or its database is unavailable (503): worth a later retry."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthError,
    403: AuthError,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    415: BadRequest,
    422: Unprocessable,
}


def error_for(status: int, message: str) -> ApiError:
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    return kind(status, message)
