"""The poller: claims a job only when the executor is waiting for one."""

from __future__ import annotations

import random
from collections.abc import Sequence

import attrs
import trio

from stores import Claimed, JobStore, StoreUnavailable

from ._running import Confirmation

__all__ = ["Handoff", "PollerSettings", "Wakeup", "poller"]


class Handoff:
    """One executor's request for one job.

    Why not a buffered channel of jobs: a claimed job must never sit in a buffer where a
    crash could strand it. The executor sends a handoff and waits on it; the poller claims
    only then, and if the executor went away meanwhile, ``offer`` says so and the poller
    releases the job at once.
    """

    def __init__(self) -> None:
        self._event = trio.Event()
        self._claimed: tuple[Claimed, Confirmation] | None = None
        self._withdrawn = False

    def offer(self, claimed: Claimed, sent: Confirmation) -> bool:
        """Hand over a job claimed by a statement sent at ``sent`` (the lease's first
        confirmation); False if the executor went away."""
        if self._withdrawn or self._event.is_set():
            return False
        self._claimed = (claimed, sent)
        self._event.set()
        return True

    def abandon(self) -> None:
        """The poller gives up on this request (it is stopping); the executor asks again."""
        self._event.set()

    async def take(self) -> tuple[Claimed, Confirmation] | None:
        """Wait for the job and its claim's send time (None if the poller abandoned the
        request).

        Cancellation: withdraws the request, so a job claimed afterwards is released. A job
        already offered is returned without a checkpoint: waiting on a set event still
        yields, and a cancellation there would drop a job the poller counts as handed over.
        """
        if not self._event.is_set():
            try:
                await self._event.wait()
            finally:
                if not self._event.is_set():
                    self._withdrawn = True
        return self._claimed

    def unclaimed(self) -> tuple[Claimed, Confirmation] | None:
        """A job offered to this request that the executor never took (to give back)."""
        taken, self._claimed = self._claimed, None
        return taken


class Wakeup:
    """Lets an in-process submission wake the idle poller at once (thread-safe)."""

    def __init__(self) -> None:
        self._event = trio.Event()
        self._token = trio.lowlevel.current_trio_token()

    def __call__(self) -> None:
        try:
            self._token.run_sync_soon(self._event.set)
        except trio.RunFinishedError:
            pass

    async def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True if woken by a submission."""
        with trio.move_on_after(seconds):
            await self._event.wait()
        woken = self._event.is_set()
        self._event = trio.Event()
        return woken


@attrs.frozen
class PollerSettings:
    worker_id: str
    types: Sequence[str] | None
    poll_interval: float
    max_poll_interval: float


async def _claim_until_found(
    store: JobStore, settings: PollerSettings, wakeup: Wakeup
) -> tuple[Claimed, Confirmation]:
    delay = settings.poll_interval
    while True:
        sent = Confirmation.now()
        failed = False
        try:
            claimed = await store.claim(settings.worker_id, types=settings.types)
        except StoreUnavailable:
            # The store logs the outage; a claim of unknown outcome is its to give back.
            claimed, failed = None, True
        if claimed is not None:
            return claimed, sent
        # Idle or unreachable: back off up to the bounded maximum (faster during an outage);
        # a local submission resets the wait.
        jittered = delay * random.uniform(0.9, 1.0)
        if await wakeup.wait(jittered):
            delay = settings.poll_interval
        else:
            delay = min(settings.max_poll_interval, delay * (2 if failed else 1.5))


async def poller(
    store: JobStore,
    requests: trio.MemoryReceiveChannel[Handoff],
    settings: PollerSettings,
    wakeup: Wakeup,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the executor's requests: claim the next job for each, FIFO.

    Cancellation: an unfulfilled request is abandoned (the executor asks again) and a job
    claimed for an executor that went away is released before this returns.
    """
    task_status.started()
    async for handoff in requests:
        try:
            claimed, sent = await _claim_until_found(store, settings, wakeup)
            if not handoff.offer(claimed, sent):
                with trio.CancelScope(shield=True):
                    await store.give_back(claimed.lease, "the executor went away")
        finally:
            handoff.abandon()
