"""Every refusal is JSON: ``{"error": "one line a person can act on"}``.

Store errors are mapped here, at the boundary: an unknown id is 404, bad input 400, an
idempotency key reused for another request 422, a transition the job's state forbids 409,
an unreachable database 503.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from stores import (
    IdempotencyMismatch,
    InvalidJob,
    InvalidTransition,
    JobNotFound,
    JobStoreError,
    StoreUnavailable,
)

__all__ = ["EXCEPTION_HANDLERS", "ApiError", "error_response"]

log = logging.getLogger("web")


class ApiError(Exception):
    """A request the API refuses: an HTTP status and a one-line message."""

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    one_line = " ".join(message.split())
    return JSONResponse({"error": one_line}, status_code=status, headers=dict(headers or {}))


def _status_of(exc: JobStoreError) -> int:
    if isinstance(exc, JobNotFound):
        return 404
    if isinstance(exc, InvalidTransition):
        return 409
    if isinstance(exc, IdempotencyMismatch):  # the draft's answer to a key's misuse
        return 422
    if isinstance(exc, InvalidJob):
        return 400
    return 503


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.headers)


async def _store_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JobStoreError)
    status = _status_of(exc)
    if status == 503:
        log.warning("store error on %s %s: %s", request.method, request.url.path, exc)
        what = "unreachable" if isinstance(exc, StoreUnavailable) else "unusable"
        return error_response(
            503, f"the job database is {what}: {exc}; try again shortly", {"Retry-After": "5"}
        )
    return error_response(status, str(exc))


_REASONS = {
    404: "no such page: see GET / for the dashboard and /api/jobs for the API",
    405: "method not allowed here",
}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    message = _REASONS.get(exc.status_code, str(exc.detail))
    if exc.status_code == 405 and "Allow" in headers:
        headers["Allow"] = ", ".join(sorted(m.strip() for m in headers["Allow"].split(",")))
        message = f"method {request.method} not allowed here: use {headers['Allow']}"
    return error_response(exc.status_code, message, headers)


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The client left (or its connection was closed to make room) while sending its body:
    # nobody reads this answer, and it is no error of the server's to log.
    return error_response(400, "the client closed the connection before the body arrived")


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette logs the exception itself (it re-raises to the server after answering).
    return error_response(500, "internal error: the server log has the details")


EXCEPTION_HANDLERS = {
    ApiError: _api_error,
    JobStoreError: _store_error,
    HTTPException: _http_error,
    ClientDisconnect: _client_gone,
    Exception: _internal_error,
}
