"""Worker configuration: timings in seconds, from the environment, overridable by flags.

Each timing's variable, default and meaning are declared once, in ``media_jobs_config``
(``SUPERVISOR_`` + the field's name in capitals); the fields below take their defaults from
there, and the rules between them (the fence, the store timeout, the reaper's pace) live
here."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import attrs

from media_jobs_config import SETTINGS, Environment, default, environment

__all__ = ["REFERENCE_TYPES", "ConfigError", "WorkerConfig", "new_worker_id"]

#: The names of the reference job types (``supervisor.reference.JOB_TYPES``, pinned by a
#: test): what a worker serves without ``--handlers``, known here without importing them.
REFERENCE_TYPES = ("tone", "prep", "sleep", "child", "fail")


class ConfigError(ValueError):
    """A timing or option is unusable; the message names the variable and the value."""


def new_worker_id() -> str:
    import socket  # here, not at the top: a one-shot CLI call never needs it

    return f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"


def _variable(field: str) -> str:
    return f"SUPERVISOR_{field.upper()}"


def _seconds(field: str) -> float:
    """The declared default of ``field``'s variable."""
    return default(_variable(field))


#: Settings where 0 means "never" (keep finished jobs forever).
_ZERO_MEANS_NEVER = frozenset(
    {
        "retain_completed",
        "retain_cancelled",
        "retain_failed",
        "retain_idempotency_keys",
        "retain_uploads",
    }
)

#: The least time a shutdown keeps for the final write (giving the job back).
MIN_FINAL_WRITE = 2.0


@attrs.frozen
class WorkerConfig:
    """How a worker paces itself (all seconds). See docs/OPERATIONS.md for choosing them.

    * ``poll_interval``: first idle wait between claims; idle polling backs off to
      ``max_poll_interval`` (by default the same: no back-off, so pickup stays under a
      second); a job submitted in the same process wakes the poller at once.
    * ``heartbeat_interval``: how often the running job's lease is renewed (``updated_at``
      bumped): a progress write renews it too, so a heartbeat fills only the gaps.
      Each renewal costs 3 rows written on Turso; with ``stale_after`` it sets the rows
      written per running hour (docs/OPERATIONS.md, "What it costs").
    * ``cancel_check_interval``: how often a running job's row is read for a cancel request
      (one row read each; a cancel made through the worker's own store is seen at once).
    * ``stale_after``: a running job whose ``updated_at`` is older is reaped by any worker.
    * ``reaper_interval``: how often each worker runs the reaper.
    * ``shutdown_grace``: on SIGTERM, how long the running job may take to finish.
    * ``kill_grace``: between SIGTERM and SIGKILL of a child process.
    * ``shutdown_timeout``: on SIGTERM, the bound on the whole shutdown: the grace, the
      kill grace and the final write (each store call is cut short to fit). Keep it below
      the platform's kill deadline (Render's ``maxShutdownDelaySeconds``).
    * ``max_restarts`` in ``restart_window``: the restart intensity (OTP one-for-one).
    * ``retain_completed``, ``retain_cancelled``, ``retain_failed``: finished jobs (and their
      history) are deleted this long after they finished; 0 keeps them forever. Every
      ``prune_interval`` each worker deletes a few batches of at most 1,000, with the
      outputs their results list.
    * ``retain_idempotency_keys``: how long a client's ``Idempotency-Key`` keeps answering
      with its job (forgotten at the next prune round after; 0 keeps keys forever).
    * ``retain_uploads``: uploads (``uploads/…`` in the storage) are deleted this long after
      they were written, used or not; 0 keeps them forever.

    The worker's row in the registry of live workers is beaten once per reaper round
    (``reap_every``); it counts as dead after three rounds without a beat.
    """

    worker_id: str = attrs.field(factory=new_worker_id)
    poll_interval: float = _seconds("poll_interval")
    max_poll_interval: float = _seconds("max_poll_interval")
    heartbeat_interval: float = _seconds("heartbeat_interval")
    cancel_check_interval: float = _seconds("cancel_check_interval")
    stale_after: float = _seconds("stale_after")
    reaper_interval: float = _seconds("reaper_interval")
    shutdown_grace: float = _seconds("shutdown_grace")
    kill_grace: float = _seconds("kill_grace")
    shutdown_timeout: float = _seconds("shutdown_timeout")
    # Not settings an operator tunes (no variable): pinned by tests and the docs.
    progress_interval: float = 2.0
    max_restarts: int = 5
    restart_window: float = 60.0
    retain_completed: float = _seconds("retain_completed")
    retain_cancelled: float = _seconds("retain_cancelled")
    retain_failed: float = _seconds("retain_failed")
    retain_idempotency_keys: float = _seconds("retain_idempotency_keys")
    prune_interval: float = _seconds("prune_interval")
    retain_uploads: float = _seconds("retain_uploads")

    def __attrs_post_init__(self) -> None:
        for field in attrs.fields(WorkerConfig):
            value = getattr(self, field.name)
            if field.type not in ("float", float):
                continue
            if field.name in _ZERO_MEANS_NEVER:
                if not (isinstance(value, int | float) and value >= 0 and math.isfinite(value)):
                    raise ConfigError(
                        f"{field.name} must be a number of seconds (0: keep forever): {value!r}"
                    )
            elif not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
                raise ConfigError(f"{field.name} must be a positive number of seconds: {value!r}")
        if self.max_poll_interval < self.poll_interval:
            raise ConfigError("max_poll_interval must be at least poll_interval")
        if self.fence_after <= self.heartbeat_interval:
            raise ConfigError(
                f"stale_after ({self.stale_after:g} s) is too short for heartbeat_interval "
                f"({self.heartbeat_interval:g} s) and kill_grace ({self.kill_grace:g} s): "
                "use stale_after > 3 × heartbeat_interval + kill_grace"
            )
        room = self.shutdown_timeout - self.shutdown_grace - self.kill_grace
        if room < MIN_FINAL_WRITE:
            raise ConfigError(
                f"shutdown_timeout ({self.shutdown_timeout:g} s) must exceed shutdown_grace "
                f"({self.shutdown_grace:g} s) + kill_grace ({self.kill_grace:g} s) by at least "
                f"{MIN_FINAL_WRITE:g} s, the time kept for giving the job back"
            )
        if not (1 <= len(self.worker_id) <= 128 and self.worker_id.isprintable()):
            raise ConfigError(
                f"the worker id must be 1 to 128 printable characters (no tabs or line "
                f"breaks): {self.worker_id!r}"
            )

    @property
    def fence_after(self) -> float:
        """Silence after which the worker stops its own job. Noticed at the next heartbeat
        tick, then SIGTERM and at most ``kill_grace``: the child is dead a heartbeat interval
        before any other worker may reap the job (``stale_after``)."""
        return self.stale_after - 2 * self.heartbeat_interval - self.kill_grace

    @property
    def retention(self) -> dict[str, float]:
        """Seconds to keep finished jobs, by status (statuses kept forever left out)."""
        kept = {
            "completed": self.retain_completed,
            "cancelled": self.retain_cancelled,
            "failed": self.retain_failed,
        }
        return {status: seconds for status, seconds in kept.items() if seconds > 0}

    @property
    def reap_every(self) -> float:
        """How often the reaper runs: ``reaper_interval``, or more often if need be so that
        a database outage long enough to make leases stale (``stale_after −
        heartbeat_interval``) always shows as a gap between the reapers' ticks (which are
        at most this plus a heartbeat interval apart while all is well)."""
        return min(self.reaper_interval, (self.stale_after - 2 * self.heartbeat_interval) / 2)

    @property
    def store_timeout(self) -> float:
        """The longest a store call may take: a heartbeat sent on schedule must get its
        answer, or give up, before the self-fence deadline. A store with a longer timeout
        of its own is capped to this while the worker runs."""
        return self.fence_after - self.heartbeat_interval

    @property
    def sentinel_after(self) -> float:
        """Silence after which the sentinel SIGKILLs the child itself: the backstop for a
        worker too frozen to fence, still before ``stale_after``."""
        return self.stale_after - self.heartbeat_interval

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | Environment | None = None, **overrides: Any
    ) -> WorkerConfig:
        """Defaults, then ``SUPERVISOR_*`` variables, then ``overrides`` (flags; None = unset)."""
        env = environment(env)
        values: dict[str, Any] = {}
        for name in _TIMED:
            var = _variable(name)
            raw = env.get(var, "").strip()
            if raw:
                try:
                    values[name] = float(raw)
                except ValueError:
                    raise ConfigError(f"{var} must be a number of seconds, got {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        default_max = attrs.fields(cls).max_poll_interval.default
        if values.get("poll_interval", 0) > default_max and "max_poll_interval" not in values:
            values["max_poll_interval"] = values["poll_interval"]
        return cls(**values)

    def describe(self) -> str:
        return " ".join(
            f"{name}={getattr(self, name):g}s"
            for name in (
                "poll_interval",
                "max_poll_interval",
                "heartbeat_interval",
                "cancel_check_interval",
                "stale_after",
                "reaper_interval",
                "shutdown_grace",
                "kill_grace",
                "shutdown_timeout",
            )
        )


#: The fields set by a variable of their own (the others are tuned in code only).
_TIMED = tuple(
    field.name
    for field in attrs.fields(WorkerConfig)
    if _variable(field.name) in {setting.variable for setting in SETTINGS}
)
