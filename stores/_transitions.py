"""The job state machine: one table from how a run ended to what its row becomes.

Rationale. What a worker's write does to a running job depends on five things: how the
run ended (the *outcome*), whether its error kind is retried, whether the attempt is
charged, whether a cancel was requested meanwhile, and whether attempts are left. The
answer (the next status, whether the verdict's error is kept on the row, the history
note) is written here once, as :data:`RULES`, and nowhere else:

* the SQL ``CASE`` expressions of ``FAIL``, ``RELEASE``, ``RECOVER_CLAIM`` and ``REAP`` are
  compiled from it at build time (``stores/_statements.py``);
* :func:`transition` reads it in Python, for the worker and for the tests, which check
  every row against the database on both adapters.

Rules are tried in order and the first that matches wins (as a ``CASE`` does); ``None``
matches anything. Every outcome ends with a rule that matches everything, so no
combination is left undecided (checked at import).
"""

from __future__ import annotations

import enum

import attrs

from ._model import ErrorKind, JobStatus

__all__ = ["RETRYABLE", "RULES", "Outcome", "Rule", "rules_for", "transition"]


class Outcome(enum.StrEnum):
    """How a run ended, as the write that records it says."""

    #: The handler returned a result (``complete``).
    COMPLETED = "completed"
    #: The handler failed, or ran out of time (``fail``, with an error kind).
    FAILED = "failed"
    #: A requested cancel, the child confirmed dead (``confirm_cancelled``).
    CANCELLED = "cancelled"
    #: Given back by the lease's holder (``release``): charged or not.
    RELEASED = "released"
    #: The lease went stale: the worker died or froze (``reap``; always charged).
    REAPED = "reaped"


#: The error kinds that are worth another attempt. A permanent error never is.
RETRYABLE = frozenset({ErrorKind.TRANSIENT, ErrorKind.TIMEOUT, ErrorKind.STALLED})


@attrs.frozen
class Rule:
    """One row of the table: when (the conditions; ``None`` matches either value) and
    what the row becomes."""

    outcome: Outcome
    retryable: bool | None
    charged: bool | None
    cancel_requested: bool | None
    attempts_left: bool | None
    #: The next status.
    status: JobStatus
    #: Whether the verdict's error and error kind are written on the row (a completion
    #: writes none: an earlier attempt's error is history); else the row keeps the ones it
    #: had (a shutdown release is not an error of the job's).
    records_error: bool
    #: How the history note starts (the verdict's reason follows).
    note: str
    #: Whether the job waits out the handler's retry delay before it can be claimed again.
    backoff: bool = False

    def matches(
        self, *, retryable: bool, charged: bool, cancel_requested: bool, attempts_left: bool
    ) -> bool:
        wanted = (self.retryable, self.charged, self.cancel_requested, self.attempts_left)
        given = (retryable, charged, cancel_requested, attempts_left)
        return all(w is None or w == g for w, g in zip(wanted, given, strict=True))


_O, _S = Outcome, JobStatus
#: outcome, retryable, charged, cancel requested, attempts left → status, records error, note
RULES: tuple[Rule, ...] = (
    Rule(_O.COMPLETED, None, None, None, None, _S.COMPLETED, True, "completed"),
    Rule(_O.CANCELLED, None, None, None, None, _S.CANCELLED, False, ""),
    # A failure retries only while attempts remain and nobody asked to cancel; a failure
    # that beat the cancel request to the database is still the job's failure.
    Rule(_O.FAILED, True, None, False, True, _S.PENDING, True, "will retry: ", backoff=True),
    Rule(_O.FAILED, None, None, None, None, _S.FAILED, True, "failed: "),
    # A release ends a job whose cancel was asked for, and a charged release of the last
    # attempt fails it (no claim may exceed max_attempts); otherwise the job waits again,
    # its attempt refunded unless charged.
    Rule(_O.RELEASED, None, None, True, None, _S.CANCELLED, False, "released: "),
    Rule(_O.RELEASED, None, True, False, False, _S.FAILED, True, "failed: "),
    Rule(_O.RELEASED, None, None, None, None, _S.PENDING, False, "released: "),
    # A stale lease: the worker is gone, so the run counts (a job that kills its worker
    # must not loop for free).
    Rule(_O.REAPED, None, None, True, None, _S.CANCELLED, False, "reaped: "),
    Rule(_O.REAPED, None, None, False, True, _S.PENDING, True, "reaped: "),
    Rule(_O.REAPED, None, None, None, None, _S.FAILED, True, "reaped: "),
)


def rules_for(outcome: Outcome) -> tuple[Rule, ...]:
    """The rules of one outcome, in the order they are tried."""
    return tuple(rule for rule in RULES if rule.outcome is outcome)


def transition(
    outcome: Outcome,
    *,
    kind: ErrorKind | None = None,
    charged: bool = True,
    cancel_requested: bool = False,
    attempts_left: bool = False,
) -> Rule:
    """The rule that a write of ``outcome`` applies to a row in that state."""
    for rule in rules_for(outcome):
        if rule.matches(
            retryable=kind in RETRYABLE,
            charged=charged,
            cancel_requested=cancel_requested,
            attempts_left=attempts_left,
        ):
            return rule
    raise AssertionError(f"no rule for {outcome}")  # _check() makes this unreachable


def _check() -> None:
    for outcome in Outcome:
        rules = rules_for(outcome) or (None,)
        last = rules[-1]
        if last is None or (
            (last.retryable, last.charged, last.cancel_requested, last.attempts_left)
            != (None, None, None, None)
        ):
            raise AssertionError(f"the rules of {outcome} must end with a catch-all rule")


_check()
