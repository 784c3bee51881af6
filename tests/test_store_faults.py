"""The local store under faults of its file: a full disk, the file replaced while open."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from media_jobs_testing.web_client import running_server
from stores import JobStatus, LocalJobStore, StoreUnavailable
from web import WebSettings
from web._health import HEALTH_INTERVAL


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB filesystem (tmpfs), mounted for the test and unmounted after it."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        why = f"cannot mount a small filesystem here (needs root): {made.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(why)  # CI runs as root: a skip there would hide a missing test
        pytest.skip(why)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill_up(folder: Path) -> Path:
    """Write a file until the filesystem has no room left; returns it (delete to free)."""
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


async def test_a_full_disk_is_an_outage_that_names_the_disk(small_disk: Path) -> None:
    """With the database's filesystem full, a write (one statement, or several in one
    transaction) fails as StoreUnavailable saying "disk full at PATH" (not "cannot
    rollback"), nothing is written, the store's health check says so too; once room is
    made, the same store writes again and is healthy."""
    path = small_disk / "jobs.db"
    async with LocalJobStore(path) as store:
        job = await store.create("tone")
        claimed = await store.claim("w-full")
        assert claimed is not None
        await store.check()
        filler = fill_up(small_disk)
        with pytest.raises(StoreUnavailable, match=f"disk full at {path}") as single:
            await store.create_many("tone", [{"pad": "x" * 8000}] * 50)
        assert "rollback" not in str(single.value)
        with pytest.raises(StoreUnavailable, match=f"disk full at {path}") as several:
            await store.complete_and_claim(claimed.lease, {"pad": "y" * 200_000}, "w-full")
        assert "rollback" not in str(several.value)
        with pytest.raises(StoreUnavailable, match=f"disk full at {path}"):
            await store.check()
        assert [j.id for j in await store.list()] == [job.id]
        filler.unlink()
        await store.check()
        done = await store.complete(claimed.lease, {"ok": True})
        assert done.status is JobStatus.COMPLETED


async def _fresh_health(api: Any) -> Any:
    """/healthz after its cached answer has expired (it reads the store at most once per
    HEALTH_INTERVAL)."""
    await trio.sleep(HEALTH_INTERVAL + 0.1)
    return await api.client.get("/healthz")


async def test_healthz_is_503_while_the_disk_is_full(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """GET /healthz answers 503 (the log names the full disk; the answer names nothing), and
    200 again once there is room."""
    store = LocalJobStore(small_disk / "jobs.db")
    try:
        async with running_server(store, WebSettings(tick=0.1)) as api:
            assert (await api.client.get("/healthz")).status_code == 200
            filler = fill_up(small_disk)
            response = await _fresh_health(api)
            assert response.status_code == 503, response.text
            assert "disk full at" in caplog.text
            assert str(small_disk) not in response.text
            filler.unlink()
            assert (await _fresh_health(api)).status_code == 200
    finally:
        store.close()


def _restore(path: Path, backup: Path, *, sidecars: bool = True) -> Path:
    """Replace the database file as a restore does: move it aside (with its write-ahead log
    and index, unless ``sidecars`` is False), put the backup there."""
    aside = path.with_name("aside.db")
    for suffix in ("", "-wal", "-shm") if sidecars else ("",):
        os.rename(f"{path}{suffix}", f"{aside}{suffix}")
    shutil.copyfile(backup, path)
    return aside


async def test_a_database_file_replaced_while_open_is_noticed_and_reopened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The file moved aside and another put in its place: the next call fails as an outage
    whose log line says the file was replaced, and from then on the store uses the new
    file; nothing more is written to the old one."""
    caplog.set_level(logging.WARNING, logger="stores")
    path, backup = tmp_path / "jobs.db", tmp_path / "backup.db"
    async with LocalJobStore(backup) as other:
        restored = await other.create("restored")
    async with LocalJobStore(path) as store:
        old = await store.create("tone")
        aside = _restore(path, backup)
        with pytest.raises(StoreUnavailable, match=f"job database file {path} was replaced"):
            await store.get(old.id)
        assert [j.type for j in await store.list()] == ["restored"]
        await store.create("after")
        assert [j.type for j in await store.list()] == ["after", "restored"]
    assert restored.id == old.id  # the same id names another job in each file
    async with LocalJobStore(aside) as before:
        assert [j.type for j in await before.list()] == ["tone"]
    lines = [r.getMessage() for r in caplog.records]
    assert any("was replaced" in line and "database unavailable" in line for line in lines)


async def test_a_replaced_file_is_not_opened_beside_the_old_files_log(tmp_path: Path) -> None:
    """Only the database file moved: the old file's -wal and -shm are still at their names,
    and opening the new file beside them would read the old pages. The store refuses, naming
    them, until they are moved too; then it uses the new file."""
    path, backup = tmp_path / "jobs.db", tmp_path / "backup.db"
    async with LocalJobStore(backup) as other:
        await other.create("restored")
    async with LocalJobStore(path) as store:
        await store.create("tone")
        aside = _restore(path, backup, sidecars=False)
        with pytest.raises(StoreUnavailable, match="was replaced"):
            await store.list()
        for _ in range(2):
            with pytest.raises(StoreUnavailable, match=f"{path}-wal and {path}-shm are still"):
                await store.list()
        for suffix in ("-wal", "-shm"):
            os.rename(f"{path}{suffix}", f"{aside}{suffix}")
        assert [j.type for j in await store.list()] == ["restored"]
    async with LocalJobStore(aside) as before:
        assert [j.type for j in await before.list()] == ["tone"]


async def test_a_database_file_moved_away_is_waited_for_not_made_anew(tmp_path: Path) -> None:
    """The file moved aside with nothing in its place: calls fail as an outage (no empty
    database is made at the path), until a database is put back."""
    path, backup = tmp_path / "jobs.db", tmp_path / "backup.db"
    async with LocalJobStore(backup) as other:
        await other.create("restored")
    async with LocalJobStore(path) as store:
        await store.create("tone")
        for suffix in ("", "-wal", "-shm"):
            os.rename(f"{path}{suffix}", f"{tmp_path / 'aside.db'}{suffix}")
        for _ in range(2):
            with pytest.raises(StoreUnavailable, match=f"{path} .*(moved|gone)"):
                await store.list()
        assert not path.exists()
        shutil.copyfile(backup, path)
        assert [j.type for j in await store.list()] == ["restored"]


async def test_healthz_is_503_when_the_file_was_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """GET /healthz notices a replaced file (503; the log says so) before any other call
    does."""
    path, backup = tmp_path / "jobs.db", tmp_path / "backup.db"
    async with LocalJobStore(backup) as other:
        await other.create("restored")
    store = LocalJobStore(path)
    try:
        async with running_server(store, WebSettings(tick=0.1)) as api:
            assert (await api.client.get("/healthz")).status_code == 200
            _restore(path, backup)
            response = await _fresh_health(api)
            assert response.status_code == 503, response.text
            assert "was replaced" in caplog.text
            assert (await _fresh_health(api)).status_code == 200
            listed = (await api.client.get("/api/jobs")).json()["jobs"]
            assert [j["type"] for j in listed] == ["restored"]
    finally:
        store.close()
