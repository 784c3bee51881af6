"""Prometheus metrics for a worker (or a server): fed by the worker's events, the store's
call listener, and, at scrape time, one read of the job counts (3 kept counters, plus the
pending and running jobs counted) and one of the registry of workers.

No job id is ever a label (unbounded cardinality); labels are job types, outcomes, actors,
error classes and worker ids (the registry's rows: live workers, and dead ones for an hour
until swept), all from small sets.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from actors import (
    ActorRestart,
    Event,
    JobCancelled,
    JobClaimed,
    JobCompleted,
    JobFailed,
    JobReaped,
    JobReleased,
    JobRetried,
    StoreOutage,
)
from stores import JobStore, JobStoreError

if TYPE_CHECKING:
    from ._supervisor import Supervisor

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Media jobs last from seconds to hours.
RUN_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, math.inf)
#: Store calls: sub-millisecond locally, milliseconds to Turso, seconds when in trouble.
CALL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 15, math.inf)


class Metrics:
    """One registry of the project's metrics; see the module docstring.

    Use: ``Metrics()``; subscribe :meth:`observe` to the worker's events (``observers=``),
    :meth:`watch_store` the store, optionally :meth:`attach` the running supervisor, and
    serve :meth:`render` at ``/metrics``.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Gauge(
            "media_jobs_jobs",
            "Jobs in the store by status, read at scrape time",
            ["status"],
            registry=r,
        )
        self.runs = Counter(
            "media_jobs_runs",
            "Runs by job type and how they ended",
            ["type", "outcome"],
            registry=r,
        )
        self.run_seconds = Histogram(
            "media_jobs_run_duration_seconds",
            "How long a run took, claim to outcome",
            ["type"],
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "media_jobs_queue_wait_seconds",
            "Time from a job's creation to its claim",
            ["type"],
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self.restarts = Counter(
            "media_jobs_actor_restarts", "Actor restarts after a crash", ["actor"], registry=r
        )
        self.store_errors = Counter(
            "media_jobs_store_errors", "Store calls that failed, by error", ["error"], registry=r
        )
        self.store_seconds = Histogram(
            "media_jobs_store_call_seconds",
            "Latency of store calls",
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.store_up = Gauge(
            "media_jobs_store_up", "1 while the database answers, 0 in an outage", registry=r
        )
        self.store_up.set(1)
        self.heartbeat_age = Gauge(
            "media_jobs_heartbeat_age_seconds",
            "Seconds since the running job's lease was last confirmed (0 when idle)",
            registry=r,
        )
        self.worker_beat_age = Gauge(
            "media_jobs_worker_beat_age_seconds",
            "Seconds since each registered worker's last beat (live, or dead until swept)",
            ["worker"],
            registry=r,
        )
        self.workers_live = Gauge(
            "media_jobs_workers_live", "Workers whose last beat is recent enough", registry=r
        )
        self._supervisor: Supervisor | None = None

    def observe(self, event: Event) -> None:
        """An event observer (``open_supervisor(observers=[metrics.observe])``)."""
        match event:
            case JobClaimed(job_type=kind, queue_wait=wait):
                self.queue_wait.labels(kind).observe(wait)
            case JobCompleted(job_type=kind, duration=took):
                self._ended(kind, "completed", took)
            case JobFailed(job_type=kind, duration=took):
                self._ended(kind, "failed", took)
            case JobRetried(job_type=kind, duration=took):
                self._ended(kind, "retried", took)
            case JobCancelled(job_type=kind, duration=took):
                self._ended(kind, "cancelled", took)
            case JobReleased(job_type=kind):
                self.runs.labels(kind, "released").inc()
            case JobReaped(job_type=kind):
                self.runs.labels(kind, "reaped").inc()
            case ActorRestart(actor=actor):
                self.restarts.labels(actor).inc()
            case StoreOutage(began=began):
                self.store_up.set(0 if began else 1)

    def _ended(self, kind: str, outcome: str, took: float) -> None:
        self.runs.labels(kind, outcome).inc()
        self.run_seconds.labels(kind).observe(took)

    def watch_store(self, store: JobStore) -> None:
        """Count the store's calls: latency and errors."""

        def called(seconds: float, error: str | None) -> None:
            self.store_seconds.observe(seconds)
            if error is not None:
                self.store_errors.labels(error).inc()

        store.add_call_listener(called)

    def attach(self, supervisor: Supervisor) -> None:
        """Read the running job's heartbeat age from this worker at scrape time."""
        self._supervisor = supervisor

    def worker_running(self) -> bool:
        """True while the attached worker runs jobs (not starting, stopping or stopped)."""
        return self._supervisor is not None and self._supervisor.state == "running"

    async def render(self, store: JobStore) -> bytes:
        """The metrics in Prometheus text format, job counts read from ``store`` now.

        A store that cannot be read leaves the counts as they were (``store_up`` says why).
        """
        try:
            counts = await store.counts()
            workers = await store.workers()
        except JobStoreError:
            self.store_up.set(0)
        else:
            for status, n in counts.items():
                self.jobs.labels(status).set(n)
            self.worker_beat_age.clear()  # swept workers leave the set
            for worker in workers:
                self.worker_beat_age.labels(worker.info.id).set(worker.beat_age)
            self.workers_live.set(sum(w.live for w in workers))
        running = self._supervisor.slot.current if self._supervisor is not None else None
        if running is None:
            self.heartbeat_age.set(0)
        else:
            import trio

            self.heartbeat_age.set(max(0.0, running.silence(trio.current_time())))
        return bytes(generate_latest(self.registry))
