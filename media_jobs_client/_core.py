"""What the sync and the async client share: requests, answers, views, the SSE framing.
Only the I/O differs between them (``_sync.py``, ``_async.py``)."""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from typing import Any

import attrs
import httpx

from ._errors import error_for

__all__ = ["TERMINAL", "JobView", "Request", "SseParser", "TokenAuth", "submit_request", "view_of"]

#: Statuses after which a job never changes again.
TERMINAL = frozenset({"completed", "failed", "cancelled"})


@attrs.frozen
class JobView:
    """A job as the API's poll view shows it; ``data`` is the whole answer (every key,
    including any a newer server adds)."""

    id: int
    type: str
    status: str
    stage: str | None
    progress: float | None
    reason: str
    error: str | None
    attempt: int
    max_attempts: int
    queue_position: int | None
    retry_of: int | None
    data: Mapping[str, Any] = attrs.field(repr=False)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobView:
        return cls(
            id=int(data["id"]),
            type=str(data["type"]),
            status=str(data["status"]),
            stage=data.get("stage"),
            progress=data.get("progress"),
            reason=str(data.get("reason", "")),
            error=data.get("error"),
            attempt=int(data.get("attempt", 0)),
            max_attempts=int(data.get("max_attempts", 0)),
            queue_position=data.get("queue_position"),
            retry_of=data.get("retry_of"),
            data=dict(data),
        )


@attrs.frozen
class Request:
    method: str
    path: str
    json: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)


class TokenAuth(httpx.Auth):
    """The API token, on requests to the API's own origin only: an upload's presigned
    bucket URL (or a download's redirect to one) is signed already, and the token is a
    bearer credential another host must never see."""

    def __init__(self, token: str | None, base_url: str) -> None:
        self._token = token
        self._origin = _origin(httpx.URL(base_url))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token and _origin(request.url) == self._origin:
            request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def submit_request(
    type: str,
    payload: Any,
    max_attempts: int | None,
    idempotency_key: str | None,
) -> Request:
    body: dict[str, Any] = {"type": type, "payload": payload}
    if max_attempts is not None:
        body["max_attempts"] = max_attempts
    extra = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}
    return Request("POST", "/api/jobs", body, extra)


def checked(response: httpx.Response) -> httpx.Response:
    """``response`` if it is a success (or 304), else its error, raised."""
    if response.is_success or response.status_code == 304:
        return response
    try:
        message = str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        message = response.text.strip()[:200] or response.reason_phrase
    raise error_for(response.status_code, message)


def view_of(response: httpx.Response) -> JobView:
    return JobView.from_dict(checked(response).json())


class SseParser:
    """Server-Sent Events framing: feed lines, get ``(event, data)`` when one is complete."""

    def __init__(self) -> None:
        self._event = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        if line == "":
            done = (self._event, "\n".join(self._data)) if self._data else None
            self._event, self._data = "message", []
            return done
        if line.startswith(":"):
            return None  # a keep-alive comment
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def job_view(self, line: str) -> JobView | None:
        """The view a ``job`` event carries, once its last line is fed."""
        done = self.feed(line)
        if done is None or done[0] != "job":
            return None
        return JobView.from_dict(json.loads(done[1]))
