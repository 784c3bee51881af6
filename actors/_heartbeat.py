"""The heartbeat: proves the worker alive, relays cancel requests, and self-fences."""

from __future__ import annotations

import logging

import trio

from stores import JobStore, LeaseLost, StoreUnavailable

from ._running import JobSlot, StopReason
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
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Every ``interval`` seconds, bump the running job's ``updated_at`` (fenced).

    * a cancel request stops the job (its child is killed, then the row is cancelled);
    * a lost lease stops the job at once: someone else owns it now;
    * if the database has not confirmed this worker alive for ``fence_after`` seconds, the
      job is stopped (self-fencing): the reaper elsewhere may soon hand it to another worker,
      and running it twice is worse than running it late.

    The self-fencing deadline is kept by a timer of its own: during an outage a store call
    can take a while to fail, and the deadline must not wait for it.

    Cancellation: safe at any point (each beat is one fenced write).
    """
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_fence, slot, fence_after)
        task_status.started()
        await _beat(store, slot, interval, sentinel)


async def _beat(store: JobStore, slot: JobSlot, interval: float, sentinel: Sentinel | None) -> None:
    outage = False
    while True:
        await trio.sleep(interval)
        running = slot.current
        if running is None or running.stop_reason is not None:
            continue
        try:
            reply = await store.heartbeat(running.claimed.lease)
        except LeaseLost as exc:
            running.stop(StopReason.LEASE_LOST, str(exc))
            continue
        except StoreUnavailable as exc:
            if not outage:
                log.warning("heartbeat failed, database unavailable: %s", exc)
                outage = True
            continue
        if outage:
            log.warning("heartbeat recorded again")
            outage = False
        running.last_beat = trio.current_time()
        if sentinel is not None:
            sentinel.beat()
        if reply.cancel_requested:
            running.stop(StopReason.CANCEL_REQUESTED)


async def _fence(slot: JobSlot, fence_after: float) -> None:
    """Stop the running job once nothing has confirmed its lease for ``fence_after``."""
    while True:
        running = slot.current
        if running is None or running.stop_reason is not None:
            await slot.changed.wait()
            continue
        silent = trio.current_time() - running.last_beat
        if silent >= fence_after:
            running.stop(
                StopReason.SELF_FENCE,
                f"no heartbeat recorded for {silent:.1f} s (limit {fence_after:g} s)",
            )
            continue
        # Wake at the deadline, or sooner if the job changes; last_beat may have moved.
        with trio.move_on_after(fence_after - silent):
            await slot.changed.wait()
