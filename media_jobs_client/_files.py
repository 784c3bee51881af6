"""What the sync and the async client share for files: the upload's request and ticket,
which outputs to fetch and where, and landing a download (the same rules as the CLI's
``submit --file`` and ``fetch``: ``files.result_outputs`` / ``files.download_targets``)."""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs
import httpx

import files

from ._core import JobView, Request
from ._errors import NotFound, TransferError

if TYPE_CHECKING:
    from _hashlib import HASH

__all__ = [
    "CHUNK",
    "Ticket",
    "landing",
    "output_path",
    "outputs_to_fetch",
    "targets",
    "ticket_of",
    "upload_request",
    "with_input",
]

#: Bytes read or written at a time: a file is streamed, never held whole.
CHUNK = 1 << 20


@attrs.frozen
class Ticket:
    """Where to send an upload's bytes, exactly as ``POST /api/uploads`` said."""

    key: str
    method: str
    url: httpx.URL
    headers: Mapping[str, str]


def upload_request(path: str | os.PathLike[str]) -> tuple[Request, int]:
    """``POST /api/uploads`` for the file at ``path`` (name, size, guessed type); its size."""
    source = Path(path)
    if not source.is_file():
        raise TransferError(f"{path}: no such file")
    size = source.stat().st_size
    body: dict[str, Any] = {"name": source.name, "size": size}
    if kind := mimetypes.guess_type(source.name)[0]:
        body["content_type"] = kind
    return Request("POST", "/api/uploads", body), size


def with_input(payload: Any, key: str) -> dict[str, Any]:
    """``payload`` with the uploaded file's key as its ``input``."""
    if payload is not None and not isinstance(payload, dict):
        raise TypeError("with file=, the payload must be a dict (the key goes in 'input')")
    return {**(payload or {}), "input": key}


def ticket_of(answer: httpx.Response, base: httpx.URL, size: int) -> Ticket:
    """The upload ticket in ``answer``; a relative URL (the local folder's PUT on this
    API) is joined with the API's base URL. ``Content-Length`` is part of the request S3
    signed, so it is sent as given, never chunked."""
    data = answer.json()
    upload = data["upload"]
    sent = {**upload.get("headers", {}), "Content-Length": str(size)}
    return Ticket(str(data["key"]), str(upload["method"]), base.join(upload["url"]), sent)


def outputs_to_fetch(view: JobView, name: str | None) -> list[dict[str, Any]]:
    """The outputs of the job in ``view`` (all, or the one called ``name``)."""
    outputs = files.result_outputs(view.data.get("result"))
    if name is not None:
        outputs = [o for o in outputs if o.get("name") == name]
        if not outputs:
            raise NotFound(404, f"job {view.id} has no output named {name[:80]!r}")
    if not outputs:
        raise TransferError(f"job {view.id} has no outputs (it is {view.status})")
    return outputs


def targets(outputs: list[dict[str, Any]], to: str | os.PathLike[str] | None) -> list[Path]:
    try:
        return files.download_targets(outputs, None if to is None else Path(to), what="to=")
    except files.StorageError as exc:
        raise TransferError(str(exc)) from None


def output_path(job_id: int, name: str) -> str:
    return f"/api/jobs/{int(job_id)}/outputs/{quote(name, safe='')}"


@contextlib.contextmanager
def landing(target: Path, output: Mapping[str, Any]) -> Iterator[tuple[Path, HASH]]:
    """A new file beside ``target`` and a SHA-256 to feed; on a clean exit the digest is
    checked against the output's (when the result has one) and the file renamed over
    ``target``, so ``target`` is never a partial or a wrong file."""
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    digest = hashlib.sha256()
    try:
        yield partial, digest
        expected = output.get("sha256")
        if expected is not None and expected != digest.hexdigest():
            raise TransferError(f"{output.get('name')}: the download does not match its SHA-256")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
