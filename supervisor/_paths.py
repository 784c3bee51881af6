"""Files a job works on: a private scratch folder, and inputs handed to ffmpeg by descriptor.

Rationale. Job payloads are untrusted: they name their files by *key* (checked by the
storage adapter's rules, ``files._keys``: relative, no ``..``, no hidden part, no control
characters), and the bytes are fetched into a scratch folder the worker made itself. So:

* The scratch folder is private (mode 0700, a fresh random name under
  ``SUPERVISOR_SCRATCH_DIR``, the system's temporary folder by default) and removed with
  everything in it when the job's handler leaves it, whatever happens.
* ffmpeg never sees a name from a payload. A file in the scratch folder is opened here (a
  regular file, no symlink) and ffmpeg reads it as ``file:/proc/<worker pid>/fd/<n>``, the
  very file checked; outputs are written through the folder's own descriptor
  (``file:/proc/<pid>/fd/<dir>/<leaf>``), with leaf names the handler chose.

Residual risk (see docs/reference/security.md): a worker killed mid-job leaves its scratch folder
behind (``media-job-*`` under the scratch root); the worker must be able to open its own
``/proc/<pid>/fd`` (Linux, ``/proc`` mounted).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import attrs
import trio

from actors import JobContext, PermanentError
from files import make_folder
from media_jobs_config import environment

__all__ = ["SCRATCH_DIR_ENV", "InputFile", "Scratch", "open_file", "open_scratch"]

SCRATCH_DIR_ENV = "SUPERVISOR_SCRATCH_DIR"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def _fd_path(fd: int) -> str:
    """A path to what ``fd`` refers to, usable by a child process of this worker."""
    return f"/proc/{os.getpid()}/fd/{fd}"


def _check_proc() -> None:
    if not os.path.isdir(_fd_path(0).rsplit("/", 1)[0]):
        raise PermanentError("this worker needs /proc (Linux) to hand files to ffmpeg safely")


@attrs.frozen
class InputFile:
    """A file opened by the worker: ``name`` for messages, ``url`` for ffmpeg."""

    name: str
    fd: int

    @property
    def url(self) -> str:
        return f"file:{_fd_path(self.fd)}"

    def options(self, formats: Sequence[str]) -> list[str]:
        """ffmpeg's input options for this file: local files only (also for anything the
        demuxer would open itself), and only the demuxers ``formats`` (so no playlist)."""
        return ["-protocol_whitelist", "file", "-format_whitelist", ",".join(formats)]

    def args(self, formats: Sequence[str]) -> list[str]:
        """The options and ``-i`` for this file."""
        return [*self.options(formats), "-i", self.url]


@attrs.define
class Scratch:
    """A job's private folder: ``path`` for the worker, ``url(leaf)`` for ffmpeg."""

    path: Path
    _fd: int
    _count: int = 0

    def url(self, leaf: str) -> str:
        """Where ffmpeg writes ``leaf`` (a name the handler chose) in this folder."""
        return f"file:{_fd_path(self._fd)}/{leaf}"

    def new_name(self, stem: str) -> str:
        """A name not yet used in this folder (``stem-1``, ``stem-2``, ...)."""
        self._count += 1
        return f"{stem}-{self._count}"


def _open_regular(path: Path, name: str) -> InputFile:
    fd = os.open(path, _READ_FLAGS)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PermanentError(f"{name} is not a regular file")
    return InputFile(name, fd)


@contextlib.asynccontextmanager
async def open_file(path: Path, *, name: str | None = None) -> AsyncIterator[InputFile]:
    """Open ``path`` (a file the worker wrote, e.g. in its scratch folder) for ffmpeg: a
    regular file, not a symlink. ``name`` is what messages call it. Closed on the way out,
    whatever happens."""
    source = await trio.to_thread.run_sync(_open_regular, path, name or path.name)
    try:
        yield source
    finally:
        os.close(source.fd)


def _scratch_root() -> Path:
    return Path(environment().get(SCRATCH_DIR_ENV) or tempfile.gettempdir())


def _make(job_id: int, attempt: int) -> Scratch:
    _check_proc()
    root = _scratch_root()
    make_folder(root)
    path = root / f"media-job-{job_id}-{attempt}-{secrets.token_hex(6)}"
    path.mkdir(0o700)
    return Scratch(path, os.open(path, _DIR_FLAGS))


@contextlib.asynccontextmanager
async def open_scratch(ctx: JobContext) -> AsyncIterator[Scratch]:
    """A private scratch folder (0700) for this job's files, removed with everything in it
    on the way out.

    Cancellation: the folder is removed before the cancellation propagates (shielded).
    """
    scratch = await trio.to_thread.run_sync(_make, ctx.job.id, ctx.job.attempt)
    try:
        yield scratch
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(_remove, scratch)


def _remove(scratch: Scratch) -> None:
    os.close(scratch._fd)
    shutil.rmtree(scratch.path, ignore_errors=True)
