"""The job the executor is running, as the heartbeat and the supervisor see it."""

from __future__ import annotations

import enum

import trio

from stores import Claimed

__all__ = ["JobSlot", "RunningJob", "StopReason"]


class StopReason(enum.Enum):
    """Why a running job's cancel scope was cancelled (first reason wins)."""

    CANCEL_REQUESTED = "cancel requested"
    LEASE_LOST = "lease lost"
    TIMEOUT = "timeout"
    SELF_FENCE = "database unreachable"
    SHUTDOWN = "shutdown"
    CRASH = "executor crashed"


class RunningJob:
    """One claimed job being run: its lease, its cancel scope, and why it was stopped."""

    def __init__(self, claimed: Claimed) -> None:
        self.claimed = claimed
        self.scope = trio.CancelScope()
        self.stop_reason: StopReason | None = None
        self.stop_detail = ""
        # Trio time of the last write that proved this worker alive (claim, heartbeat,
        # progress): the heartbeat self-fences when it gets too old.
        self.last_beat = trio.current_time()

    def __repr__(self) -> str:
        job = self.claimed.job
        why = self.stop_reason.value if self.stop_reason else "running"
        return f"<RunningJob id={job.id} type={job.type} attempt={job.attempt} {why}>"

    def stop(self, reason: StopReason, detail: str = "") -> None:
        """Cancel the job's scope; its child is killed and reaped before the scope exits."""
        if self.stop_reason is None:
            self.stop_reason, self.stop_detail = reason, detail
        self.scope.cancel()


class JobSlot:
    """Holds the running job, if any (owned by the supervisor, shared by the actors)."""

    def __init__(self) -> None:
        self.current: RunningJob | None = None
        self.changed = trio.Event()

    def __repr__(self) -> str:
        return f"<JobSlot {self.current!r}>"

    def set(self, running: RunningJob | None) -> None:
        self.current = running
        self.changed.set()
        self.changed = trio.Event()
