"""The store as a running component: connections, outages, secrets, migration, factory."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import trio

import stores
from media_jobs_testing.helpers import REPO
from media_jobs_testing.sqld import SqldServer, free_port
from stores import (
    JobStatus,
    JobStoreError,
    LocalJobStore,
    StoreConfigError,
    StoreUnavailable,
    TursoJobStore,
    get_job_store,
    reset_job_store,
)
from stores._compiled import RETIRED, SCHEMA_REVISION
from stores._migrate import migrate

TOKEN = "tok-SECRET-4f9a7c"


def helper_pids() -> set[int]:
    """Live Turso helper processes started by this process."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == os.getpid() and stat[0] != "Z" and b"_helper.py" in cmdline:
                found.add(int(entry.name))
    return found


async def test_thousands_of_calls_reuse_one_connection(store: stores.JobStore) -> None:
    """Many calls take no thread each (at most one watchdog thread) and, for Turso, one
    helper process; closing the store ends it and later calls say the store is closed."""
    helpers_before = helper_pids()
    await store.create("tone")
    c = await store.claim("w")
    assert c is not None
    threads = threading.active_count()
    for _ in range(3000):
        await store.heartbeat(c.lease)
    assert threading.active_count() <= threads + 1
    assert len(helper_pids() - helpers_before) == (1 if isinstance(store, TursoJobStore) else 0)
    await store.aclose()
    assert helper_pids() - helpers_before == set()
    with pytest.raises(StoreUnavailable, match="closed"):
        await store.get(1)


@pytest.mark.sqld
async def test_turso_survives_a_server_restart(sqld: SqldServer) -> None:
    """While sqld is down calls fail fast with StoreUnavailable; after it is back they work."""
    store = TursoJobStore(sqld.url, TOKEN, timeout=5)
    try:
        job = await store.create("tone")
        sqld.stop()
        with pytest.raises(StoreUnavailable, match="cannot reach") as info:
            await store.get(job.id)
        assert TOKEN not in str(info.value)
        sqld.start()
        got = await store.get(job.id)
        assert got is not None
        assert got.status is JobStatus.PENDING
    finally:
        await store.aclose()


@pytest.mark.sqld
async def test_turso_gives_up_on_a_paused_server_in_real_time(
    sqld: SqldServer, autojump_clock: trio.testing.MockClock
) -> None:
    """A stuck server costs one timeout (real seconds, whatever the Trio clock) and no hang;
    the stuck thread is abandoned and the next call after resume reconnects."""
    store = TursoJobStore(sqld.url, TOKEN, timeout=1.0)
    try:
        job = await store.create("tone")
        sqld.pause()
        with pytest.raises(StoreUnavailable, match="no answer from the database within 1 s"):
            await store.get(job.id)
        sqld.resume()
        got = await store.get(job.id)
        assert got is not None
        assert got.id == job.id
    finally:
        sqld.resume()
        await store.aclose()
    assert helper_pids() == set()


@pytest.mark.sqld
async def test_native_logging_in_the_helper_cannot_corrupt_its_protocol(
    sqld: SqldServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Stray output in the helper (native code's tracing under RUST_LOG, a library's print)
    goes to its stdout and stderr: the protocol runs on pipes of its own, so every call still
    answers at once, in Trio and in a one-shot call, and nothing of that output (which could
    carry the token) reaches us."""
    monkeypatch.setenv("RUST_LOG", "debug")
    store = TursoJobStore(sqld.url, TOKEN, timeout=5)
    try:
        began = time.monotonic()
        jobs = [await store.create("tone") for _ in range(5)]
        assert [j.id for j in jobs] == [j.id for j in await store.list()][::-1]
        assert time.monotonic() - began < 4
    finally:
        await store.aclose()
    one_shot = TursoJobStore(sqld.url, TOKEN, timeout=5)
    try:
        got = await trio.to_thread.run_sync(lambda: stores.run_sync(one_shot.get(jobs[0].id)))
        assert got == jobs[0]
    finally:
        one_shot.close()
    printed = capfd.readouterr()
    assert "DEBUG" not in printed.out + printed.err


@pytest.mark.sqld
async def test_the_token_never_shows(sqld: SqldServer, caplog: pytest.LogCaptureFixture) -> None:
    """The token is absent from repr, logs and error text, even when the server is gone."""
    caplog.set_level(logging.DEBUG)
    store = TursoJobStore(sqld.url, TOKEN)
    assert TOKEN not in repr(store)
    assert "token=set" in repr(store)
    await store.create("tone")
    unreachable = TursoJobStore(f"http://127.0.0.1:{free_port()}", TOKEN)
    with pytest.raises(StoreUnavailable) as info:
        await unreachable.list()
    texts = [repr(store), repr(unreachable), str(info.value), repr(info.value), caplog.text]
    assert all(TOKEN not in t for t in texts)
    await store.aclose()
    await unreachable.aclose()


@pytest.mark.parametrize(
    "url, token, message",
    [
        ("postgres://db.example.com", None, "unsupported database URL scheme"),
        ("libsql://", TOKEN, "names no host"),
        ("libsql://db-org.turso.io", None, "no token was given"),
        ("https://user:" + TOKEN + "@db.example.com", None, "must not carry credentials"),
        ("https://db.example.com?authToken=" + TOKEN, None, "must not carry the token"),
        ("http://127.0.0.1:99999", None, "malformed"),
    ],
)
def test_unusable_turso_urls_are_refused(url: str, token: str | None, message: str) -> None:
    """A bad URL is refused at construction with a message that names the problem."""
    with pytest.raises(StoreConfigError, match=message) as info:
        TursoJobStore(url, token)
    assert TOKEN not in str(info.value)


async def test_migration_is_idempotent_and_versioned(tmp_path: Path) -> None:
    """Opening a database twice migrates once; a newer schema is refused clearly."""
    path = tmp_path / "jobs.db"
    async with LocalJobStore(path) as first:
        await first.create("tone")
    async with LocalJobStore(path) as second:
        assert len(await second.list()) == 1
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema_meta SET value = 99 WHERE key = 'version'")
    async with LocalJobStore(path) as third:
        with pytest.raises(StoreConfigError, match="schema version 99, newer"):
            await third.list()


async def test_concurrent_first_use_of_a_new_database(tmp_path: Path) -> None:
    """Several stores migrating one new file at the same moment all succeed."""
    made = [LocalJobStore(tmp_path / "new.db") for _ in range(4)]
    async with trio.open_nursery() as nursery:
        for s in made:
            nursery.start_soon(s.create, "tone")
    assert len(await made[0].list()) == 4
    for s in made:
        await s.aclose()


def test_factory_uses_the_local_file_by_default(tmp_path: Path) -> None:
    """Without TURSO_DATABASE_URL the process-wide store is local, at JOBS_DB_PATH."""
    store = get_job_store()
    assert isinstance(store, LocalJobStore)
    assert store.path == Path(os.environ["JOBS_DB_PATH"])
    assert get_job_store() is store
    reset_job_store()
    assert get_job_store() is not store


def test_factory_picks_turso_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """TURSO_DATABASE_URL and TURSO_AUTH_TOKEN select the Turso store."""
    monkeypatch.setenv("TURSO_DATABASE_URL", "libsql://db-org.turso.io")
    monkeypatch.setenv("TURSO_AUTH_TOKEN", TOKEN)
    store = get_job_store()
    assert isinstance(store, TursoJobStore)
    assert store.url == "libsql://db-org.turso.io"
    assert TOKEN not in repr(store)


def test_local_default_never_imports_libsql(tmp_path: Path) -> None:
    """Local development works without importing the libsql driver or the Turso client."""
    code = (
        "import sys, trio, stores\n"
        "async def main():\n"
        "    s = stores.get_job_store(); await s.create('tone'); await s.aclose()\n"
        "trio.run(main)\n"
        "print(any(m in sys.modules for m in ('libsql', 'stores._turso', 'stores._helper')))\n"
    )
    env = {**os.environ, "JOBS_DB_PATH": str(tmp_path / "j.db")}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.mark.sqld
async def test_a_stale_connection_after_a_restart_is_replaced_transparently(
    sqld: SqldServer,
) -> None:
    """A server restart the store did not witness invalidates its stream; the next call
    retries once on a fresh connection instead of failing (nothing ran the first time)."""
    store = TursoJobStore(sqld.url, TOKEN, timeout=5)
    try:
        job = await store.create("tone")
        sqld.stop()
        sqld.start()
        got = await store.get(job.id)
        assert got is not None
        assert got.id == job.id
    finally:
        await store.aclose()


async def test_a_revision_1_database_is_migrated_in_place_with_live_jobs(tmp_path: Path) -> None:
    """A database from before the claim token (revision 1) gains it in place; its pending
    and running jobs carry on, and its compatibility version stays readable by old code."""
    path = tmp_path / "old.db"
    async with LocalJobStore(path) as store:
        waiting = await store.create("tone")
        running = await store.create("tone")
        claimed = await store.claim("w-old", types=["tone"])
    assert claimed is not None
    assert claimed.job.id == waiting.id
    with sqlite3.connect(path) as raw:  # what a revision-1 database looks like
        raw.execute("DROP INDEX IF EXISTS ix_jobs_claim_token")
        raw.execute("ALTER TABLE jobs DROP COLUMN claim_token")
        raw.execute("DELETE FROM schema_meta WHERE key = 'revision'")
    async with LocalJobStore(path) as store:
        done = await store.complete(claimed.lease, "ok")
        second = await store.claim("w-new")
        assert second is not None
        assert second.job.id == running.id
        assert done.status is JobStatus.COMPLETED
    with sqlite3.connect(path) as raw:
        meta = dict(raw.execute("SELECT key, value FROM schema_meta").fetchall())
        columns = [row[1] for row in raw.execute("PRAGMA table_info(jobs)")]
    assert meta == {"version": 1, "revision": SCHEMA_REVISION}
    assert "claim_token" in columns


async def test_a_revision_3_database_gains_the_indexes_of_revision_4(tmp_path: Path) -> None:
    """A database from before the HTTP layer (revision 3) keeps its jobs and gets the
    change-stamp and creation-order indexes on first use."""
    path = tmp_path / "jobs.db"
    async with LocalJobStore(path) as first:
        job = await first.create("tone")
    with sqlite3.connect(path) as raw:
        raw.execute("DROP INDEX ix_jobs_changed_at")
        raw.execute("DROP INDEX ix_jobs_created")
        raw.execute("UPDATE schema_meta SET value = 3 WHERE key = 'revision'")
    async with LocalJobStore(path) as second:
        views, _, _ = await second.changes((0.0, 0))
        assert [v.id for v in views] == [job.id]
    with sqlite3.connect(path) as raw:
        names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        meta = dict(raw.execute("SELECT key, value FROM schema_meta").fetchall())
    assert {"ix_jobs_changed_at", "ix_jobs_created"} <= names
    assert meta == {"version": 1, "revision": SCHEMA_REVISION}


async def test_a_revision_5_database_gains_counts_seeded_from_its_jobs(tmp_path: Path) -> None:
    """A database from before the kept counts (revision 5) holding pending, running and
    finished jobs gets its counters seeded on first use; later changes keep them exact."""
    path = tmp_path / "jobs.db"
    async with LocalJobStore(path) as first:
        await first.create_many("tone", [{}] * 4)
        done = await first.claim("w-old")
        assert done is not None
        await first.complete(done.lease, None)
        running = await first.claim("w-old")
        assert running is not None
    with sqlite3.connect(path) as raw:  # what a revision-5 database looks like
        for trigger in ("insert", "update", "delete"):  # (insert: dropped in revision 7)
            raw.execute(f"DROP TRIGGER IF EXISTS jobs_count_{trigger}")
        raw.execute("DROP TABLE job_counts")
        raw.execute("UPDATE schema_meta SET value = 5 WHERE key = 'revision'")
    async with LocalJobStore(path) as second:
        expected = {"pending": 2, "running": 1, "completed": 1, "failed": 0, "cancelled": 0}
        assert await second.counts() == expected
        await second.complete(running.lease, None)
        await second.create("tone")
        expected.update(running=0, completed=2, pending=3)
        assert await second.counts() == expected
    with sqlite3.connect(path) as raw:
        meta = dict(raw.execute("SELECT key, value FROM schema_meta").fetchall())
    assert meta == {"version": 1, "revision": SCHEMA_REVISION}


#: What revision 6 had and revision 7 does not: history and count triggers on insert, the
#: index of every row by status, and pending and running indexes without the status.
REVISION_6 = (
    "CREATE TRIGGER jobs_history_insert AFTER INSERT ON jobs BEGIN "
    "INSERT INTO job_history (job_id, at, from_status, to_status, worker_id, lease, reason) "
    "VALUES (NEW.id, NEW.noted_at, NULL, NEW.status, NEW.worker_id, NEW.lease, NEW.note); END",
    "CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs "
    "WHEN NEW.status IN ('completed', 'failed', 'cancelled') BEGIN "
    "UPDATE job_counts SET n = n + 1 WHERE status = NEW.status; END",
    "CREATE INDEX ix_jobs_status_created ON jobs (status, created_at)",
    "DROP INDEX ix_jobs_finished",
    "DROP INDEX ix_jobs_pending",
    "DROP INDEX ix_jobs_running",
    "CREATE INDEX ix_jobs_pending_fifo ON jobs (created_at, id) WHERE status = 'pending'",
    "CREATE INDEX ix_jobs_running_updated ON jobs (updated_at) WHERE status = 'running'",
    "UPDATE schema_meta SET value = 6 WHERE key = 'revision'",
)
#: Columns that later revisions add (a revision-6 table lacks them; the current statements,
#: which tests run as if they were the old code's, need them).
LATER_COLUMNS = ("ALTER TABLE jobs DROP COLUMN retry_at",)


#: What revision 9 added, taken away: a database of revisions 7 and 8.
BEFORE_9 = (
    "DROP TRIGGER reaper_clock_stepped_back",
    "DROP TRIGGER jobs_stamp_update",
    "DROP TRIGGER jobs_stamp_insert",
    "DROP INDEX ix_jobs_finished_at",
    "DROP INDEX ix_jobs_changed_at",
    "ALTER TABLE jobs DROP COLUMN changed_at",
    "CREATE INDEX ix_jobs_changed ON jobs (max(updated_at, coalesce(noted_at, 0)))",
    "UPDATE schema_meta SET value = 7 WHERE key = 'revision'",
)


async def test_a_revision_7_database_gains_change_stamps_and_the_pruners_index(
    tmp_path: Path,
) -> None:
    """Revision 9 on a revision 7 database with jobs: the change-stamp column and its index,
    the pruner's index and the clock trigger are made, the expression index is dropped, no
    row is rewritten; the jobs' next writes are seen by live updates."""
    path = tmp_path / "jobs.db"
    async with LocalJobStore(path) as first:
        job = await first.create("tone")
    with sqlite3.connect(path) as raw:
        for statement in BEFORE_9:
            raw.execute(statement)
    async with LocalJobStore(path) as second:
        _, mark, _ = await second.changes(None)
        assert mark == (0.0, 0)  # rows written before keep no stamp
        claimed = await second.claim("w")
        assert claimed is not None
        assert claimed.job.id == job.id
        views, _, _ = await second.changes(mark)
        assert [v.id for v in views] == [job.id]
    with sqlite3.connect(path) as raw:
        names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    assert {"ix_jobs_changed_at", "ix_jobs_finished_at", "reaper_clock_stepped_back"} <= names
    assert "ix_jobs_changed" not in names


async def test_writes_of_revision_7_code_are_stamped_for_live_updates(tmp_path: Path) -> None:
    """During a deploy, workers of the previous release write no change stamp: their
    inserts and updates get one anyway, so a new server's live updates see them."""
    path = tmp_path / "jobs.db"
    async with LocalJobStore(path) as store:
        job = await store.create("tone")
        _, mark, _ = await store.changes(None)
        with sqlite3.connect(path) as old_code:
            old_code.execute(
                "INSERT INTO jobs (type, payload, status, max_attempts, created_at, updated_at)"
                " VALUES ('tone', '{}', 'pending', 2, 1.0, 1.0)"
            )
            old_code.execute("UPDATE jobs SET updated_at = 2.0 WHERE id = ?", (job.id,))
        views, _, _ = await store.changes(mark)
        assert sorted(v.id for v in views) == [job.id, job.id + 1]
        assert all(v.changed_at is not None and v.changed_at > mark[0] for v in views)


async def test_a_revision_6_database_keeps_each_jobs_history_whole(tmp_path: Path) -> None:
    """Revision 7 writes no history row when a job is created (the entry is read from the
    job's row). Jobs created under revision 6 have that row already: their history shows
    the creation once, not twice; jobs created after the upgrade show it too; the insert
    triggers and the index by status are gone, the index of finished rows is there."""
    path = tmp_path / "jobs.db"
    async with LocalJobStore(path) as first:
        await first.get(1)  # the schema
    with sqlite3.connect(path) as raw:
        for statement in REVISION_6:
            raw.execute(statement)
    async with LocalJobStore(path) as old:
        # Revision-6 code writing: the same statements, and no migration (its revision).
        old._schema_ready = True
        before = await old.create("tone")
        claimed = await old.claim("w-old")
        assert claimed is not None
        assert claimed.job.id == before.id
        await old.fail(claimed.lease, "no", kind="permanent")
    with sqlite3.connect(path) as raw:
        created_rows = raw.execute(
            "SELECT count(*) FROM job_history WHERE job_id = ? AND from_status IS NULL",
            (before.id,),
        ).fetchone()[0]
    assert created_rows == 1  # the revision-6 trigger wrote it
    async with LocalJobStore(path) as new:
        after = await new.create("tone")
        again = await new.resubmit(before.id)
        old_history = [(e.from_status, e.to_status, e.reason) for e in await new.history(before.id)]
        assert old_history == [
            (None, "pending", "created"),
            ("pending", "running", "claimed, attempt 1"),
            ("running", "failed", "failed: no"),
        ]
        for job, reason in ((after, "created"), (again, f"resubmitted from job {before.id}")):
            (entry,) = await new.history(job.id)
            assert (entry.from_status, entry.to_status, entry.reason) == (None, "pending", reason)
            assert entry.at == job.created_at
            assert entry.worker_id is None
        assert await new.counts() == {
            "pending": 2,
            "running": 0,
            "completed": 0,
            "failed": 1,
            "cancelled": 0,
        }
        assert [j.id for j in await new.list(status="failed")] == [before.id]
    with sqlite3.connect(path) as raw:
        names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
        meta = dict(raw.execute("SELECT key, value FROM schema_meta").fetchall())
        new_rows = raw.execute(
            "SELECT count(*) FROM job_history WHERE job_id IN (?, ?)", (after.id, again.id)
        ).fetchone()[0]
    assert {"ix_jobs_finished", "ix_jobs_pending", "ix_jobs_running"} <= names
    assert new_rows == 0
    assert not names & {name for _, name in RETIRED}
    assert meta == {"version": 1, "revision": SCHEMA_REVISION}


async def test_retired_objects_made_again_by_an_older_process_are_dropped_at_start(
    tmp_path: Path,
) -> None:
    """A revision-6 process migrating at the same moment as a revision-7 one can make the
    retired triggers and indexes again after they were dropped, with the revision already
    recorded as 7: the next start drops them (they would cost every job the pages revision
    7 saves, and write a history row on every creation)."""
    path = tmp_path / "jobs.db"
    async with LocalJobStore(path) as first:
        await first.get(1)
    with sqlite3.connect(path) as raw:  # the older process's DDL, after ours
        for statement in REVISION_6:
            if statement.startswith("CREATE"):
                raw.execute(statement)
    async with LocalJobStore(path) as second:
        job = await second.create("tone")
        (entry,) = await second.history(job.id)
        assert entry.reason == "created"
    with sqlite3.connect(path) as raw:
        names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
        rows = raw.execute("SELECT count(*) FROM job_history").fetchone()[0]
    assert not names & {name for _, name in RETIRED}
    assert rows == 0


async def test_a_migration_makes_the_new_indexes_before_dropping_the_old(tmp_path: Path) -> None:
    """Migrating from revision 6, every retired index is dropped only after its replacement
    exists: claims, counts and the reaper of workers running meanwhile never scan."""
    path = tmp_path / "jobs.db"
    async with LocalJobStore(path) as first:
        await first.get(1)
    with sqlite3.connect(path) as raw:
        for statement in (*BEFORE_9, *REVISION_6, *LATER_COLUMNS):
            raw.execute(statement)
    conn = sqlite3.connect(path, isolation_level=None)
    ran: list[str] = []

    async def execute(ops: Sequence[tuple[str, tuple[Any, ...]]]) -> list[list[tuple[Any, ...]]]:
        ran.extend(sql for sql, _ in ops)
        try:
            return [conn.execute(sql, params).fetchall() for sql, params in ops]
        except sqlite3.OperationalError as exc:  # as a transport maps it
            raise JobStoreError(str(exc)) from exc

    assert await migrate(execute) == 6
    conn.close()
    made = {
        n: i
        for i, sql in enumerate(ran)
        for n in ("ix_jobs_pending ", "ix_jobs_running ")
        if n in sql
    }
    dropped = [i for i, sql in enumerate(ran) if sql.startswith("DROP INDEX")]
    retired = [name for kind, name in RETIRED if kind == "index"]
    assert len(made) == 2
    assert len(dropped) == len(retired)
    assert min(dropped) > max(made.values())


@pytest.mark.sqld
async def test_closing_a_turso_store_with_a_call_in_flight_ends_that_call(
    sqld: SqldServer,
) -> None:
    """close() while another task waits on a stuck server: close returns at once, and the
    waiting call fails promptly instead of hanging."""
    store = TursoJobStore(sqld.url, timeout=30)
    await store.create("tone")
    sqld.pause()
    try:
        outcome: list[BaseException] = []

        async def stuck() -> None:
            try:
                await store.get(1)
            except StoreUnavailable as exc:
                outcome.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(stuck)
            await trio.sleep(0.5)
            began = time.monotonic()
            store.close()
            assert time.monotonic() - began < 1
            with trio.fail_after(5):
                while not outcome:
                    await trio.sleep(0.05)
    finally:
        sqld.resume()
    assert helper_pids() == set()


@pytest.mark.sqld
async def test_a_busy_sqld_is_waited_out_not_taken_for_a_refused_statement(
    sqld: SqldServer,
) -> None:
    """Another writer holds the database's lock: sqld answers SQLITE_BUSY (after its own
    wait of about 0.1 s). The statement did not run, so the store tries it again until the
    lock is free, instead of raising a statement error (which made a worker fail a job
    that had completed: "bad result: … database is locked", seen with 8 workers)."""
    store = TursoJobStore(sqld.url, TOKEN, timeout=10)
    try:
        await store.create("tone")
        claimed = await store.claim("w-busy")
        assert claimed is not None
        locker = sqlite3.connect(
            sqld.db_path / "dbs" / "default" / "data",
            isolation_level=None,
            check_same_thread=False,
        )
        locker.execute("BEGIN IMMEDIATE")  # the lock, held by another process's writer
        unlock = threading.Timer(1.5, lambda: locker.execute("COMMIT"))
        unlock.start()
        try:
            started = time.monotonic()
            done = await store.complete(claimed.lease, {"ok": True})
            waited = time.monotonic() - started
        finally:
            unlock.join()
            locker.close()
        assert done.status is JobStatus.COMPLETED
        assert done.result == {"ok": True}
        assert waited >= 1.0  # it did wait for the lock
        assert [h.to_status for h in await store.history(claimed.job.id)][-1] == "completed"
    finally:
        await store.aclose()
