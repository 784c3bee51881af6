"""Production behaviour against a real sqld: refusal to start on an unusable database, and
riding out an outage with no job lost or run twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from media_jobs_testing.helpers import REPO, pid_alive, wait_for_status
from media_jobs_testing.sqld import SqldServer, faked_clock, free_port
from media_jobs_testing.workers import WorkerProcess, timings, worker_env
from stores import JobStatus, TursoJobStore
from web import Broadcaster

pytestmark = pytest.mark.slow
TOKEN = "tok-prod-SECRET-31"


def run_worker(
    env_extra: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))}
    return subprocess.run(
        [sys.executable, "-m", "supervisor", "run", *args],
        cwd=REPO,
        env={**env, **env_extra},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "url, token, message",
    [
        ("libsql//db.example.com", TOKEN, "unsupported database URL scheme"),
        ("libsql://db-org.turso.io", "", "no token was given"),
        ("https://db.example.com:notaport", TOKEN, "malformed database URL"),
    ],
)
def test_unusable_database_settings_are_refused_at_start(
    url: str, token: str, message: str
) -> None:
    """A malformed URL or a Turso URL without token: exit 2 with one clear line."""
    result = run_worker({"TURSO_DATABASE_URL": url, "TURSO_AUTH_TOKEN": token})
    assert result.returncode == 2
    assert message in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_an_unreachable_server_is_refused_after_bounded_retries() -> None:
    """Nobody listening: a few retries with backoff, then exit 2 saying so."""
    url = f"http://127.0.0.1:{free_port()}"
    result = run_worker({"TURSO_DATABASE_URL": url, "TURSO_AUTH_TOKEN": TOKEN})
    assert result.returncode == 2
    assert "unreachable after 5 tries" in result.stderr
    assert result.stderr.count("database not reachable yet") == 4
    assert TOKEN not in result.stderr


@pytest.mark.sqld
async def test_the_worker_rides_out_a_database_outage(sqld: SqldServer, tmp_path: Path) -> None:
    """sqld stops mid-job and comes back: the worker survives, the job completes once, and
    the outage is logged once, not per attempt."""
    env = worker_env(TURSO_DATABASE_URL=sqld.url, TURSO_AUTH_TOKEN=TOKEN)
    store = TursoJobStore(sqld.url)
    worker = WorkerProcess("w-prod", env, tmp_path, timings(stale_after=12))
    try:
        job = await store.create("sleep", {"seconds": 5, "steps": 10})
        later = await store.create("sleep", {"seconds": 0.5, "steps": 1})
        with trio.fail_after(30):
            await wait_for_status(store, job.id, JobStatus.RUNNING, poll=0.1)
        sqld.stop()
        await trio.sleep(3)
        sqld.start()
        with trio.fail_after(60):
            done = await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.2)
            await wait_for_status(store, later.id, JobStatus.COMPLETED, poll=0.2)
        assert worker.proc.poll() is None, "the worker died in the outage"
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        worker.kill()
        store.close()
    assert done.attempt == 1
    async with TursoJobStore(sqld.url) as reader:
        starts = [h for h in await reader.history(job.id) if h.to_status == "running"]
    assert len(starts) == 1
    text = worker.log()
    assert text.count("database unavailable: cannot reach") == 1
    assert text.count("database reachable again") == 1
    assert TOKEN not in text


@pytest.mark.sqld
async def test_a_worker_cut_off_from_the_database_stops_its_own_job(
    sqld: SqldServer, tmp_path: Path
) -> None:
    """Self-fencing: when the database is unreachable for longer than the lease is safe, the
    worker kills its child before any other worker could reap the job; once the database is
    back the job runs again, and the worker never died."""
    store = TursoJobStore(sqld.url)
    worker = WorkerProcess("w-prod", worker_env(TURSO_DATABASE_URL=sqld.url), tmp_path)
    try:
        job = await store.create("child", {"seconds": 60})
        with trio.fail_after(30):
            while not (row := await store.get(job.id)) or not row.child_pid:
                await trio.sleep(0.05)
        first_child = row.child_pid
        sqld.stop()
        cut_off = trio.current_time()
        with trio.fail_after(10):
            while pid_alive(first_child):
                await trio.sleep(0.02)
        assert trio.current_time() - cut_off < 3  # before stale_after: no double run
        sqld.start()
        with trio.fail_after(30):
            while not (row := await store.get(job.id)) or row.child_pid in (None, first_child):
                await trio.sleep(0.1)
        assert row.status is JobStatus.RUNNING
        assert worker.proc.poll() is None
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        worker.kill()
        store.close()
    text = worker.log()
    assert "database unavailable: cannot reach" in text
    # The worker fenced itself (released, no attempt charged); the sentinel had no need to.
    assert "job released: database unreachable: no heartbeat recorded for" in text
    assert "sentinel: killed" not in text


@pytest.mark.sqld
async def test_shutdown_with_the_database_not_answering_ends_within_its_bound(
    sqld: SqldServer, tmp_path: Path
) -> None:
    """SIGTERM while the database accepts but never answers: the child is killed, the final
    write is given up in time, and the worker exits within shutdown_timeout."""
    store = TursoJobStore(sqld.url)
    bound = 5.0
    worker = WorkerProcess(
        "w-bound",
        worker_env(TURSO_DATABASE_URL=sqld.url),
        tmp_path,
        timings(stale_after=12, shutdown_timeout=bound),
    )
    try:
        job = await store.create("child", {"seconds": 60})
        with trio.fail_after(30):
            while not (row := await store.get(job.id)) or not row.child_pid:
                await trio.sleep(0.05)
        sqld.pause()
        began = time.monotonic()
        worker.signal(signal.SIGTERM)
        assert worker.wait(bound + 10) == 0, worker.log()
        took = time.monotonic() - began
        assert took < bound + 0.5, worker.log()
        assert not pid_alive(row.child_pid)
    finally:
        sqld.resume()
        worker.kill()
        store.close()


def skewed(seconds: int) -> list[str]:
    """Run a command with its wall clock off by ``seconds`` (Debian's faketime)."""
    faketime = shutil.which("faketime")
    assert faketime, "faketime is needed for the clock-skew test: apt-get install faketime"
    return [faketime, "-f", f"{seconds:+d}s"]


@pytest.mark.sqld
async def test_workers_with_skewed_clocks_neither_reap_nor_get_reaped_early(
    sqld: SqldServer, tmp_path: Path
) -> None:
    """One worker's clock an hour behind, another's an hour ahead: every time on a row is
    the database's, so the live job of the first is never reaped by the second."""
    store = TursoJobStore(sqld.url)
    env = worker_env(TURSO_DATABASE_URL=sqld.url)
    behind = WorkerProcess("w-behind", env, tmp_path, prefix=skewed(-3600))
    ahead: WorkerProcess | None = None
    try:
        job = await store.create("child", {"seconds": 60})
        with trio.fail_after(30):
            while not (row := await store.get(job.id)) or not row.child_pid:
                await trio.sleep(0.05)
        assert abs(row.updated_at - time.time()) < 60
        ahead = WorkerProcess("w-ahead", env, tmp_path, prefix=skewed(3600))
        await trio.sleep(4)  # stale_after (3 s) and several reaper rounds
        now = await store.get(job.id)
        assert now is not None
        assert (now.status, now.worker_id) == (JobStatus.RUNNING, "w-behind")
        assert now.attempt == 1
        assert now.child_pid == row.child_pid
        assert "reaped" not in ahead.log()
        assert pid_alive(row.child_pid)
    finally:
        behind.kill()
        if ahead is not None:
            ahead.kill()
        store.close()


@pytest.mark.sqld
async def test_an_outage_longer_than_stale_after_charges_no_attempt(
    sqld: SqldServer, tmp_path: Path
) -> None:
    """sqld is down for longer than stale_after while a job runs and another worker idles:
    once it is back, no reaper takes the job before its holder gives it back (uncharged);
    it runs again on attempt 1, and no transition says reaped."""
    store = TursoJobStore(sqld.url)
    env = worker_env(TURSO_DATABASE_URL=sqld.url)
    holder = WorkerProcess("w-holder", env, tmp_path)
    other: WorkerProcess | None = None
    try:
        job = await store.create("child", {"seconds": 60})
        with trio.fail_after(30):
            while not (row := await store.get(job.id)) or not row.child_pid:
                await trio.sleep(0.05)
        other = WorkerProcess("w-other", env, tmp_path)
        await trio.sleep(1.5)  # the other worker is up, polling and reaping
        sqld.stop()
        await trio.sleep(4.5)  # stale_after is 3 s: every lease goes stale
        sqld.start()
        with trio.fail_after(30):
            while True:
                now = await store.get(job.id)
                if (
                    now
                    and now.status is JobStatus.RUNNING
                    and now.child_pid
                    not in (
                        None,
                        row.child_pid,
                    )
                ):
                    break
                await trio.sleep(0.1)
        assert now.attempt == 1, await store.history(job.id)
        reasons = [h.reason or "" for h in await store.history(job.id)]
        assert not any(r.startswith("reaped") for r in reasons), reasons
        assert any("database unreachable" in r for r in reasons), reasons
    finally:
        holder.kill()
        if other is not None:
            other.kill()
        store.close()


@pytest.fixture
def stepped_sqld(tmp_path: Path) -> Iterator[tuple[SqldServer, Path]]:
    """A real sqld whose wall clock the test can step: write ``-600s`` to the file."""
    offset = tmp_path / "sqld-clock-offset"
    offset.write_text("+0s\n")
    server = SqldServer(tmp_path / "sqld-stepped", env=faked_clock(offset))
    server.start()
    try:
        yield server, offset
    finally:
        server.stop()


async def _running_child(store: TursoJobStore, job_id: int) -> None:
    with trio.fail_after(30):
        while not (row := await store.get(job_id)) or not row.child_pid:
            await trio.sleep(0.05)


@pytest.mark.sqld
async def test_the_database_clock_stepping_back_freezes_no_live_stream(
    stepped_sqld: tuple[SqldServer, Path], tmp_path: Path
) -> None:
    """sqld's clock steps back 600 s while a job runs: the job's stream and the stream of
    every job go on receiving its heartbeats (each a later change), with times of the new
    clock."""
    sqld, offset = stepped_sqld
    store = TursoJobStore(sqld.url)
    worker = WorkerProcess("w-stepped", worker_env(TURSO_DATABASE_URL=sqld.url), tmp_path)
    broadcaster = Broadcaster(store, interval=0.1)
    try:
        job = await store.create("child", {"seconds": 60})
        await _running_child(store, job.id)
        async with trio.open_nursery() as nursery:
            await nursery.start(broadcaster.run)
            one, every = broadcaster.subscribe(job.id), broadcaster.subscribe(None)
            with trio.fail_after(10):
                await one.receive.receive()
                await every.receive.receive()
            offset.write_text("-600s\n")
            stepped = time.time() - 600
            seen: dict[str, list[float]] = {"job": [], "all": []}
            with trio.move_on_after(4):
                async with trio.open_nursery() as readers:
                    for name, sub in (("job", one), ("all", every)):
                        readers.start_soon(_collect_beats, sub, job.id, stepped, seen[name])
            nursery.cancel_scope.cancel()
        print(
            f"\nheartbeat events in 4 s after a 600 s step back: {len(seen['job'])} on the "
            f"job's stream, {len(seen['all'])} on the stream of every job"
        )
        assert len(seen["job"]) >= 3, seen
        assert len(seen["all"]) >= 3, seen
    finally:
        worker.kill()
        store.close()


async def _collect_beats(sub: Any, job_id: int, stepped: float, into: list[float]) -> None:
    """Keep the heartbeat times of ``job_id`` stamped by the stepped-back clock."""
    async for event, _, data in sub.receive:
        view = json.loads(data) if event == "job" else {}
        if view.get("id") == job_id and abs(view["updated_at"] - stepped) < 30:
            into.append(view["updated_at"])


@pytest.mark.sqld
async def test_the_database_clock_stepping_back_delays_no_reap(
    stepped_sqld: tuple[SqldServer, Path], tmp_path: Path
) -> None:
    """A worker is killed mid-job and sqld's clock steps back 600 s right after: another
    worker's reaper still takes the job about stale_after (6 s) after the kill, not after
    the 600 s the clock needs to catch up."""
    sqld, offset = stepped_sqld
    store = TursoJobStore(sqld.url)
    env = worker_env(TURSO_DATABASE_URL=sqld.url)
    holder = WorkerProcess("w-holder", env, tmp_path, timings(stale_after=6))
    reaper: WorkerProcess | None = None
    try:
        job = await store.create("child", {"seconds": 120})
        await _running_child(store, job.id)
        reaper = WorkerProcess("w-reaper", env, tmp_path, timings(stale_after=6))
        await trio.sleep(7)  # its reaper has ticked steadily for stale_after
        holder.kill()
        killed = time.monotonic()
        offset.write_text("-600s\n")
        with trio.fail_after(60):
            while (row := await store.get(job.id)) and row.worker_id == "w-holder":
                await trio.sleep(0.1)
        took = time.monotonic() - killed
        print(f"\nreaped {took:.1f} s after the kill, the clock stepped back 600 s")
        reasons = [h.reason or "" for h in await store.history(job.id)]
        assert any(r.startswith("reaped: stalled") for r in reasons), reasons
        assert took < 6 + 4, took
    finally:
        holder.kill()
        if reaper is not None:
            reaper.kill()
        store.close()
