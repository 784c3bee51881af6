"""Regression tests for failure modes found by trying the store from outside (issue 8).

Each test failed on the code before its fix. Store-level rules run on both adapters.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from actors import JobContext, JobType, Sentinel, TransientError
from actors._child import open_child
from media_jobs_testing.helpers import WallClock, pid_alive, trio_wall, wait_for_status
from media_jobs_testing.helpers import fast_config as config
from media_jobs_testing.proxy import Proxy
from media_jobs_testing.sqld import SqldServer
from stores import (
    HeartbeatReply,
    InvalidJob,
    Job,
    JobStatus,
    JobStore,
    Lease,
    LeaseLost,
    LocalJobStore,
    StoreConfigError,
    StoreUnavailable,
    TursoJobStore,
)
from stores import _compiled as stmt
from stores._compiled import SQL, Q
from supervisor import open_supervisor

TERMINAL = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
SURROGATE = "take-\udcff.wav"  # a non-UTF-8 file name, as os.listdir returns it


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


async def test_error_text_with_a_lone_surrogate_is_stored_escaped(store: JobStore) -> None:
    """A failure message holding a lone surrogate is made storable, not refused."""
    await store.create("tone", max_attempts=1)
    claimed = await store.claim("w")
    assert claimed is not None
    failed = await store.fail(claimed.lease, f"cannot open {SURROGATE}", kind="permanent")
    assert failed.status is JobStatus.FAILED
    assert failed.error == "cannot open take-\\udcff.wav"


@pytest.mark.parametrize("result", [{"file": SURROGATE}, nested(3000)], ids=["surrogate", "deep"])
async def test_an_unstorable_result_is_refused_and_changes_nothing(
    store: JobStore, result: object
) -> None:
    """A result that cannot become JSON text raises InvalidJob naming why; the row stays."""
    await store.create("tone")
    claimed = await store.claim("w")
    assert claimed is not None
    with pytest.raises(InvalidJob, match="result"):
        await store.complete(claimed.lease, result)
    row = await store.get(claimed.job.id)
    assert row is not None
    assert row.status is JobStatus.RUNNING


@pytest.mark.parametrize(
    "payload, message",
    [
        ("\ud800", "not valid Unicode"),
        (10**5000, "not JSON-serialisable"),
        (nested(3000), "nested too deeply"),
    ],
    ids=["surrogate", "huge-int", "deep"],
)
async def test_unstorable_payloads_are_refused_and_nothing_is_written(
    store: JobStore, payload: object, message: str
) -> None:
    """create() refuses a payload that cannot become JSON text, with a reason; no row."""
    with pytest.raises(InvalidJob, match=message):
        await store.create("tone", payload)
    assert await store.list() == []


async def test_an_id_beyond_64_bits_is_invalid_not_a_crash(store: JobStore) -> None:
    """A 25-digit id is refused as invalid input before any SQL runs."""
    for call in (store.get, store.poll, store.cancel, store.resubmit, store.history):
        with pytest.raises(InvalidJob, match="positive integer"):
            await call(10**24)


async def test_a_charged_release_on_the_last_attempt_fails_the_job(store: JobStore) -> None:
    """release(charge_attempt=True) at the attempt limit ends the job failed, never pending."""
    job = await store.create("tone", max_attempts=2)
    for attempt in (1, 2):
        claimed = await store.claim("w")
        assert claimed is not None
        assert claimed.job.attempt == attempt
        released = await store.release(
            claimed.lease, "outcome could not be recorded", charge_attempt=True
        )
    assert released.status is JobStatus.FAILED
    assert released.error == "outcome could not be recorded"
    assert await store.claim("w") is None
    row = await store.get(job.id)
    assert row is not None
    assert row.attempt == 2


async def test_completion_after_a_retry_clears_the_old_error(store: JobStore) -> None:
    """A job completed on its second attempt shows no error; its history keeps the first."""
    job = await store.create("tone")
    first = await store.claim("w")
    assert first is not None
    await store.fail(first.lease, "connection reset", kind="transient")
    second = await store.claim("w")
    assert second is not None
    done = await store.complete(second.lease, "ok")
    assert (done.error, done.error_kind) == (None, None)
    reasons = [h.reason for h in await store.history(job.id)]
    assert "will retry: connection reset" in reasons


def test_a_file_that_is_not_sqlite_is_a_config_error(tmp_path: Path) -> None:
    """JOBS_DB_PATH naming some other file is refused as configuration, not an outage."""
    path = tmp_path / "notes.txt"
    path.write_text("these are not the jobs you are looking for\n" * 100)

    async def use() -> None:
        async with LocalJobStore(path) as store:
            await store.list()

    with pytest.raises(StoreConfigError, match="not a SQLite database"):
        trio.run(use)
    assert path.read_text().startswith("these are not")


def test_a_token_with_a_line_break_is_refused_without_showing_it() -> None:
    """A token with CR/LF (a copy-paste accident) is a configuration error, not an outage."""
    token = "eyJhbGciOi-SECRET\r\n"
    with pytest.raises(StoreConfigError, match="TURSO_AUTH_TOKEN") as info:
        TursoJobStore("http://127.0.0.1:8080", token)
    assert "SECRET" not in str(info.value)


@pytest.mark.sqld
async def test_a_claim_whose_answer_is_lost_is_recovered_without_charge(
    sqld: SqldServer, wall: WallClock
) -> None:
    """The claim committed but its answer never arrived: the next claim gives the job back
    uncharged and takes it again, so it runs exactly once, on attempt 1."""
    proxy = Proxy(sqld.port)
    store = TursoJobStore(proxy.url, clock=wall, timeout=2.0)
    observer = TursoJobStore(sqld.url, clock=wall)
    try:
        job = await store.create("tone", max_attempts=1)
        proxy.hold("/v3/pipeline")
        with pytest.raises(StoreUnavailable):
            await store.claim("w-1")
        proxy.release()
        stranded = await observer.get(job.id)
        assert stranded is not None
        assert stranded.status is JobStatus.RUNNING
        claimed = await store.claim("w-1")
        assert claimed is not None
        assert claimed.job.id == job.id
        assert claimed.job.attempt == 1
        steps = [(h.to_status, h.reason) for h in await observer.history(job.id)]
        assert steps[2][0] == "pending"
        assert "answer was lost" in (steps[2][1] or "")
    finally:
        proxy.close()
        await store.aclose()
        await observer.aclose()


# -- the worker -------------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalJobStore]:
    s = LocalJobStore(tmp_path / "jobs.db", clock=trio_wall)
    yield s
    s.close()


async def returns(ctx: JobContext, payload: Any) -> Any:
    if payload["what"] == "surrogate":
        return {"file": SURROGATE}
    if payload["what"] == "deep":
        return nested(3000)
    raise RuntimeError(f"cannot open {SURROGATE}")


async def test_outcomes_that_cannot_be_stored_fail_the_job_without_crashing_the_worker(
    local: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A result or error the database cannot take ends the job failed, once, with a reason;
    no actor crashes and no attempt is refunded."""
    types = [JobType("returns", returns)]
    async with open_supervisor(local, types, config()) as sup:
        jobs = {
            w: await local.create("returns", {"what": w}) for w in ("surrogate", "deep", "raise")
        }
        with trio.fail_after(120):
            ended = {
                w: await wait_for_status(local, j.id, JobStatus.FAILED) for w, j in jobs.items()
            }
        assert sup.stats.counts == {}
    assert all(j.attempt == 1 for j in ended.values())
    assert "not valid Unicode" in (ended["surrogate"].error or "")
    assert "nested too deeply" in (ended["deep"].error or "")
    assert ended["raise"].error == "RuntimeError: cannot open take-\\udcff.wav"
    assert ended["raise"].error_kind == "permanent"


async def test_a_handler_that_blocks_the_loop_keeps_its_result(
    local: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A handler that blocks the event loop past the self-fence limit (but not past
    stale_after) still holds the lease: its result is recorded, on attempt 1."""
    cfg = config()

    async def blocker(ctx: JobContext, payload: Any) -> str:
        await ctx.set_stage("working", None)
        fast_clock.jump(cfg.fence_after + 2)  # sync I/O or CPU work: nothing else ran
        return "done"

    async with open_supervisor(local, [JobType("block", blocker, stages=("working",))], cfg):
        job = await local.create("block")
        with trio.fail_after(300):
            done = await wait_for_status(local, job.id, JobStatus.COMPLETED)
    assert (done.attempt, done.result) == (1, "done")


class AnswerLateThenCutOff(LocalJobStore):
    """The real store, behind a network that delivers one heartbeat's answer late and then
    loses the database altogether."""

    slow_for = 0.0
    down = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.landed: list[float] = []  # when each heartbeat's write reached the database

    async def heartbeat(self, lease: Lease) -> HeartbeatReply:
        if self.down:
            raise StoreUnavailable("cut off (test)")
        reply = await super().heartbeat(lease)  # the write lands now...
        self.landed.append(trio.current_time())
        if self.slow_for:
            await trio.sleep(self.slow_for)  # ...its answer arrives this much later
            self.slow_for, self.down = 0.0, True
        return reply


async def test_a_slow_heartbeat_answer_does_not_stretch_the_fence(
    tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    """The lease counts as confirmed when the heartbeat was sent, not when its answer came:
    after a late answer and an outage, the job is fenced fence_after after the last write
    the database recorded."""
    store = AnswerLateThenCutOff(tmp_path / "jobs.db", clock=trio_wall)
    cfg = config()
    fenced: list[float] = []

    async def hang(ctx: JobContext, payload: Any) -> None:
        await ctx.set_stage("working", None)
        store.slow_for = 2 * cfg.heartbeat_interval
        try:
            await trio.sleep_forever()
        finally:
            fenced.append(trio.current_time())

    try:
        async with open_supervisor(store, [JobType("hang", hang, stages=("working",))], cfg):
            job = await store.create("hang")
            with trio.fail_after(120):
                while not fenced:
                    await trio.sleep(0.5)
        assert store.landed, "no heartbeat landed"
        assert fenced[0] - store.landed[-1] <= cfg.fence_after + 0.1
        released = await store.get(job.id)
        assert released is not None
        assert released.status is JobStatus.PENDING
    finally:
        store.close()


async def _child_killed_while_starved(
    local: LocalJobStore, clock: trio.testing.MockClock, *, locked: bool
) -> tuple[Job, list[int]]:
    """Run a job whose child the sentinel kills while the worker's loop is starved past the
    sentinel's limit (a loaded machine), with another process holding the SQLite write lock
    meanwhile (``locked``: a heartbeat waits on it) or not. The lock clears before the loop
    runs again, so the heartbeat lands (confirming the lease as of its sending) before the
    fence looks. The handler reports the child's death as a transient error; a later run
    completes. Returns the job as it ended and the attempt of each run."""
    cfg = config()
    runs: list[int] = []

    async def killed(ctx: JobContext, payload: Any) -> str:
        runs.append(ctx.job.attempt)
        if len(runs) > 1:
            return "done"
        await ctx.set_stage("working", None)
        argv = ["sleep", "60"]
        async with ctx.open_child(argv, capture_stdout=False, capture_stderr=False) as child:
            locker = sqlite3.connect(local.path, timeout=0, isolation_level=None)
            try:
                if locked:
                    locker.execute("BEGIN IMMEDIATE")  # another process's write lock
                await trio.sleep(cfg.heartbeat_interval * 1.5)  # a heartbeat waits on it
                clock.jump(cfg.sentinel_after + 0.5)  # the loop starved: nothing ran
                os.kill(child.pid, signal.SIGKILL)  # what the sentinel does meanwhile
                if locked:
                    locker.execute("ROLLBACK")  # the lock clears before the loop runs again
            finally:
                locker.close()
            status = await child.wait()
        raise TransientError(f"child killed by signal {-status}")

    types = [JobType("starved", killed, stages=("working",))]
    async with open_supervisor(local, types, cfg):
        job = await local.create("starved", max_attempts=1)
        with trio.fail_after(300):
            ended = await local.get(job.id)
            while ended is not None and ended.status not in TERMINAL:
                await trio.sleep(0.5)
                ended = await local.get(job.id)
    assert ended is not None
    return ended, runs


async def test_a_child_killed_while_the_database_was_locked_is_not_charged(
    local: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """The child's death is the outage's doing: released uncharged and run again, not a
    charged failure (found by the soak, seed 815049860: ``charged_child_kill``)."""
    ended, runs = await _child_killed_while_starved(local, fast_clock, locked=True)
    assert (ended.status, ended.error) == (JobStatus.COMPLETED, None)
    assert runs == [1, 1]


async def test_a_child_killed_while_the_loop_starved_alone_is_charged(
    local: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """With the database answering all along, the starved loop was the handler's doing:
    the child's death is the job's failure, charged."""
    ended, runs = await _child_killed_while_starved(local, fast_clock, locked=False)
    assert (ended.status, ended.error) == (JobStatus.FAILED, "child killed by signal 9")
    assert runs == [1]


def test_arming_the_sentinel_does_not_restart_its_silence_clock() -> None:
    """A child armed after the last beat is killed sentinel_after from that beat, not from
    the arming (a worker frozen right after starting a stage's child is not killed late)."""
    sentinel = Sentinel()
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        sentinel.beat()
        beat_at = time.monotonic()
        time.sleep(0.6)
        sentinel.arm(child.pid, 1.0)
        child.wait(timeout=5)
        assert time.monotonic() - beat_at < 1.0 + 0.35
    finally:
        child.kill()
        child.wait()
        sentinel.close()


async def test_a_gated_child_runs_its_program_only_once_released(tmp_path: Path) -> None:
    """A gated child exists (pid, group) but its program waits for release(); a program
    that does not exist is still a FileNotFoundError at the start."""
    marker = tmp_path / "ran"
    argv = ["sh", "-c", f'echo "$$" > {marker}']
    async with open_child(argv, kill_grace=1.0, gated=True) as child:
        assert child.held
        await trio.sleep(0.3)
        assert not marker.exists()
        child.release()
        assert not child.held
        assert await child.wait() == 0
    assert marker.read_text().strip() == str(child.pid)  # exec'd in place: same process
    async with open_child(["sleep", "30"], kill_grace=1.0, gated=True) as held:
        pass  # never released: stopped and reaped all the same
    assert held.returncode == -signal.SIGTERM
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with pytest.raises(FileNotFoundError):
            async with open_child(["no-such-program-xyz"], kill_grace=1.0, gated=True):
                pass
    assert len(os.listdir("/proc/self/fd")) == fds  # no pipe left open


async def test_a_child_never_runs_before_the_sentinel_guards_it(
    local: LocalJobStore, tmp_path: Path
) -> None:
    """A child is held until the sentinel is armed, and let run only while the lease is
    fresh enough for the sentinel to guard it. Here the worker froze (a blocked loop) past
    the sentinel's limit just before starting a child, and the sentinel is slow to act
    (stopped): the program must never run, since another worker may hold the job by now."""
    marker = tmp_path / "ran"
    cfg = config(heartbeat_interval=1.0, stale_after=4.0, kill_grace=0.5, poll_interval=0.1)
    seen: list[int] = []
    sentinel_pid: list[int] = []

    async def late_child(ctx: JobContext, payload: Any) -> str:
        time.sleep(cfg.sentinel_after + 0.2)  # noqa: ASYNC251 -- frozen: no beat is sent
        os.kill(sentinel_pid[0], signal.SIGSTOP)
        try:
            argv = ["sh", "-c", f"echo ran > {marker}; sleep 1"]
            async with ctx.open_child(argv, capture_stdout=False, capture_stderr=False) as c:
                seen.append(await c.wait())
        finally:
            os.kill(sentinel_pid[0], signal.SIGCONT)
        return "done"

    async with open_supervisor(local, [JobType("late", late_child)], cfg) as sup:
        sentinel_pid.append(sup.sentinel.pid)
        await local.create("late", max_attempts=1)
        with trio.fail_after(20):
            while not seen:
                await trio.sleep(0.1)
    assert seen == [-signal.SIGKILL]
    assert not marker.exists(), "the child ran while nothing guarded it"


async def test_a_background_process_of_a_child_does_not_outlive_the_job(
    local: LocalJobStore, tmp_path: Path
) -> None:
    """A child that leaves a background process in its group and exits: the job's end
    kills the whole group."""
    pidfile = tmp_path / "bg.pid"

    async def spawner(ctx: JobContext, payload: Any) -> str:
        argv = ["sh", "-c", f"sleep 60 & echo $! > {pidfile}"]
        async with ctx.open_child(argv, capture_stdout=False, capture_stderr=False) as child:
            await child.wait()
        return "done"

    cfg = config(heartbeat_interval=0.2, stale_after=3.0, poll_interval=0.1, reaper_interval=1)
    async with open_supervisor(local, [JobType("spawn", spawner)], cfg):
        job = await local.create("spawn")
        with trio.fail_after(10):
            await wait_for_status(local, job.id, JobStatus.COMPLETED)
    background = int(pidfile.read_text())
    with trio.fail_after(2):
        while pid_alive(background):
            await trio.sleep(0.02)


async def test_children_and_the_sentinel_never_see_the_token(
    local: LocalJobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TURSO_AUTH_TOKEN and the AWS secrets are removed from the environment of every
    process the worker starts."""
    monkeypatch.setenv("TURSO_AUTH_TOKEN", "tok-SECRET-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-SECRET-env")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "aws-SECRET-session")
    seen = tmp_path / "env.txt"

    async def dump_env(ctx: JobContext, payload: Any) -> str:
        async with ctx.open_child(["sh", "-c", f"env > {seen}"], capture_stdout=False) as child:
            await child.wait()
        return "done"

    cfg = config(heartbeat_interval=0.2, stale_after=3.0, poll_interval=0.1, reaper_interval=1)
    async with open_supervisor(local, [JobType("env", dump_env)], cfg) as sup:
        job = await local.create("env")
        with trio.fail_after(10):
            await wait_for_status(local, job.id, JobStatus.COMPLETED)
        sentinel_env = Path(f"/proc/{sup.sentinel.pid}/environ").read_bytes()
    assert "PATH=" in seen.read_text()
    assert "SECRET-" not in seen.read_text()
    assert b"PATH=" in sentinel_env
    assert b"SECRET-" not in sentinel_env


async def test_a_caller_cancelled_while_queued_sends_nothing(tmp_path: Path) -> None:
    """Only the call in flight is shielded: a claim cancelled while it waits behind another
    call never runs (it neither claims a job nor has to give one back)."""
    path = tmp_path / "jobs.db"
    store = LocalJobStore(path)
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        job = await store.create("tone")
        locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.create, "tone")  # in flight, waiting for the lock
            await trio.sleep(0.2)
            with trio.move_on_after(0.3):
                await store.claim("w")
            locker.execute("COMMIT")
        assert [h.to_status for h in await store.history(job.id)] == ["pending"]
        row = await store.get(job.id)
        assert row is not None
        assert (row.status, row.attempt) == (JobStatus.PENDING, 0)
    finally:
        locker.close()
        store.close()


# -- found by the soak (benchmarks/soak.py) ------------------------------------------------


class CompleteFailsFor(LocalJobStore):
    """The real store, behind a network that loses every outcome write for a while."""

    down_until = 0.0

    async def complete_and_claim(self, *args: Any, **kwargs: Any) -> Any:
        if trio.current_time() < self.down_until:
            raise StoreUnavailable("cut off (test)")
        return await super().complete_and_claim(*args, **kwargs)


async def test_an_outcome_is_recorded_after_an_outage_longer_than_the_fence(
    tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    """A finished job whose outcome cannot be written for longer than fence_after (but
    less than stale_after) is recorded once the database answers: completed on attempt 1,
    not thrown away for the reaper to charge."""
    store = CompleteFailsFor(tmp_path / "jobs.db", clock=trio_wall)
    cfg = config()
    try:
        async with open_supervisor(store, [JobType("quick", returns_ok)], cfg):
            store.down_until = trio.current_time() + cfg.fence_after + 3
            job = await store.create("quick")
            with trio.fail_after(120):
                done = await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.5)
        assert (done.attempt, done.result) == (1, "ok")
        assert [h.to_status for h in await store.history(job.id)].count("running") == 1
    finally:
        store.close()


async def returns_ok(ctx: JobContext, payload: Any) -> str:
    return "ok"


async def test_a_release_after_the_job_was_reaped_is_refused(
    store: JobStore, wall: WallClock
) -> None:
    """A worker's release that comes after another worker reaped its job is LeaseLost,
    not taken for a retry of its own release (the reap charged the attempt)."""
    await store.create("tone")
    claimed = await store.claim("w-1")
    assert claimed is not None
    wall.advance(100)
    (reaped,) = await store.reap(60)
    assert reaped.status is JobStatus.PENDING
    with pytest.raises(LeaseLost, match="reaped"):
        await store.release(claimed.lease, "shutdown")


class TypesFailFirst(LocalJobStore):
    """The real store; the database goes away just as the worker registers its types."""

    failures = 2

    async def register_types(self, types: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("gone for a moment (test)")
        await super().register_types(types)


async def test_a_worker_starts_when_the_database_blinks_at_registration(
    tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    """The database going away between the start-up check and the registration of job
    types delays the worker's start; it does not crash it."""
    store = TypesFailFirst(tmp_path / "jobs.db", clock=trio_wall)
    try:
        async with open_supervisor(store, [JobType("quick", returns_ok)], config()):
            job = await store.create("quick")
            with trio.fail_after(60):
                await wait_for_status(store, job.id, JobStatus.COMPLETED)
        assert (await store.types())[0].name == "quick"
    finally:
        store.close()


# -- found by an independent review ---------------------------------------------------------


class CrashAtClaim(LocalJobStore):
    """The real store; ``hook`` runs the moment a claim returns a job."""

    hook: Any = None

    async def claim(self, worker_id: str, *, types: Any = None) -> Any:
        claimed = await super().claim(worker_id, types=types)
        if claimed is not None and self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return claimed


async def test_a_job_handed_over_as_the_executor_crashes_is_not_stranded(
    tmp_path: Path,
) -> None:
    """The executor crashing in the instant the poller hands it a job: the job is run or
    given back, never left running under nobody."""

    async def quick(ctx: JobContext, payload: Any) -> str:
        return "ok"

    for attempt in range(5):
        store = CrashAtClaim(tmp_path / f"jobs-{attempt}.db")
        try:
            cfg = config(poll_interval=0.05, max_poll_interval=0.05)
            async with open_supervisor(store, [JobType("quick", quick)], cfg) as sup:
                await trio.sleep(0.1)
                store.hook = lambda sup=sup: sup.crash("executor")
                job = await store.create("quick")
                with trio.fail_after(10):
                    done = await wait_for_status(store, job.id, JobStatus.COMPLETED)
            assert done.attempt == 1
        finally:
            store.close()


async def test_a_handler_failing_while_it_times_out_is_charged_not_looped(
    tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    """A handler whose cleanup raises while its timeout cancels it: the run ends as a
    timeout (charged), the executor does not crash, and the job does not run again for
    free."""
    runs: list[int] = []

    async def messy(ctx: JobContext, payload: Any) -> None:
        runs.append(ctx.job.attempt)

        async def cleanup() -> None:
            try:
                await trio.sleep_forever()
            finally:
                raise RuntimeError("flush on cancel failed")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(cleanup)
            await trio.sleep_forever()

    store = LocalJobStore(tmp_path / "jobs.db", clock=trio_wall)
    try:
        types = [JobType("messy", messy, timeout=1, max_attempts=1)]
        async with open_supervisor(store, types, config()) as sup:
            job = await store.create("messy")
            with trio.fail_after(60):
                failed = await wait_for_status(store, job.id, JobStatus.FAILED)
            assert sup.stats.counts == {}
        assert runs == [1]
        assert failed.error_kind == "timeout"
    finally:
        store.close()


async def test_a_handler_calling_sys_exit_fails_its_job(
    local: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """sys.exit() in a handler is the handler's failure (permanent), not the worker's."""

    async def exits(ctx: JobContext, payload: Any) -> None:
        raise SystemExit(3)

    async with open_supervisor(local, [JobType("exits", exits)], config()) as sup:
        job = await local.create("exits")
        with trio.fail_after(60):
            failed = await wait_for_status(local, job.id, JobStatus.FAILED)
        assert sup.stats.counts == {}
    assert failed.attempt == 1
    assert "SystemExit" in (failed.error or "")


class LoseCompletionAnswerThenARead(LocalJobStore):
    """The real store behind a network that loses the answer of one committed
    complete-and-claim, then one read (fault injection at the transport boundary)."""

    lose_answer = True
    fail_read = False

    async def _call(self, ops: Any) -> Any:
        sqls = [sql for sql, _ in ops]
        if self.lose_answer and SQL[Q.COMPLETE] in sqls and len(sqls) == 2:
            self.lose_answer = False
            await super()._call(ops)  # committed...
            self.fail_read = True
            raise StoreUnavailable("the answer was lost (test)")  # ...answer lost
        if self.fail_read and sqls == [SQL[Q.GET]]:
            self.fail_read = False
            raise StoreUnavailable("a read failed in the same blip (test)")
        return await super()._call(ops)


async def test_a_job_claimed_beside_a_completion_is_never_stranded(
    tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    """A completion whose answer is lost and whose retry's follow-up read fails: the job
    claimed beside it is given back (uncharged) and every job runs exactly once."""
    store = LoseCompletionAnswerThenARead(tmp_path / "jobs.db", clock=trio_wall)
    runs: list[int] = []

    async def quick(ctx: JobContext, payload: Any) -> str:
        runs.append(ctx.job.id)
        return "ok"

    observer = LocalJobStore(tmp_path / "jobs.db", clock=trio_wall)
    try:
        jobs = [await observer.create("quick") for _ in range(3)]
        async with open_supervisor(store, [JobType("quick", quick)], config()):
            with trio.fail_after(120):
                for job in jobs:
                    await wait_for_status(observer, job.id, JobStatus.COMPLETED)
        assert sorted(runs) == [j.id for j in jobs]
        attempts = [(await observer.get(j.id)).attempt for j in jobs]  # type: ignore[union-attr]
        assert attempts == [1, 1, 1]
    finally:
        store.close()
        observer.close()


@pytest.mark.sqld
async def test_two_tasks_recovering_claims_at_once_do_not_crash(sqld: SqldServer) -> None:
    """Two claims through one Turso store while claims of unknown outcome await recovery:
    each is given back once, and neither claim fails."""
    store = TursoJobStore(sqld.url, timeout=5.0)
    try:
        a, b, c = await store.create_many("tone", [{}, {}, {}])
        for _ in range(2):
            assert await store.claim("w1") is not None
        tokens = [(await store._one(stmt.get(p_id=j.id)))[0]["claim_token"] for j in (a, b)]
        store._in_doubt += [("w1", token) for token in tokens]  # their answers were "lost"
        got: list[Any] = []
        async with trio.open_nursery() as nursery:
            for _ in range(2):
                nursery.start_soon(lambda: _append(got, store.claim("w1")))
        assert len(got) == 2
        assert all(x is not None for x in got)
        assert store._in_doubt == []
        for job in (a, b, c):
            row = await store.get(job.id)
            assert row is not None
            assert row.attempt <= 1
    finally:
        await store.aclose()


async def _append(into: list[Any], call: Any) -> None:
    into.append(await call)
