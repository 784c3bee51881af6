"""The handler's file API: fetch an input by key, store an output, with byte progress.

A handler works inside its scratch folder::

    async with open_scratch(ctx) as scratch:
        path = await fetch_input(ctx, payload["input"], scratch)    # stage downloading
        async with open_file(path) as source:                        # for ffmpeg: by fd
            ...  # ffmpeg reads source.args(INPUT_FORMATS), writes scratch.url("out.mp3")
        output = await store_output(ctx, scratch.path / "out.mp3", name="take.mp3")
    return {"outputs": [output.to_dict()]}

Failures are classified for the worker: a transfer that fails on the network is a
:class:`TransientError` (the job is retried); a missing key, an object over
``SUPERVISOR_MAX_UPLOAD_BYTES``, a key or name that breaks the rules, or refused
credentials are a :class:`PermanentError` whose reason names it.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import trio

import files
from actors import JobContext, PermanentError, TransientError, classify, probe_duration
from stores import ErrorKind

from ._paths import InputFile, Scratch, open_file

__all__ = ["INPUT_FORMATS", "Output", "fetch_input", "store_output"]

#: The demuxers ffmpeg may use on an input: audio and video containers. No playlist
#: (hls, concat, dash), text or metadata format: those open further files or print what
#: they read.
INPUT_FORMATS = (
    "wav",
    "w64",
    "mp3",
    "flac",
    "ogg",
    "mov",  # also mp4, m4a, 3gp (external data references stay off: ffmpeg's default)
    "matroska",  # also webm
    "aac",
    "aiff",
    "caf",
    "au",
    "ac3",
    "eac3",
    "dts",
    "amr",
    "wv",
    "ape",
    "asf",
    "avi",
    "flv",
    "mpegts",
    "mpeg",
)
_HASH_CHUNK = 1 << 20


@attrs.frozen
class Output:
    """A stored output, as recorded in the job's result (``to_dict``) and poll view."""

    name: str
    key: str
    size: int
    content_type: str
    sha256: str
    duration: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@contextlib.contextmanager
def _classified(what: str, value: str) -> Iterator[None]:
    """The storage's errors as the worker's (by type, at the boundary). ``what`` names the
    payload's value (``payload 'input'``) for a key the storage refuses."""
    try:
        yield
    except files.StorageUnavailable as exc:
        raise TransientError(f"moving {value!r} failed: {exc}") from None
    except files.ObjectNotFound as exc:
        raise PermanentError(f"input not found: {exc.key}") from None
    except files.InvalidKey as exc:  # e.g. a symbolic link on the way, in a local folder
        raise PermanentError(f"{what} refused: {exc}") from None
    except files.StorageError as exc:  # too large, refused credentials, a folder's OSError
        cause = exc.__cause__
        if isinstance(cause, OSError) and classify(cause) is not ErrorKind.PERMANENT:
            # Out of descriptors, memory or disk: the weather, not a verdict on the job.
            raise TransientError(str(exc)) from None
        raise PermanentError(str(exc)) from None


def _checked(given: object, what: str, *, plain: bool = False) -> str:
    try:
        if plain:
            return files.check_name(given, what=what)
        return "/".join(files.key_parts(given, what=what))
    except files.InvalidKey as exc:
        raise PermanentError(str(exc)) from None


async def _storage() -> files.Storage:
    # Made on first use, in a thread: creating an S3 client reads files and takes a while.
    return await trio.to_thread.run_sync(files.get_storage)


def _percent(done: int, total: int) -> float:
    return 100.0 * done / total if total else 100.0


async def fetch_input(
    ctx: JobContext, key: object, scratch: Scratch, *, storage: files.Storage | None = None
) -> Path:
    """Download the object ``key`` into ``scratch`` (stage ``downloading``, byte progress)
    and return the file's path there (a name of the worker's choosing, never the key's).

    Cancellation: the transfer stops between two chunks and its partial file is removed
    before the cancellation propagates.
    """
    checked = _checked(key, "payload 'input'")
    with _classified("payload 'input'", checked):
        storage = storage or await _storage()
        size = (await storage.head(checked)).size
        limit = files.max_upload_bytes()
        if size > limit:
            raise files.ObjectTooLarge(checked, size, limit)
        await ctx.set_stage("downloading", 0)
        leaf = scratch.new_name("input")

        async def progress(done: int) -> None:
            await ctx.set_progress(_percent(done, size))

        await storage.download_file(
            checked, scratch.path / leaf, max_bytes=limit, progress=progress
        )
    await ctx.set_progress(100)
    return scratch.path / leaf


async def _sha256(path: Path) -> str:
    """The file's SHA-256, a chunk per thread call (cancellable between chunks)."""
    digest = hashlib.sha256()

    def step(f: BinaryIO) -> bool:
        chunk = f.read(_HASH_CHUNK)
        digest.update(chunk)
        return bool(chunk)

    with await trio.to_thread.run_sync(open, path, "rb") as f:
        while await trio.to_thread.run_sync(step, f):
            pass
    return digest.hexdigest()


async def _duration(ctx: JobContext, source: InputFile) -> float | None:
    with contextlib.suppress(PermanentError):  # not media ffmpeg knows: no duration
        return await probe_duration(
            source.url, ctx=ctx, input_options=source.options(INPUT_FORMATS)
        )
    return None


async def store_output(
    ctx: JobContext,
    path: Path,
    *,
    name: str,
    content_type: str | None = None,
    storage: files.Storage | None = None,
    duration: float | None = None,
) -> Output:
    """Upload ``path`` (a file the job wrote) as this job's output ``name`` (stage
    ``uploading``, byte progress) and describe it: key, size, content type (guessed from
    the name if not given), SHA-256, and the duration: ``duration`` when the handler knows
    it (no probe), else where ffmpeg knows one.

    Cancellation: the upload is aborted (no object, no part is left) before the
    cancellation propagates.
    """
    key = files.output_key(ctx.job.id, _checked(name, "the output name", plain=True))
    with _classified("the output name", name):
        storage = storage or await _storage()
    kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if duration is None:
        async with open_file(path, name=name) as opened:
            duration = await _duration(ctx, opened)
    size = (await trio.to_thread.run_sync(os.stat, path)).st_size
    await ctx.set_stage("uploading", 0)
    sha256 = await _sha256(path)

    async def progress(done: int) -> None:
        await ctx.set_progress(_percent(done, size))

    with _classified("the output name", name):
        await storage.upload_file(key, path, content_type=kind, progress=progress)
    await ctx.set_progress(100)
    return Output(name, key, size, kind, sha256, duration)
