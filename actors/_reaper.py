"""The reaper: every worker runs one; stale running jobs go back to pending or fail, and
finished jobs past their retention are deleted."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import trio

import files
from stores import JobStore, StoreUnavailable, WorkerInfo

from ._events import Events, JobReaped

__all__ = ["PRUNE_BATCH", "prune_once", "reaper", "sweep_uploads"]

log = logging.getLogger("supervisor.reaper")


#: Rows per prune statement, and statements per status per round: a round's cost is bounded
#: whatever the backlog; the next round continues.
PRUNE_BATCH = 1000
PRUNE_BATCHES_PER_ROUND = 10


async def prune_once(
    store: JobStore,
    retention: Mapping[str, float],
    *,
    batches: int | None = PRUNE_BATCHES_PER_ROUND,
    dry_run: bool = False,
    storage: files.Storage | None = None,
) -> dict[str, int]:
    """Delete finished jobs past their retention (``status -> seconds``), in batches of
    ``PRUNE_BATCH`` (at most ``batches`` per status; None: until done); returns the counts.
    With ``storage``, each batch's outputs (``result["outputs"]``) are deleted from it
    right after their jobs, and counted as ``"outputs"``.

    Cancellation: safe between batches (each batch is one statement). A batch whose jobs
    were deleted but whose outputs were not (cancelled, storage down) leaves those files:
    the bucket's lifecycle rule is the backstop (docs/OPERATIONS.md §12).
    """
    counts: dict[str, int] = {}
    results: list[Any] | None = None if storage is None else []
    for status, seconds in retention.items():
        counts[status] = 0
        done = 0
        while batches is None or done < batches:
            limit = None if dry_run else PRUNE_BATCH
            n = await store.prune(status, seconds, limit=limit, dry_run=dry_run, results=results)
            counts[status] += n
            done += 1
            if storage is not None and results is not None:
                keys = output_keys(results)
                counts["outputs"] = counts.get("outputs", 0) + len(keys)
                results.clear()
                if not dry_run:
                    for key in keys:
                        await storage.delete(key)
            if dry_run or n < PRUNE_BATCH:
                break
    return counts


#: Upload keys live under this prefix (``files.new_upload_key``).
UPLOADS = "uploads/"


async def sweep_uploads(
    storage: files.Storage,
    older_than: float,
    *,
    dry_run: bool = False,
    limit: int | None = PRUNE_BATCH,
    now: float | None = None,
) -> int:
    """Delete uploads (``uploads/…``) written more than ``older_than`` seconds ago, at most
    ``limit`` (None: all); returns how many (with ``dry_run``: how many would be).

    Every upload goes, used or not: a job needs its input only while it runs, and a job
    still queued when its upload is swept fails with ``input not found``. One LIST per
    1,000 uploads, one DELETE per upload swept.
    """
    cutoff = (time.time() if now is None else now) - older_than
    old = [o.key for o in await storage.list(UPLOADS) if (o.modified or cutoff) < cutoff]
    old = old if limit is None else old[:limit]
    if not dry_run:
        for key in old:
            await storage.delete(key)
    return len(old)


def output_keys(results: Iterable[Any]) -> list[str]:
    """The storage keys of the outputs these job results list (``store_output``'s entries)."""
    keys = []
    for result in results:
        found = result.get("outputs") if isinstance(result, dict) else None
        for entry in found if isinstance(found, list) else []:
            key = entry.get("key") if isinstance(entry, dict) else None
            with contextlib.suppress(files.InvalidKey):
                keys.append("/".join(files.key_parts(key)))
    return keys


async def reaper(
    store: JobStore,
    *,
    interval: float,
    stale_after: float,
    retention: Mapping[str, float] | None = None,
    prune_interval: float = 300.0,
    events: Events | None = None,
    patience: float = 5.0,
    worker: WorkerInfo | None = None,
    keys_retention: float = 0.0,
    retain_uploads: float = 0.0,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Every ``interval`` seconds, beat ``worker``'s row in the registry and run the store's
    reap (one idempotent statement); every ``prune_interval`` seconds, prune finished jobs
    past their ``retention`` (a mapping, perhaps empty: None prunes nothing) with their
    outputs, sweep uploads older than ``retain_uploads`` (0: never), forget idempotency keys
    older than ``keys_retention`` (0: never) and the rows of workers silent for an hour
    (``JobStore.forget_workers``). After an outage seen through this store, no reap for
    ``stale_after`` (see ``_Holdback``).

    Cancellation: safe at any point; a beat, a reap or a prune batch either happened or
    did not.
    """
    # An outage stops every lease's clock at once: for stale_after after the database is
    # back, a lease is not stale for lack of heartbeats its holder could not send, and its
    # holder gets that long to renew it or write its outcome (uncharged) before any reap.
    holdback = _Holdback(stale_after)
    store.add_outage_listener(holdback)
    task_status.started()
    kept = None if retention is None else _Retention(retention, retain_uploads, keys_retention)
    rounds = _Rounds(store, interval, stale_after, events, patience, worker)
    try:
        await rounds.run(kept, prune_interval, holdback)
    finally:
        store.remove_outage_listener(holdback)


class _Holdback:
    """Tracks this process's view of database outages, for the reaper."""

    def __init__(self, stale_after: float) -> None:
        self._stale_after = stale_after
        self._out = False
        self._until = -float("inf")

    def __call__(self, began: bool, detail: str) -> None:
        self._out = began
        if not began:
            self._until = trio.current_time() + self._stale_after

    def reaping_allowed(self) -> bool:
        return not self._out and trio.current_time() >= self._until


@attrs.frozen
class _Retention:
    jobs: Mapping[str, float]
    uploads: float
    keys: float


@attrs.frozen
class _Rounds:
    store: JobStore
    interval: float
    stale_after: float
    events: Events | None
    patience: float
    worker: WorkerInfo | None

    async def run(
        self, retention: _Retention | None, prune_interval: float, holdback: _Holdback
    ) -> None:
        next_prune = next_reap = trio.current_time()
        while True:
            await trio.sleep_until(min(next_reap, next_prune if retention else next_reap))
            if retention is not None and trio.current_time() >= next_prune:
                next_prune = trio.current_time() + prune_interval
                await _prune_round(self.store, retention)
            if trio.current_time() >= next_reap:
                next_reap = trio.current_time() + self.interval
                await self._beat()
                if holdback.reaping_allowed():
                    await _reap_round(
                        self.store, self.stale_after, self.events, self.interval, self.patience
                    )

    async def _beat(self) -> None:
        # The registry's beat rides on the reaper's round: no timer of its own, and one
        # row written per round (the reapers' tick is the other).
        if self.worker is None:
            return
        try:
            await self.store.beat_worker(self.worker)
        except StoreUnavailable:
            pass  # the store logs the outage; silence past three rounds reads as dead


async def _prune_round(store: JobStore, retention: _Retention) -> None:
    pruned: dict[str, int] = {}
    try:
        storage = await trio.to_thread.run_sync(files.get_storage)
        if retention.jobs:
            pruned = await prune_once(store, retention.jobs, storage=storage)
        if retention.uploads > 0:
            pruned["uploads"] = await sweep_uploads(storage, retention.uploads)
        if retention.keys > 0:
            for _ in range(PRUNE_BATCHES_PER_ROUND):
                if await store.forget_keys(retention.keys, limit=PRUNE_BATCH) < PRUNE_BATCH:
                    break
        await store.forget_workers()
    except StoreUnavailable:
        return  # the store logs the outage; the next round prunes what this one missed
    except files.StorageError as exc:
        # The jobs of the batch are gone, their files stay (the lifecycle rule's to remove).
        log.warning("pruning left files in the storage: %s", exc)
        return
    if any(pruned.values()):
        log.info(
            "pruned finished jobs past their retention: %s",
            ", ".join(f"{n} {status}" for status, n in pruned.items() if n),
        )


async def _reap_round(
    store: JobStore,
    stale_after: float,
    events: Events | None,
    interval: float,
    patience: float,
) -> None:
    # The tick written with the reap spots a database that nobody could write to (down,
    # stalled, locked) for longer than a round and a heartbeat: no reap then for stale_after.
    try:
        reaped = await store.reap(stale_after, steady_gap=interval + patience)
    except StoreUnavailable:
        return  # the store logs the outage; the next round reaps what this one missed
    for job in reaped:
        event = JobReaped(
            job_id=job.id,
            job_type=job.type,
            attempt=job.attempt,
            status=job.status.value,
            error=job.error,
        )
        if events is not None:
            events.emit(event)
        else:
            log.warning("reaped job: %s", job.error or job.status.value)
