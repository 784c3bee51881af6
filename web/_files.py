"""Files over HTTP: uploads (``POST /api/uploads``) and a job's outputs (``GET
/api/jobs/{id}/outputs/{name}``), on either storage backend.

Rationale. On S3 the bytes never pass through this server: an upload is a presigned PUT
(``Content-Length`` signed, so the bucket refuses any other size) and a download a 302 to
a presigned GET, both short-lived. On the local folder this server is the storage's door:
the upload URL is ``PUT /api/uploads/{key}`` with the declared size, type and expiry in the
query, signed with a key this app made at start (so nobody can widen them, and a URL
works only on the server that issued it); the body is streamed to disk, never held whole,
and must be exactly the declared size. Both sit behind the token like the rest of the API.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import trio
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

import files
from files import LocalStorage, Storage

from ._api import _job_id, _parse_json, _read_body, _store
from ._errors import ApiError, error_response

__all__ = ["FILE_ERRORS", "FILE_ROUTES", "UPLOAD_SECONDS"]

#: How long an upload URL stays valid (seconds): long enough to start a large upload.
UPLOAD_SECONDS = 900
#: How long a download redirect stays valid (seconds).
DOWNLOAD_SECONDS = 300
_FIELDS = ("name", "size", "content_type")
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}", re.I)


def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def _signature(request: Request, key: str, size: int, content_type: str, expires: int) -> str:
    secret: bytes = request.app.state.upload_secret
    message = f"{key}\n{size}\n{content_type}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _upload_request(data: Any, limit: int) -> tuple[str, int, str | None]:
    if not isinstance(data, dict):
        raise ApiError(400, 'the body must be a JSON object like {"name": "take.wav", "size": 1}')
    unknown = [k for k in data if k not in _FIELDS]
    if unknown:
        raise ApiError(
            400, f"unknown field {unknown[0][:40]!r}: an upload has {', '.join(_FIELDS)}"
        )
    try:
        name = files.check_name(data.get("name"), what="'name'")
    except files.InvalidKey as exc:
        raise ApiError(400, str(exc)) from None
    size = data.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ApiError(400, "'size' must be the file's size in bytes, a positive integer")
    if size > limit:
        raise ApiError(
            413,
            f"the file is {size} bytes, over the limit of {limit} (SUPERVISOR_MAX_UPLOAD_BYTES)",
        )
    content_type = data.get("content_type")
    if content_type is not None and not (
        isinstance(content_type, str) and _MIME.fullmatch(content_type)
    ):
        raise ApiError(400, "'content_type' must be a media type such as audio/wav")
    return name, size, content_type


async def create_upload(request: Request) -> Response:
    """201 ``{"key", "upload": {"method", "url", "headers"}, "expires_in"}``."""
    name, size, content_type = _upload_request(
        _parse_json(await _read_body(request)), files.max_upload_bytes()
    )
    key = files.new_upload_key(name)
    storage = _storage(request)
    ticket = await storage.presign_put(
        key, size=size, content_type=content_type, expires=UPLOAD_SECONDS
    )
    if ticket is None:
        ticket = _local_ticket(request, key, size, content_type or "")
    body = {"key": key, "upload": ticket.to_dict(), "expires_in": UPLOAD_SECONDS}
    return JSONResponse(body, status_code=201)


def _local_ticket(request: Request, key: str, size: int, content_type: str) -> files.UploadTicket:
    expires = int(time.time()) + UPLOAD_SECONDS
    query = urlencode(
        {
            "size": size,
            "type": content_type,
            "expires": expires,
            "sig": _signature(request, key, size, content_type, expires),
        }
    )
    # A path on this server, not an absolute URL: behind a TLS proxy this app may not
    # know its own scheme, and the client already knows where it is talking to.
    # Escaped: a name may hold '#', '?', '%' or spaces (the server decodes the path back).
    path = request.url_for("receive_upload", key=quote(key, safe="/")).path
    headers = {"Content-Type": content_type} if content_type else {}
    return files.UploadTicket("PUT", f"{path}?{query}", headers)


def _ticket_fields(request: Request, key: str) -> tuple[int, str]:
    q = request.query_params
    try:
        size, expires = int(q.get("size", "")), int(q.get("expires", ""))
    except ValueError:
        raise ApiError(403, "this upload URL is not one this server issued") from None
    content_type = q.get("type", "")
    given = q.get("sig", "")
    if not hmac.compare_digest(given, _signature(request, key, size, content_type, expires)):
        raise ApiError(403, "this upload URL is not one this server issued")
    if expires < time.time():
        raise ApiError(403, "this upload URL has expired: ask POST /api/uploads for a new one")
    return size, content_type


async def receive_upload(request: Request) -> Response:
    """The local folder's upload: exactly the declared size, streamed to disk."""
    key = str(request.path_params["key"])
    size, content_type = _ticket_fields(request, key)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) != size:
        status = 413 if int(declared) > size else 400
        raise ApiError(status, f"this upload takes exactly {size} bytes, not {declared}")
    storage = _storage(request)
    if not isinstance(storage, LocalStorage):
        raise ApiError(404, "uploads go straight to the bucket: use the URL POST /api/uploads gave")

    async def body() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            if chunk:
                yield chunk

    info = await storage.receive(key, body(), size=size, content_type=content_type or None)
    return JSONResponse({"key": info.key, "size": info.size})


def _output(result: Any, job_id: int, name: str) -> dict[str, Any]:
    found = result.get("outputs") if isinstance(result, dict) else None
    for entry in found if isinstance(found, list) else []:
        if (
            isinstance(entry, dict)
            and entry.get("name") == name
            and isinstance(entry.get("key"), str)
        ):
            return entry
    raise ApiError(404, f"job {job_id} has no output named {name[:80]!r}")


async def get_output(request: Request) -> Response:
    """302 to a presigned GET (S3), or the file with ranges (the local folder)."""
    job_id = _job_id(request)
    name = str(request.path_params["name"])
    job = await _store(request).get(job_id)
    if job is None:
        raise ApiError(404, f"job {job_id} not found: check the id")
    entry = _output(job.result, job_id, name)
    key = "/".join(files.key_parts(entry["key"]))
    content_type = entry.get("content_type") if isinstance(entry.get("content_type"), str) else None
    storage = _storage(request)
    url = await storage.presign_get(
        key, filename=name, content_type=content_type, expires=DOWNLOAD_SECONDS
    )
    if url is not None:
        return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    assert isinstance(storage, LocalStorage)
    path = await trio.to_thread.run_sync(storage.path, key)
    return FileResponse(
        path,
        media_type=content_type or "application/octet-stream",
        filename=name,
        headers={"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"},
    )


def _storage_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, files.StorageError)
    if isinstance(exc, files.ObjectNotFound):
        return error_response(404, "that file is no longer stored (deleted or swept)")
    if isinstance(exc, files.ObjectTooLarge):
        return error_response(413, str(exc))
    if isinstance(exc, files.InvalidKey):
        return error_response(400, str(exc))
    if isinstance(exc, files.StorageUnavailable):
        return error_response(503, f"the file storage does not answer: {exc}")
    if isinstance(exc, files.StorageConfigError):
        return error_response(503, f"the file storage is misconfigured: {exc}")
    return error_response(400, str(exc))


#: Exception handlers for the storage's errors (registered beside the API's).
FILE_ERRORS = {files.StorageError: _storage_error}

#: (path, endpoint, methods, name) of the file endpoints.
FILE_ROUTES = (
    ("/api/uploads", create_upload, ["POST"], "create_upload"),
    ("/api/uploads/{key:path}", receive_upload, ["PUT"], "receive_upload"),
    ("/api/jobs/{id}/outputs/{name}", get_output, ["GET"], "get_output"),
)


def bucket_origin(storage: Storage) -> str | None:
    """The origin presigned URLs point at (the page must be allowed to reach it), or None
    when files come through this API (the local folder)."""
    url = storage.origin()
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def new_upload_secret() -> bytes:
    """The key that signs this app's local upload URLs."""
    return secrets.token_bytes(32)
