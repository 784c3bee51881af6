"""The outcome of a run, from what the handler did to what the row says (issue 16, 1 and 17).

Whatever a handler raises or returns ends its job in a charged, recorded verdict; the
worker never crashes over it and the job behind it runs.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from actors import JobContext, JobType, StopReason, TransientError
from actors._executor import Ending, decide
from media_jobs_testing.helpers import FAST, WallClock, trio_wall, wait_for_status
from media_jobs_testing.helpers import fast_config as config
from stores import (
    RETRYABLE,
    RULES,
    ErrorKind,
    Job,
    JobStatus,
    JobStore,
    Lease,
    LocalJobStore,
    Outcome,
    Rule,
    transition,
)
from supervisor import open_supervisor


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalJobStore]:
    s = LocalJobStore(tmp_path / "jobs.db", clock=trio_wall)
    yield s
    s.close()


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


class Escapes(BaseException):
    """A BaseException of the handler's own, not an Exception."""


class Unencodable(dict[str, Any]):
    def items(self) -> Any:
        raise RuntimeError("cannot list my items")


async def poison(ctx: JobContext, payload: Any) -> Any:
    what = payload["what"]
    if what == "unprintable":
        raise Unprintable
    if what == "base":
        raise Escapes("out of band")
    if what == "result":
        return Unencodable(a=1)
    if what == "keyerror":
        return {}["input"]
    return "fine"


POISONS = {
    "unprintable": "Unprintable",
    "base": "Escapes: out of band",
    "result": "bad result: the result could not be encoded as JSON: RuntimeError",
    "keyerror": "KeyError: 'input'",
}


@pytest.mark.parametrize("what", sorted(POISONS))
async def test_a_poison_job_fails_once_charged_and_the_queue_moves_on(
    local: LocalJobStore, fast_clock: trio.testing.MockClock, what: str
) -> None:
    """A handler that raises an unprintable error, a BaseException of its own, or returns a
    result that cannot be encoded fails its job on its first run, charged, with a reason that
    names what happened; no actor crashes and the healthy job behind it completes."""
    runs: list[int] = []

    async def handler(ctx: JobContext, payload: Any) -> Any:
        runs.append(ctx.job.attempt)
        return await poison(ctx, payload)

    types = [JobType("poison", handler, max_attempts=2)]
    async with open_supervisor(local, types, config()) as sup:
        bad = await local.create("poison", {"what": what})
        good = await local.create("poison", {"what": "fine"})
        with trio.fail_after(120):
            done = await wait_for_status(local, good.id, JobStatus.COMPLETED)
        failed = await local.get(bad.id)
        assert sup.stats.counts == {}
    assert done.result == "fine"
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.attempt == 1
    assert runs == [1, 1]
    assert failed.error_kind == "permanent"
    assert POISONS[what] in (failed.error or "")


async def test_a_handler_error_keeps_its_type_and_its_traceback_reaches_the_log(
    local: LocalJobStore, fast_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A KeyError fails as "KeyError: 'input'", not the bare "'input'", and the worker log
    carries the handler's traceback."""
    types = [JobType("poison", poison)]
    with caplog.at_level(logging.INFO):
        async with open_supervisor(local, types, config()):
            job = await local.create("poison", {"what": "keyerror"})
            with trio.fail_after(60):
                failed = await wait_for_status(local, job.id, JobStatus.FAILED)
    assert failed.error == "KeyError: 'input'"
    tracebacks = [r for r in caplog.records if r.exc_info and r.exc_info[0] is KeyError]
    assert len(tracebacks) == 1
    assert "in poison" in caplog.text


# -- the store's transition table, row by row, against the database ----------------------

STATES = list(itertools.product((False, True), repeat=2))  # (cancel requested, attempts left)


async def _running_job(store: JobStore, *, cancel: bool, left: bool) -> Lease:
    job = await store.create("t", max_attempts=2 if left else 1)
    claimed = await store.claim("w-rows")
    assert claimed is not None
    assert claimed.job.id == job.id
    if cancel:
        await store.cancel(job.id)
    return claimed.lease


async def _check_row(
    store: JobStore, before: Lease, after: Job, rule: Rule, *, error: str | None
) -> None:
    assert after.status is rule.status, (before, rule)
    assert (after.finished_at is not None) is rule.status.terminal, rule
    if rule.records_error:
        assert after.error == error, rule
    else:
        assert after.error is None, rule  # nothing was recorded on these rows before
    if after.status is JobStatus.PENDING:
        await store.cancel(after.id)  # out of the way of the next case's claim


def released_status(*, cancel: bool, left: bool, charged: bool) -> JobStatus:
    """What a release makes of a running job, said independently of ``RULES``: it ends a
    job whose cancel was asked for, a charged release of the last attempt fails the job (no
    claim may exceed max_attempts), and otherwise the job waits again."""
    if cancel:
        return JobStatus.CANCELLED
    if charged and not left:
        return JobStatus.FAILED
    return JobStatus.PENDING


async def test_every_rule_of_the_state_machine_is_what_the_database_does(
    store: JobStore, wall: WallClock
) -> None:
    """For every outcome and every row state (cancel requested, attempts left, error kind,
    charged), the row becomes what ``stores.transition`` says: the SQL is the table."""
    seen: set[Rule] = set()
    for cancel, left in STATES:
        state = dict(cancel_requested=cancel, attempts_left=left)
        lease = await _running_job(store, cancel=cancel, left=left)
        rule = transition(Outcome.COMPLETED, **state)
        await _check_row(store, lease, await store.complete(lease, "r"), rule, error=None)
        seen.add(rule)
        lease = await _running_job(store, cancel=cancel, left=left)
        rule = transition(Outcome.CANCELLED, **state)
        await _check_row(store, lease, await store.confirm_cancelled(lease), rule, error=None)
        seen.add(rule)
        for kind in ErrorKind:
            lease = await _running_job(store, cancel=cancel, left=left)
            rule = transition(Outcome.FAILED, kind=kind, **state)
            await _check_row(
                store, lease, await store.fail(lease, "boom", kind=kind), rule, error="boom"
            )
            seen.add(rule)
        for charged in (False, True):
            lease = await _running_job(store, cancel=cancel, left=left)
            rule = transition(Outcome.RELEASED, charged=charged, **state)
            released = await store.release(lease, "why", charge_attempt=charged)
            await _check_row(store, lease, released, rule, error="why")
            assert released.attempt == (1 if charged else 0)
            assert released.status is released_status(cancel=cancel, left=left, charged=charged)
            seen.add(rule)
    # Reaping takes every stale running job at once: one job per state, one reap.
    leases = {state: await _running_job(store, cancel=state[0], left=state[1]) for state in STATES}
    wall.advance(100)
    reaped = {job.id: job for job in await store.reap(30)}
    assert len(reaped) == len(STATES)
    for (cancel, left), lease in leases.items():
        rule = transition(Outcome.REAPED, cancel_requested=cancel, attempts_left=left)
        job = reaped[lease.job_id]
        await _check_row(
            store, lease, job, rule, error="stalled: no heartbeat from worker w-rows for over 30 s"
        )
        seen.add(rule)
    assert seen == set(RULES)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_state_of_every_outcome_has_exactly_one_first_rule(outcome: Outcome) -> None:
    """Each outcome's rules end with a catch-all, and a failure retries only a retryable
    kind with attempts left and no cancel requested."""
    for cancel, left, charged in itertools.product((False, True), repeat=3):
        for kind in ErrorKind:
            rule = transition(
                outcome, kind=kind, charged=charged, cancel_requested=cancel, attempts_left=left
            )
            assert rule.outcome is outcome
            if outcome is Outcome.FAILED:
                retried = kind in RETRYABLE and left and not cancel
                assert (rule.status is JobStatus.PENDING) is retried
            if outcome is Outcome.RELEASED:
                ends = released_status(cancel=cancel, left=left, charged=charged)
                assert rule.status is ends, (cancel, left, charged)


VERDICT_STOPS: list[tuple[Ending, Outcome | None, bool]] = [
    (Ending(result="ok"), Outcome.COMPLETED, True),
    (Ending(result="ok", untrusted=True), Outcome.COMPLETED, True),
    (Ending(error=ErrorKind.TRANSIENT, detail="reset"), Outcome.FAILED, True),
    (Ending(error=ErrorKind.PERMANENT, detail="bad"), Outcome.FAILED, True),
    (Ending(error=ErrorKind.PERMANENT, detail="bad", untrusted=True), Outcome.RELEASED, False),
    (Ending(stop=StopReason.CANCEL_REQUESTED), Outcome.CANCELLED, True),
    (Ending(stop=StopReason.LEASE_LOST, detail="reaped"), None, False),
    (Ending(stop=StopReason.TIMEOUT, detail="timeout: 3 s"), Outcome.FAILED, True),
    (Ending(stop=StopReason.SHUTDOWN), Outcome.RELEASED, False),
    (Ending(stop=StopReason.SELF_FENCE, detail="silent"), Outcome.RELEASED, False),
]


@pytest.mark.parametrize("ending, outcome, charged", VERDICT_STOPS)
def test_every_ending_has_one_verdict(
    ending: Ending, outcome: Outcome | None, charged: bool
) -> None:
    """The executor's verdicts: a result is recorded even after a stall (the write is
    fenced), a handler error is given back uncharged only when store trouble may have caused
    it, and only the worker's own stops (and a lost lease) leave the attempt uncharged."""
    verdict = decide(ending)
    assert verdict.outcome is outcome
    assert verdict.charged is charged
    assert set(StopReason) == {e.stop for e, _, _ in VERDICT_STOPS if e.stop is not None}


# -- a retry waits out its backoff (issue 16, 18) -----------------------------------------


async def test_a_transient_failure_is_retried_after_its_backoff_not_at_once(
    local: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A transient failure goes back to pending with a retry time 8–12 s out (the type's
    10 s, jittered); the poll view and the history say so, and no claim takes the job
    before then."""
    runs: list[float] = []

    async def flaky(ctx: JobContext, payload: Any) -> str:
        runs.append(trio.current_time())
        if len(runs) == 1:
            raise ConnectionResetError("upstream timed out")
        return "ok"

    async with open_supervisor(local, [JobType("flaky", flaky)], config()):
        job = await local.create("flaky")
        with trio.fail_after(60):
            while not runs or (await local.poll(job.id)).status is not JobStatus.PENDING:
                await trio.sleep(0.05)
        view = (await local.poll(job.id)).to_dict()
        with trio.fail_after(120):
            done = await wait_for_status(local, job.id, JobStatus.COMPLETED)
        history = await local.history(job.id)
    assert view["retry_at"] is not None
    assert 8.0 <= view["retry_at"] - view["updated_at"] <= 12.0
    assert "retrying after" in view["reason"]
    assert done.attempt == 2
    assert 8.0 <= runs[1] - runs[0] <= 12.0 + FAST["max_poll_interval"]  # the next poll
    notes = [entry.reason or "" for entry in history]
    assert any(n.startswith("will retry in ") and "upstream timed out" in n for n in notes)


async def test_no_claim_takes_a_retry_before_its_time(store: JobStore, wall: WallClock) -> None:
    """A job failed with a retry delay is passed over by every claim until the delay has
    passed; the job behind it is claimed meanwhile."""
    first = await store.create("t")
    claimed = await store.claim("w-1")
    assert claimed is not None
    await store.fail(claimed.lease, "reset", kind="transient", retry_delay=30)
    second = await store.create("t")
    wall.advance(1)
    other = await store.claim("w-1")
    assert other is not None
    assert other.job.id == second.id
    assert await store.claim("w-1") is None
    wall.advance(30)
    again = await store.claim("w-1")
    assert again is not None
    assert again.job.id == first.id
    assert again.job.attempt == 2
    assert again.job.retry_at is None


def test_the_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    """Delays are the type's retry_delay doubled per attempt, capped, within ±20 %."""
    job_type = JobType("t", poison, retry_delay=10, max_retry_delay=60)
    for attempt, base in ((1, 10), (2, 20), (3, 40), (4, 60), (9, 60)):
        delays = {job_type.retry_delay_after(attempt) for _ in range(50)}
        assert min(delays) >= base * 0.8
        assert max(delays) <= base * 1.2
        assert len(delays) > 1


# -- found by review: outside stops, interrupts, odd exceptions, errors in groups ----------


async def test_a_stop_from_outside_while_the_handlers_cleanup_fails_gives_the_job_back(
    local: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """The executor cancelled from outside (a crash elsewhere, the worker giving up) while a
    handler's child fails in its clean-up: the run is given back uncharged, not failed."""
    started = trio.Event()

    async def messy(ctx: JobContext, payload: Any) -> None:
        async def child() -> None:
            try:
                await trio.sleep_forever()
            finally:
                raise OSError("pipe already closed")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(child)
            started.set()
            await trio.sleep_forever()

    async with open_supervisor(local, [JobType("messy", messy)], config()) as sup:
        job = await local.create("messy")
        with trio.fail_after(30):
            await started.wait()
        sup.crash("executor")
        with trio.fail_after(30):
            while "released: the executor stopped mid-job" not in [
                e.reason for e in await local.history(job.id)
            ]:
                await trio.sleep(0.05)
        after = await local.get(job.id)
    assert after is not None
    assert after.status is not JobStatus.FAILED
    assert after.error is None


async def test_a_keyboard_interrupt_inside_a_group_is_not_taken_for_the_jobs_failure(
    local: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """Ctrl-C that surfaces inside an exception group goes on up; the job is not failed."""

    async def interrupted(ctx: JobContext, payload: Any) -> None:
        raise BaseExceptionGroup("both", [KeyboardInterrupt(), ValueError("v")])

    with pytest.raises(BaseException) as raised:
        async with open_supervisor(local, [JobType("ki", interrupted)], config()):
            job = await local.create("ki")
            with trio.fail_after(30):
                await wait_for_status(local, job.id, JobStatus.FAILED)
    assert (
        raised.group_contains(KeyboardInterrupt)
        if isinstance(raised.value, BaseExceptionGroup)
        else isinstance(raised.value, KeyboardInterrupt)
    )
    after = await local.get(job.id)
    assert after is not None
    assert after.status is not JobStatus.FAILED


class _Nameless(type):
    def __getattribute__(cls, name: str) -> Any:
        if name == "__name__":
            raise RuntimeError("no name")
        return super().__getattribute__(name)


class Nameless(Exception, metaclass=_Nameless):
    pass


class Abrupt(Exception):
    def __str__(self) -> str:
        raise SystemExit(9)  # a BaseException out of __str__


@pytest.mark.parametrize("error", [Nameless("x"), Abrupt(), GeneratorExit()])
async def test_exceptions_that_resist_being_described_still_fail_their_job_once(
    local: LocalJobStore, fast_clock: trio.testing.MockClock, error: BaseException
) -> None:
    """A class whose name cannot be read, a ``__str__`` raising a BaseException, a stray
    ``GeneratorExit``: each fails its job on its first run; no actor crashes."""

    async def raises(ctx: JobContext, payload: Any) -> None:
        raise error

    async with open_supervisor(local, [JobType("odd", raises)], config()) as sup:
        job = await local.create("odd")
        with trio.fail_after(60):
            failed = await wait_for_status(local, job.id, JobStatus.FAILED)
        assert sup.stats.counts == {}
    assert failed.attempt == 1


async def test_a_transient_error_in_a_handlers_nursery_is_retried_with_its_message(
    local: LocalJobStore, fast_clock: trio.testing.MockClock
) -> None:
    """A TransientError raised in a child task (so in an exception group) is the job's
    transient failure, with its own message, not a permanent 'ExceptionGroup'."""
    runs: list[int] = []

    async def fanned(ctx: JobContext, payload: Any) -> str:
        runs.append(ctx.job.attempt)
        if len(runs) == 1:

            async def upstream() -> None:
                raise TransientError("upstream 503")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(upstream)
        return "ok"

    types = [JobType("fan", fanned, retry_delay=0)]
    async with open_supervisor(local, types, config()):
        job = await local.create("fan")
        with trio.fail_after(60):
            done = await wait_for_status(local, job.id, JobStatus.COMPLETED)
        history = [e.reason or "" for e in await local.history(job.id)]
    assert done.attempt == 2
    assert "will retry: upstream 503" in history


def test_a_long_first_delay_is_not_cut_and_an_impossible_one_is_refused() -> None:
    """retry_delay=600 waits about 600 s (the default cap gives way to it); a delay beyond a
    week, or not a number of seconds, is refused where the type is defined."""
    assert min(JobType("t", poison, retry_delay=600).retry_delay_after(1) for _ in range(50)) >= 480
    for bad in (1e9, -1, float("nan"), True):
        with pytest.raises(ValueError, match="retry_delay must be seconds"):
            JobType("t", poison, retry_delay=bad)


async def test_a_cancelled_waiting_retry_shows_no_retry_time(store: JobStore) -> None:
    """Cancelling a retry that waits out its backoff ends it at once, and its view carries no
    retry time any more."""
    await store.create("t")
    claimed = await store.claim("w-1")
    assert claimed is not None
    await store.fail(claimed.lease, "reset", kind="transient", retry_delay=60)
    assert (await store.poll(claimed.job.id)).to_dict()["retry_at"] is not None
    cancelled = await store.cancel(claimed.job.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.retry_at is None
    assert (await store.poll(claimed.job.id)).to_dict()["retry_at"] is None
