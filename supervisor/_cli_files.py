"""The CLI's file transfers: ``submit TYPE --file PATH`` and ``fetch ID [-o PATH]``.

They talk to the storage adapter directly (the same ``SUPERVISOR_STORAGE_URL`` as the
worker), like the other commands talk to the job store, and run in Trio (the adapter is
Trio's). Loaded only by these two commands.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import trio

import files
from stores import JobStore

__all__ = ["download_outputs", "upload_input"]


class TransferError(Exception):
    """A transfer the person at the terminal can fix (printed as one line, exit 2)."""


def _bar(verb: str, total: int) -> files.Progress | None:
    """A progress line on stderr when it is a terminal (nothing in scripts)."""
    if not sys.stderr.isatty():
        return None

    async def show(done: int) -> None:
        share = done / total if total else 1.0
        filled = int(30 * share)
        sys.stderr.write(f"\r{verb} [{'#' * filled}{'.' * (30 - filled)}] {100 * share:5.1f}%")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


@contextlib.contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except files.StorageError as exc:
        raise TransferError(str(exc)) from None


def _checked(path: str) -> tuple[Path, int]:
    source = Path(path)
    if not source.is_file():
        raise TransferError(f"--file {path}: no such file")
    size = source.stat().st_size
    limit = files.max_upload_bytes()
    if size > limit:
        raise TransferError(
            f"--file {path} is {size} bytes, over the limit of {limit} "
            "(SUPERVISOR_MAX_UPLOAD_BYTES)"
        )
    return source, size


async def upload_input(path: str) -> str:
    """Upload the file at ``path`` as a new input; returns its key."""
    source, size = _checked(path)
    with _storage_errors():
        key = files.new_upload_key(source.name)
        storage = await trio.to_thread.run_sync(files.get_storage)
        kind = mimetypes.guess_type(source.name)[0]
        await storage.upload_file(key, source, content_type=kind, progress=_bar("uploading", size))
    return key


async def download_outputs(store: JobStore, job_id: int, given: str | None) -> list[Path]:
    """Download job ``job_id``'s outputs (checked against their SHA-256); their paths."""
    job = await store.get(job_id)
    if job is None:
        raise TransferError(f"job {job_id} not found: check the id (list jobs with `list`)")
    outputs = files.result_outputs(job.result)
    if not outputs:
        raise TransferError(f"job {job_id} has no outputs (it is {job.status.value})")
    with _storage_errors():
        storage = await trio.to_thread.run_sync(files.get_storage)
        targets = files.download_targets(outputs, given, what="-o")
        for output, target in zip(outputs, targets, strict=True):
            await _download(storage, output, target)
    return targets


async def _download(storage: files.Storage, output: dict[str, Any], target: Path) -> None:
    # Into a new file beside the target, renamed once whole and checked.
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    size = int(output.get("size") or 0)
    try:
        await storage.download_file(output["key"], partial, progress=_bar("downloading", size))
        digest = await trio.to_thread.run_sync(_sha256, partial)
        if output.get("sha256") not in (None, digest):
            raise TransferError(f"{output['key']}: the download does not match its SHA-256")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
