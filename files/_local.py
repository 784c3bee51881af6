"""The local-folder backend: objects are files under one folder (``./data/files``).

Every folder on a key's way is opened with ``O_NOFOLLOW`` from its parent's descriptor, so a
symbolic link under the folder is refused and nothing outside it is reached (the folder
itself may be a link: it is the operator's). A file is written as ``.partial-…`` beside its
destination and renamed into place once whole, so a reader never sees half an object and a
cancelled write leaves nothing (the rules forbid keys with a part starting with ``.``).
"""

from __future__ import annotations

import contextlib
import errno
import mimetypes
import os
import secrets
import stat
from collections.abc import AsyncIterable, Awaitable, Callable
from pathlib import Path

import trio

from ._errors import InvalidKey, ObjectNotFound, ObjectTooLarge, StorageError
from ._interface import CHUNK, ObjectInfo, Progress, Storage
from ._keys import key_parts

__all__ = ["LocalStorage"]

#: Fills an open file descriptor, returning the bytes written.
_Feed = Callable[[int], Awaitable[int]]

FILE_MODE = 0o644
DIR_MODE = 0o755
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def _is_link(name: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _link_error(key: str, part: str) -> InvalidKey:
    return InvalidKey(f"the key {key!r} goes through a symbolic link ({part!r} is one)")


def make_folder(folder: Path) -> None:
    """Create ``folder`` and any missing parent, each 0755 whatever the umask."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        with contextlib.suppress(FileExistsError):
            made.mkdir(DIR_MODE)
            made.chmod(DIR_MODE)


def _guess_type(key: str) -> str | None:
    return mimetypes.guess_type(key, strict=False)[0]


class LocalStorage(Storage):
    """Objects as files under ``root`` (made on first write, 0755 folders, 0644 files)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.realpath(root))
        self.label = f"the folder {self.root}"

    def __repr__(self) -> str:
        return f"<LocalStorage root={str(self.root)!r}>"

    # -- the walk ----------------------------------------------------------------------

    def _folder(self, key: str, parts: tuple[str, ...], *, create: bool) -> int:
        """A descriptor of the folder holding the key's last part, made if ``create``."""
        if create:
            make_folder(self.root)
        try:
            current = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        try:
            for part in parts[:-1]:
                made = False
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, DIR_MODE, dir_fd=current)
                        made = True
                try:
                    folder = os.open(part, _DIR_FLAGS, dir_fd=current)
                    if made:
                        os.fchmod(folder, DIR_MODE)  # 0755 whatever the umask
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(part, current):
                        raise _link_error(key, part) from None
                    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                        raise ObjectNotFound(key) from None
                    raise
                os.close(current)
                current = folder
        except BaseException:
            os.close(current)
            raise
        return current

    def _open_object(self, key: str) -> int:
        parts = key_parts(key)
        folder = self._folder(key, parts, create=False)
        try:
            fd = os.open(parts[-1], _READ_FLAGS, dir_fd=folder)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _link_error(key, parts[-1]) from None
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                raise ObjectNotFound(key) from None
            raise StorageError(f"cannot read {key!r} in {self.label}: {exc.strerror}") from exc
        finally:
            os.close(folder)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ObjectNotFound(key)
        return fd

    def path(self, key: str) -> Path:
        """The file of object ``key``, checked (no link on the way, a regular file)."""
        os.close(self._open_object(key))
        return self.root.joinpath(*key_parts(key))

    # -- writing ---------------------------------------------------------------------------

    async def _store(self, key: str, feed: _Feed) -> ObjectInfo:
        """Write what ``feed`` gives into a ``.partial-`` file, then rename it to ``key``."""
        parts = key_parts(key)
        folder = await trio.to_thread.run_sync(lambda: self._folder(key, parts, create=True))
        partial = f".partial-{secrets.token_hex(8)}"
        fd = os.open(
            partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600, dir_fd=folder
        )
        done = False
        try:
            size = await feed(fd)
            os.fchmod(fd, FILE_MODE)
            await trio.to_thread.run_sync(os.fsync, fd)
            try:
                os.rename(partial, parts[-1], src_dir_fd=folder, dst_dir_fd=folder)
            except OSError as exc:
                raise StorageError(f"cannot store {key!r} in {self.label}: {exc.strerror}") from exc
            done = True
            return ObjectInfo(key, size, _guess_type(key))
        finally:
            os.close(fd)
            if not done:
                with contextlib.suppress(OSError):
                    os.unlink(partial, dir_fd=folder)
            os.close(folder)

    async def upload_file(
        self,
        key: str,
        path: Path,
        *,
        content_type: str | None = None,
        progress: Progress | None = None,
    ) -> ObjectInfo:
        source = await trio.to_thread.run_sync(os.open, path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return await self._store(key, lambda fd: _copy(source, fd, progress))
        finally:
            os.close(source)

    async def receive(
        self, key: str, chunks: AsyncIterable[bytes], *, size: int, content_type: str | None = None
    ) -> ObjectInfo:
        async def feed(fd: int) -> int:
            written = 0
            async for chunk in chunks:
                written += len(chunk)
                if written > size:
                    raise ObjectTooLarge(key, written, size)
                await trio.to_thread.run_sync(_write_all, fd, chunk)
            if written != size:
                raise StorageError(f"the upload of {key!r} ended after {written} of {size} bytes")
            return written

        return await self._store(key, feed)

    # -- reading and the rest --------------------------------------------------------------

    async def download_file(
        self,
        key: str,
        path: Path,
        *,
        max_bytes: int | None = None,
        progress: Progress | None = None,
    ) -> ObjectInfo:
        source = await trio.to_thread.run_sync(self._open_object, key)
        try:
            size = os.fstat(source).st_size
            if max_bytes is not None and size > max_bytes:
                raise ObjectTooLarge(key, size, max_bytes)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            target = os.open(path, flags, 0o600)
            try:
                await _copy(source, target, progress, limit=max_bytes, key=key)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(path)
                raise
            finally:
                os.close(target)
        finally:
            os.close(source)
        return ObjectInfo(key, size, _guess_type(key))

    async def head(self, key: str) -> ObjectInfo:
        fd = await trio.to_thread.run_sync(self._open_object, key)
        try:
            return ObjectInfo(key, os.fstat(fd).st_size, _guess_type(key))
        finally:
            os.close(fd)

    async def delete(self, key: str) -> None:
        parts = key_parts(key)

        def remove() -> None:
            try:
                folder = self._folder(key, parts, create=False)
            except ObjectNotFound:
                return
            try:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(parts[-1], dir_fd=folder)
            finally:
                os.close(folder)

        await trio.to_thread.run_sync(remove)

    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        def walk() -> list[ObjectInfo]:
            found = []
            for top, dirs, names in os.walk(self.root):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in names:
                    full = Path(top, name)
                    key = full.relative_to(self.root).as_posix()
                    if name.startswith(".") or not key.startswith(prefix):
                        continue
                    info = full.lstat()
                    if stat.S_ISREG(info.st_mode):
                        found.append(ObjectInfo(key, info.st_size, _guess_type(key), info.st_mtime))
            return sorted(found, key=lambda o: o.key)

        return await trio.to_thread.run_sync(walk)


#: Bytes per ``copy_file_range`` call (no buffer of ours: larger steps, fewer thread calls).
_KERNEL_CHUNK = 8 * CHUNK
_NO_KERNEL_COPY = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP})


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def _copy(
    source: int, target: int, progress: Progress | None, *, limit: int | None = None, key: str = ""
) -> int:
    """Copy ``source`` to ``target`` a chunk per thread call (cancellable between chunks).
    The kernel copies (``copy_file_range``: no trip through this process, a reflink where
    the filesystem has them) when it can; else a read and a write."""
    kernel = [True]

    def step() -> int:
        if kernel[0]:
            try:
                return os.copy_file_range(source, target, _KERNEL_CHUNK)
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY:
                    raise
                kernel[0] = False  # a pipe, another filesystem, an old kernel
        data = os.read(source, CHUNK)
        _write_all(target, data)
        return len(data)

    done = 0
    while n := await trio.to_thread.run_sync(step):
        done += n
        if limit is not None and done > limit:
            raise ObjectTooLarge(key, done, limit)
        if progress is not None:
            await progress(done)
    return done
