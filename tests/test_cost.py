"""Hot paths read O(1) rows: with 100,000 finished jobs, the idle claim, the queue position,
the heartbeat, the reaper and a metrics scrape's job counts read no more rows than with none
(billed rows on Turso)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import libsql
import pytest
import sqlalchemy as sa

from actors import prune_once
from media_jobs_testing.bulk import fill
from media_jobs_testing.helpers import WallClock
from media_jobs_testing.sqld import SqldServer
from stores import JobStore, LocalJobStore, TursoJobStore
from stores._compiled import SQL
from stores._statements import STATEMENTS

FINISHED = 100_000
HOT = ("CLAIM_ANY", "POLL", "HEARTBEAT", "REAP")


def _params(now: float, job_id: int, lease: int) -> dict[str, dict[str, Any]]:
    return {
        "CLAIM_ANY": {"p_worker": "w", "p_now": now, "p_token": "t"},
        "POLL": {"p_id": job_id},
        "HEARTBEAT": {"p_id": job_id, "p_lease": lease, "p_now": now},
        "REAP": {"p_now": now, "p_stale": 60, "p_stale_text": "60"},
    }


def _plan(conn: sa.Connection, name: str, params: dict[str, Any]) -> list[str]:
    compiled = STATEMENTS[name].compile(dialect=conn.dialect)
    positional = [
        compiled.params.get(k) if k not in params else params[k] for k in compiled.positiontup or []
    ]
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    rows = dbapi.execute(f"EXPLAIN QUERY PLAN {compiled}", positional).fetchall()
    return [str(r[-1]) for r in rows]


def _vm_steps(conn: sa.Connection, name: str, params: dict[str, Any]) -> int:
    """SQLite virtual-machine steps one statement takes: a proxy for rows touched."""
    dbapi = conn.connection.dbapi_connection
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    dbapi.set_progress_handler(count, 1)  # type: ignore[union-attr]
    try:
        conn.execute(STATEMENTS[name], params).all()
    finally:
        dbapi.set_progress_handler(None, 1)  # type: ignore[union-attr]
    return steps


async def _one_pending_one_running(store: JobStore) -> tuple[int, int, int]:
    running = await store.create("tone")
    claimed = await store.claim("w-cost")
    assert claimed is not None
    assert claimed.job.id == running.id
    pending = await store.create("tone")
    return pending.id, claimed.job.id, claimed.lease.token


async def test_sqlite_hot_paths_use_partial_indexes(tmp_path: Path, wall: WallClock) -> None:
    """On SQLite each hot statement is planned on an index and its work does not grow with
    the number of finished jobs (VM steps equal with 0 and 100,000 finished rows)."""
    steps: dict[int, dict[str, int]] = {}
    for finished in (0, FINISHED):
        path = tmp_path / f"jobs-{finished}.db"
        async with LocalJobStore(path, clock=wall) as store:
            pending_id, running_id, lease = await _one_pending_one_running(store)
        with sqlite3.connect(path) as raw:
            fill(raw, finished)
        engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.NullPool)
        with engine.connect() as conn:
            params = _params(wall.now, pending_id, lease)
            params["HEARTBEAT"]["p_id"] = running_id
            for name in HOT:
                plan = " | ".join(_plan(conn, name, params[name]))
                assert "USING" in plan, f"{name} has no index: {plan}"
                for line in plan.split(" | "):
                    assert not (line.startswith("SCAN") and "INDEX" not in line), (name, plan)
            steps[finished] = {
                n: _vm_steps(conn, n, params[n]) for n in ("POLL", "HEARTBEAT", "REAP")
            }
            # The claim is measured on an empty queue: the idle worker's poll.
            conn.execute(sa.text("UPDATE jobs SET status = 'cancelled' WHERE status = 'pending'"))
            steps[finished]["CLAIM_ANY"] = _vm_steps(conn, "CLAIM_ANY", params["CLAIM_ANY"])
        engine.dispose()
    print(f"\nSQLite VM steps, 0 vs {FINISHED} finished jobs: {steps}")
    assert steps[FINISHED] == steps[0]


@pytest.mark.sqld
@pytest.mark.slow
async def test_sqld_hot_paths_read_constant_rows(sqld: SqldServer, wall: WallClock) -> None:
    """sqld's own statistics: each hot path reads a handful of rows with 100,000 finished."""
    store = TursoJobStore(sqld.url, clock=wall)
    try:
        await _one_pending_one_running(store)
        raw = libsql.connect(sqld.url, isolation_level=None)
        fill(raw, FINISHED)
        raw.close()
        claimed = await store.claim("w-2")  # takes the pending job: the queue is now empty
        assert claimed is not None
        await store.get(claimed.job.id)
        second = await store.create("tone")
        third = await store.create("tone")
        wall.advance(1)

        async def rows_read(call: Any) -> int:
            before = sqld.rows_read()
            await call
            return sqld.rows_read() - before

        extra = await store.create("tone")
        cost: dict[str, int | None] = {
            "idle claim": None,
            "queue position": await rows_read(store.poll(third.id)),
            "heartbeat": await rows_read(store.heartbeat(claimed.lease)),
            "reaper": await rows_read(store.reap(60)),
        }
        for job in (second, third, extra):
            await store.cancel(job.id)
        cost["idle claim"] = await rows_read(store.claim("w-idle"))
        scrape = await rows_read(store.counts())  # a metrics scrape's job counts
        print(f"\nsqld rows read with {FINISHED} finished jobs: {cost}, job counts {scrape}")
        assert all(v is not None and v <= 4 for v in cost.values()), cost
        assert scrape <= 5, f"job counts for a scrape read {scrape} rows"
        assert (await store.counts())["completed"] == FINISHED // 3
    finally:
        await store.aclose()


@pytest.mark.sqld
@pytest.mark.slow
async def test_sqld_idle_prune_round_reads_no_job_that_finished_late(
    sqld: SqldServer, wall: WallClock
) -> None:
    """A prune round with nothing to delete reads a handful of rows, even when 20,000 jobs
    were created long before the cut-off but finished after it (a backlog that waited): the
    cut-off is found on the finish time through the index, not by reading each row."""
    store = TursoJobStore(sqld.url, clock=wall)
    try:
        await store.counts()  # the schema exists
        raw = libsql.connect(sqld.url, isolation_level=None)
        fill(raw, 20_000)
        raw.execute("UPDATE jobs SET finished_at = ?", (wall.now - 100,))
        raw.close()
        retention = {"completed": 3600.0, "failed": 3600.0, "cancelled": 3600.0}
        before = sqld.rows_read()
        pruned = await prune_once(store, retention)
        cost = sqld.rows_read() - before
        print(f"\nsqld rows read by an idle prune round over 20,000 late finishers: {cost}")
        assert pruned == {"completed": 0, "failed": 0, "cancelled": 0}
        assert cost <= 9, f"an idle prune round read {cost} rows"
        wall.advance(3600)
        assert sum((await prune_once(store, retention)).values()) == 20_000 // 1000 * 1000
    finally:
        await store.aclose()


def test_the_log_tail_rides_only_on_writes_the_row_gets_anyway() -> None:
    """A job's log tail (and its error's telling line) is a column of statements that write
    the row for their own reason (progress, a claim, an outcome): no statement exists to
    write it alone, so a chatty ffmpeg costs no row written."""
    writers = {
        name
        for name, sql in SQL.items()
        for column in ("log_tail", "error_detail")
        if re.search(rf"\b{column} *=", sql)
    }
    assert writers == {
        "UPDATE_PROGRESS",
        "CLAIM_ANY",
        "CLAIM_TYPED",
        "COMPLETE",
        "FAIL",
        "RELEASE",
        "RECOVER_CLAIM",
        "REAP",
        "REAP_STEADY",
        "CONFIRM_CANCELLED",
    }
    for name in writers:  # each sets more than these two columns: it writes the row anyway
        assignments = set(re.findall(r"\b(\w+) *= *", SQL[name].split(" WHERE ")[0]))
        assert assignments - {"log_tail", "error_detail"}, name
