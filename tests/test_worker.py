"""The worker in-process: outcomes, retries, timeouts, cancellation, leases, shutdown.

Time is Trio's MockClock (autojump) wherever no real child process runs; the store's wall
clock follows it, so heartbeats, staleness and timeouts are deterministic and instant.
"""

from __future__ import annotations

import math
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from actors import JobContext, JobType
from media_jobs_testing.helpers import FAST, pid_alive, trio_wall, wait_for_status
from media_jobs_testing.helpers import fast_config as config
from stores import JobStatus, LocalJobStore
from supervisor import Event, JobClaimed, JobCompleted, open_supervisor
from supervisor._metrics import Metrics
from supervisor.reference import JOB_TYPES

pytestmark = pytest.mark.store(backends=("local",), clock="trio")


async def hang(ctx: JobContext, payload: Any) -> None:
    await ctx.set_stage("working", None)
    await trio.sleep_forever()


async def progress_storm(ctx: JobContext, payload: Any) -> str:
    await ctx.set_stage("working", 0)
    for i in range(1, 101):
        for _ in range(10):  # ten reports per 10 ms: a thousand a second
            await ctx.set_progress(i - 1 + _ / 10)
        await trio.sleep(0.01)
        await ctx.set_progress(i)
    return "done"


async def flaky(ctx: JobContext, payload: Any) -> str:
    if ctx.job.attempt < payload.get("succeed_on", 99):
        raise ConnectionResetError("connection reset by peer")
    return "ok"


async def buggy(ctx: JobContext, payload: Any) -> None:
    raise RuntimeError("handler bug")


TYPES = {
    t.name: t
    for t in (
        *JOB_TYPES,
        JobType("hang", hang, stages=("working",), timeout=30),
        JobType("storm", progress_storm, stages=("working",)),
        JobType("flaky", flaky),
        JobType("buggy", buggy),
    )
}


def with_recorded_flaky(calls: list[int]) -> dict[str, JobType]:
    """TYPES, with a ``flaky`` that appends to ``calls`` the attempt of each run."""

    async def recorded(ctx: JobContext, payload: Any) -> str:
        calls.append(ctx.job.attempt)
        return await flaky(ctx, payload)

    return {**TYPES, "flaky": JobType("flaky", recorded)}


async def test_a_job_runs_to_completion_with_real_progress(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A submitted job is picked up at once in-process, reports progress and completes."""
    async with open_supervisor(store, TYPES, config()):
        await trio.sleep(3)  # the poller is idle, backing off
        job = await store.create("sleep", {"seconds": 4, "steps": 4})
        done = await wait_for_status(store, job.id, JobStatus.COMPLETED)
    created, started = (await store.history(job.id))[:2]
    assert started.to_status == "running"
    assert started.at - created.at < 0.01  # woken at once, not a poll interval later
    assert done.result == {"slept": 4.0}
    assert done.progress == 100.0
    assert done.stage == "sleeping"
    view = await store.poll(job.id)
    assert view.stages == ("sleeping",)


async def test_progress_writes_are_throttled_but_keep_first_and_last(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """1100 reports in 1 s cost a few writes (one per progress_interval); 100% is written."""
    writes: list[float | None] = []
    original = store.update

    async def counting_update(lease: Any, *, stage: Any, progress: Any, **more: Any) -> Any:
        writes.append(progress)
        return await original(lease, stage=stage, progress=progress, **more)

    store.update = counting_update  # type: ignore[method-assign]
    async with open_supervisor(store, TYPES, config()):
        job = await store.create("storm")
        done = await wait_for_status(store, job.id, JobStatus.COMPLETED)
    assert done.progress == 100.0
    assert writes[0] == 0
    assert writes[-1] == 100.0
    assert len(writes) <= 1 + math.ceil(1.0 / FAST["progress_interval"]) + 2, writes


async def test_transient_failure_is_retried_once(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A network error is transient: the job runs again, then succeeds."""
    calls: list[int] = []
    async with open_supervisor(store, with_recorded_flaky(calls), config()):
        job = await store.create("flaky", {"succeed_on": 2})
        done = await wait_for_status(store, job.id, JobStatus.COMPLETED)
    assert calls == [1, 2]
    assert done.attempt == 2
    assert done.result == "ok"


async def test_transient_failure_without_attempts_left_fails(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """After the retry, a second transient failure fails the job with the handler's text."""
    calls: list[int] = []
    async with open_supervisor(store, with_recorded_flaky(calls), config()):
        job = await store.create("flaky")
        failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert calls == [1, 2]
    assert (failed.error, failed.error_kind) == (
        "ConnectionResetError: connection reset by peer",
        "transient",
    )


async def test_permanent_and_unclassified_errors_fail_at_once(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """PermanentError and a handler bug both fail on the first attempt, with the message."""
    async with open_supervisor(store, TYPES, config()):
        bad = await store.create("fail", {"kind": "permanent", "message": "unsupported format"})
        bug = await store.create("buggy")
        f1 = await wait_for_status(store, bad.id, JobStatus.FAILED)
        f2 = await wait_for_status(store, bug.id, JobStatus.FAILED)
    assert (f1.attempt, f1.error, f1.error_kind) == (1, "unsupported format", "permanent")
    assert (f2.attempt, f2.error, f2.error_kind) == (1, "RuntimeError: handler bug", "permanent")


async def test_timeout_is_transient_and_names_the_limit(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A job over its type's timeout is stopped, retried once, then failed as `timeout`."""
    async with open_supervisor(store, TYPES, config()):
        job = await store.create("hang")
        failed = await wait_for_status(store, job.id, JobStatus.FAILED, poll=1.0)
    assert failed.attempt == 2
    assert failed.error_kind == "timeout"
    assert failed.error == "timeout: exceeded the 30 s limit of job type 'hang'"
    reasons = [h.reason for h in await store.history(job.id)]
    retried = [r for r in reasons if r.startswith("will retry in ")]
    assert [r.split(" s: ", 1)[1] for r in retried] == [
        "timeout: exceeded the 30 s limit of job type 'hang'"
    ]


async def test_cancel_reaches_a_running_job_within_one_heartbeat(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """cancel() from outside: the handler is stopped within a heartbeat interval, then the
    row is written cancelled."""
    async with open_supervisor(store, TYPES, config()):
        job = await store.create("hang")
        await wait_for_status(store, job.id, JobStatus.RUNNING)
        requested_at = trio.current_time()
        await store.cancel(job.id)
        cancelled = await wait_for_status(store, job.id, JobStatus.CANCELLED)
        assert trio.current_time() - requested_at <= FAST["heartbeat_interval"] + 0.01
    assert cancelled.cancel_requested
    assert cancelled.error is None


async def test_cancel_kills_a_real_child_before_the_row_says_cancelled(
    store: LocalJobStore,
) -> None:
    """With a real child process: SIGTERM, reaped, and only then the row is cancelled."""
    async with open_supervisor(store, TYPES, config(heartbeat_interval=0.2)):
        job = await store.create("child", {"seconds": 60})
        running = await wait_for_child(store, job.id)
        await store.cancel(job.id)
        with trio.fail_after(5):
            cancelled = await wait_for_status(store, job.id, JobStatus.CANCELLED)
        assert not pid_alive(running.child_pid)
    assert cancelled.status is JobStatus.CANCELLED
    steps = [h.to_status for h in await store.history(job.id)]
    assert steps == ["pending", "running", "running", "cancelled"]


async def wait_for_child(store: LocalJobStore, job_id: int) -> Any:
    with trio.fail_after(10):
        while True:
            job = await store.get(job_id)
            if job is not None and job.child_pid:
                return job
            await trio.sleep(0.02)


async def test_a_lost_lease_stops_the_job_and_writes_nothing(
    store: LocalJobStore, fast_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """If another worker reaped and re-claimed the job, this worker stops it and its late
    writes change nothing."""
    other = LocalJobStore(store.path, clock=lambda: trio_wall() + 1000)  # a clock far ahead
    async with open_supervisor(store, TYPES, config()) as sup:
        job = await store.create("hang")
        await wait_for_status(store, job.id, JobStatus.RUNNING)
        (reaped,) = await other.reap(60)
        assert reaped.status is JobStatus.PENDING
        stolen = await other.claim("w-other")
        assert stolen is not None
        assert stolen.job.id == job.id
        with trio.fail_after(FAST["heartbeat_interval"] * 2):
            while sup.slot.current is not None:
                await sup.slot.changed.wait()
    row = await store.get(job.id)
    assert row is not None
    assert row.status is JobStatus.RUNNING
    assert row.worker_id == "w-other"
    other.close()


async def test_shutdown_lets_a_short_job_finish(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """Within the shutdown grace, the running job completes; nothing new is claimed."""
    async with open_supervisor(store, TYPES, config()) as sup:
        job = await store.create("sleep", {"seconds": 5, "steps": 5})
        later = await store.create("sleep", {"seconds": 1})
        await wait_for_status(store, job.id, JobStatus.RUNNING)
        await sup.stop()
    assert (await store.get(job.id)).status is JobStatus.COMPLETED  # type: ignore[union-attr]
    assert (await store.get(later.id)).status is JobStatus.PENDING  # type: ignore[union-attr]


async def test_shutdown_releases_a_long_job_without_charging_an_attempt(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """Past the grace the job is stopped and put back to pending, attempt refunded."""
    async with open_supervisor(store, TYPES, config()) as sup:
        job = await store.create("hang")
        await wait_for_status(store, job.id, JobStatus.RUNNING)
        before = trio.current_time()
        await sup.stop()
        assert trio.current_time() - before == pytest.approx(FAST["shutdown_grace"], abs=0.1)
    row = await store.get(job.id)
    assert row is not None
    assert row.status is JobStatus.PENDING
    assert row.attempt == 0
    assert [h.reason for h in await store.history(job.id)][-1].startswith("released: shutdown")


async def test_a_cancel_through_the_workers_own_store_stops_the_job_at_once(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A cancel made through the store object the worker uses (an API in the same process)
    stops the job without waiting for any check."""
    async with open_supervisor(store, TYPES, config(cancel_check_interval=30)):
        job = await store.create("hang")
        await wait_for_status(store, job.id, JobStatus.RUNNING)
        requested_at = trio.current_time()
        await store.cancel(job.id)
        await wait_for_status(store, job.id, JobStatus.CANCELLED, poll=0.001)
        assert trio.current_time() - requested_at < 0.05


async def test_a_cancel_from_another_process_is_seen_within_the_check_interval(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A cancel written by another process (another store object) is read within
    cancel_check_interval, well before the next heartbeat."""
    other = LocalJobStore(store.path, clock=trio_wall)
    try:
        async with open_supervisor(store, TYPES, config(cancel_check_interval=0.5)):
            job = await store.create("hang")
            await wait_for_status(store, job.id, JobStatus.RUNNING)
            requested_at = trio.current_time()
            await other.cancel(job.id)
            await wait_for_status(store, job.id, JobStatus.CANCELLED, poll=0.01)
            assert trio.current_time() - requested_at <= 0.5 + 0.05
    finally:
        other.close()


async def test_the_worker_prunes_finished_jobs_past_their_retention(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A finished job older than its retention is deleted by a running worker's reaper
    within a prune interval; a failed one is kept longer, by its own retention."""
    cfg = config(retain_completed=100, retain_failed=1000, prune_interval=30)
    async with open_supervisor(store, TYPES, cfg):
        ok = await store.create("sleep", {"seconds": 0.1})
        bad = await store.create("fail", {"message": "no"})
        await wait_for_status(store, ok.id, JobStatus.COMPLETED)
        await wait_for_status(store, bad.id, JobStatus.FAILED)
        await trio.sleep(100 + 30 + 1)
        assert await store.get(ok.id) is None
        assert await store.get(bad.id) is not None


async def test_observers_receive_the_workers_typed_events(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """open_supervisor(observers=...) hears every claim, recorded progress, outcome
    (completed, retried, failed, cancelled, released), reap and actor crash and restart."""
    seen: list[Event] = []
    elsewhere = LocalJobStore(store.path, clock=trio_wall)  # a worker that then dies
    try:
        async with open_supervisor(store, TYPES, config(), observers=[seen.append]) as sup:
            ok = await store.create("sleep", {"seconds": 1, "steps": 2})
            flaky_job = await store.create("flaky")
            await wait_for_status(store, ok.id, JobStatus.COMPLETED)
            await wait_for_status(store, flaky_job.id, JobStatus.FAILED)
            hung = await store.create("hang")
            await wait_for_status(store, hung.id, JobStatus.RUNNING)
            await store.cancel(hung.id)
            await wait_for_status(store, hung.id, JobStatus.CANCELLED)
            sup.crash("reaper")
            orphan = await elsewhere.create("sleep", {"seconds": 0.1})
            assert await elsewhere.claim("w-dead") is not None
            await wait_for_status(store, orphan.id, JobStatus.COMPLETED, poll=1.0)
            last = await store.create("hang")
            await wait_for_status(store, last.id, JobStatus.RUNNING)
    finally:
        elsewhere.close()
    kinds = [type(e).__name__ for e in seen]
    for kind in (
        "JobClaimed",
        "JobProgress",
        "JobCompleted",
        "JobRetried",
        "JobFailed",
        "JobCancelled",
        "ActorCrash",
        "ActorRestart",
        "JobReaped",
        "JobReleased",
    ):
        assert kind in kinds, (kind, kinds)
    done = next(e for e in seen if isinstance(e, JobCompleted))
    assert done.job_id == ok.id
    assert done.duration == pytest.approx(1.0, abs=0.1)
    claimed = next(e for e in seen if isinstance(e, JobClaimed) and e.job_id == ok.id)
    assert claimed.queue_wait < 0.01


async def test_a_starting_worker_kills_a_leftover_child_of_a_dead_worker(
    tmp_path: Path,
) -> None:
    """A child recorded on this host whose worker is gone (its job stale) and which is still
    that process is killed when a worker starts; the child of a live job is left alone."""
    path = tmp_path / "jobs.db"
    past = LocalJobStore(path, clock=lambda: time.time() - 600)  # a worker long silent
    now = LocalJobStore(path)
    host = socket.gethostname()
    orphan = subprocess.Popen(["sleep", "60"], start_new_session=True)
    kept = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        await past.create("hang")
        dead = await past.claim("w-dead")
        assert dead is not None
        await past.record_child(dead.lease, pid=orphan.pid, host=host, started=time.time())
        await now.create("hang")
        alive = await now.claim("w-alive")
        assert alive is not None
        await now.record_child(alive.lease, pid=kept.pid, host=host, started=time.time())
        async with open_supervisor(now, TYPES, config(poll_interval=30, max_poll_interval=30)):
            with trio.fail_after(5):
                while orphan.poll() is None:
                    await trio.sleep(0.02)
            assert kept.poll() is None
        assert orphan.returncode == -signal.SIGKILL
        row = await now.get(dead.job.id)
        assert row is not None
        assert row.child_pid is None
    finally:
        for proc in (orphan, kept):
            proc.kill()
            proc.wait()
        past.close()
        now.close()


async def test_metrics_count_runs_and_read_job_counts_at_scrape(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """The metrics observer counts runs by type and outcome, run and queue-wait times and
    store calls; a scrape reads job counts by status from the store; no job id is a label."""
    metrics = Metrics()
    metrics.watch_store(store)
    async with open_supervisor(store, TYPES, config(), observers=[metrics.observe]) as sup:
        metrics.attach(sup)
        ok = await store.create("sleep", {"seconds": 1, "steps": 1})
        bad = await store.create("fail", {"message": "no"})
        await wait_for_status(store, ok.id, JobStatus.COMPLETED)
        await wait_for_status(store, bad.id, JobStatus.FAILED)
        await store.create("hang")
        await trio.sleep(3)
        text = (await metrics.render(store)).decode()
    assert 'media_jobs_runs_total{outcome="completed",type="sleep"} 1.0' in text
    assert 'media_jobs_runs_total{outcome="failed",type="fail"} 1.0' in text
    assert 'media_jobs_jobs{status="running"} 1.0' in text
    assert 'media_jobs_jobs{status="completed"} 1.0' in text
    assert 'media_jobs_run_duration_seconds_count{type="sleep"} 1.0' in text
    assert "media_jobs_store_call_seconds_count" in text
    assert "media_jobs_store_up 1.0" in text
    age = next(line for line in text.splitlines() if line.startswith("media_jobs_heartbeat_age"))
    assert 0 <= float(age.split()[1]) <= FAST["heartbeat_interval"]
    assert f'"{ok.id}"' not in text
    assert "job_id" not in text


async def wavering(ctx: JobContext, payload: Any) -> None:
    """Reports that step back within a stage, then a new stage that starts lower."""
    await ctx.set_stage("measuring", 10)
    for percent in payload["reports"]:
        await ctx.set_progress(percent)
        await trio.sleep(1)  # past the throttle: every report is offered to the store
    await ctx.set_stage("encoding", 20)
    await trio.sleep(1)
    await ctx.set_stage("encoding", 5)


async def not_a_number(ctx: JobContext, payload: Any) -> None:
    await ctx.set_stage("measuring", 0)
    await ctx.set_progress(float(payload["value"]))


STEPPING = (
    JobType("wavering", wavering, stages=("measuring", "encoding")),
    JobType("nan", not_a_number, stages=("measuring",)),
)


async def test_progress_never_steps_back_within_a_stage(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A lower report than one already made in the stage keeps the higher one (ffmpeg's
    clock steps back near the end of an encode); a new stage starts afresh."""
    writes: list[tuple[str | None, float | None]] = []
    original = store.update

    async def recording(lease: Any, *, stage: Any, progress: Any, **more: Any) -> Any:
        writes.append((stage, progress))
        return await original(lease, stage=stage, progress=progress, **more)

    store.update = recording  # type: ignore[method-assign]
    async with open_supervisor(store, STEPPING, config()):
        job = await store.create("wavering", {"reports": [50, 30, None, 45, 94.9, 86.8, 99]})
        await wait_for_status(store, job.id, JobStatus.COMPLETED)
    measured = [p for stage, p in writes if stage == "measuring"]
    # A report kept at the higher value has not moved: it is not written again.
    assert measured == [10, 50, None, 50, 94.9, 99]
    assert [p for stage, p in writes if stage == "encoding"] == [20]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
async def test_a_progress_that_is_not_a_number_is_refused(
    store: LocalJobStore, fast_clock: trio.testing.MockClock, value: str
) -> None:
    """NaN or infinity from a handler is its bug: the job fails with a ValueError naming
    the value, never shown as a measured percentage."""
    async with open_supervisor(store, STEPPING, config()):
        job = await store.create("nan", {"value": value})
        failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert failed.error_kind == "permanent"
    assert f"got {float(value)!r}" in (failed.error or "")
    assert "progress must be a finite number from 0 to 100, or None" in (failed.error or "")
    assert failed.progress == 0


def plain_handler(ctx: JobContext, payload: Any) -> str:
    return "never awaited"


class CallableHandler:
    async def __call__(self, ctx: JobContext, payload: Any) -> str:
        return "ok"


def test_a_plain_def_handler_is_refused_where_the_type_is_defined() -> None:
    """`JobType` refuses a handler that is not `async def`, naming the type and the fix."""
    with pytest.raises(ValueError, match=r"job type 'plain': its handler .*plain_handler is a"):
        JobType("plain", plain_handler)  # type: ignore[arg-type]


def test_a_stage_listed_twice_is_refused() -> None:
    """A stage list with a repeated name is refused where the type is defined."""
    with pytest.raises(ValueError, match=r"stage 'one' is listed twice"):
        JobType("st", hang, stages=("one", "two", "one"))


def test_an_example_its_own_type_refuses_is_refused_where_the_type_is_defined() -> None:
    """A job type's example payload must be JSON its own ``validate`` accepts."""

    def positive(payload: Any) -> None:
        if payload.get("n", 0) < 1:
            raise ValueError("'n' must be at least 1")

    assert JobType("ok", hang, validate=positive, example={"n": 2}).info().example == {"n": 2}
    with pytest.raises(ValueError, match=r"job type 'ex': its own validate refuses its example"):
        JobType("ex", hang, validate=positive, example={"n": 0})
    with pytest.raises(ValueError, match=r"job type 'nan': its example is not JSON"):
        JobType("nan", hang, example={"n": float("nan")})


def test_async_callables_and_partials_are_handlers() -> None:
    """An object with an `async def __call__`, or a partial of an async function, is a
    handler like any other."""
    import functools

    kinds = [CallableHandler(), functools.partial(flaky)]
    assert [JobType("t", kind).handler for kind in kinds] == kinds


async def test_two_job_types_of_one_name_are_refused_before_the_worker_starts(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """`open_supervisor` with two types of one name raises before anything runs."""
    twice = [JobType("same", hang), JobType("same", flaky)]
    with pytest.raises(ValueError, match=r"two job types are named 'same' \(.*hang and .*flaky\)"):
        async with open_supervisor(store, twice, config()):
            pass  # pragma: no cover
    assert await store.types() == []


@pytest.mark.parametrize(
    ("type_", "payload", "error"),
    [
        (
            "tone",
            {"seconds": True},
            "payload 'seconds' must be a number above 0 and up to 3600, got true (a boolean)",
        ),
        (
            "tone",
            {"secs": 5},
            "payload key 'secs' is not one 'tone' takes: format, frequency, output, realtime, "
            "seconds",
        ),
        (
            "tone",
            {"frequency": "440"},
            "payload 'frequency' must be a number from 20 to 20000, got \"440\" (a string)",
        ),
        ("tone", {"realtime": 1}, "payload 'realtime' must be true or false, got 1 (a number)"),
        ("prep", {}, "payload 'input' is required: a string"),
        (
            "prep",
            {"input": "a.wav", "target_lufs": False},
            "payload 'target_lufs' must be a number from -70 to -5, got false (a boolean)",
        ),
        (
            "sleep",
            {"steps": 2.5},
            "payload 'steps' must be a whole number from 1 to 10000, got 2.5 (a number)",
        ),
        (
            "child",
            {"seconds": None},
            "payload 'seconds' must be a number from 0 to 86400, got null (null)",
        ),
        (
            "fail",
            {"kind": "sometimes"},
            "payload 'kind' must be one of ['permanent', 'transient'], "
            'got "sometimes" (a string)',
        ),
        ("fail", [1], "the payload of 'fail' must be a JSON object, got [1] (an array)"),
    ],
)
async def test_a_reference_payload_is_checked_before_anything_runs(
    store: LocalJobStore,
    fast_clock: trio.testing.MockClock,
    type_: str,
    payload: Any,
    error: str,
) -> None:
    """A payload a reference type refuses (a bool for a number, an unknown key, a value out
    of range or of the wrong JSON type) fails the job at once, permanently, with a reason
    naming the key and the type it got; no stage is entered, no ffmpeg runs."""
    async with open_supervisor(store, JOB_TYPES, config()):
        job = await store.create(type_, payload)
        failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert (failed.attempt, failed.error_kind, failed.error) == (1, "permanent", error)
    assert failed.stage is None


async def test_a_release_is_reported_with_the_attempt_that_ran(
    store: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A job given back at shutdown is logged and reported with the attempt that ran (1),
    not the refunded count the row holds afterwards (0)."""
    from supervisor import JobReleased

    seen: list[Event] = []
    async with open_supervisor(store, TYPES, config(), observers=[seen.append]):
        job = await store.create("hang")
        await wait_for_status(store, job.id, JobStatus.RUNNING)
    [released] = [e for e in seen if isinstance(e, JobReleased)]
    assert (released.attempt, (await store.get(job.id)).attempt) == (1, 0)  # type: ignore[union-attr]
