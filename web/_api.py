"""The JSON endpoints: create, poll (with ETags), list (keyset pages), cancel, resubmit,
history, the two event streams, health, the live workers and what the dashboard needs to
know.

A job type is accepted (created or resubmitted) only while a live worker serves it (the
registry of live workers, ``JobStore.workers``): a job nobody serves would wait for ever
and push every other job's queue position back. Creation is idempotent: ``POST /api/jobs``
honours an ``Idempotency-Key`` header (the IETF httpapi draft; Stripe's semantics) and a
job is resubmitted at most once; both rules live in the database (``JobStore.create``).

Every input is checked here before the store is called, so a refused request writes
nothing; the store checks again (it is the last line, not the only one).

Cancellation (a client that goes away mid-request): a store call already started completes
(the store shields it) and the answer is dropped. Each endpoint makes at most one write (a
read of the registry may come first), so a cancelled request has either written in full or
not at all.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import json
import math
import re
from collections.abc import Iterable
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stores import (
    HistoryEntry,
    JobNotFound,
    JobStatus,
    JobStore,
    JobTypeInfo,
    JobView,
    served_types,
)
from stores._validate import MAX_KEY_CHARS

from ._errors import ApiError
from ._health import HealthCheck
from ._settings import WebSettings
from ._sse import EventStream, all_events, job_events, parse_since

__all__ = [
    "MAX_BODY_BYTES",
    "PAYLOAD_LIMIT",
    "ROUTES",
    "iso_utc",
]

#: The store's limit on a payload's JSON (``stores`` refuses more; a test pins the two).
PAYLOAD_LIMIT = 64 * 1024
#: A request body may be larger than its payload (indentation, the envelope), up to this.
MAX_BODY_BYTES = 4 * PAYLOAD_LIMIT
MAX_ID = 2**63 - 1
MAX_PAGE = 500
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
_FIELDS = ("type", "payload", "max_attempts")


def iso_utc(at: float) -> str:
    """``2026-01-02T03:04:05.678Z``: ISO 8601, UTC, milliseconds."""
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _store(request: Request) -> JobStore:
    store: JobStore = request.app.state.store
    return store


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def _bad(message: str) -> NoReturn:
    raise ApiError(400, message)


def _job_id(request: Request) -> int:
    text = str(request.path_params["id"])
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or not 1 <= int(text) <= MAX_ID:
        _bad(f"a job id is a positive integer up to {MAX_ID}, got {text[:40]!r}")
    return int(text)


def _query(request: Request, allowed: Iterable[str]) -> dict[str, str]:
    allowed = tuple(allowed)
    params = request.query_params
    for key in params:
        if key not in allowed:
            names = ", ".join(allowed) or "none"
            _bad(f"unknown query parameter {key[:40]!r}: this endpoint takes {names}")
        if len(params.getlist(key)) > 1:
            _bad(f"query parameter {key!r} given more than once")
    return dict(params)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _cached_json(request: Request, content: Any, etag_of: Any = None) -> Response:
    """JSON with an ETag (of ``etag_of``, default the body); 304 when the client has it."""
    body = _dumps(content)
    etag = _etag(body if etag_of is None else _dumps(etag_of))
    headers = {"ETag": etag}  # no-store (see _headers): clients send If-None-Match themselves
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _dumps(content: Any) -> bytes:
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


def _view(view: JobView, status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(view.to_dict(), status_code=status, headers=headers or None)


# -- endpoints ------------------------------------------------------------------------------


async def healthz(request: Request) -> Response:
    """200 when the store answers, else 503 (see ``HealthCheck``: cached, nothing secret)."""
    health: HealthCheck = request.app.state.health
    return await health.answer()


async def _served(request: Request) -> tuple[str, ...]:
    """The job types some live worker serves now (one read of the registry)."""
    return served_types(await _store(request).workers())


def _require_served(type_: str, served: tuple[str, ...]) -> None:
    if type_ in served:
        return
    if served:
        raise ApiError(
            422,
            f"no live worker serves job type {type_!r}; live workers serve "
            f"{', '.join(served)}: start a worker for it with `python -m supervisor run "
            "--handlers MODULE`",
        )
    raise ApiError(
        422,
        f"no live worker serves job type {type_!r}: no worker is running on this database; "
        "start one with `python -m supervisor run`",
    )


async def known_types(request: Request) -> tuple[JobTypeInfo, ...]:
    """The types the API accepts now (those live workers serve), with their stage lists."""
    served = await _served(request)
    registered = {t.name: t for t in await _store(request).types()}
    return tuple(registered.get(name, JobTypeInfo(name)) for name in served)


async def info(request: Request) -> Response:
    settings = _settings(request)
    types = await known_types(request)
    return JSONResponse(
        {
            "types": [
                {"name": t.name, "stages": list(t.stages), "example": t.example} for t in types
            ],
            "auth": settings.token is not None,
            "tick": settings.tick,
            "stale_after": settings.stale_after,
            "heartbeat_interval": settings.heartbeat_interval,
            "heartbeat_late_after": settings.late_after,
            "payload_limit": PAYLOAD_LIMIT,
            "now": request.app.state.broadcaster.now(),
            "version": importlib.metadata.version("media-jobs"),  # as the worker's start line
        }
    )


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request body is over {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is over {MAX_BODY_BYTES} bytes")
    return bytes(body)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(
            body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except UnicodeDecodeError:
        _bad("the body is not UTF-8 text")
    except RecursionError:
        _bad("the body's JSON is nested too deeply")
    except ValueError as exc:
        _bad(f"the body is not valid JSON: {exc}")


def _job_request(data: Any, names: tuple[str, ...]) -> tuple[str, Any, int | None]:
    if not isinstance(data, dict):
        _bad('the body must be a JSON object like {"type": "tone", "payload": {"seconds": 5}}')
    unknown = [k for k in data if k not in _FIELDS]
    if unknown:
        _bad(f"unknown field {unknown[0][:40]!r}: a job has {', '.join(_FIELDS)}")
    type_ = data.get("type")
    if not isinstance(type_, str) or not _NAME.fullmatch(type_):
        _bad(
            f"'type' must be a job type name (a letter, then up to 63 letters, digits, "
            f"'_', '.' or '-'), got {_short(type_)}"
        )
    _require_served(type_, names)
    max_attempts = data.get("max_attempts")
    if max_attempts is not None and (
        isinstance(max_attempts, bool)
        or not isinstance(max_attempts, int)
        or not 1 <= max_attempts <= 100
    ):
        _bad(f"'max_attempts' must be an integer from 1 to 100, got {_short(max_attempts)}")
    payload = data.get("payload")
    try:
        size = len(_dumps({} if payload is None else payload))
    except UnicodeEncodeError:
        _bad(
            "'payload' holds text that is not valid Unicode (a lone surrogate such as "
            "\\ud800): send UTF-8 text"
        )
    except (ValueError, RecursionError):
        _bad("'payload' cannot be stored as JSON (too deeply nested, or a number too large)")
    if size > PAYLOAD_LIMIT:
        raise ApiError(
            413,
            f"the payload is {size} bytes of JSON, over the limit of {PAYLOAD_LIMIT} bytes: "
            "store large data elsewhere and pass a reference (a path or URL)",
        )
    return type_, payload, max_attempts


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


async def create_job(request: Request) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "send the job as JSON, with the header Content-Type: application/json")
    key = _idempotency_key(request)
    data = _parse_json(await _read_body(request))
    type_, payload, max_attempts = _job_request(data, await _served(request))
    check = _settings(request).payload_checks.get(type_)
    if check is not None:
        try:
            check(payload)  # the job type's own rule, as its worker would apply it
        except ValueError as exc:
            _bad(str(exc))
    store = _store(request)
    job = await store.create(type_, payload, max_attempts=max_attempts, idempotency_key=key)
    # A repeat of a keyed request gets the first answer again: 201, the job (as it is now).
    return _view(await store.poll(job.id), 201, Location=f"/api/jobs/{job.id}")


def _idempotency_key(request: Request) -> str | None:
    """The ``Idempotency-Key`` header: a String structured field (``"…"``) as the draft
    writes it, or the bare token clients such as Stripe's send."""
    values = request.headers.getlist("idempotency-key")
    if not values:
        return None
    text = values[0].strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if (
        len(values) > 1
        or not 1 <= len(text) <= MAX_KEY_CHARS
        or not (text.isascii() and text.isprintable())
        or '"' in text
        or "\\" in text
    ):
        _bad(
            f"the Idempotency-Key header is one value of 1 to {MAX_KEY_CHARS} printable "
            'ASCII characters, e.g. Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"'
        )
    return text


def _cursor(view: JobView) -> str:
    return f"{view.created_at!r}_{view.id}"


def _parse_cursor(text: str) -> tuple[float, int]:
    at, _, job_id = text.rpartition("_")
    try:
        value = (float(at), int(job_id))
    except ValueError:
        value = (math.nan, 0)
    if not math.isfinite(value[0]) or not 1 <= value[1] <= MAX_ID:
        _bad(f"'before' is the 'next' cursor of a previous page, got {text[:60]!r}")
    return value


async def list_jobs(request: Request) -> Response:
    q = _query(request, ("status", "type", "limit", "before"))
    status = q.get("status")
    if status is not None and status not in {s.value for s in JobStatus}:
        _bad(f"unknown status {status[:40]!r}: use one of {', '.join(s.value for s in JobStatus)}")
    type_ = q.get("type")
    if type_ is not None and not _NAME.fullmatch(type_):
        _bad(f"'type' must be a job type name, got {type_[:40]!r}")
    limit_text = q.get("limit", "50")
    if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= MAX_PAGE:
        _bad(f"'limit' must be an integer from 1 to {MAX_PAGE}, got {limit_text[:20]!r}")
    limit = int(limit_text)
    before = _parse_cursor(q["before"]) if "before" in q else None
    views = await _store(request).views(status=status, type=type_, limit=limit + 1, before=before)
    page = {
        "jobs": [v.to_dict() for v in views[:limit]],
        "next": _cursor(views[limit - 1]) if len(views) > limit else None,
    }
    now = await _store(request).now()  # the stream's `since`: exactly the store's clock
    return _cached_json(request, {**page, "now": now}, etag_of=page)


async def get_job(request: Request) -> Response:
    _query(request, ())
    view = await _store(request).poll(_job_id(request))
    return _cached_json(request, view.to_dict())


async def job_payload(request: Request) -> Response:
    """A job's payload, apart from its view: it never changes (an ETag, 304 on a repeat),
    and the views that lists and streams repeat stay small. One primary-key read."""
    _query(request, ())
    job_id = _job_id(request)
    job = await _store(request).get(job_id)
    if job is None:
        raise JobNotFound(job_id)
    return _cached_json(request, {"id": job.id, "payload": job.payload})


async def cancel_job(request: Request) -> Response:
    store = _store(request)
    job = await store.cancel(_job_id(request))
    view = await store.poll(job.id)
    # 200: it ended (it was pending, or already cancelled); 202: the worker will end it.
    return _view(view, 200 if view.status is JobStatus.CANCELLED else 202)


async def resubmit_job(request: Request) -> Response:
    store = _store(request)
    source = await store.poll(_job_id(request))
    if source.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        _require_served(source.type, await _served(request))
    # The store answers a job resubmitted already with its first copy (201 again, same
    # job), and refuses other statuses (409).
    job = await store.resubmit(source.id)
    return _view(await store.poll(job.id), 201, Location=f"/api/jobs/{job.id}")


async def list_workers(request: Request) -> Response:
    """The registry: live workers, and dead ones until swept, with each one's beat age."""
    _query(request, ())
    workers = await _store(request).workers()
    return JSONResponse({"workers": [w.to_dict() for w in workers]})


def _entry(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "at": iso_utc(entry.at),
        "from_status": entry.from_status,
        "to_status": entry.to_status,
        "worker_id": entry.worker_id,
        "lease": entry.lease_token,
        "reason": entry.reason,
    }


async def job_history(request: Request) -> Response:
    _query(request, ())
    entries = await _store(request).history(_job_id(request))
    return JSONResponse({"history": [_entry(e) for e in entries]})


async def job_stream(request: Request) -> EventStream:
    _query(request, ())
    return await job_events(request, _job_id(request))


async def events_stream(request: Request) -> EventStream:
    q = _query(request, ("since",))
    return await all_events(request, parse_since(q.get("since")))


async def jobs(request: Request) -> Response:
    # One route per path, so that a wrong method's 405 lists every allowed one.
    return await (create_job(request) if request.method == "POST" else list_jobs(request))


#: (path, endpoint, methods) of the JSON API.
ROUTES = (
    ("/healthz", healthz, ["GET"]),
    ("/api/info", info, ["GET"]),
    ("/api/jobs", jobs, ["GET", "POST"]),
    ("/api/jobs/{id}", get_job, ["GET"]),
    ("/api/jobs/{id}/cancel", cancel_job, ["POST"]),
    ("/api/jobs/{id}/resubmit", resubmit_job, ["POST"]),
    ("/api/jobs/{id}/history", job_history, ["GET"]),
    ("/api/jobs/{id}/payload", job_payload, ["GET"]),
    ("/api/jobs/{id}/events", job_stream, ["GET"]),
    ("/api/events", events_stream, ["GET"]),
    ("/api/workers", list_workers, ["GET"]),
)
