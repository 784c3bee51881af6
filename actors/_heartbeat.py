"""The heartbeat: proves the worker alive, relays cancel requests, and self-fences."""

from __future__ import annotations

import logging

import trio

from stores import JobStore, LeaseLost, StoreUnavailable

from ._running import JobSlot, RunningJob, StopReason
from ._sentinel import Sentinel

__all__ = ["heartbeat"]

log = logging.getLogger("supervisor.heartbeat")


async def heartbeat(
    store: JobStore,
    slot: JobSlot,
    *,
    interval: float,
    fence_after: float,
    sentinel: Sentinel | None = None,
    cancel_check_interval: float | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """While a job runs, every ``interval`` seconds bump its ``updated_at`` (fenced), and
    every ``cancel_check_interval`` seconds read whether a cancel was requested.

    * a cancel request stops the job (its child is killed, then the row is cancelled);
    * a lost lease stops the job at once: someone else owns it now;
    * if the lease went unconfirmed for ``fence_after`` seconds *because of the database*
      (see ``RunningJob.fence_decision``), the job is stopped (self-fencing): the reaper
      elsewhere may soon hand it to another worker, and running it twice is worse than
      running it late.

    The self-fencing deadline is kept by a timer of its own: during an outage a store call
    can take a while to fail, and the deadline must not wait for it. A dead sentinel process
    is replaced at the next beat.

    Cancellation: safe at any point (each beat is one fenced write).
    """
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_fence, slot, fence_after)
        if cancel_check_interval is not None:
            nursery.start_soon(_watch_cancel, store, slot, cancel_check_interval)
        task_status.started()
        await _beat(store, slot, interval, sentinel)


async def _beat(store: JobStore, slot: JobSlot, interval: float, sentinel: Sentinel | None) -> None:
    last_sent = -float("inf")
    while True:
        running = slot.current
        if running is None or running.stop_reason is not None:
            await slot.changed.wait()
            continue
        # An interval after the last confirmation (a progress report counts) or the last
        # attempt, whichever is later; at once when the fence asks for a beat.
        with trio.move_on_at(max(running.confirmed.at, last_sent) + interval):
            await running.beat_wanted.wait()
        wanted = running.beat_wanted.is_set()
        running.beat_wanted = trio.Event()
        if running is not slot.current or running.stop_reason is not None:
            continue
        if not wanted and running.confirmed.at + interval > trio.current_time():
            continue  # a progress report renewed the lease while we waited: no beat yet
        if sentinel is not None:
            sentinel.check()
        last_sent = trio.current_time()
        await _beat_once(store, running)


async def _watch_cancel(store: JobStore, slot: JobSlot, interval: float) -> None:
    """Read the running job's cancel flag every ``interval`` (a read confirms nothing)."""
    while True:
        running = slot.current
        if running is None or running.stop_reason is not None:
            await slot.changed.wait()
            continue
        await trio.sleep(interval)
        if running is not slot.current or running.stop_reason is not None:
            continue
        try:
            reply = await store.check_cancel(running.claimed.lease)
        except LeaseLost as exc:
            running.stop(StopReason.LEASE_LOST, str(exc))
        except StoreUnavailable:
            pass  # the store logs outages; the heartbeat and the fence handle them
        else:
            if reply.cancel_requested:
                running.stop(StopReason.CANCEL_REQUESTED)


async def _beat_once(store: JobStore, running: RunningJob) -> None:
    lease = running.claimed.lease
    reply = await running.write(lambda: store.heartbeat(lease), "heartbeat")
    if reply is not None and reply.cancel_requested:
        running.stop(StopReason.CANCEL_REQUESTED)


async def _fence(slot: JobSlot, fence_after: float) -> None:
    """Stop the running job once its lease can no longer be trusted (see the rules in
    ``RunningJob.fence_decision``); wake at its deadline or whenever the lease changes."""
    while True:
        running = slot.current
        if running is None or running.stop_reason is not None:
            await slot.changed.wait()
            continue
        # Let a write whose answer arrived meanwhile book it first (after a stalled loop the
        # timer and the answer become ready together).
        await trio.lowlevel.checkpoint()
        decision = running.fence_decision(trio.current_time(), fence_after)
        if decision.fence:
            running.stop(StopReason.SELF_FENCE, decision.detail)
            continue
        changed = running.changed
        with trio.move_on_at(decision.recheck_at):
            await changed.wait()
