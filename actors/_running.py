"""The running job and its lease: the one place that knows whether the lease is safe.

Rationale. Three actors write with the job's lease (the heartbeat, the handler's progress
reports, the executor's outcome) and two guards act on silence (the worker's own fence and
the sentinel process). They must agree on one fact: *when did the database last confirm
this worker's lease?* That time is the moment the confirming write was **sent**, not when
its answer arrived: the database stamps ``updated_at`` while the write runs, so a slow
answer must not stretch the margin the reaper elsewhere counts from. Every lease-holding
write goes through :meth:`RunningJob.write`, which keeps that time, feeds the sentinel with
it, maps ``LeaseLost`` to a stop and logs an outage once.

Silence alone does not prove the lease unsafe. If the event loop was blocked (a handler
doing CPU work or blocking I/O), no write was even attempted: the lease may well be intact,
and the next heartbeat will say. Only *store trouble* (a write that failed, or that has
waited for its answer longer than a heartbeat interval) makes a silent lease one to give
up: see :meth:`RunningJob.fence_decision`. A worker too frozen to decide anything is the
sentinel's to stop.
"""

from __future__ import annotations

import enum
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs
import trio

from stores import Claimed, LeaseLost, StoreUnavailable

from ._sentinel import Sentinel

__all__ = ["Confirmation", "FenceDecision", "JobSlot", "RunningJob", "StopReason"]

log = logging.getLogger("supervisor.lease")

T = TypeVar("T")


class StopReason(enum.Enum):
    """Why a running job's cancel scope was cancelled (first reason wins)."""

    CANCEL_REQUESTED = "cancel requested"
    LEASE_LOST = "lease lost"
    TIMEOUT = "timeout"
    SELF_FENCE = "database unreachable"
    SHUTDOWN = "shutdown"


@attrs.frozen
class Confirmation:
    """When a write that confirmed the lease was sent: Trio time, and the system's
    monotonic clock (shared with the sentinel process)."""

    at: float
    monotonic: float

    @classmethod
    def now(cls) -> Confirmation:
        return cls(trio.current_time(), time.monotonic())


@attrs.frozen
class FenceDecision:
    """What the fence should do now: stop the job, or look again at ``recheck_at`` (Trio
    time; infinity means "when something changes")."""

    fence: bool
    recheck_at: float = float("inf")
    detail: str = ""


class RunningJob:
    """One claimed job being run: its lease bookkeeping, its cancel scope, why it stopped."""

    def __init__(
        self,
        claimed: Claimed,
        confirmed: Confirmation,
        sentinel: Sentinel | None = None,
        *,
        patience: float,
    ) -> None:
        self.claimed = claimed
        self.scope = trio.CancelScope()
        self.stop_reason: StopReason | None = None
        self.stop_detail = ""
        self.sentinel = sentinel
        #: The last confirmation of the lease (the claim's own, to begin with).
        self.confirmed = confirmed
        # Writes sent since, not yet answered (id -> Trio send time), and whether one failed.
        self._outstanding: dict[int, float] = {}
        self._ids = itertools.count()
        self._failed_since_confirmed = False
        #: How long a write may wait for its answer before it counts as store trouble.
        self.patience = patience
        #: The longest silence that store trouble caused and a late answer then ended (0 if
        #: none): the sentinel watched it, though the lease is confirmed again now.
        self.troubled_silence = 0.0
        #: Set (and replaced) whenever the bookkeeping changes: wakes the fence.
        self.changed = trio.Event()
        #: Set when the fence wants a heartbeat now (after a stall with no write attempted).
        self.beat_wanted = trio.Event()
        #: The run is over (its children reaped); only its outcome remains to be written,
        #: while heartbeats go on keeping the lease.
        self.finished = False

    def __repr__(self) -> str:
        job = self.claimed.job
        why = self.stop_reason.value if self.stop_reason else "running"
        return f"<RunningJob id={job.id} type={job.type} attempt={job.attempt} {why}>"

    def stop(self, reason: StopReason, detail: str = "") -> None:
        """Cancel the job's scope; its child is killed and reaped before the scope exits."""
        if self.stop_reason is None:
            self.stop_reason, self.stop_detail = reason, detail
        self.scope.cancel()
        self._poke()

    def _poke(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    # -- writes with the lease -----------------------------------------------------------

    async def write(self, call: Callable[[], Awaitable[T]], what: str) -> T | None:
        """Run one lease-fenced store call; its answer confirms the lease as of its sending.

        Returns the call's answer, or None when it did not get through: ``LeaseLost`` stops
        the job, ``StoreUnavailable`` is recorded as store trouble (the store logs outages).

        Cancellation: the store call itself is shielded once sent (see the stores package);
        the bookkeeping stays consistent whichever way this exits.
        """
        key = next(self._ids)
        sent = Confirmation.now()
        self._outstanding[key] = sent.at
        self._poke()
        try:
            answer = await call()
            self._silence_ends(trio.current_time())
        except LeaseLost as exc:
            self.stop(StopReason.LEASE_LOST, str(exc))
            return None
        except StoreUnavailable as exc:
            self._failed_since_confirmed = True
            log.debug("%s not recorded: %s", what, exc, extra=self.extra)
            return None
        finally:
            del self._outstanding[key]
            self._poke()
        self._confirm(sent)
        return answer

    def _silence_ends(self, now: float) -> None:
        """An answer arrived: if store trouble was why the lease went silent until now (this
        write, still counted as outstanding, or another waited or failed meanwhile), keep
        how long that silence was. The confirmation it brings is as of the write's sending,
        and clears the trouble: without this, a child the sentinel killed during the silence
        would look like the handler's own failure once the database answers again."""
        if self.store_trouble(now):
            self.troubled_silence = max(self.troubled_silence, self.silence(now))

    def _confirm(self, sent: Confirmation) -> None:
        if sent.at >= self.confirmed.at:
            self.confirmed = sent
            # Failures of writes sent before this one no longer matter; later ones still do.
            self._failed_since_confirmed = False
        if self.sentinel is not None:
            self.sentinel.beat(self.confirmed.monotonic)

    @property
    def extra(self) -> dict[str, object]:
        job = self.claimed.job
        return {"job_id": job.id, "attempt": job.attempt, "job_type": job.type}

    # -- the rules -----------------------------------------------------------------------

    def silence(self, now: float) -> float:
        """Seconds since the last confirmation was sent."""
        return now - self.confirmed.at

    def store_trouble(self, now: float) -> bool:
        """True if the database, not the worker, is why the lease went unconfirmed: a write
        failed since the last confirmation, or one has waited ``patience`` for its answer."""
        if self._failed_since_confirmed:
            return True
        return any(now - sent >= self.patience for sent in self._outstanding.values())

    def fence_decision(self, now: float, fence_after: float) -> FenceDecision:
        """Whether to stop the job now because its lease can no longer be trusted.

        * silence below ``fence_after``: keep going; look again at the deadline;
        * silent, and the store is the cause: fence (another worker may soon reap the job);
        * silent, but no write has been failing: the loop was starved. A write in flight
          gets ``patience`` to answer; with none in flight, a heartbeat is asked for now.
        """
        silent = self.silence(now)
        deadline = self.confirmed.at + fence_after
        if self.finished:
            return FenceDecision(False)  # no child to stop; the outcome write is fenced
        if silent < fence_after:
            return FenceDecision(False, deadline)
        if self.store_trouble(now):
            return FenceDecision(
                True,
                detail=f"no heartbeat recorded for {silent:.1f} s (limit {fence_after:g} s)",
            )
        if not self._outstanding:
            self.beat_wanted.set()
            return FenceDecision(False)
        return FenceDecision(False, min(self._outstanding.values()) + self.patience)

    def outcome_untrusted(self, now: float, fence_after: float, sentinel_after: float) -> bool:
        """True if a failure the handler reports now may be the fault of store trouble: such
        a run is given back, not charged. Either the lease is silent now, for ``fence_after``,
        because of the store (the fence would stop the job anyway), or store trouble kept it
        silent for ``sentinel_after`` at some point of the run, even if a late answer ended
        that silence since: the sentinel may have killed the child meanwhile (a worker whose
        loop was starved cannot fence in time, and sees the answer before its fence runs)."""
        if self.troubled_silence >= sentinel_after:
            return True
        return self.silence(now) >= fence_after and self.store_trouble(now)


class JobSlot:
    """Holds the running job, if any (owned by the supervisor, shared by the actors)."""

    def __init__(self) -> None:
        self.current: RunningJob | None = None
        self.changed = trio.Event()

    def __repr__(self) -> str:
        return f"<JobSlot {self.current!r}>"

    def set(self, running: RunningJob | None) -> None:
        previous, self.current = self.current, running
        if previous is not None:
            previous._poke()
        self.changed.set()
        self.changed = trio.Event()
