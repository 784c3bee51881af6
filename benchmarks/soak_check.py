"""The soak's checker: what a run must satisfy, read from the job table, its history, the
children's log and the soak's own record of the faults it injected.

Pure functions over plain data (``RunData``), so the rules can be read, and tested, apart
from the processes that produce the data (``benchmarks/soak.py``). Times: ``at`` in the
history is the database's clock (``julianday('now')``, the same host clock as the soak's
``time.time()``: sqld and the SQLite file both run here); children log ``time.time()`` and
``time.monotonic()``.

The rules (each violation has a kind; see ``KINDS``):

* every submitted job exists (``lost_row``) and ended in a terminal state
  (``not_terminal``); its history ends in its status (``history_mismatch``); nothing
  leaves a terminal state (``terminal_changed``);
* no two children of one job are alive at once: a child that cannot take its job's
  ``flock`` logs it (``double_run``); intervals from start and end lines must not overlap
  (``double_run_log``); no child runs after its lease ended (the row reaped, released or
  finished) (``child_outlived_lease``);
* attempts: a claim's attempt (``claimed, attempt N``) never exceeds ``max_attempts``
  (``attempt_over_max``); consecutive claims differ by exactly the charge of what ended the
  first: a refunded release (shutdown, self-fence, lost claim answer, ...) must be followed
  by the same attempt (``charged_release``), a charged ending (retry, reap) by the next
  one (``attempt_accounting``); children name the attempt and lease of a real claim
  (``child_without_claim``, ``attempt_mismatch``);
* a reap charges an attempt, which is fair only when the holder really died or froze, or
  was shut down while the database stayed unreachable for its whole bounded shutdown (it
  could not give the job back: the documented limit): a reap of a lease whose worker was
  none of these was charged for a store outage or a shutdown
  (``reaped_live_worker``; the details name the store faults around it, any SIGTERM, and
  whether any child ran under that lease: none suggests a claim whose answer was lost, all
  of them cleanly means a finished run was thrown away). A run that had failed on its own
  (a child failed on purpose, or the job type's timeout) is not counted: its attempt was
  due anyway;
* a child killed by a signal while its worker was neither frozen nor dying, then charged as
  the job's own transient failure (``charged_child_kill``);
* a completed job's final lease ran all its children to a clean exit
  (``completed_without_children``).

Process-level rules (worker exits, bounded shutdown, processes left behind) are checked by
the soak itself and reported with the same kinds machinery.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KINDS",
    "CheckResult",
    "RunData",
    "StoreFault",
    "Timings",
    "Violation",
    "WorkerTimeline",
    "check",
]

TERMINAL = frozenset({"completed", "failed", "cancelled"})

#: Release reasons (``released: REASON`` in the history; ``failed: REASON`` when a charged
#: release used the last attempt) that must never charge an attempt: a shutdown, a store
#: outage (self-fence, untrusted outcome), a lost claim answer, a claim handed back. Texts
#: from actors/_executor.py (``decide``: StopReason values), actors/_poller.py and
#: stores/_sql.py (``claim``, ``_recover_claims``).
REFUNDED = (
    "shutdown",
    "database unreachable",
    "outcome not trusted",
    "the claim's answer was lost",
    "the executor went away",
    "claim cancelled before the job started",
)
#: Release reasons that charge the attempt (the job's own doing).
CHARGED = ("outcome could not be recorded",)
#: Release reasons whose charge depends on how far the run got.
EITHER = ("the executor stopped mid-job", "executor crashed")

CLAIMED = re.compile(r"^claimed, attempt (\d+)")

KINDS = {
    "lost_row": "a submitted job is missing from the table",
    "not_terminal": "a job did not reach a terminal state by the end of the drain",
    "history_mismatch": "a job's history does not end in its status",
    "terminal_changed": "a job left a terminal state",
    "double_run": "a child could not take its job's lock: another child of the job was alive",
    "double_run_log": "two children of one job logged overlapping lifetimes",
    "child_outlived_lease": "a child started or ended after its lease ended in the table",
    "attempt_over_max": "a claim's attempt exceeds max_attempts",
    "charged_release": "a release that must be free (shutdown, outage, ...) charged an attempt",
    "attempt_accounting": "consecutive claims' attempts do not match what ended the first",
    "reaped_live_worker": "a reap charged an attempt though its worker neither died nor froze",
    "charged_child_kill": "a child killed by a signal while its worker ran was charged",
    "child_without_claim": "a child ran for a lease no claim in the history has",
    "attempt_mismatch": "a child's attempt differs from its lease's claim",
    "completed_without_children": "a job completed without its children exiting cleanly",
    "unparseable_history": "the checker cannot read a claim's attempt from the history",
    "worker_died": "a worker exited without being told to (not a refusal to start)",
    "shutdown_overran": "a worker took longer than shutdown_timeout (+ slack) after SIGTERM",
    "shutdown_exit": "a worker stopped by SIGTERM exited non-zero",
    "leftover_process": "a process of a worker (child, sentinel, helper) outlived the workers",
    "leftover_lock": "a child's job lock was still held after the workers stopped",
}


@dataclass(frozen=True)
class Timings:
    """The workers' timings (seconds), passed as ``run`` flags.

    Defaults: short enough that every fault matters within a minute, loose enough for a
    loaded 2-core machine. The derived margins: the worker self-fences after
    ``fence_after = stale_after - 2 * heartbeat - kill_grace`` = 3 s of unconfirmed lease,
    its sentinel kills the child at ``sentinel_after = stale_after - heartbeat`` = 4.5 s,
    another worker may reap at 5 s; store calls are capped at ``fence_after - heartbeat``
    = 2.5 s. So a worker frozen or cut off has at least half a second (a heartbeat
    interval) between its child's death and the earliest reap, ten times the time a
    child takes to start here, and a second of scheduling slack before the fence.
    """

    poll_interval: float = 0.2
    heartbeat_interval: float = 0.5
    stale_after: float = 5.0
    reaper_interval: float = 0.5
    kill_grace: float = 1.0
    shutdown_grace: float = 2.0
    shutdown_timeout: float = 5.0

    @property
    def fence_after(self) -> float:
        return self.stale_after - 2 * self.heartbeat_interval - self.kill_grace

    @property
    def sentinel_after(self) -> float:
        return self.stale_after - self.heartbeat_interval

    @property
    def explains_a_reap(self) -> float:
        """A SIGSTOP at least this long may by itself let the lease go stale (with a
        heartbeat interval before it): shorter ones leave more than ``kill_grace +
        heartbeat`` of margin and cannot explain a reap or a sentinel kill."""
        return self.fence_after - self.heartbeat_interval

    def flags(self) -> list[str]:
        values = {
            "poll-interval": self.poll_interval,
            "heartbeat-interval": self.heartbeat_interval,
            "stale-after": self.stale_after,
            "reaper-interval": self.reaper_interval,
            "kill-grace": self.kill_grace,
            "shutdown-grace": self.shutdown_grace,
            "shutdown-timeout": self.shutdown_timeout,
        }
        return [arg for name, value in values.items() for arg in (f"--{name}", f"{value:g}")]

    def describe(self) -> str:
        return (
            f"poll {self.poll_interval:g} s, heartbeat {self.heartbeat_interval:g} s, "
            f"stale_after {self.stale_after:g} s, reaper {self.reaper_interval:g} s, "
            f"kill_grace {self.kill_grace:g} s, shutdown_grace {self.shutdown_grace:g} s, "
            f"shutdown_timeout {self.shutdown_timeout:g} s (fence_after "
            f"{self.fence_after:g} s, sentinel_after {self.sentinel_after:g} s)"
        )


@dataclass
class WorkerTimeline:
    """What the soak did to one worker process, in wall-clock seconds."""

    worker_id: str
    started: float
    exited: float | None = None
    exit_code: int | None = None
    kills: list[float] = field(default_factory=list)
    #: [SIGSTOP time, SIGCONT or SIGKILL time (None while still stopped)]
    stops: list[list[float | None]] = field(default_factory=list)
    terms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class StoreFault:
    """A fault of the database or the network to it, from ``start`` to ``end``."""

    kind: str
    start: float
    end: float
    detail: str = ""


@dataclass(frozen=True)
class Violation:
    kind: str
    detail: str
    job: int | None = None
    #: The worker and attempt concerned, when one is (to look up in the worker's log).
    worker: str | None = None
    attempt: int | None = None


@dataclass
class RunData:
    jobs: dict[int, dict[str, Any]]
    history: dict[int, list[dict[str, Any]]]
    children: list[dict[str, Any]]
    submitted: list[int]
    workers: dict[str, WorkerTimeline]
    store_faults: list[StoreFault]


@dataclass
class CheckResult:
    violations: list[Violation] = field(default_factory=list)
    figures: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        kind: str,
        detail: str,
        job: int | None = None,
        claim: _Claim | None = None,
    ) -> None:
        assert kind in KINDS, kind
        worker, attempt = (claim.worker, claim.attempt) if claim else (None, None)
        self.violations.append(Violation(kind, detail, job, worker, attempt))


@dataclass
class _Claim:
    job: int
    lease: int
    attempt: int
    worker: str
    at: float
    #: The entry that ended this lease (left ``running``), if any.
    end: dict[str, Any] | None = None


def _reason_class(reason: str) -> tuple[str, str]:
    """("refunded" | "charged" | "either" | "unknown", the release reason) of a release
    note, or ("", "") if the note is not a release's."""
    for prefix in ("released: ", "failed: "):
        if reason.startswith(prefix):
            rest = reason[len(prefix) :]
            for group, names in (("refunded", REFUNDED), ("charged", CHARGED), ("either", EITHER)):
                if rest.startswith(names):
                    return group, rest
            return ("unknown", rest) if prefix == "released: " else ("", "")
    return "", ""


def _fmt(t: float | None) -> str:
    return "-" if t is None else f"{t:.3f}"


def _overlapping(
    faults: Iterable[StoreFault], start: float, end: float
) -> list[tuple[StoreFault, float]]:
    return [(f, f.end - f.start) for f in faults if f.start <= end and f.end >= start]


def _stopped_long(worker: WorkerTimeline | None, start: float, end: float, least: float) -> bool:
    if worker is None:
        return False
    for s, e in worker.stops:
        assert s is not None
        stop_end = e if e is not None else float("inf")
        if s <= end and stop_end >= start and stop_end - s >= least:
            return True
    return False


def _died(worker: WorkerTimeline | None, start: float, end: float) -> str | None:
    """How the worker died between ``start`` and ``end``, if it did. A worker that exited
    after a SIGTERM did not die: it shut down, and had to give its job back uncharged."""
    if worker is None:
        return None
    if any(start - 0.5 <= k <= end for k in worker.kills):
        return "SIGKILLed"
    if worker.exited is not None and start - 0.5 <= worker.exited <= end:
        if any(t <= worker.exited for t in worker.terms):
            return None
        return f"exited ({worker.exit_code})"
    return None


def _shut_down_in_outage(
    worker: WorkerTimeline | None,
    start: float,
    end: float,
    faults: Iterable[StoreFault],
    timings: Timings,
) -> bool:
    """True if the worker got SIGTERM while the database stayed unreachable through its
    whole bounded shutdown: it could not give its job back, and had to exit in time (the
    documented limit: the reaper then retries the job, charging that attempt)."""
    if worker is None:
        return False
    for term in worker.terms:
        if start <= term <= end:
            # The final write comes after the grace and the kill grace; the deadline ends it.
            writes = term + timings.shutdown_grace + timings.kill_grace
            deadline = term + timings.shutdown_timeout
            for fault in faults:
                if fault.start <= writes + 0.5 and fault.end >= deadline - 0.5:
                    return True
    return False


def check(data: RunData, timings: Timings, tolerance: float = 0.1) -> CheckResult:
    """Every rule of the module docstring over one run's data."""
    result = CheckResult()
    fig = result.figures
    jobs, history = data.jobs, data.history

    for job_id in data.submitted:
        if job_id not in jobs:
            result.add("lost_row", f"job {job_id} was submitted but is not in the table", job_id)

    claims: dict[tuple[int, int], _Claim] = {}
    for job_id, row in sorted(jobs.items()):
        status = row["status"]
        fig[f"status_{status}"] += 1
        entries = history.get(job_id, [])
        if status not in TERMINAL:
            last = entries[-1] if entries else {}
            result.add(
                "not_terminal",
                f"job {job_id} is {status} (attempt {row['attempt']}/{row['max_attempts']}, "
                f"worker {row['worker_id']}, last: {last.get('reason')!r})",
                job_id,
            )
        if not entries or entries[-1]["to_status"] != status:
            result.add(
                "history_mismatch",
                f"job {job_id} is {status}, history ends "
                f"{entries[-1]['to_status'] if entries else 'empty'}",
                job_id,
            )
        if row["attempt"] > row["max_attempts"]:
            result.add(
                "attempt_over_max",
                f"job {job_id} row says attempt {row['attempt']} of {row['max_attempts']}",
                job_id,
            )
        _check_history(result, row, entries, claims, data, timings)

    _check_children(result, data, claims, tolerance)
    return result


def _check_history(
    result: CheckResult,
    row: dict[str, Any],
    entries: list[dict[str, Any]],
    claims: dict[tuple[int, int], _Claim],
    data: RunData,
    timings: Timings,
) -> None:
    fig = result.figures
    job_id, max_attempts = row["id"], row["max_attempts"]
    job_claims: list[_Claim] = []
    for entry in entries:
        source, target = entry["from_status"], entry["to_status"]
        reason = entry["reason"] or ""
        if source in TERMINAL:
            result.add(
                "terminal_changed",
                f"job {job_id}: {source} -> {target} ({reason!r}) at {_fmt(entry['at'])}",
                job_id,
            )
        if target == "running" and source == "pending":
            match = CLAIMED.match(reason)
            if match is None:
                result.add("unparseable_history", f"job {job_id}: claim reason {reason!r}", job_id)
                return
            claim = _Claim(
                job_id, entry["lease"], int(match.group(1)), entry["worker_id"] or "", entry["at"]
            )
            fig["claims"] += 1
            if claim.attempt > max_attempts:
                result.add(
                    "attempt_over_max",
                    f"job {job_id}: claim by {claim.worker} at {_fmt(claim.at)} ran attempt "
                    f"{claim.attempt} of {max_attempts}",
                    job_id,
                )
            job_claims.append(claim)
            claims[(job_id, claim.lease)] = claim
        elif source == "running" and target != "running" and job_claims:
            current = job_claims[-1]
            if current.end is None:
                current.end = entry

    for index, claim in enumerate(job_claims):
        end = claim.end
        if end is None:
            continue
        reason = end["reason"] or ""
        group, why = _reason_class(reason)
        after = job_claims[index + 1] if index + 1 < len(job_claims) else None
        if reason.startswith("reaped:"):
            fig["reaps"] += 1
            _check_reap(result, claim, end, data, timings)
            expected: tuple[int, ...] = (claim.attempt + 1,)
        elif reason.startswith("will retry:"):
            fig["retries"] += 1
            _check_child_kill(result, claim, end, data, timings)
            expected = (claim.attempt + 1,)
        elif group:
            fig[f"releases_{group}"] += 1
            if group == "unknown":
                result.notes.append(f"job {job_id}: unclassified release reason {why!r}")
            expected = {
                "refunded": (claim.attempt,),
                "charged": (claim.attempt + 1,),
            }.get(group, (claim.attempt, claim.attempt + 1))
            if group == "refunded" and end["to_status"] == "failed":
                result.add(
                    "charged_release",
                    f"job {job_id}: attempt {claim.attempt}/{max_attempts} by {claim.worker} "
                    f"ended failed by a charged release for {why!r}",
                    job_id,
                )
        else:
            if end["to_status"] == "failed":
                _check_child_kill(result, claim, end, data, timings)
            continue  # completed, failed or cancelled: no claim follows
        if after is not None and after.attempt not in expected:
            kind = "charged_release" if group == "refunded" else "attempt_accounting"
            result.add(
                kind,
                f"job {job_id}: attempt {claim.attempt} by {claim.worker} ended "
                f"{reason!r}; the next claim (by {after.worker}) ran attempt {after.attempt}, "
                f"expected {' or '.join(map(str, expected))}",
                job_id,
            )


def _fault_text(data: RunData, claim: _Claim, until: float, timings: Timings) -> str:
    """The store faults around a lease's life, and how the longest compares with the
    silence the lease can take (an outage longer than ``stale_after`` less a heartbeat
    interval lets every lease go stale, whatever the worker does)."""
    near = _overlapping(data.store_faults, claim.at - timings.stale_after, until)
    if not near:
        return "none"
    faults = ", ".join(
        f"{f.kind} at {_fmt(f.start)} for {length:.1f} s{' (' + f.detail + ')' if f.detail else ''}"
        for f, length in near
    )
    longest = max(length for _, length in near)
    limit = timings.stale_after - timings.heartbeat_interval
    verdict = "longer" if longest >= limit else "shorter"
    return f"{faults}; the longest, {longest:.1f} s, is {verdict} than stale_after - heartbeat"


def _check_reap(
    result: CheckResult,
    claim: _Claim,
    end: dict[str, Any],
    data: RunData,
    timings: Timings,
) -> None:
    if end["to_status"] == "cancelled":
        result.figures["reaps_cancelled"] += 1
        return  # a cancelled job is charged nothing that matters
    worker = data.workers.get(claim.worker)
    reaped_at = end["at"]
    died = _died(worker, claim.at, reaped_at)
    if died:
        result.figures["reaps_after_worker_death"] += 1
        return
    if _stopped_long(worker, claim.at, reaped_at, timings.explains_a_reap):
        result.figures["reaps_after_worker_freeze"] += 1
        return
    if _shut_down_in_outage(worker, claim.at, reaped_at, data.store_faults, timings):
        result.figures["reaps_after_shutdown_in_outage"] += 1
        return
    mine = [c for c in data.children if c.get("job") == claim.job and c.get("lease") == claim.lease]
    timed_out = data.jobs[claim.job].get("type") == "soak_timeout"  # every run times out
    if timed_out or any(c["event"] == "end" and c.get("code") in (75, 76) for c in mine):
        # The run had failed on its own (a deliberate failure or its type's timeout): its
        # attempt was charged anyway; the reap only wrote "stalled" over the failure.
        result.figures["reaps_of_failed_runs"] += 1
        return
    ran = any(c["event"] == "start" for c in mine)
    clean = [c for c in mine if c["event"] == "end" and c.get("code") == 0]
    payload = data.jobs[claim.job].get("payload") or {}
    runs = len(payload.get("runs", [])) if isinstance(payload, dict) else 0
    if not ran:
        what = "no child ever ran under this lease"
    elif runs and len(clean) >= runs:
        what = "every child had exited cleanly: a finished run was thrown away"
    else:
        what = "a child ran"
    terms = [t for t in (worker.terms if worker else []) if claim.at - 0.5 <= t <= reaped_at]
    result.add(
        "reaped_live_worker",
        f"job {claim.job}: attempt {claim.attempt}/{data.jobs[claim.job]['max_attempts']} "
        f"(lease {claim.lease}) claimed by {claim.worker} at {_fmt(claim.at)}, reaped at "
        f"{_fmt(reaped_at)} -> {end['to_status']}, its worker neither killed nor frozen; "
        f"{what}; SIGTERM: {', '.join(map(_fmt, terms)) or 'none'}; "
        f"store faults: {_fault_text(data, claim, reaped_at, timings)}"
        + ("" if worker else "; the worker is not one of the soak's"),
        claim.job,
        claim,
    )


def _check_child_kill(
    result: CheckResult,
    claim: _Claim,
    end: dict[str, Any],
    data: RunData,
    timings: Timings,
) -> None:
    reason = end["reason"] or ""
    if "child killed by signal" not in reason:
        return
    worker = data.workers.get(claim.worker)
    if _died(worker, claim.at, end["at"]) or _stopped_long(
        worker, claim.at, end["at"], timings.explains_a_reap
    ):
        result.figures["child_kills_after_worker_freeze"] += 1
        return
    result.add(
        "charged_child_kill",
        f"job {claim.job}: attempt {claim.attempt} by {claim.worker} ended {reason!r} at "
        f"{_fmt(end['at'])} (claimed {_fmt(claim.at)}), the worker neither frozen nor dying; "
        f"store faults: {_fault_text(data, claim, end['at'], timings)}",
        claim.job,
        claim,
    )


def _check_children(
    result: CheckResult,
    data: RunData,
    claims: dict[tuple[int, int], _Claim],
    tolerance: float,
) -> None:
    fig = result.figures
    by_pid: dict[int, dict[str, Any]] = {}
    clean_exits: Counter[tuple[int, int]] = Counter()
    for event in data.children:
        kind, job_id, lease = event["event"], event["job"], event["lease"]
        key = (job_id, lease)
        claim = claims.get(key)
        if kind == "violation":
            result.add(
                "double_run",
                f"job {job_id}: child pid {event['pid']} (attempt {event['attempt']}, lease "
                f"{lease}) started at wall {_fmt(event['wall'])} while the job's lock was "
                f"held by [pid, lease, attempt] = {event.get('holder')}",
                job_id,
            )
            continue
        if kind == "start":
            fig["children_started"] += 1
            by_pid[event["pid"]] = {"start": event, "end": None}
            if claim is None:
                result.add(
                    "child_without_claim",
                    f"job {job_id}: child pid {event['pid']} ran for lease {lease}, which no "
                    "claim in the history has",
                    job_id,
                )
            elif claim.attempt != event["attempt"]:
                result.add(
                    "attempt_mismatch",
                    f"job {job_id}: child pid {event['pid']} says attempt {event['attempt']}, "
                    f"lease {lease} was claimed as attempt {claim.attempt}",
                    job_id,
                )
        elif kind == "end":
            if event["pid"] in by_pid:
                by_pid[event["pid"]]["end"] = event
            if event.get("how") == "exit" and event.get("code") == 0:
                clean_exits[key] += 1
            fig[f"children_ended_{event.get('how')}"] += 1
        if claim is not None and claim.end is not None:
            ended = claim.end["at"]
            if event["wall"] > ended + tolerance:
                result.add(
                    "child_outlived_lease",
                    f"job {job_id}: child pid {event['pid']} (lease {lease}) logged {kind} at "
                    f"{_fmt(event['wall'])}, {event['wall'] - ended:.3f} s after the lease "
                    f"ended ({claim.end['reason']!r} at {_fmt(ended)})",
                    job_id,
                )
    fig["children_killed_without_end_line"] = sum(1 for v in by_pid.values() if v["end"] is None)

    # Lifetimes from start and end lines (ends unknown for SIGKILLed children: the lock
    # is the detector for those).
    lives: dict[int, list[tuple[float, float, int]]] = {}
    for life in by_pid.values():
        if life["end"] is not None:
            start, end = life["start"], life["end"]
            lives.setdefault(start["job"], []).append((start["mono"], end["mono"], start["pid"]))
    for job_id, spans in lives.items():
        spans.sort()
        longest = spans[0]  # of the spans so far, the one that ends last
        for span in spans[1:]:
            s1, e1, p1 = longest
            s2, e2, p2 = span
            if s2 < e1:
                result.add(
                    "double_run_log",
                    f"job {job_id}: child {p1} lived {s1:.3f}-{e1:.3f}, child {p2} "
                    f"{s2:.3f}-{e2:.3f} (monotonic)",
                    job_id,
                )
            if e2 > e1:
                longest = span

    for job_id, row in data.jobs.items():
        if row["status"] != "completed":
            continue
        done = [c for c in claims.values() if c.job == job_id and c.end is not None]
        final = [c for c in done if c.end is not None and c.end["to_status"] == "completed"]
        if not final:
            continue
        payload = row.get("payload") or {}
        runs = len(payload.get("runs", [])) if isinstance(payload, dict) else 0
        got = clean_exits[(job_id, final[0].lease)]
        if got < max(1, runs):
            result.add(
                "completed_without_children",
                f"job {job_id}: completed under lease {final[0].lease} with {got} clean child "
                f"exits of {runs}",
                job_id,
            )
