"""The interface both adapters implement: app side and worker side, all async (Trio)."""

from __future__ import annotations

import abc
import builtins
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from ._model import (
    DEAD_WORKER_KEPT,
    HeartbeatReply,
    HistoryEntry,
    Job,
    JobStatus,
    JobView,
    Lease,
    Worker,
    WorkerInfo,
)

__all__ = ["ChangeMark", "Claimed", "JobStore", "JobTypeInfo"]

#: Where a reader of the changes is: (change stamp, job id) of the last change it saw.
ChangeMark = tuple[float, int]


@attrs.frozen
class Claimed:
    """A job a worker just claimed, with the lease that fences its later writes."""

    job: Job
    lease: Lease


@attrs.frozen
class JobTypeInfo:
    """What a worker tells the store about a job type it serves (for the poll view)."""

    name: str
    stages: tuple[str, ...] = ()
    max_attempts: int = 2
    timeout: float | None = None
    #: A payload to offer as an example (JSON-serialisable), or None.
    example: Any = None


class JobStore(abc.ABC):
    """Where jobs live. Every method is async; blocking I/O runs off the Trio loop.

    Cancellation, for every method: a database call, once started, runs to completion (or to
    the store's timeout) before the method returns or raises; a pending cancellation is then
    delivered at the caller's next checkpoint. ``claim`` is the one exception worth knowing:
    if the caller is cancelled around a claim, the store releases the claimed job before
    ``Cancelled`` propagates, so no job is left claimed by nobody.
    """

    def __init__(self) -> None:
        self._listeners: builtins.list[Callable[[], None]] = []
        self._cancel_listeners: builtins.list[Callable[[int], None]] = []
        self._outage_listeners: builtins.list[Callable[[bool, str], None]] = []
        self._call_listeners: builtins.list[Callable[[float, str | None], None]] = []

    @property
    def call_timeout(self) -> float:
        """Real seconds a database call may take before it fails with StoreUnavailable
        (a worker lowers it to fit its lease margins; see ``WorkerConfig.store_timeout``)."""
        return math.inf

    @call_timeout.setter
    def call_timeout(self, seconds: float) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no call timeout to set")

    @abc.abstractmethod
    def cut_off_at(self, deadline: float) -> None:
        """From Trio time ``deadline`` on, abandon calls in flight (outcome unknown) and fail
        new ones at once with StoreUnavailable: how a shutdown stays within its bound while
        the database does not answer. ``math.inf`` lifts it."""

    # -- app side ------------------------------------------------------------------------

    @abc.abstractmethod
    async def create(
        self,
        type: str,
        payload: Any = None,
        *,
        max_attempts: int | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Add a pending job. ``payload`` must be JSON-serialisable (default ``{}``).

        With ``idempotency_key``, at most one job is ever made per key (the key is written
        by the same statement as the job, under a UNIQUE index, so racing calls cannot make
        two): called again with the same key and the same type, payload and max_attempts,
        it returns that job as it is now; with another request, it raises
        :class:`IdempotencyMismatch`. Keys are forgotten after their retention
        (:meth:`forget_keys`)."""

    @abc.abstractmethod
    async def forget_keys(self, older_than: float, *, limit: int = 1000) -> int:
        """Forget the idempotency keys of up to ``limit`` jobs created more than
        ``older_than`` seconds ago, oldest first (the jobs stay); returns how many."""

    @abc.abstractmethod
    async def create_many(
        self, type: str, payloads: Iterable[Any], *, max_attempts: int | None = None
    ) -> builtins.list[Job]:
        """Add many pending jobs of one type at once (one statement: all or none), in the
        order of ``payloads``; returns them in that order."""

    @abc.abstractmethod
    async def get(self, id: int) -> Job | None:
        """The job with this id, or None."""

    @abc.abstractmethod
    async def list(
        self,
        *,
        status: JobStatus | str | None = None,
        type: str | None = None,
        limit: int = 50,
    ) -> builtins.list[Job]:
        """Jobs, newest first, optionally filtered by status and type."""

    @abc.abstractmethod
    async def views(
        self,
        *,
        status: JobStatus | str | None = None,
        type: str | None = None,
        limit: int = 50,
        before: tuple[float, int] | None = None,
    ) -> builtins.list[JobView]:
        """Like :meth:`list`, as poll views (one query, not one per job). ``before`` is a
        keyset cursor ``(created_at, id)``: only jobs listed after that one are returned."""

    @abc.abstractmethod
    async def cancel(self, id: int) -> Job:
        """Cancel a job: a pending one ends at once; a running one is marked requested and
        the worker ends it. Cancelling a cancelled job returns it unchanged; cancelling a
        completed or failed one raises :class:`InvalidTransition`."""

    @abc.abstractmethod
    async def poll(self, id: int) -> JobView:
        """The poll-endpoint view of one job (queue position, stage list, reason)."""

    @abc.abstractmethod
    async def resubmit(self, id: int) -> Job:
        """A new pending job with the payload of a failed or cancelled one (``retry_of``).

        At most one per job, however many callers race (a uniqueness rule of the database):
        a job resubmitted already returns the job its first resubmit made, as it is now."""

    @abc.abstractmethod
    async def history(self, id: int) -> builtins.list[HistoryEntry]:
        """Every transition of the job, oldest first."""

    @abc.abstractmethod
    async def register_types(self, types: Iterable[JobTypeInfo]) -> None:
        """Record the stage lists and limits of the job types a worker serves."""

    # -- the live worker registry ----------------------------------------------------------

    @abc.abstractmethod
    async def register_worker(self, info: WorkerInfo) -> None:
        """Write (or rewrite) this worker's row: it is live from now on."""

    @abc.abstractmethod
    async def beat_worker(self, info: WorkerInfo) -> None:
        """Prove the worker alive: one row written (its row made again if it was swept)."""

    @abc.abstractmethod
    async def unregister_worker(self, worker_id: str) -> None:
        """Delete the worker's row (a clean shutdown)."""

    @abc.abstractmethod
    async def forget_workers(self, silent_for: float = DEAD_WORKER_KEPT) -> int:
        """Delete the rows of workers silent for more than ``silent_for`` seconds (an hour by
        default: a dead worker stays visible, as dead, for that long)."""

    @abc.abstractmethod
    async def workers(self) -> builtins.list[Worker]:
        """Every worker in the registry, live or dead (not swept yet), by id, with the job
        each runs (one statement: the workers' rows and the running jobs)."""

    @abc.abstractmethod
    async def types(self) -> builtins.list[JobTypeInfo]:
        """The job types workers on this database registered (name, stages, limits)."""

    @abc.abstractmethod
    async def prune(
        self,
        status: JobStatus | str,
        older_than: float,
        *,
        limit: int | None = 1000,
        dry_run: bool = False,
        results: builtins.list[Any] | None = None,
    ) -> int:
        """Delete up to ``limit`` finished jobs of ``status`` (completed, failed or
        cancelled) that finished and were created more than ``older_than`` seconds ago,
        oldest first, with their history, in one statement; returns how many (with
        ``dry_run``: how many would be, nothing deleted; ``limit=None`` counts them all).
        Pending and running jobs are never touched. Call again while it returns ``limit``.
        ``results``, if given, receives the results of those jobs (so that the files they
        name can be deleted too)."""

    @abc.abstractmethod
    async def changes(
        self, since: ChangeMark | None, *, limit: int = 500
    ) -> tuple[builtins.list[JobView], ChangeMark, float | None]:
        """Poll views of the jobs changed after the mark ``since`` (any write to the row, or
        a cancel request), in the order of their changes, at most ``limit``; the mark to pass
        next (that of the last view, or ``since`` when none); and the store's time of the
        read (None when no row changed: the clock rides on the rows). ``since=None`` reads
        the mark of the latest change and the clock, and no view. A mark is a change stamp
        and a job id: stamps grow in commit order whatever the database clock does, so a
        caller that passes each mark back misses no change and sees none twice. One
        statement that reads only the changed rows; live updates make it once per tick for
        every watcher together."""

    @abc.abstractmethod
    async def check(self) -> None:
        """Return if the store can be used now, else raise the JobStoreError that says why
        (unreachable, disk full, file replaced): what a health check asks. One primary-key
        read at most."""

    @abc.abstractmethod
    async def now(self) -> float:
        """The store's clock (the database's own, or the clock injected for tests): the one
        every time on a row comes from. Reads no row."""

    @abc.abstractmethod
    async def queue(self, *, limit: int = 1000) -> builtins.list[int]:
        """Ids of the pending jobs in claim order (position = index + 1), at most ``limit``."""

    # -- worker side ---------------------------------------------------------------------

    @abc.abstractmethod
    async def claim(self, worker_id: str, *, types: Sequence[str] | None = None) -> Claimed | None:
        """Atomically take the oldest pending job (of ``types``, if given), or None."""

    @abc.abstractmethod
    async def heartbeat(self, lease: Lease) -> HeartbeatReply:
        """Prove the worker is alive; says whether a cancel was requested.
        Raises :class:`LeaseLost` if the lease is no longer held."""

    @abc.abstractmethod
    async def check_cancel(self, lease: Lease) -> HeartbeatReply:
        """Whether a cancel was requested, read-only (confirms nothing, costs one row).
        Raises :class:`LeaseLost` if the lease is no longer held."""

    @abc.abstractmethod
    async def update(
        self,
        lease: Lease,
        *,
        stage: str | None,
        progress: float | None,
        log_tail: str | None = None,
    ) -> HeartbeatReply:
        """Record the stage and its progress (0-100, or None for indeterminate), and the
        child's log tail if given (None keeps the last one), in one write."""

    @abc.abstractmethod
    async def record_child(
        self, lease: Lease, *, pid: int | None, host: str | None, started: float | None
    ) -> None:
        """Record (or clear) the running child process of the job."""

    @abc.abstractmethod
    async def complete(
        self, lease: Lease, result: Any = None, *, log_tail: str | None = None
    ) -> Job:
        """Mark the job completed with a JSON-serialisable result (and its final log
        tail, if given)."""

    @abc.abstractmethod
    async def counts(self, *, cap: int = 10_000) -> dict[str, int]:
        """How many jobs are in each status: finished ones exact, from counters the
        database's triggers keep; pending and running counted through their indexes, each
        exact up to ``cap``. Rows read: 3, plus the pending and running jobs (up to cap)."""

    @abc.abstractmethod
    async def recorded_children(
        self, host: str, stale_after: float
    ) -> builtins.list[tuple[int, int, float | None, bool]]:
        """Children recorded on ``host``: (job id, pid, start time, whether the job's worker
        looks alive: the row running with a heartbeat within ``stale_after``)."""

    @abc.abstractmethod
    async def forget_child(self, job_id: int, pid: int) -> None:
        """Clear the child record of job ``job_id`` if it still names ``pid``."""

    @abc.abstractmethod
    async def complete_and_claim(
        self,
        lease: Lease,
        result: Any,
        worker_id: str,
        *,
        types: Sequence[str] | None = None,
        log_tail: str | None = None,
    ) -> tuple[Job, Claimed | None]:
        """:meth:`complete`, then :meth:`claim` the next job in the same call (one
        transaction locally; one exchange with the Turso helper, which runs both statements
        on its connection). If the completion is refused (:class:`LeaseLost`), a job
        claimed beside it is given back first."""

    @abc.abstractmethod
    async def fail(
        self,
        lease: Lease,
        error: str,
        *,
        kind: str,
        retry_delay: float = 0.0,
        detail: str | None = None,
        log_tail: str | None = None,
    ) -> Job:
        """Record a failed run (see ``stores.transition``): a retryable kind goes back to
        pending while attempts remain, and is not claimed again for ``retry_delay``
        seconds; otherwise the job is failed with ``error`` as its reason. ``detail`` is
        the error's one telling line, kept beside it; ``log_tail`` the child's last lines."""

    @abc.abstractmethod
    async def release(self, lease: Lease, reason: str, *, charge_attempt: bool = False) -> Job:
        """Give the job back (pending, or cancelled if a cancel was requested)."""

    @abc.abstractmethod
    async def give_back(self, lease: Lease, reason: str) -> None:
        """Release a claimed job (uncharged) that will not be run; if the database cannot be
        reached now, remember it and release it before this store object's next claim.
        Never raises for an outage or a lost lease."""

    @abc.abstractmethod
    async def confirm_cancelled(
        self, lease: Lease, reason: str = "cancelled: child process confirmed dead"
    ) -> Job:
        """Mark a running job cancelled, after its child process is confirmed dead."""

    @abc.abstractmethod
    async def reap(
        self, stale_after: float, *, steady_gap: float | None = None
    ) -> builtins.list[Job]:
        """Return stale running jobs to pending (attempts left) or fail them (none left).

        With ``steady_gap`` (what a worker's reaper passes): first write the reapers' tick,
        and reap only once ticks have come no more than ``steady_gap`` seconds apart for
        ``stale_after``: after the database was down, stalled or locked (nobody could
        renew a lease), holders get ``stale_after`` to renew theirs first."""

    # -- in-process notifications ----------------------------------------------------------

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever this store object makes a job pending (create,
        resubmit, retry, release), so a worker in the same process need not wait a poll
        interval. The callback runs in the caller's thread and must not block."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self) -> None:
        for callback in builtins.list(self._listeners):
            callback()

    def add_cancel_listener(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(job_id)`` whenever this store object records a cancel request for
        a running job, so a worker in the same process stops it at once instead of at its
        next check. The callback runs in the caller's thread and must not block."""
        self._cancel_listeners.append(callback)

    def remove_cancel_listener(self, callback: Callable[[int], None]) -> None:
        if callback in self._cancel_listeners:
            self._cancel_listeners.remove(callback)

    def add_outage_listener(self, callback: Callable[[bool, str], None]) -> None:
        """Call ``callback(began, detail)`` when calls through this store object start
        failing because the database is unreachable, and again when one succeeds."""
        self._outage_listeners.append(callback)

    def remove_outage_listener(self, callback: Callable[[bool, str], None]) -> None:
        if callback in self._outage_listeners:
            self._outage_listeners.remove(callback)

    def _notify_outage(self, began: bool, detail: str) -> None:
        for callback in builtins.list(self._outage_listeners):
            callback(began, detail)

    def add_call_listener(self, callback: Callable[[float, str | None], None]) -> None:
        """Call ``callback(seconds, error)`` after every database call through this store
        object: how long it took, and the name of the error class it raised (or None)."""
        self._call_listeners.append(callback)

    def _notify_call(self, seconds: float, error: str | None) -> None:
        for callback in self._call_listeners:
            callback(seconds, error)

    def _notify_cancel(self, job_id: int) -> None:
        for callback in builtins.list(self._cancel_listeners):
            callback(job_id)

    # -- life cycle ----------------------------------------------------------------------

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close connections and stop the store's thread."""

    @abc.abstractmethod
    def close(self) -> None:
        """Synchronous :meth:`aclose` (for atexit and test teardown)."""

    async def __aenter__(self) -> JobStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
