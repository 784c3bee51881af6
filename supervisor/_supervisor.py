"""The supervisor: one nursery of actors, restarted one-for-one within a restart intensity.

Rationale (OTP's one-for-one strategy). Each actor runs in its own cancel scope; a crashed
actor is restarted alone, since the others hold no state it owned: the job slot and the
channels belong to the supervisor, and each incarnation gets a fresh clone of its channel
end, so a crash never closes the last handle. An actor runs until it is stopped: one that
returns on its own is a crash too. Too many restarts in the window means something is
wrong beyond one actor: the supervisor stops everything (the executor kills the child and
releases the job on its way out) and raises, and the process exits non-zero for the
platform to restart it.

The actors are data (OTP's child specs): :class:`ChildSpec` values, started in their order
and stopped in reverse. What keeps a job safe starts first and stops last: the reaper, the
heartbeat (it renews the running job's lease until the executor has released it), the
executor, and the poller, whose claims bring the work, last.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping

import attrs
import trio

from actors import (
    ActorCrash,
    ActorRestart,
    Events,
    ExecutorSettings,
    Handoff,
    JobSlot,
    JobType,
    LogObserver,
    Observer,
    PollerSettings,
    Sentinel,
    StopReason,
    StoreOutage,
    Wakeup,
    executor,
    heartbeat,
    index_job_types,
    poller,
    reaper,
    sweep_leftover_children,
)
from stores import JobStore, JobStoreError, StoreUnavailable, WorkerInfo

from ._blocking import watch_loop
from ._config import WorkerConfig
from ._version import version

__all__ = [
    "ActorCrashed",
    "RestartIntensityExceeded",
    "RestartStats",
    "Supervisor",
    "open_supervisor",
]

log = logging.getLogger("supervisor")

#: The most a clean stop waits to delete the worker's row, outside a shutdown's own bound.
_LEAVE_TIMEOUT = 5.0


class ActorCrashed(Exception):
    """Raised inside an actor crashed on purpose with :meth:`Supervisor.crash` (chaos)."""


class RestartIntensityExceeded(Exception):
    """Too many actor crashes in the restart window: the worker gives up (exit non-zero)."""


class ActorReturned(Exception):
    """An actor ended without being stopped: actors run until stopped, so it is a crash."""


@attrs.frozen
class ChildSpec:
    """One actor as the supervisor runs it.

    * ``start(task_status=...)``: runs the actor, reporting readiness; a fresh call per
      incarnation (each gets its own channel clone).
    * ``drain(grace)``: awaited when the worker stops, before the actor is cancelled (the
      executor's: the running job gets ``grace`` to finish, then is stopped and released);
      None: cancelled at once.
    * ``shutdown``: the grace a stop gives the drain unless it names its own (seconds; the
      drain's writes are bounded by the shutdown's deadline besides).
    """

    name: str
    start: Callable[..., Awaitable[None]]
    drain: Callable[[float], Awaitable[None]] | None = None
    shutdown: float = 0.0


@attrs.frozen
class RestartStats:
    """Restarts so far, per actor, and the restart times inside the current window."""

    counts: Mapping[str, int]
    recent: int
    max_restarts: int
    window: float


class _Incarnation:
    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.crash_requested = False
        self.stopped = False  # cancelled by a stop: its end is expected
        self.started_at: float | None = None


class Supervisor:
    """A running worker: its id, actors, restart counts, and the job it is running."""

    def __init__(
        self,
        store: JobStore,
        job_types: Iterable[JobType] | Mapping[str, JobType],
        config: WorkerConfig,
        observers: Iterable[Observer] = (),
    ) -> None:
        self.store = store
        #: Where actors report what happened; the log is its first observer.
        self.events = Events([LogObserver(), *observers])
        self.job_types = index_job_types(job_types)  # JobTypeError before anything runs
        self.config = config
        self.worker_id = config.worker_id
        self.slot = JobSlot()
        self.restarts: collections.Counter[str] = collections.Counter()
        self._recent: collections.deque[float] = collections.deque()
        self._incarnations: dict[str, _Incarnation] = {}
        #: The actors as data, in start order (made by :meth:`run`, which owns the channels).
        self.children: tuple[ChildSpec, ...] = ()
        self._ended: dict[str, trio.Event] = {}
        self._stopping = False
        self._nursery: trio.Nursery | None = None
        #: Trio time by which a shutdown in progress must have ended (final writes included).
        self.shutdown_deadline = float("inf")
        self.sentinel: Sentinel | None = None
        self.state = "starting"
        #: This worker's row in the registry of live workers.
        self.info = worker_info(config, self.job_types)

    def __repr__(self) -> str:
        return (
            f"<Supervisor worker={self.worker_id} actors={len(self._incarnations)} "
            f"{self.state} restarts={len(self._recent)}/{self.config.restart_window:g}s>"
        )

    @property
    def actors(self) -> tuple[str, ...]:
        """The running actors' names, in start order."""
        return tuple(c.name for c in self.children if c.name in self._incarnations)

    @property
    def stats(self) -> RestartStats:
        return RestartStats(
            dict(self.restarts),
            len(self._recent),
            self.config.max_restarts,
            self.config.restart_window,
        )

    def started_at(self, name: str) -> float | None:
        """Trio time at which the current incarnation of actor ``name`` reported ready."""
        incarnation = self._incarnations.get(name)
        return incarnation.started_at if incarnation else None

    def crash(self, name: str) -> None:
        """Crash actor ``name`` now, as a bug would (chaos tests): it is cancelled, raises
        :class:`ActorCrashed`, and the restart policy applies."""
        incarnation = self._incarnations.get(name)
        if incarnation is None:
            raise KeyError(f"no running actor named {name!r}; actors: {self.actors}")
        incarnation.crash_requested = True
        incarnation.scope.cancel()

    async def _supervise(
        self,
        child: ChildSpec,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run ``child``, restarting it when it crashes (or returns without being stopped)
        within the restart intensity, until a stop ends it."""
        name, first = child.name, True
        try:
            while True:
                incarnation = _Incarnation()
                self._incarnations[name] = incarnation
                began = trio.current_time()
                try:
                    with incarnation.scope:
                        async with trio.open_nursery() as nursery:
                            await nursery.start(child.start)
                            incarnation.started_at = trio.current_time()
                            if first:
                                task_status.started()
                                first = False
                    if incarnation.crash_requested:
                        raise ActorCrashed(f"actor {name} crashed on purpose (chaos)")
                    if incarnation.stopped:
                        return
                    raise ActorReturned(f"actor {name} returned without being stopped")
                except Exception as exc:
                    self._record_crash(name, exc)
                    if incarnation.stopped:
                        return  # crashed on its way out: a stop restarts nothing
                if first:
                    task_status.started()
                    first = False
                log.debug("restarting %s after %.3f s", name, trio.current_time() - began)
                self.events.emit(ActorRestart(actor=name, restarts=self.restarts[name]))
        finally:
            self._ended[name].set()

    async def _stop_child(self, name: str) -> None:
        """Cancel actor ``name`` (as a stop: it is not restarted) and wait until it ends."""
        incarnation = self._incarnations.pop(name, None)
        if incarnation is None:
            return  # never started, or stopped already
        incarnation.stopped = True
        incarnation.scope.cancel()
        await self._ended[name].wait()

    def _record_crash(self, name: str, exc: BaseException) -> None:
        now = trio.current_time()
        running = self.slot.current
        job = running.claimed.job if running else None
        log.error(
            "actor crashed: %r",
            exc,
            extra={
                "actor": name,
                "job_id": job.id if job else None,
                "attempt": job.attempt if job else None,
            },
            exc_info=exc,
        )
        self.events.emit(ActorCrash(actor=name, error=repr(exc), job_id=job.id if job else None))
        while self._recent and now - self._recent[0] > self.config.restart_window:
            self._recent.popleft()
        self._recent.append(now)
        self.restarts[name] += 1
        if len(self._recent) > self.config.max_restarts:
            raise RestartIntensityExceeded(
                f"{len(self._recent)} actor crashes within {self.config.restart_window:g} s "
                f"(limit {self.config.max_restarts}); last: {name}: {exc!r}"
            ) from exc

    async def run(
        self, task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run the worker until cancelled or :meth:`stop`; see the module docstring."""
        config = self.config
        given = self.store.call_timeout
        if math.isfinite(given) and given > config.store_timeout:
            # A store call slower than this could not confirm the lease before the fence.
            # Said only when it happens: the local file has no timeout (math.inf) to lower.
            log.info(
                "store call timeout lowered from %.3g s to %.3g s to fit the lease margins "
                "(a longer SUPERVISOR_STALE_AFTER allows more)",
                given,
                config.store_timeout,
                extra={"worker": self.worker_id},
            )
            self.store.call_timeout = config.store_timeout
        await self._start_up()
        request_send, request_receive = trio.open_memory_channel[Handoff](0)
        wakeup = Wakeup()
        self.store.add_listener(wakeup)
        token = trio.lowlevel.current_trio_token()

        def cancelled_here(job_id: int) -> None:
            # A cancel made through this very store object: stop the job now, not at the
            # next check (the request is already on the row). Any thread may call this.
            def stop() -> None:
                running = self.slot.current
                if running is not None and running.claimed.job.id == job_id:
                    running.stop(StopReason.CANCEL_REQUESTED)

            try:
                token.run_sync_soon(stop)
            except trio.RunFinishedError:
                pass

        self.store.add_cancel_listener(cancelled_here)

        def outage(began: bool, detail: str) -> None:
            self.events.emit(StoreOutage(began=began, detail=detail))

        self.store.add_outage_listener(outage)
        sentinel = self.sentinel = Sentinel()
        self.children = self._child_specs(request_send, request_receive, wakeup, sentinel)
        self._ended = {child.name: trio.Event() for child in self.children}
        try:
            with watch_loop(self._running_job_id):
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    for child in self.children:
                        if self._stopping:
                            break  # a signal during start-up: start no more
                        await nursery.start(self._supervise, child)
                    self.state = "running"
                    log.info(
                        "worker started",
                        extra={
                            "worker": self.worker_id,
                            "types": ",".join(self.job_types),
                            "timings": config.describe(),
                            "version": version(),
                        },
                    )
                    task_status.started(self)
        finally:
            await self._leave()
            self.state = "stopped"
            self.store.remove_listener(wakeup)
            self.store.remove_cancel_listener(cancelled_here)
            self.store.remove_outage_listener(outage)
            self.store.cut_off_at(math.inf)  # the store is the caller's again
            sentinel.close()

    def _child_specs(
        self,
        request_send: trio.MemorySendChannel[Handoff],
        request_receive: trio.MemoryReceiveChannel[Handoff],
        wakeup: Wakeup,
        sentinel: Sentinel,
    ) -> tuple[ChildSpec, ...]:
        """The actors, in start order (see the module docstring). The executor and the
        poller get a fresh clone of their channel end per incarnation."""
        config, store = self.config, self.store
        poller_settings = PollerSettings(
            config.worker_id, tuple(self.job_types), config.poll_interval, config.max_poll_interval
        )
        executor_settings = ExecutorSettings(
            config.progress_interval,
            config.kill_grace,
            fence_after=config.fence_after,
            patience=config.heartbeat_interval,
            sentinel_after=config.sentinel_after,
            sentinel=sentinel,
            write_deadline=lambda: self.shutdown_deadline,
            claim_as=poller_settings,
            may_claim=lambda: not self._stopping,
            events=self.events,
        )

        async def run_executor(task_status: trio.TaskStatus[None]) -> None:
            await executor(
                store,
                self.job_types,
                self.slot,
                request_send.clone(),
                executor_settings,
                task_status=task_status,
            )

        async def run_poller(task_status: trio.TaskStatus[None]) -> None:
            await poller(
                store, request_receive.clone(), poller_settings, wakeup, task_status=task_status
            )

        reap = functools.partial(
            reaper,
            store,
            interval=config.reap_every,
            stale_after=config.stale_after,
            retention=config.retention,
            prune_interval=config.prune_interval,
            events=self.events,
            patience=config.heartbeat_interval,
            worker=self.info,
            keys_retention=config.retain_idempotency_keys,
            retain_uploads=config.retain_uploads,
        )
        beat = functools.partial(
            heartbeat,
            store,
            self.slot,
            interval=config.heartbeat_interval,
            fence_after=config.fence_after,
            sentinel=sentinel,
            cancel_check_interval=config.cancel_check_interval,
        )
        return (
            ChildSpec("reaper", reap),
            ChildSpec("heartbeat", beat),
            ChildSpec("executor", run_executor, drain=self._drain, shutdown=config.shutdown_grace),
            ChildSpec("poller", run_poller),
        )

    async def _drain(self, grace: float) -> None:
        """The executor's stop: the running job gets ``grace`` seconds to finish, else it
        is stopped (child killed and reaped, job back to pending, no attempt charged); this
        returns once the slot is empty. The wait after the stop is shielded: a second cancel
        cannot leave the job unreleased."""
        running = self.slot.current
        if running is None:
            return
        with trio.move_on_after(grace):
            while self.slot.current is running:
                await self.slot.changed.wait()
        if self.slot.current is running:
            running.stop(StopReason.SHUTDOWN, f"not finished within {grace:g} s")
            with trio.CancelScope(shield=True):
                while self.slot.current is running:
                    await self.slot.changed.wait()

    def _running_job_id(self) -> int | None:
        """The running job's id (read by the loop watch's thread: one attribute read)."""
        running = self.slot.current
        return running.claimed.job.id if running is not None else None

    async def _start_up(self) -> None:
        """Register the job types and this worker (retried while the database is away: it
        may go between the CLI's check and here) and sweep leftover children (best
        effort)."""
        delay = 0.5
        while True:
            try:
                await self.store.register_types(t.info() for t in self.job_types.values())
                await self.store.register_worker(self.info)
                break
            except StoreUnavailable as exc:
                log.warning("job types not registered yet, retrying: %s", exc)
                await trio.sleep(delay)
                delay = min(delay * 2, 5.0)
        try:
            await sweep_leftover_children(self.store, self.config.stale_after)
        except StoreUnavailable as exc:
            log.warning("leftover children not swept (database unavailable): %s", exc)

    async def _leave(self) -> None:
        """Delete this worker's row from the registry: its types are no longer served.
        Shielded and bounded (by the shutdown's deadline, else a few seconds); if the
        database does not answer, the row reads as dead after three silent rounds."""
        deadline = min(self.shutdown_deadline, trio.current_time() + _LEAVE_TIMEOUT)
        with trio.move_on_at(deadline, shield=True):
            try:
                await self.store.unregister_worker(self.worker_id)
            except JobStoreError as exc:
                log.warning("worker not removed from the registry: %s", exc)

    def hurry(self) -> None:
        """Stop the running job now (a second signal): it is released, not charged."""
        running = self.slot.current
        if running is not None:
            running.stop(StopReason.SHUTDOWN, "second signal")

    async def stop(self, grace: float | None = None) -> None:
        """Graceful stop: claim no more, give the running job ``grace`` seconds (default
        ``shutdown_grace``) to finish, else stop it (child killed and reaped, job back to
        pending, no attempt charged), then end every actor. The whole of it, final writes
        included, ends within ``shutdown_timeout`` (a write the database does not answer in
        time is given up; the reaper then retries the job).

        Cancellation: a second cancel (e.g. a second signal) is the caller's way to shorten
        the wait; the job is still released before this returns.
        """
        if self._stopping:
            return
        self._stopping = True
        self.shutdown_deadline = trio.current_time() + self.config.shutdown_timeout
        # Whatever the database does, nothing the worker asks of it outlives the bound.
        self.store.cut_off_at(self.shutdown_deadline)
        self.state = "stopping"
        log.info("worker stopping: no new claims", extra={"worker": self.worker_id})
        for child in reversed(self.children):  # the poller first: no new claims
            if child.drain is not None:
                await child.drain(child.shutdown if grace is None else grace)
            await self._stop_child(child.name)
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()


def worker_info(config: WorkerConfig, job_types: Mapping[str, JobType]) -> WorkerInfo:
    """What a worker writes in the registry: who and where it is, what it serves."""
    import socket

    from ._version import version as installed

    version = installed()
    return WorkerInfo(
        id=config.worker_id,
        host=socket.gethostname(),
        pid=os.getpid(),
        types=tuple(sorted(job_types)),
        version=version,
        beat_interval=config.reap_every,
    )


@contextlib.asynccontextmanager
async def open_supervisor(
    store: JobStore,
    job_types: Iterable[JobType] | Mapping[str, JobType],
    config: WorkerConfig | None = None,
    *,
    observers: Iterable[Observer] = (),
) -> AsyncIterator[Supervisor]:
    """Run a whole worker inside the caller's task tree; yields the running
    :class:`Supervisor`. Leaving the block stops it gracefully (see :meth:`Supervisor.stop`,
    with no grace: the running job is stopped and released at once). ``observers`` receive
    the worker's typed events (``actors.Event``: claimed, progress, completed, failed, ...).

    Raises ``actors.JobTypeError`` (a ``ValueError``) before anything starts if two job
    types share a name, and :class:`RestartIntensityExceeded` (in an exception group) if
    the actors crash too often.
    """
    supervisor = Supervisor(store, job_types, config or WorkerConfig(), observers)
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor.run)
        try:
            yield supervisor
        finally:
            with trio.CancelScope(shield=True):
                await supervisor.stop(grace=0)
