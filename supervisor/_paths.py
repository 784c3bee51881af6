"""Files named by job payloads: inputs and outputs confined to their folders.

Rationale. Once the HTTP API takes jobs from the network, a payload is untrusted: its
``input`` and ``output`` are names chosen by whoever submitted the job. The rules:

* A name is a path *relative* to its folder (``SUPERVISOR_INPUT_DIR``,
  ``SUPERVISOR_OUTPUT_DIR``): no absolute path, no ``..``, no part starting with ``.``
  (hidden files, and the worker's own ``.partial-*`` folders), no control characters.
* Every folder on the way is opened with ``O_NOFOLLOW`` from the folder's own descriptor,
  one part at a time: a symbolic link anywhere under the folder is refused, so nothing
  reaches outside it. (The configured folder itself may be a link: it is the operator's.)
* ffmpeg never sees the payload's name. An input is opened here (a regular file, or
  refused) and ffmpeg reads it as ``file:/proc/<worker pid>/fd/<n>``, the very file checked:
  a path swapped for a symlink after the check cannot redirect it, and a name such as
  ``-i``, ``concat:a|b`` or ``subfile,,...:x`` is only ever a file name. An output is
  written by ffmpeg into a private folder (``.partial-…``, mode 0700) made in the
  destination folder, reached the same way through its descriptor; once ffmpeg succeeds it
  is made 0644 and renamed into place relative to the destination folder's descriptor.
  ``rename`` replaces a symlink planted at the name meanwhile instead of following it, and a
  reader never sees half a file.

Residual risks (see docs/ARCHITECTURE.md): a folder the worker created stays where it is if
a job fails; a ``.partial-…`` folder is left behind if the worker is killed mid-job; the
worker must be able to open its own ``/proc/<pid>/fd`` (Linux, ``/proc`` mounted).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import attrs
import trio

from actors import PermanentError, TransientError, classify
from stores import ErrorKind

__all__ = [
    "INPUT_DIR_ENV",
    "OUTPUT_DIR_ENV",
    "InputFile",
    "OutputFile",
    "open_input",
    "open_output",
    "relative_parts",
]

INPUT_DIR_ENV = "SUPERVISOR_INPUT_DIR"
OUTPUT_DIR_ENV = "SUPERVISOR_OUTPUT_DIR"
DEFAULT_INPUT_DIR = "./data/inputs"
DEFAULT_OUTPUT_DIR = "./data/outputs"
FILE_MODE = 0o644
DIR_MODE = 0o755
MAX_NAME = 1024
MAX_PART = 255

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FOLDER = {"input": INPUT_DIR_ENV, "output": OUTPUT_DIR_ENV}


def _shown(given: str) -> str:
    return repr(given if len(given) <= 200 else given[:200] + "…")


def relative_parts(key: str, given: object) -> tuple[str, ...]:
    """Check the payload's ``key`` names a file inside its folder; return its parts.

    Raises :class:`PermanentError` naming the rule that the name breaks.
    """
    folder = f"the {key} folder ({_FOLDER.get(key, key)})"
    if not isinstance(given, str) or not given:
        raise PermanentError(f"payload {key!r} must be a non-empty file path inside {folder}")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in given):
        raise PermanentError(f"payload {key!r} may not contain control characters")
    if len(given) > MAX_NAME:
        raise PermanentError(f"payload {key!r} is longer than {MAX_NAME} characters")
    if given.startswith("/"):
        raise PermanentError(
            f"payload {key!r} must be relative to {folder}, not an absolute path: {_shown(given)}"
        )
    parts = tuple(part for part in given.split("/") if part not in ("", "."))
    if ".." in parts:
        raise PermanentError(
            f"payload {key!r} may not contain '..' (it must stay inside {folder}): {_shown(given)}"
        )
    if any(part.startswith(".") for part in parts):
        raise PermanentError(
            f"payload {key!r} may not name hidden files or folders (a part starting with "
            f"'.'): {_shown(given)}"
        )
    if any(len(part.encode()) > MAX_PART for part in parts):
        raise PermanentError(f"payload {key!r} has a part longer than {MAX_PART} bytes")
    if not parts:
        raise PermanentError(f"payload {key!r} must name a file inside {folder}")
    return parts


def _fd_path(fd: int) -> str:
    """A path to what ``fd`` refers to, usable by a child process of this worker."""
    return f"/proc/{os.getpid()}/fd/{fd}"


def _check_proc() -> None:
    if not os.path.isdir(_fd_path(0).rsplit("/", 1)[0]):
        raise PermanentError("this worker needs /proc (Linux) to hand files to ffmpeg safely")


def _folder(env: str, default: str) -> Path:
    return Path(os.path.realpath(os.environ.get(env) or default))


def _os_failure(exc: OSError, doing: str, permanent: str) -> PermanentError | TransientError:
    """The error ``exc`` deserves while ``doing`` something, by the one rule
    (``actors.classify``): a name that cannot be used is permanent (``permanent`` says so),
    but running out of descriptors (EMFILE, ENFILE), memory or disk is the weather, never a
    verdict on the job: transient (retried while attempts remain), and said as it is."""
    if classify(exc) is ErrorKind.TRANSIENT:
        return TransientError(f"cannot {doing} for now: {exc.strerror}")
    return PermanentError(permanent)


def _symlink_error(key: str, given: str, part: str) -> PermanentError:
    return PermanentError(
        f"payload {key!r} may not go through a symbolic link ({part!r} is one): {_shown(given)}"
    )


def _open_dir(key: str, given: str, parent: int, part: str) -> int:
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        # O_DIRECTORY | O_NOFOLLOW on a symlink fails with ENOTDIR (Linux) or ELOOP.
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(part, parent):
            raise _symlink_error(key, given, part) from None
        raise


def _is_link(name: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


# -- inputs ---------------------------------------------------------------------------


@attrs.frozen
class InputFile:
    """An input opened by the worker: ``name`` as in the payload, ``url`` for ffmpeg."""

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


def _open_input(given: object) -> InputFile:
    parts = relative_parts("input", given)
    assert isinstance(given, str)
    _check_proc()
    root = _folder(INPUT_DIR_ENV, DEFAULT_INPUT_DIR)
    try:
        current = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        # The same answer as a missing file: the submitter learns nothing of the server.
        raise _os_failure(exc, "open the input folder", f"input not found: {given}") from None
    try:
        for part in parts[:-1]:
            folder = _open_dir("input", given, current, part)
            os.close(current)
            current = folder
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        fd = os.open(parts[-1], flags, dir_fd=current)
    except PermanentError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise PermanentError(f"input not found: {given}") from None
        if exc.errno == errno.ELOOP:
            raise _symlink_error("input", given, parts[-1]) from None
        doing = f"open input {given}"
        raise _os_failure(exc, doing, f"cannot {doing}: {exc.strerror}") from None
    finally:
        os.close(current)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PermanentError(f"payload 'input' must name a regular file: {_shown(given)}")
    return InputFile(given, fd)


@contextlib.asynccontextmanager
async def open_input(given: object) -> AsyncIterator[InputFile]:
    """Open the payload's ``input`` inside ``SUPERVISOR_INPUT_DIR`` (see the module's rules).

    Raises :class:`PermanentError` naming the broken rule, or ``input not found: NAME``.
    Cancellation: the file is closed on the way out, whatever happens.
    """
    source = await trio.to_thread.run_sync(_open_input, given)
    try:
        yield source
    finally:
        os.close(source.fd)


# -- outputs --------------------------------------------------------------------------


def _make_root(root: Path) -> None:
    """Create the output folder and any missing parent, each 0755 whatever the umask."""
    missing = []
    while not root.exists() and root.parent != root:
        missing.append(root)
        root = root.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(DIR_MODE)
            folder.chmod(DIR_MODE)


def _enter_or_make(given: str, parent: int, part: str) -> int:
    """Open folder ``part`` of ``parent`` without following a symlink; made 0755 if new."""
    try:
        os.mkdir(part, DIR_MODE, dir_fd=parent)
    except FileExistsError:
        return _open_dir("output", given, parent, part)
    fd = _open_dir("output", given, parent, part)
    os.fchmod(fd, DIR_MODE)
    return fd


@attrs.define
class OutputFile:
    """Where ffmpeg writes an output: a private folder next to the destination.

    ``url(leaf)`` names a file in that folder for ffmpeg; ``commit(leaf)`` moves it to
    the destination (``path``) with mode 0644.
    """

    path: Path
    _parent: int
    _work: int
    _work_name: str

    def url(self, leaf: str) -> str:
        return f"file:{_fd_path(self._work)}/{leaf}"

    def _commit(self, leaf: str) -> Path:
        fd = os.open(leaf, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self._work)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise PermanentError(f"ffmpeg did not write a regular file for {self.path.name}")
            os.fchmod(fd, FILE_MODE)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # Relative to both folders' descriptors: a symlink now at the name is replaced.
            os.rename(leaf, self.path.name, src_dir_fd=self._work, dst_dir_fd=self._parent)
        except IsADirectoryError:
            raise PermanentError(
                f"payload 'output' names a folder, not a file: {self.path.name}"
            ) from None
        os.fsync(self._parent)
        return self.path

    async def commit(self, leaf: str) -> Path:
        """Move ffmpeg's finished ``leaf`` into place (0644, atomically); returns its path.

        Cancellation: not cancellable once started (a rename is not undone halfway).
        """
        return await trio.to_thread.run_sync(self._commit, leaf)

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(self._work_name, dir_fd=self._parent)
        os.close(self._work)
        os.close(self._parent)


def _open_output(parts: Sequence[str], given: str) -> OutputFile:
    _check_proc()
    root = _folder(OUTPUT_DIR_ENV, DEFAULT_OUTPUT_DIR)
    try:
        _make_root(root)
        current = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        # Named by its variable: the error reaches whoever submitted the job.
        doing = f"use the output folder ({OUTPUT_DIR_ENV})"
        raise _os_failure(exc, doing, f"cannot {doing}: {exc.strerror}") from None
    try:
        for part in parts[:-1]:
            folder = _enter_or_make(given, current, part)
            os.close(current)
            current = folder
        existing = _lstat(parts[-1], current)
        if existing is not None and stat.S_ISLNK(existing.st_mode):
            raise PermanentError(
                f"payload 'output' may not name a symbolic link ({parts[-1]!r} is one): "
                f"{_shown(given)}"
            )
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise PermanentError(f"payload 'output' names a folder, not a file: {_shown(given)}")
        work_name = f".partial-{secrets.token_hex(8)}"
        os.mkdir(work_name, 0o700, dir_fd=current)
        work = os.open(work_name, _DIR_FLAGS, dir_fd=current)
    except PermanentError:
        os.close(current)
        raise
    except OSError as exc:
        os.close(current)
        if exc.errno == errno.ENOTDIR:
            raise PermanentError(
                f"payload 'output' goes through a file as if it were a folder: {_shown(given)}"
            ) from None
        raise
    return OutputFile(root.joinpath(*parts), current, work, work_name)


def _lstat(name: str, folder: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return None


@contextlib.asynccontextmanager
async def open_output(parts: Sequence[str], given: str) -> AsyncIterator[OutputFile]:
    """Prepare the output ``parts`` (from :func:`relative_parts`) inside
    ``SUPERVISOR_OUTPUT_DIR``: missing folders are made 0755, the destination must not be
    a symlink or a folder. ``given`` is the payload's value, for messages.

    Cancellation: the private folder and whatever ffmpeg left in it are removed on the way
    out, whatever happens; a committed output stays.
    """
    output = await trio.to_thread.run_sync(_open_output, parts, given)
    try:
        yield output
    finally:
        output._close()
