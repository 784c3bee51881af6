"""The shared implementation of :class:`JobStore` over a transport that runs SQL text.

The adapters differ only in their transport (how a list of ``(sql, parameters)`` reaches
the database, and which driver errors mean what); every behaviour lives here. Statements
are the compiled ones (``_compiled.py``), by name. Nothing here imports Trio or SQLAlchemy
at import time: a one-shot call runs without either (see ``_io.run_sync``).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypedDict

from . import _compiled as stmt
from . import _io
from ._compiled import COLUMNS, PARAMS, SQL, Op, Q
from ._errors import (
    IdempotencyMismatch,
    InvalidJob,
    InvalidTransition,
    JobNotFound,
    JobStoreError,
    LeaseLost,
    StoreUnavailable,
)
from ._interface import ChangeMark, Claimed, JobStore, JobTypeInfo
from ._lists import ListFilters, list_name, status_filter
from ._migrate import migrate
from ._model import (
    DEAD_WORKER_KEPT,
    ErrorKind,
    HeartbeatReply,
    HistoryEntry,
    Job,
    JobStatus,
    JobView,
    Lease,
    Worker,
    WorkerInfo,
)
from ._validate import (
    MAX_PAYLOAD_BYTES,
    MAX_RESULT_BYTES,
    check_cursor,
    check_id,
    check_idempotency_key,
    check_limit,
    check_max_attempts,
    check_progress,
    check_stage,
    check_status,
    check_time,
    check_type_name,
    check_worker_id,
    clip_detail,
    clip_error,
    clip_tail,
    dump_json,
)

__all__ = ["MAX_BATCH", "Ops", "Rows", "SqlJobStore", "Transport"]

#: The most jobs one create_many call takes (one statement, one round trip), and the most
#: bytes of payloads (one statement parameter: sqld refuses one of about 5 MB).
MAX_BATCH = 10_000
MAX_BATCH_BYTES = 4 * 1024 * 1024

log = logging.getLogger("stores")

#: SQL text and positional parameters, in order.
Ops = Sequence[tuple[str, tuple[Any, ...]]]
#: The rows each op returned, as tuples.
Rows = list[list[tuple[Any, ...]]]


class Transport(Protocol):
    """How ops reach the database (see the adapters)."""

    label: str
    call_timeout: float
    #: Grows when the transport starts over on another database file (the local file was
    #: replaced): the schema is checked again.
    generation: int

    async def run(self, ops: Ops) -> Rows: ...

    def condition(self) -> str | None:
        """What makes the database unusable though it may answer (None: nothing known)."""

    def cut_off_at(self, deadline: float) -> None: ...

    def close(self) -> None: ...


def _shielded() -> Any:
    """A shield from cancellation inside Trio; nothing outside (nothing cancels there)."""
    if _io.in_trio():
        import trio

        return trio.CancelScope(shield=True)
    import contextlib

    return contextlib.nullcontext()


def _is_completed(job: Job) -> bool:
    return job.status is JobStatus.COMPLETED


_COMPLETED: dict[str, Any] = {"action": "complete", "already": _is_completed}


def _job(m: dict[str, Any]) -> Job:
    return Job(
        id=m["id"],
        type=m["type"],
        payload=json.loads(m["payload"]),
        status=JobStatus(m["status"]),
        stage=m["stage"],
        progress=m["progress"],
        attempt=m["attempt"],
        max_attempts=m["max_attempts"],
        error=m["error"],
        error_kind=m["error_kind"],
        result=None if m["result"] is None else json.loads(m["result"]),
        worker_id=m["worker_id"],
        cancel_requested=bool(m["cancel_requested"]),
        created_at=m["created_at"],
        started_at=m["started_at"],
        updated_at=m["updated_at"],
        finished_at=m["finished_at"],
        retry_of=m["retry_of"],
        lease_token=m["lease"],
        cancel_requested_at=m["cancel_requested_at"],
        child_pid=m["child_pid"],
        child_host=m["child_host"],
        child_started=m["child_started"],
        retry_at=m["retry_at"],
        changed_at=m["changed_at"],
        log_tail=m["log_tail"],
        error_detail=m["error_detail"],
    )


class _ListParams(TypedDict, total=False):
    """The parameters of the list statements (each takes those of its filters)."""

    p_limit: int
    p_status: str
    p_type: str
    p_before_at: float
    p_before_id: int


class _Fence(TypedDict):
    """The parameters every fenced write takes: the job, its lease, the clock."""

    p_id: int
    p_lease: int
    p_now: float | None


def _completion(result: Any, log_tail: str | None, fence: _Fence) -> Op:
    """A completion: the result as stored JSON, the final log tail."""
    return stmt.complete(
        **fence,
        p_result=dump_json(result, what="result", limit=MAX_RESULT_BYTES),
        p_tail=clip_tail(log_tail),
    )


def _fingerprint(type_: str, payload: str, max_attempts: int | None) -> str:
    """What makes two creations the same request: type, payload (as stored JSON, key order
    ignored) and max_attempts."""
    canonical = json.dumps(
        [type_, json.loads(payload), max_attempts],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _seconds(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
        raise InvalidJob(f"{name} is a positive number of seconds, got {value!r}")
    return float(value)


class SqlJobStore(JobStore):
    """:class:`JobStore` over a transport; see the adapters for the transports."""

    def __init__(self, transport: Transport, *, clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self._clock = clock
        self._transport = transport
        self._label = transport.label
        self._schema_ready = False
        self._schema_generation = transport.generation
        self._closed = False
        # Claims whose answer never arrived: (worker id, claim token), given back on the
        # next claim (see ``claim``).
        self._in_doubt: builtins.list[tuple[str, str]] = []
        # Leases to give back that could not be given back at once (database unreachable):
        # released, uncharged, on the next claim (see ``give_back``).
        self._to_give_back: builtins.list[tuple[Lease, str]] = []
        self._outage = False

    @property
    def call_timeout(self) -> float:
        return self._transport.call_timeout

    @call_timeout.setter
    def call_timeout(self, seconds: float) -> None:
        if not seconds > 0:
            raise InvalidJob(f"a call timeout is a positive number of seconds, got {seconds!r}")
        if math.isfinite(self._transport.call_timeout):
            self._transport.call_timeout = seconds

    def cut_off_at(self, deadline: float) -> None:
        self._transport.cut_off_at(deadline)

    async def _one(self, op: Op) -> builtins.list[dict[str, Any]]:
        """Run one statement, made by its typed helper in ``_compiled`` (mypy checks the
        parameters' names and types there)."""
        (rows,) = await self._run([op])
        return rows

    async def _run(self, ops: Sequence[Op]) -> builtins.list[builtins.list[dict[str, Any]]]:
        """Run named statements; each answer as a list of dicts (column -> value)."""
        raw = [(SQL[name], tuple(params[key] for key in PARAMS[name])) for name, params in ops]
        answers = await self._execute(raw)
        return [
            [dict(zip(COLUMNS[name], row, strict=True)) for row in rows]
            for (name, _), rows in zip(ops, answers, strict=True)
        ]

    async def _execute(self, ops: Ops) -> Rows:
        if self._closed:
            raise StoreUnavailable(f"{self._label}: the store is closed")
        if not self._schema_ready or self._schema_generation != self._transport.generation:
            generation = self._transport.generation
            await migrate(self._call)
            self._schema_ready, self._schema_generation = True, generation
        return await self._call(ops)

    async def check(self) -> None:
        """Raise StoreUnavailable (or another JobStoreError) naming why the store cannot be
        used now; return when it can. One primary-key read (at most one row), plus what the
        transport knows without a query (the local store: a full disk)."""
        await self._one(stmt.get(p_id=1))
        problem = self._transport.condition()
        if problem is not None:
            raise StoreUnavailable(problem)

    async def _call(self, ops: Ops) -> Rows:
        # The one place that sees every call: an outage is logged when it begins and ends,
        # whichever actor happens to meet it; call listeners (metrics) hear every call.
        began = time.perf_counter()
        try:
            result = await self._transport.run(ops)
        except JobStoreError as exc:
            self._notify_call(time.perf_counter() - began, type(exc).__name__)
            if not isinstance(exc, StoreUnavailable):
                raise
            if not self._outage:
                self._outage = True
                log.warning("database unavailable: %s", exc, extra={"store": self._label})
                self._notify_outage(True, str(exc))
            raise
        self._notify_call(time.perf_counter() - began, None)
        if self._outage:
            self._outage = False
            log.warning("database reachable again", extra={"store": self._label})
            self._notify_outage(False, "")
        return result

    def _now(self) -> float | None:
        """The time to write, or None: the database's own clock (see ``DB_NOW``)."""
        return None if self._clock is None else float(self._clock())

    def _display_now(self) -> float:
        return time.time() if self._clock is None else float(self._clock())

    # -- app side ------------------------------------------------------------------------

    async def create(
        self,
        type: str,
        payload: Any = None,
        *,
        max_attempts: int | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        type_ = check_type_name(type)
        payload = {} if payload is None else payload
        text = dump_json(payload, what="payload", limit=MAX_PAYLOAD_BYTES)
        most = check_max_attempts(max_attempts)
        key = fingerprint = None
        if idempotency_key is not None:
            key = "key:" + check_idempotency_key(idempotency_key)
            fingerprint = _fingerprint(type_, text, most)
        op = stmt.create(
            p_type=type_,
            p_payload=text,
            p_max=most,
            p_now=self._now(),
            p_note="created",
            p_key=key,
            p_hash=fingerprint,
        )
        rows = await self._one(op)
        if rows:
            self._notify()
            return _job(rows[0])
        # The key is taken: the job that holds it, if it came with the same request.
        rows = await self._one(stmt.by_dedup_key(p_key=key))
        if not rows:
            # Forgotten between the two statements (its retention ended): make it anew.
            return await self.create(
                type_, json.loads(text), max_attempts=most, idempotency_key=idempotency_key
            )
        return self._same_request(idempotency_key or "", rows[0], fingerprint)

    @staticmethod
    def _same_request(key: str, held: dict[str, Any], fingerprint: str | None) -> Job:
        """The job that holds ``key``, if it came with the same request; else
        IdempotencyMismatch."""
        if held["request_hash"] != fingerprint:
            raise IdempotencyMismatch(
                f"the Idempotency-Key {key!r} was first used for another request (job "
                f"{held['id']}: type, payload or max_attempts differ): send a new key "
                "for a new job",
                job_id=held["id"],
            )
        return _job(held)

    async def forget_keys(self, older_than: float, *, limit: int = 1000) -> int:
        op = stmt.forget_keys(
            p_retain=_seconds(older_than, "older_than"),
            p_now=self._now(),
            p_limit=check_limit(limit),
        )
        return len(await self._one(op))

    async def create_many(
        self, type: str, payloads: Iterable[Any], *, max_attempts: int | None = None
    ) -> builtins.list[Job]:
        values = [{} if p is None else p for p in payloads]
        texts = [
            dump_json(p, what=f"payload #{i}", limit=MAX_PAYLOAD_BYTES)
            for i, p in enumerate(values)
        ]
        if not texts:
            return []
        if len(texts) > MAX_BATCH:
            raise InvalidJob(
                f"at most {MAX_BATCH} jobs per call, got {len(texts)}: split the batch"
            )
        name = check_type_name(type)
        batch = json.dumps(texts, ensure_ascii=False, separators=(",", ":"))
        if len(batch.encode("utf-8")) > MAX_BATCH_BYTES:
            raise InvalidJob(
                f"the payloads add up to {len(batch.encode('utf-8'))} bytes of JSON, over "
                f"the {MAX_BATCH_BYTES} a call takes: split the batch"
            )
        op = stmt.create_many(
            p_type=name,
            p_payloads=batch,
            p_max=check_max_attempts(max_attempts),
            p_now=self._now(),
            p_note="created",
        )
        rows = sorted(await self._one(op), key=lambda r: int(r["id"]))
        self._notify()
        # The payloads as stored (tuples become lists, keys strings), in one parse.
        stored = json.loads(f"[{','.join(texts)}]")
        # The rows are what was just written: built here rather than read back.
        return [
            Job(
                id=row["id"],
                type=name,
                payload=payload,
                status=JobStatus.PENDING,
                stage=None,
                progress=None,
                attempt=0,
                max_attempts=row["max_attempts"],
                error=None,
                error_kind=None,
                result=None,
                worker_id=None,
                cancel_requested=False,
                created_at=row["created_at"],
                started_at=None,
                updated_at=row["created_at"],
                finished_at=None,
                retry_of=None,
            )
            for row, payload in zip(rows, stored, strict=True)
        ]

    async def get(self, id: int) -> Job | None:
        rows = await self._one(stmt.get(p_id=check_id(id)))
        return _job(rows[0]) if rows else None

    async def _require(self, id: int) -> Job:
        job = await self.get(id)
        if job is None:
            raise JobNotFound(id)
        return job

    def _list_params(
        self,
        status: JobStatus | str | None,
        type: str | None,
        limit: int,
        *,
        views: bool,
        before: tuple[float, int] | None = None,
    ) -> Op:
        # The list statements vary by filter, so one TypedDict holds the parameters of all.
        params: _ListParams = {"p_limit": check_limit(limit)}
        by_status = None
        if status is not None:
            state = check_status(status)
            params["p_status"] = state.value
            by_status = status_filter(state)
        if type is not None:
            params["p_type"] = check_type_name(type)
        if before is not None:
            params["p_before_at"], params["p_before_id"] = check_cursor(before)
        filters = ListFilters(by_status, type is not None, views, bool(before))
        return Q(list_name(filters)), dict(params)

    async def list(
        self,
        *,
        status: JobStatus | str | None = None,
        type: str | None = None,
        limit: int = 50,
    ) -> builtins.list[Job]:
        op = self._list_params(status, type, limit, views=False)
        return [_job(row) for row in await self._one(op)]

    async def views(
        self,
        *,
        status: JobStatus | str | None = None,
        type: str | None = None,
        limit: int = 50,
        before: tuple[float, int] | None = None,
    ) -> builtins.list[JobView]:
        op = self._list_params(status, type, limit, views=True, before=before)
        now = self._display_now()
        return [self._view(row, now) for row in await self._one(op)]

    @staticmethod
    def _view(row: dict[str, Any], now: float) -> JobView:
        stages = row["stages"]
        return JobView.of(
            _job(row),
            stages=tuple(json.loads(stages)) if stages is not None else None,
            queue_position=row["queue_position"],
            now=now,
        )

    async def cancel(self, id: int) -> Job:
        rows = await self._one(stmt.cancel(p_id=check_id(id), p_now=self._now()))
        if rows:
            job = _job(rows[0])
            if job.status is JobStatus.RUNNING:
                self._notify_cancel(job.id)
            return job
        job = await self._require(id)
        if job.status is JobStatus.CANCELLED:
            return job
        raise InvalidTransition(
            f"job {id} is already {job.status.value}; a finished job cannot be cancelled",
            job_id=id,
            status=job.status.value,
        )

    async def poll(self, id: int) -> JobView:
        rows = await self._one(stmt.poll(p_id=check_id(id)))
        if not rows:
            raise JobNotFound(id)
        return self._view(rows[0], self._display_now())

    async def resubmit(self, id: int) -> Job:
        rows = await self._one(stmt.resubmit(p_id=check_id(id), p_now=self._now()))
        if rows:
            self._notify()
            return _job(rows[0])
        earlier = await self._one(stmt.by_dedup_key(p_key=f"retry:{id}"))
        if earlier:
            return _job(earlier[0])  # resubmitted already: the same answer again
        job = await self._require(id)
        raise InvalidTransition(
            f"job {id} is {job.status.value}: only failed or cancelled jobs can be "
            "resubmitted (submit a new job to run a completed one again)",
            job_id=id,
            status=job.status.value,
        )

    async def history(self, id: int) -> builtins.list[HistoryEntry]:
        rows = await self._one(stmt.history(p_id=check_id(id)))
        if not rows:
            await self._require(id)
        return [
            HistoryEntry(
                job_id=r["job_id"],
                at=r["at"],
                from_status=r["from_status"],
                to_status=r["to_status"],
                worker_id=r["worker_id"],
                lease_token=r["lease"],
                reason=r["reason"],
            )
            for r in rows
        ]

    async def register_types(self, types: Iterable[JobTypeInfo]) -> None:
        now = self._now()
        ops = [
            stmt.upsert_type(
                p_name=check_type_name(info.name),
                p_stages=json.dumps([check_stage(s) for s in info.stages]),
                p_max=check_max_attempts(info.max_attempts),
                p_timeout=info.timeout,
                p_example=None
                if info.example is None
                else dump_json(info.example, what="example payload", limit=MAX_PAYLOAD_BYTES),
                p_now=now,
            )
            for info in types
        ]
        if not ops:
            return

        await self._run(ops)

    async def register_worker(self, info: WorkerInfo) -> None:
        op = stmt.worker_upsert(
            p_id=check_worker_id(info.id),
            p_host=info.host,
            p_pid=int(info.pid),
            p_types=json.dumps([check_type_name(t) for t in info.types]),
            p_version=info.version,
            p_interval=_seconds(info.beat_interval, "beat_interval"),
            p_now=self._now(),
        )
        await self._one(op)

    async def beat_worker(self, info: WorkerInfo) -> None:
        op = stmt.worker_beat(p_id=check_worker_id(info.id), p_now=self._now())
        if not await self._one(op):
            # Swept while this worker could not beat (a long outage): register it again.
            await self.register_worker(info)

    async def unregister_worker(self, worker_id: str) -> None:
        await self._one(stmt.worker_remove(p_id=check_worker_id(worker_id)))

    async def forget_workers(self, silent_for: float = DEAD_WORKER_KEPT) -> int:
        op = stmt.forget_workers(p_retain=_seconds(silent_for, "silent_for"), p_now=self._now())
        return len(await self._one(op))

    async def workers(self) -> builtins.list[Worker]:
        return [
            Worker(
                info=WorkerInfo(
                    id=r["id"],
                    host=r["host"],
                    pid=r["pid"],
                    types=tuple(json.loads(r["types"])),
                    version=r["version"],
                    beat_interval=r["beat_interval"],
                ),
                started_at=r["started_at"],
                last_beat=r["last_beat"],
                beat_age=max(0.0, float(r["beat_age"])),
                job_id=r["job_id"],
            )
            for r in await self._one(stmt.workers(p_now=self._now()))
        ]

    async def types(self) -> builtins.list[JobTypeInfo]:
        return [
            JobTypeInfo(
                r["name"],
                tuple(json.loads(r["stages"])),
                r["max_attempts"],
                r["timeout"],
                None if r["example"] is None else json.loads(r["example"]),
            )
            for r in await self._one(stmt.types())
        ]

    async def prune(
        self,
        status: JobStatus | str,
        older_than: float,
        *,
        limit: int | None = 1000,
        dry_run: bool = False,
        results: builtins.list[Any] | None = None,
    ) -> int:
        state = check_status(status)
        if not state.terminal:
            raise InvalidJob(f"only finished jobs are pruned, not {state.value} ones")
        if not (older_than > 0 and math.isfinite(older_than)):
            raise InvalidJob(f"older_than is a positive number of seconds, got {older_than!r}")
        counting = dry_run and results is None
        helper = stmt.prune_count if counting else stmt.prune_results if dry_run else stmt.prune
        op = helper(
            p_status=state.value,
            p_retain=float(older_than),
            p_now=self._now(),
            # A dry run may count them all (SQLite: LIMIT -1); a deletion is always a batch.
            p_limit=-1 if limit is None and dry_run else check_limit(limit),
        )
        if counting:
            ((row,),) = [await self._one(op)]
            return int(row["count_1"])
        rows = await self._one(op)
        if results is not None:
            results.extend(None if r["result"] is None else json.loads(r["result"]) for r in rows)
        return len(rows)

    async def counts(self, *, cap: int = 10_000) -> dict[str, int]:
        rows = await self._one(stmt.counts(p_cap=check_limit(cap)))
        kept = {row["status"]: int(row["n"]) for row in rows}
        return {status.value: kept.get(status.value, 0) for status in JobStatus}

    async def recorded_children(
        self, host: str, stale_after: float
    ) -> builtins.list[tuple[int, int, float | None, bool]]:
        op = stmt.children_on_host(p_host=host, p_stale=stale_after, p_now=self._now())
        rows = await self._one(op)
        return [(r["id"], r["child_pid"], r["child_started"], bool(r["alive"])) for r in rows]

    async def forget_child(self, job_id: int, pid: int) -> None:
        await self._one(stmt.forget_child(p_id=check_id(job_id), p_pid=pid))

    async def changes(
        self, since: ChangeMark | None, *, limit: int = 500
    ) -> tuple[builtins.list[JobView], ChangeMark, float | None]:
        if since is None:
            rows = await self._one(stmt.change_mark(p_now=self._now()))
            if not rows:
                return [], (0.0, 0), await self.now()
            return [], (float(rows[0]["changed_at"]), int(rows[0]["id"])), rows[0]["now"]
        stamp, after = since
        op = stmt.changes(
            p_since=check_time(stamp),
            p_after=int(after),
            p_limit=check_limit(limit),
            p_now=self._now(),
        )
        rows = await self._one(op)
        if not rows:
            return [], since, None
        now = self._display_now()
        last = rows[-1]
        mark = (float(last["changed_at"]), int(last["id"]))
        return [self._view(row, now) for row in rows], mark, float(rows[0]["read_at"])

    async def now(self) -> float:
        (row,) = await self._one(stmt.clock(p_now=self._now()))
        return float(row["now"])

    async def queue(self, *, limit: int = 1000) -> builtins.list[int]:
        return [row["id"] for row in await self._one(stmt.queue(p_limit=check_limit(limit)))]

    # -- worker side ---------------------------------------------------------------------

    def _claim_op(self, worker_id: str, types: Sequence[str] | None) -> Op | None:
        """The claim statement and its parameters (None: no type served, nothing to do)."""
        worker = check_worker_id(worker_id)
        token = os.urandom(8).hex()  # as secrets.token_hex, without its imports
        if types is None:
            return stmt.claim_any(p_worker=worker, p_now=self._now(), p_token=token)
        if not types:
            return None
        served = json.dumps([check_type_name(t) for t in types])
        return stmt.claim_typed(p_worker=worker, p_now=self._now(), p_token=token, p_types=served)

    async def _run_with_claim(
        self, ops: builtins.list[Op]
    ) -> builtins.list[builtins.list[dict[str, Any]]]:
        """Run ``ops``, the last of which is a claim, minding a claim of unknown outcome."""
        await self._recover_claims()
        claim = ops[-1][1]
        try:
            return await self._run(ops)
        except StoreUnavailable as exc:
            if not exc.not_sent:
                # The claim may have committed with its answer lost: the row would then be
                # running under this worker with nobody running it, and the reaper would
                # charge it. Remember it; the next claim gives it back uncharged.
                self._in_doubt.append((str(claim["p_worker"]), str(claim["p_token"])))
            raise

    async def _claimed(self, rows: builtins.list[dict[str, Any]], worker_id: str) -> Claimed | None:
        if not rows:
            return None
        job = _job(rows[0])
        claimed = Claimed(job, Lease(job.id, job.lease_token, worker_id))
        if _io.in_trio():
            import trio

            try:
                # The claim ran shielded; deliver a pending cancellation now, while the job
                # can still be handed back, not at a checkpoint where nobody holds it.
                await trio.lowlevel.checkpoint_if_cancelled()
            except trio.Cancelled:
                with trio.CancelScope(shield=True):
                    await self.give_back(claimed.lease, "claim cancelled before the job started")
                raise
        return claimed

    async def claim(self, worker_id: str, *, types: Sequence[str] | None = None) -> Claimed | None:
        op = self._claim_op(worker_id, types)
        if op is None:
            return None
        (rows,) = await self._run_with_claim([op])
        return await self._claimed(rows, worker_id)

    async def complete_and_claim(
        self,
        lease: Lease,
        result: Any,
        worker_id: str,
        *,
        types: Sequence[str] | None = None,
        log_tail: str | None = None,
    ) -> tuple[Job, Claimed | None]:
        complete = _completion(result, log_tail, self._fence(lease))
        op = self._claim_op(worker_id, types)
        if op is None:
            return await self.complete(lease, result, log_tail=log_tail), None
        finished_rows, claim_rows = await self._run_with_claim([complete, op])
        claimed = await self._claimed(claim_rows, worker_id)
        try:
            finished = await self._finished(finished_rows, lease, **_COMPLETED)
        except BaseException:
            # The caller never gets the job claimed beside it: give it back, now or at the
            # next claim (the completion may be retried, and claim another).
            if claimed is not None:
                with _shielded():
                    await self.give_back(claimed.lease, "claimed beside a completion that failed")
            raise
        return finished, claimed

    async def _recover_claims(self) -> None:
        """Give back claims of unknown outcome that did commit (idempotent, by token), and
        leases that could not be given back at once (idempotent: fenced).

        Raises StoreUnavailable (keeping the rest for later) if the database is still out.
        Several tasks may run this at once: each entry is removed only by the task that
        gave it back.
        """
        for worker_id, token in builtins.list(self._in_doubt):
            op = stmt.recover_claim(
                p_worker=worker_id,
                p_token=token,
                p_now=self._now(),
                p_refund=1,
                p_reason="the claim's answer was lost; no attempt charged",
            )
            rows = await self._one(op)
            if (worker_id, token) in self._in_doubt:
                self._in_doubt.remove((worker_id, token))
            for row in rows:
                log.warning(
                    "gave back job %s: the answer to its claim by %s was lost",
                    row["id"],
                    worker_id,
                    extra={"job_id": row["id"], "worker": worker_id},
                )
                self._notify()
        for entry in builtins.list(self._to_give_back):
            lease, reason = entry
            try:
                await self.release(lease, reason)
            except LeaseLost:
                pass  # reaped or finished meanwhile: nothing left to give back
            if entry in self._to_give_back:
                self._to_give_back.remove(entry)

    async def give_back(self, lease: Lease, reason: str) -> None:
        try:
            await self.release(lease, reason)
        except StoreUnavailable:
            self._to_give_back.append((lease, reason))
        except LeaseLost:
            pass

    def _fence(self, lease: Lease) -> _Fence:
        return {"p_id": lease.job_id, "p_lease": lease.token, "p_now": self._now()}

    async def _lost(self, lease: Lease, action: str) -> LeaseLost:
        job = await self.get(lease.job_id)
        if job is None:
            why = "it no longer exists"
        elif job.lease_token != lease.token:
            why = f"it was claimed again (lease {job.lease_token}, yours {lease.token})"
        elif job.worker_id is not None and job.status is not JobStatus.RUNNING:
            why = f"it was reaped ({job.status.value} now): {job.error or 'stale'}"
        else:
            why = f"it is {job.status.value} now"
        return LeaseLost(
            f"worker {lease.worker_id} cannot {action} job {lease.job_id}: {why}; "
            "the write changed nothing",
            job_id=lease.job_id,
        )

    async def heartbeat(self, lease: Lease) -> HeartbeatReply:
        rows = await self._one(stmt.heartbeat(**self._fence(lease)))
        if not rows:
            raise await self._lost(lease, "heartbeat")
        return HeartbeatReply(cancel_requested=bool(rows[0]["cancel_requested"]))

    async def check_cancel(self, lease: Lease) -> HeartbeatReply:
        rows = await self._one(stmt.check_cancel(p_id=lease.job_id, p_lease=lease.token))
        if not rows:
            raise await self._lost(lease, "check on")
        return HeartbeatReply(cancel_requested=bool(rows[0]["cancel_requested"]))

    async def update(
        self,
        lease: Lease,
        *,
        stage: str | None,
        progress: float | None,
        log_tail: str | None = None,
    ) -> HeartbeatReply:
        op = stmt.update_progress(
            **self._fence(lease),
            p_stage=check_stage(stage),
            p_progress=check_progress(progress),
            p_tail=clip_tail(log_tail),
        )
        rows = await self._one(op)
        if not rows:
            raise await self._lost(lease, "report progress on")
        return HeartbeatReply(cancel_requested=bool(rows[0]["cancel_requested"]))

    async def record_child(
        self, lease: Lease, *, pid: int | None, host: str | None, started: float | None
    ) -> None:
        op = stmt.record_child(**self._fence(lease), p_pid=pid, p_host=host, p_started=started)
        if not await self._one(op):
            raise await self._lost(lease, "record the child of")

    async def _finish(
        self,
        op: Op,
        lease: Lease,
        *,
        action: str,
        already: Callable[[Job], bool],
    ) -> Job:
        rows = await self._one(op)
        return await self._finished(rows, lease, action=action, already=already)

    async def _finished(
        self,
        rows: builtins.list[dict[str, Any]],
        lease: Lease,
        *,
        action: str,
        already: Callable[[Job], bool],
    ) -> Job:
        if rows:
            finished = _job(rows[0])
            if finished.status is JobStatus.PENDING:
                self._notify()
            return finished
        # No row: either we lost the lease, or this is a retry of a write that landed but
        # whose answer was lost (StoreUnavailable). The second case is answered, not raised.
        job = await self.get(lease.job_id)
        if job is not None and job.lease_token == lease.token and already(job):
            return job
        raise await self._lost(lease, action)

    async def complete(
        self, lease: Lease, result: Any = None, *, log_tail: str | None = None
    ) -> Job:
        op = _completion(result, log_tail, self._fence(lease))
        return await self._finish(op, lease, **_COMPLETED)

    async def fail(
        self,
        lease: Lease,
        error: str,
        *,
        kind: str,
        retry_delay: float = 0.0,
        detail: str | None = None,
        log_tail: str | None = None,
    ) -> Job:
        try:
            error_kind = ErrorKind(kind)
        except ValueError:
            kinds = sorted(k.value for k in ErrorKind)
            raise InvalidJob(f"unknown error kind {kind!r}: use one of {kinds}") from None
        text = clip_error(error)
        if isinstance(retry_delay, bool) or not (
            isinstance(retry_delay, int | float) and 0 <= retry_delay < 1e9
        ):
            raise InvalidJob(f"retry_delay must be seconds, 0 or more: {retry_delay!r}")
        op = stmt.fail(
            **self._fence(lease),
            p_error=text,
            p_kind=error_kind.value,
            p_delay=float(retry_delay),
            p_detail=clip_detail(detail),
            p_tail=clip_tail(log_tail),
        )
        return await self._finish(
            op,
            lease,
            action="fail",
            already=lambda job: (
                job.worker_id == lease.worker_id
                and job.error == text
                and job.status in (JobStatus.PENDING, JobStatus.FAILED)
            ),
        )

    async def release(self, lease: Lease, reason: str, *, charge_attempt: bool = False) -> Job:
        op = stmt.release(
            **self._fence(lease), p_reason=clip_error(reason), p_refund=0 if charge_attempt else 1
        )
        return await self._finish(
            op,
            lease,
            action="release",
            # A retry of this very release (it clears worker_id), not a reap of the job,
            # which keeps it (and charged the attempt).
            already=lambda job: (
                job.worker_id is None
                and job.status in (JobStatus.PENDING, JobStatus.CANCELLED, JobStatus.FAILED)
            ),
        )

    async def confirm_cancelled(
        self, lease: Lease, reason: str = "cancelled: child process confirmed dead"
    ) -> Job:
        return await self._finish(
            stmt.confirm_cancelled(**self._fence(lease), p_reason=clip_error(reason)),
            lease,
            action="cancel",
            already=lambda job: job.status is JobStatus.CANCELLED,
        )

    async def reap(
        self, stale_after: float, *, steady_gap: float | None = None
    ) -> builtins.list[Job]:
        if not stale_after > 0:
            raise InvalidJob(f"stale_after must be a positive number of seconds: {stale_after!r}")
        now, text = self._now(), f"{stale_after:g}"
        if steady_gap is None:
            op = stmt.reap(p_now=now, p_stale=stale_after, p_stale_text=text)
            return [_job(row) for row in await self._one(op)]
        tick = stmt.tick(p_now=now, p_gap=float(steady_gap))
        steady = stmt.reap_steady(p_now=now, p_stale=stale_after, p_stale_text=text)
        _, rows = await self._run([tick, steady])
        return [_job(row) for row in rows]

    # -- life cycle ----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Give back claims of unknown outcome (best effort), then close."""
        if (self._in_doubt or self._to_give_back) and not self._closed:
            try:
                await self._recover_claims()
            except JobStoreError as exc:
                log.warning("claims of unknown outcome not given back (the reaper will): %s", exc)
        self.close()

    def close(self) -> None:
        self._closed = True
        self._transport.close()
