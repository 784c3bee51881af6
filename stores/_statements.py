"""Every statement the store runs, written once with SQLAlchemy Core over the schema.

This module is the source of truth at build time: ``python -m stores._build`` compiles
each statement once, for SQLite, into ``stores/_compiled.py``, which is what both adapters
run, and nothing imports this module at run time: no SQLAlchemy import at run time (it
costs a one-shot CLI call a quarter of a second, and the Turso helper process would import
it again). ``tests/test_compiled.py`` fails if
the compiled text is not what these objects compile to now. Parameters are bound (``p_*``,
positional ``?``), never formatted into SQL text; constants are inlined, so SQLite can use
the partial indexes (``status = 'pending'``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from ._lists import ListFilters, StatusFilter, all_filters, list_name
from ._model import ErrorKind
from ._schema import FINISHED, history, job_counts, job_types, jobs, reaper_clock, workers
from ._transitions import RETRYABLE, Outcome, Rule, rules_for

__all__ = [
    "BY_DEDUP_KEY",
    "CANCEL",
    "CHANGES",
    "CHANGE_MARK",
    "CHECK_CANCEL",
    "CHILDREN_ON_HOST",
    "CLAIM_ANY",
    "CLAIM_TYPED",
    "CLOCK",
    "COMPLETE",
    "CONFIRM_CANCELLED",
    "COUNTS",
    "CREATE",
    "CREATE_MANY",
    "DB_NOW",
    "DESCRIPTIONS",
    "FAIL",
    "FORGET_CHILD",
    "FORGET_KEYS",
    "FORGET_WORKERS",
    "GET",
    "HEARTBEAT",
    "HISTORY",
    "POLL",
    "PRUNE",
    "PRUNE_COUNT",
    "PRUNE_RESULTS",
    "QUEUE",
    "REAP",
    "REAP_STEADY",
    "RECORD_CHILD",
    "RECOVER_CLAIM",
    "RELEASE",
    "RESUBMIT",
    "STATEMENTS",
    "TICK",
    "TYPES",
    "UNSEEN_WRITES",
    "UPDATE_PROGRESS",
    "UPSERT_TYPE",
    "WORKERS",
    "WORKER_BEAT",
    "WORKER_REMOVE",
    "WORKER_UPSERT",
]

bp = sa.bindparam
j = jobs.c
PENDING, RUNNING = "pending", "running"
COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"
#: The database's own clock, in Unix seconds (millisecond precision). Every time on a row
#: comes from it, and so does the reaper's "now": workers on hosts whose clocks disagree can
#: neither reap early nor be reaped early. ``julianday('now')`` is fixed for the duration of
#: one statement, so all the times one statement writes are equal.
DB_NOW = (sa.func.julianday("now") - 2440587.5) * 86400.0
#: Tests inject a clock (``p_now``); production passes NULL and gets the database's.
_NOW = sa.func.coalesce(bp("p_now", type_=sa.Float), DB_NOW)
_latest = jobs.alias("latest")
#: The change stamp a write gives the rows it changes (``changed_at``): the clock, but
#: never at or before the latest stamp already given (then one microsecond after it), so
#: stamps only grow, in commit order, whatever the clock does. Live updates keep the last
#: stamp they read and ask for the rows past it: a write that commits later has a larger
#: stamp, so nothing is missed and no margin is needed. The latest stamp is one index read.
_STAMP = sa.func.max(
    _NOW, sa.func.coalesce(sa.select(sa.func.max(_latest.c.changed_at)).scalar_subquery(), 0) + 1e-6
)
_RETURN_ALL = tuple(jobs.c)

# -- app side -----------------------------------------------------------------------------

_default_attempts = (
    sa.select(job_types.c.max_attempts).where(job_types.c.name == bp("p_type")).scalar_subquery()
)

# The uniqueness rule of creation (see _schema.jobs.dedup_key): a job whose key is taken is
# not made, and the statement returns no row; the caller then reads the job that has it.
_ONCE_ON = [j.dedup_key]
_ONCE_WHERE = j.dedup_key.is_not(None)

CREATE = (
    sqlite.insert(jobs)
    .values(
        type=bp("p_type"),
        payload=bp("p_payload"),
        status=PENDING,
        attempt=0,
        max_attempts=sa.func.coalesce(bp("p_max", type_=sa.Integer), _default_attempts, 2),
        lease=0,
        cancel_requested=0,
        created_at=_NOW,
        updated_at=_NOW,
        note=bp("p_note"),
        noted_at=_NOW,
        dedup_key=bp("p_key"),
        request_hash=bp("p_hash"),
    )
    .on_conflict_do_nothing(index_elements=_ONCE_ON, index_where=_ONCE_WHERE)
    .returning(*_RETURN_ALL)
)
# The job that holds a dedup key (the unique index finds it).
BY_DEDUP_KEY = sa.select(*_RETURN_ALL).where(j.dedup_key == bp("p_key"))
# Retention of clients' keys: forget those older than p_retain seconds, oldest first, a
# batch at a time (the jobs stay; only a request repeated after that makes a new job).
_expired_keys = (
    sa.select(j.id)
    .where(j.request_hash.is_not(None), j.created_at < _NOW - bp("p_retain", type_=sa.Float))
    .order_by(j.created_at)
    .limit(bp("p_limit"))
)
FORGET_KEYS = (
    sa.update(jobs)
    .where(j.id.in_(_expired_keys))
    .values(dedup_key=None, request_hash=None)
    .returning(j.id)
)

# Many jobs in one statement (one round trip, atomic): one row per element of a JSON array
# of payload texts, in order; equal created_at, so FIFO falls back to the id. It returns
# only what the caller does not already know.
_batch = sa.func.json_each(bp("p_payloads")).table_valued("value", "key").alias("batch")
CREATE_MANY = (
    sa.insert(jobs)
    .from_select(
        [
            "type",
            "payload",
            "status",
            "attempt",
            "max_attempts",
            "lease",
            "cancel_requested",
            "created_at",
            "updated_at",
            "note",
            "noted_at",
            "changed_at",
        ],
        sa.select(
            bp("p_type"),
            _batch.c.value,
            sa.literal(PENDING),
            sa.literal(0),
            sa.func.coalesce(bp("p_max", type_=sa.Integer), _default_attempts, 2),
            sa.literal(0),
            sa.literal(0),
            _NOW,
            _NOW,
            bp("p_note"),
            _NOW,
            _STAMP,
        ).order_by(_batch.c.key),
    )
    .returning(j.id, j.max_attempts, j.created_at)
)

_source = jobs.alias("source")
# At most one resubmit per job, whoever races: the copy's dedup key is "retry:" and the
# source's id (a second resubmit inserts nothing and reads the first's copy).
RESUBMIT = (
    sqlite.insert(jobs)
    .from_select(
        [
            "type",
            "payload",
            "status",
            "attempt",
            "max_attempts",
            "lease",
            "cancel_requested",
            "created_at",
            "updated_at",
            "retry_of",
            "note",
            "noted_at",
            "dedup_key",
            "changed_at",
        ],
        sa.select(
            _source.c.type,
            _source.c.payload,
            sa.literal(PENDING),
            sa.literal(0),
            _source.c.max_attempts,
            sa.literal(0),
            sa.literal(0),
            _NOW,
            _NOW,
            _source.c.id,
            sa.literal("resubmitted from job ") + sa.cast(_source.c.id, sa.Text),
            _NOW,
            sa.literal("retry:") + sa.cast(_source.c.id, sa.Text),
            _STAMP,
        ).where(_source.c.id == bp("p_id"), _source.c.status.in_([FAILED, CANCELLED])),
    )
    .on_conflict_do_nothing(index_elements=_ONCE_ON, index_where=_ONCE_WHERE)
    .returning(*_RETURN_ALL)
)

GET = sa.select(*_RETURN_ALL).where(j.id == bp("p_id"))

_ahead = jobs.alias("ahead")
_queue_position = (
    sa.select(sa.func.count())
    .select_from(_ahead)
    .where(
        _ahead.c.status == PENDING,
        sa.tuple_(_ahead.c.created_at, _ahead.c.id) <= sa.tuple_(j.created_at, j.id),
    )
    .correlate(jobs)
    .scalar_subquery()
)
_stages = (
    sa.select(job_types.c.stages)
    .where(job_types.c.name == j.type)
    .correlate(jobs)
    .scalar_subquery()
)
# The poll view: the row, its queue position (pending only) and its type's stage list.
_VIEW_COLUMNS = (
    *_RETURN_ALL,
    sa.case((j.status == PENDING, _queue_position), else_=None).label("queue_position"),
    _stages.label("stages"),
)
POLL = sa.select(*_VIEW_COLUMNS).where(j.id == bp("p_id"))

CANCEL = (
    sa.update(jobs)
    .where(j.id == bp("p_id"), j.status.in_([PENDING, RUNNING]))
    .values(
        status=sa.case((j.status == PENDING, CANCELLED), else_=j.status),
        cancel_requested=1,
        cancel_requested_at=sa.func.coalesce(j.cancel_requested_at, _NOW),
        finished_at=sa.case((j.status == PENDING, _NOW), else_=j.finished_at),
        retry_at=None,
        # A running job's updated_at is its heartbeat: a cancel request must not extend it.
        updated_at=sa.case((j.status == PENDING, _NOW), else_=j.updated_at),
        note=sa.case(
            (j.status == PENDING, "cancelled before it started"), else_="cancel requested"
        ),
        noted_at=_NOW,
    )
    .returning(*_RETURN_ALL)
)

# A job's history: its creation, read from its own row (no history row is written when a
# job is created; a job created before revision 7 has one, and then it is used instead), then
# the rows the triggers wrote for each transition and cancel request.
_created_entry = sa.select(
    sa.literal(0).label("seq"),
    j.id.label("job_id"),
    j.created_at.label("at"),
    sa.null().label("from_status"),
    sa.literal(PENDING).label("to_status"),
    sa.null().label("worker_id"),
    sa.literal(0).label("lease"),
    sa.case(
        (
            j.retry_of.is_not(None),
            sa.literal("resubmitted from job ") + sa.cast(j.retry_of, sa.Text),
        ),
        else_=sa.literal("created"),
    ).label("reason"),
).where(
    j.id == bp("p_id"),
    ~sa.exists().where(history.c.job_id == j.id, history.c.from_status.is_(None)),
)
HISTORY = sa.union_all(
    _created_entry, sa.select(history).where(history.c.job_id == bp("p_id"))
).order_by("seq")


def _list_jobs(filters: ListFilters) -> sa.Select[tuple[object, ...]]:
    """The list query for one combination of filters, of rows or of poll views."""
    rows = _list_rows(status=filters.status, type_=filters.type_, before=filters.before)
    return _with_positions(rows) if filters.views else rows


def _with_positions(rows: sa.Select[tuple[object, ...]]) -> sa.Select[tuple[object, ...]]:
    """The poll views of a page of ``rows``, with their queue positions in one statement.

    Why not the poll's position per row: each is a count of the pending jobs ahead, so a
    page of 500 of 60,000 pending jobs counted 30 million index entries (6 s on the
    caller's thread, issue 16). Here the pending jobs ahead of the page's oldest pending one
    are counted once, and those between its oldest and newest pending ones (the page's own,
    and for a filtered page the others between them) are numbered in FIFO order through
    ix_jobs_pending: count plus number is the poll's position, for one pass over the index.
    """
    page = rows.cte("page")
    bounds = (
        sa.select(
            sa.func.min(page.c.created_at).label("lo"), sa.func.max(page.c.created_at).label("hi")
        )
        .where(page.c.status == PENDING)
        .cte("bounds")
    )
    lo, hi = sa.select(bounds.c.lo).scalar_subquery(), sa.select(bounds.c.hi).scalar_subquery()
    older, span = jobs.alias("older"), jobs.alias("span")
    # Ties on created_at at either bound fall inside the span: counted once, in order.
    ahead = (
        sa.select(sa.func.count())
        .select_from(older)
        .where(older.c.status == PENDING, older.c.created_at < lo)
        .scalar_subquery()
    )
    ranked = (
        sa.select(
            span.c.id,
            (ahead + sa.func.row_number().over(order_by=(span.c.created_at, span.c.id))).label(
                "queue_position"
            ),
        )
        .where(span.c.status == PENDING, span.c.created_at >= lo, span.c.created_at <= hi)
        .cte("ranked")
    )
    position = (
        sa.select(ranked.c.queue_position)
        .where(ranked.c.id == page.c.id)
        .correlate(page)
        .scalar_subquery()
    )
    stages = (
        sa.select(job_types.c.stages)
        .where(job_types.c.name == page.c.type)
        .correlate(page)
        .scalar_subquery()
    )
    return sa.select(*page.c, position.label("queue_position"), stages.label("stages")).order_by(
        page.c.created_at.desc(), page.c.id.desc()
    )


def _list_rows(
    *, status: StatusFilter | None, type_: bool, before: bool
) -> sa.Select[tuple[object, ...]]:
    query = sa.select(*_RETURN_ALL)
    created: sa.ColumnElement[Any] = j.created_at
    if status is StatusFilter.PENDING:
        query = query.where(j.status == PENDING)
    elif status is StatusFilter.RUNNING:
        query = query.where(j.status == RUNNING)
        # Few rows, sorted after. Ordering by a plain created_at, SQLite would rather walk
        # every row of the table in creation order (ix_jobs_created) to skip that sort.
        created = j.created_at + 0
    elif status is StatusFilter.FINISHED:
        query = query.where(j.status == bp("p_status"), j.status.in_(FINISHED))
    if type_:
        query = query.where(j.type == bp("p_type"))
    if before:  # keyset pagination: strictly after (created_at, id) in newest-first order
        at, at_id = bp("p_before_at", type_=sa.Float), bp("p_before_id", type_=sa.Integer)
        query = query.where(sa.tuple_(created, j.id) < sa.tuple_(at, at_id))
    return query.order_by(created.desc(), j.id.desc()).limit(bp("p_limit"))


# The job types workers registered (name, stages, limits): what "a type a worker serves" is.
TYPES = sa.select(
    job_types.c.name,
    job_types.c.stages,
    job_types.c.max_attempts,
    job_types.c.timeout,
    job_types.c.example,
).order_by(job_types.c.name)

UPSERT_TYPE = sqlite.insert(job_types).values(
    name=bp("p_name"),
    stages=bp("p_stages"),
    max_attempts=bp("p_max"),
    timeout=bp("p_timeout"),
    example=bp("p_example"),
    updated_at=_NOW,
)
UPSERT_TYPE = UPSERT_TYPE.on_conflict_do_update(
    index_elements=[job_types.c.name],
    set_={
        "stages": UPSERT_TYPE.excluded.stages,
        "max_attempts": UPSERT_TYPE.excluded.max_attempts,
        "timeout": UPSERT_TYPE.excluded.timeout,
        "example": UPSERT_TYPE.excluded.example,
        "updated_at": UPSERT_TYPE.excluded.updated_at,
    },
)

# -- the live worker registry (see _schema.workers) -----------------------------------------

w = workers.c
_WORKER = {
    "host": bp("p_host"),
    "pid": bp("p_pid"),
    "types": bp("p_types"),
    "version": bp("p_version"),
    "beat_interval": bp("p_interval", type_=sa.Float),
}
_register = sqlite.insert(workers).values(id=bp("p_id"), started_at=_NOW, last_beat=_NOW, **_WORKER)
WORKER_UPSERT = _register.on_conflict_do_update(
    index_elements=[w.id],
    set_={name: getattr(_register.excluded, name) for name in (*_WORKER, "last_beat")},
)
WORKER_BEAT = sa.update(workers).where(w.id == bp("p_id")).values(last_beat=_NOW).returning(w.id)
WORKER_REMOVE = sa.delete(workers).where(w.id == bp("p_id"))
FORGET_WORKERS = (
    sa.delete(workers).where(w.last_beat < _NOW - bp("p_retain", type_=sa.Float)).returning(w.id)
)
# The job a worker runs: from the running rows (ix_jobs_running; few), not a write per claim.
_runs = (
    sa.select(j.id)
    .where(j.status == RUNNING, j.worker_id == w.id)
    .correlate(workers)
    .limit(1)
    .scalar_subquery()
)
WORKERS = sa.select(*w, (_NOW - w.last_beat).label("beat_age"), _runs.label("job_id")).order_by(
    w.id
)

# -- worker side ----------------------------------------------------------------------------

_claim_values = dict(
    status=RUNNING,
    # Names this claim, so that a claim whose answer was lost can be found and given back.
    claim_token=bp("p_token"),
    attempt=j.attempt + 1,
    lease=j.lease + 1,
    worker_id=bp("p_worker"),
    started_at=_NOW,
    updated_at=_NOW,
    stage=None,
    progress=None,
    child_pid=None,
    child_host=None,
    child_started=None,
    retry_at=None,
    log_tail=None,  # the tail is the current attempt's
    note=sa.literal("claimed, attempt ") + sa.cast(j.attempt + 1, sa.Text),
    noted_at=_NOW,
)


def _claim(typed: bool) -> sa.Update:
    head = jobs.alias("head")
    # A retry waiting out its backoff is passed over (read from its row: the idle claim,
    # with no pending row, still reads the index alone).
    due = sa.or_(head.c.retry_at.is_(None), head.c.retry_at <= _NOW)
    next_id = sa.select(head.c.id).where(head.c.status == PENDING, due)
    if typed:
        # The served types as one JSON array parameter: the statement text stays fixed.
        served: sa.Select[Any] = sa.select(sa.column("value")).select_from(
            sa.func.json_each(bp("p_types"))
        )
        next_id = next_id.where(head.c.type.in_(served))
    next_id = next_id.order_by(head.c.created_at, head.c.id).limit(1)
    return (
        sa.update(jobs)
        .where(j.id == next_id.scalar_subquery(), j.status == PENDING)
        .values(**_claim_values)
        .returning(*_RETURN_ALL)
    )


# One statement: atomic on every transport, one round trip, never the same job twice.
CLAIM_ANY = _claim(typed=False)
CLAIM_TYPED = _claim(typed=True)

_fenced = (j.id == bp("p_id"), j.lease == bp("p_lease"), j.status == RUNNING)

HEARTBEAT = sa.update(jobs).where(*_fenced).values(updated_at=_NOW).returning(j.cancel_requested)

# A cheap, read-only look at a running job: has a cancel been requested? (No write: it
# confirms nothing; a worker runs it between heartbeats so a cancel is seen within a second.)
CHECK_CANCEL = sa.select(j.cancel_requested).where(*_fenced)

#: A new log tail, or NULL to keep the one written last (see _schema.jobs.log_tail: the tail
#: rides on writes the row gets anyway, never one of its own).
_TAIL = sa.func.coalesce(bp("p_tail", type_=sa.Text), j.log_tail)

UPDATE_PROGRESS = (
    sa.update(jobs)
    .where(*_fenced)
    .values(
        stage=bp("p_stage"),
        progress=bp("p_progress", type_=sa.Float),
        log_tail=_TAIL,
        updated_at=_NOW,
    )
    .returning(j.cancel_requested)
)

RECORD_CHILD = (
    sa.update(jobs)
    .where(*_fenced)
    .values(
        child_pid=bp("p_pid"),
        child_host=bp("p_host"),
        child_started=bp("p_started", type_=sa.Float),
        updated_at=_NOW,
    )
    .returning(j.cancel_requested)
)

# -- the state machine: every CASE below is compiled from stores/_transitions.RULES -------

#: What decides a rule, as SQL over the row and the call's parameters, or a constant where
#: the statement fixes it (a reap is always charged).
_Inputs = dict[str, "sa.ColumnElement[bool] | bool"]
_ROW_STATE: _Inputs = {
    "cancel_requested": j.cancel_requested == 1,
    "attempts_left": j.attempt < j.max_attempts,
}


def _when(rule: Rule, inputs: _Inputs) -> sa.ColumnElement[bool] | bool:
    """The SQL condition under which ``rule`` applies (True or False if it is fixed)."""
    terms: list[sa.ColumnElement[bool]] = []
    for name in ("retryable", "charged", "cancel_requested", "attempts_left"):
        wanted = getattr(rule, name)
        if wanted is None:
            continue
        given = inputs[name]
        if isinstance(given, bool):
            if given != wanted:
                return False
            continue
        terms.append(given if wanted else sa.not_(given))
    return sa.and_(*terms) if terms else True


def _same(a: Any, b: Any) -> bool:
    """Whether two CASE values are the same: equal constants, or the same SQL object."""
    constant = (str, type(None))
    return a is b or (isinstance(a, constant) and isinstance(b, constant) and a == b)


def _by_rule(outcome: Outcome, inputs: _Inputs, pick: Callable[[Rule], Any]) -> Any:
    """``pick(rule)`` of the rule that applies, as one CASE (arms that give the same value
    as the fallback are folded into it; a constant when nothing else remains)."""
    arms: list[tuple[sa.ColumnElement[bool], Any]] = []
    for rule in rules_for(outcome):
        when = _when(rule, inputs)
        if when is False:
            continue
        if when is True:
            fallback = pick(rule)
            while arms and _same(arms[-1][1], fallback):
                arms.pop()  # the last arms give what the fallback gives anyway
            return sa.case(*arms, else_=fallback) if arms else fallback
        arms.append((when, pick(rule)))
    raise AssertionError(f"the rules of {outcome} do not end with a catch-all")


def _status(rule: Rule) -> str:
    return rule.status.value


def _verdict_columns(
    outcome: Outcome, inputs: _Inputs, error: Any, kind: Any, detail: Any = None
) -> dict[str, Any]:
    """The columns a transition writes: status, error, kind and the error's telling line
    (one rule: a transition that records an error records its detail, else keeps both),
    finish time, history note."""

    def recorded(value: Any, kept: Any) -> Callable[[Rule], Any]:
        return lambda rule: value if rule.records_error else kept

    return {
        "status": _by_rule(outcome, inputs, _status),
        "error": _by_rule(outcome, inputs, recorded(error, j.error)),
        "error_kind": _by_rule(outcome, inputs, recorded(kind, j.error_kind)),
        "error_detail": _by_rule(outcome, inputs, recorded(detail, j.error_detail)),
        "finished_at": _by_rule(outcome, inputs, lambda r: _NOW if r.status.terminal else None),
        "updated_at": _NOW,
        "noted_at": _NOW,
    }


#: A retry's delay (seconds, from the handler's job type) and the note that names it.
_DELAY = bp("p_delay", type_=sa.Float)
_WAITS = sa.case(
    (_DELAY > 0, sa.literal("will retry in ") + sa.func.printf("%.0f", _DELAY) + " s: "),
    else_="will retry: ",
)


def _note(outcome: Outcome, inputs: _Inputs, reason: Any) -> Any:
    prefix = _by_rule(outcome, inputs, lambda rule: _WAITS if rule.backoff else rule.note)
    return reason if _same(prefix, "") else prefix + reason


COMPLETE = (
    sa.update(jobs)
    .where(*_fenced)
    .values(
        # An earlier attempt's error is history now (job_history keeps it).
        **_verdict_columns(Outcome.COMPLETED, {}, None, None),
        result=bp("p_result"),
        log_tail=_TAIL,
        note=_by_rule(Outcome.COMPLETED, {}, lambda rule: rule.note),
    )
    .returning(*_RETURN_ALL)
)

_fail_inputs: _Inputs = {
    **_ROW_STATE,
    "retryable": bp("p_kind").in_(sorted(k.value for k in RETRYABLE)),
    "charged": True,
}
FAIL = (
    sa.update(jobs)
    .where(*_fenced)
    .values(
        **_verdict_columns(
            Outcome.FAILED, _fail_inputs, bp("p_error"), bp("p_kind"), bp("p_detail")
        ),
        log_tail=_TAIL,
        retry_at=_by_rule(
            Outcome.FAILED, _fail_inputs, lambda rule: _NOW + _DELAY if rule.backoff else None
        ),
        note=_note(Outcome.FAILED, _fail_inputs, bp("p_error")),
    )
    .returning(*_RETURN_ALL)
)

# A charged release (p_refund = 0) keeps the attempt; an uncharged one gives it back.
_release_inputs: _Inputs = {
    **_ROW_STATE,
    "retryable": False,
    "charged": bp("p_refund", type_=sa.Integer) == 0,
}


def _release(*where: sa.ColumnElement[bool]) -> sa.Update:
    """Give a running job back (see the RELEASED rules)."""
    columns = _verdict_columns(Outcome.RELEASED, _release_inputs, bp("p_reason"), "transient")
    return (
        sa.update(jobs)
        .where(*where)
        .values(
            **columns,
            attempt=j.attempt - bp("p_refund", type_=sa.Integer),
            worker_id=None,
            note=_note(Outcome.RELEASED, _release_inputs, bp("p_reason")),
        )
        .returning(*_RETURN_ALL)
    )


# Shutdown, self-fencing or crash clean-up, by the holder of the lease.
RELEASE = _release(*_fenced)
# A claim whose answer never arrived (timeout, connection dropped after the commit): its
# worker gives the job back by the claim's token, without charging the attempt.
RECOVER_CLAIM = _release(
    j.status == RUNNING, j.worker_id == bp("p_worker"), j.claim_token == bp("p_token")
)

CONFIRM_CANCELLED = (
    sa.update(jobs)
    .where(*_fenced)
    .values(
        **_verdict_columns(Outcome.CANCELLED, {}, None, None),
        note=_note(Outcome.CANCELLED, {}, bp("p_reason")),
    )
    .returning(*_RETURN_ALL)
)

_stalled = (
    sa.literal("stalled: no heartbeat from worker ")
    + sa.func.coalesce(j.worker_id, "?")
    + sa.literal(" for over ")
    + bp("p_stale_text")
    + sa.literal(" s")
)
_reap_inputs: _Inputs = {**_ROW_STATE, "retryable": True, "charged": True}
# One statement for all stale jobs: idempotent, safe for every worker to run concurrently.
REAP = (
    sa.update(jobs)
    .where(j.status == RUNNING, j.updated_at < _NOW - bp("p_stale", type_=sa.Float))
    .values(
        **_verdict_columns(Outcome.REAPED, _reap_inputs, _stalled, ErrorKind.STALLED.value),
        note=_note(Outcome.REAPED, _reap_inputs, _stalled),
    )
    .returning(*_RETURN_ALL)
)

# The reapers' clock (see _schema.reaper_clock): a tick more than p_gap after the last one
# restarts the steady period. A tick before the last one means the database clock stepped
# back: the steady period moves back with it (it neither restarts nor waits for the clock
# to catch up, which once kept every reaper idle for the size of the step), and the
# trigger reaper_clock_stepped_back takes heartbeats from the future as made now.
_tick = sqlite.insert(reaper_clock).values(id=1, last_tick=_NOW, steady_since=_NOW)
_step = _tick.excluded.last_tick - reaper_clock.c.last_tick
TICK = _tick.on_conflict_do_update(
    index_elements=[reaper_clock.c.id],
    set_={
        "steady_since": sa.case(
            (_step > bp("p_gap", type_=sa.Float), _tick.excluded.last_tick),
            (_step < 0, reaper_clock.c.steady_since + _step),
            else_=reaper_clock.c.steady_since,
        ),
        "last_tick": _tick.excluded.last_tick,
    },
)
_steady = (
    sa.select(_NOW - reaper_clock.c.steady_since).where(reaper_clock.c.id == 1).scalar_subquery()
)
# What a worker's reaper runs after its tick: reap only once the database has been writable
# (ticking) for stale_after, so that no lease is reaped for heartbeats nobody could write.
REAP_STEADY = REAP.where(_steady >= bp("p_stale", type_=sa.Float))


# Retention: finished jobs of one status that finished (and were created) more than
# p_retain seconds ago, a batch at a time, by finish time: the cut-off is a range of
# ix_jobs_finished_at, so only the rows to delete are read (the created_at check runs on
# those alone). Their history goes with them (trigger jobs_history_delete).
_prunable = (
    sa.select(j.id)
    .where(
        j.status == bp("p_status"),
        j.status.in_(FINISHED),
        j.finished_at < _NOW - bp("p_retain", type_=sa.Float),
        j.created_at < _NOW - bp("p_retain", type_=sa.Float),
    )
    .order_by(j.finished_at)
    .limit(bp("p_limit"))
)
# The results come back with the deletion: the files they name (outputs) go next.
PRUNE = sa.delete(jobs).where(j.id.in_(_prunable)).returning(j.id, j.result)
PRUNE_COUNT = sa.select(sa.func.count().label("count_1")).select_from(_prunable.subquery())
PRUNE_RESULTS = sa.select(j.result).where(j.id.in_(_prunable))


# Children recorded on one host, with whether their job's worker still looks alive (the row
# running and heartbeating within p_stale seconds): the leftover-children sweep's input.
CHILDREN_ON_HOST = sa.select(
    j.id,
    j.child_pid,
    j.child_started,
    sa.and_(j.status == RUNNING, j.updated_at >= _NOW - bp("p_stale", type_=sa.Float)).label(
        "alive"
    ),
).where(j.child_host == bp("p_host"), j.child_pid.is_not(None))
# Forget a recorded child that is dead (only if the record is still that child's).
FORGET_CHILD = (
    sa.update(jobs)
    .where(j.id == bp("p_id"), j.child_pid == bp("p_pid"))
    .values(child_pid=None, child_host=None, child_started=None)
)


def _count(status: str) -> sa.ScalarSelect[int]:
    # Index-only (the partial index of the status), and capped at p_cap rows.
    capped = sa.select(sa.literal(1)).where(j.status == status).limit(bp("p_cap")).subquery()
    return sa.select(sa.func.count()).select_from(capped).scalar_subquery()


# Job counts by status for metrics: finished ones from the counters the triggers keep (3
# rows), pending and running counted through their partial indexes (one row each, up to
# p_cap), so an idle database costs 3 rows per scrape whatever it has kept.
COUNTS = sa.union_all(
    sa.select(job_counts.c.status, job_counts.c.n),
    *(
        sa.select(sa.literal(status).label("status"), _count(status).label("n"))
        for status in (PENDING, RUNNING)
    ),
)


# -- live updates (the HTTP layer) ---------------------------------------------------------

# Poll views of the rows changed after the mark (p_since, p_after): their (stamp, id) past
# it, in stamp order. An index range scan (ix_jobs_changed_at), so a tick reads the changed
# rows and no others; the id breaks ties among rows one statement stamped alike, so a batch
# that ends among them is continued exactly. Each row also carries the clock at the read
# (no second statement: sqld bills one row for any).
_since = bp("p_since", type_=sa.Float)
CHANGES = (
    sa.select(*_VIEW_COLUMNS, _NOW.label("read_at"))
    .where(
        j.changed_at >= _since,
        sa.or_(j.changed_at > _since, j.id > bp("p_after", type_=sa.Integer)),
    )
    .order_by(j.changed_at, j.id)
    .limit(bp("p_limit"))
)
# The latest change (its stamp and id) and the clock: where a new watcher starts from.
CHANGE_MARK = (
    sa.select(j.changed_at, j.id, _NOW.label("now"))
    .where(j.changed_at.is_not(None))
    .order_by(j.changed_at.desc(), j.id.desc())
    .limit(1)
)
# The store's clock (the database's, unless a test injects one): reads no row.
CLOCK = sa.select(_NOW.label("now"))
# The pending queue in claim order (ids only, from the partial index of pending rows).
QUEUE = sa.select(j.id).where(j.status == PENDING).order_by(j.created_at, j.id).limit(bp("p_limit"))


#: Writes to the job table that change nothing a watcher sees: they keep the change stamp.
UNSEEN_WRITES = ("FORGET_CHILD",)


def _stamped(name: str, statement: sa.Executable) -> sa.Executable:
    """The one rule of the change stamp: every other write to the job table moves it.
    (Inserts from a SELECT list ``changed_at`` themselves: CREATE_MANY, RESUBMIT.)"""
    if name in UNSEEN_WRITES or getattr(statement, "table", None) is not jobs:
        return statement
    if isinstance(statement, sa.Update) or (
        isinstance(statement, sa.Insert) and statement.select is None
    ):
        return statement.values(changed_at=_STAMP)
    return statement


#: Every statement by name, with what it does in one line: requests carry names and
#: parameters, never SQL text, so they can cross to the Turso helper process and are
#: compiled once per dialect. Written out rather than found: a statement is one entry here.
_NAMED: dict[str, tuple[sa.Executable, str]] = {
    "BY_DEDUP_KEY": (BY_DEDUP_KEY, "The job that holds a dedup key."),
    "CANCEL": (CANCEL, "Cancel a job: a pending one at once, a running one by request."),
    "CHANGES": (CHANGES, "Poll views of the rows changed after a mark, in stamp order."),
    "CHANGE_MARK": (CHANGE_MARK, "The latest change's stamp and id, and the clock."),
    "CHECK_CANCEL": (CHECK_CANCEL, "Whether cancellation of a leased job was requested."),
    "CHILDREN_ON_HOST": (
        CHILDREN_ON_HOST,
        "Children recorded on a host; is their worker alive.",
    ),
    "CLAIM_ANY": (CLAIM_ANY, "Claim the next due pending job of any type."),
    "CLAIM_TYPED": (CLAIM_TYPED, "Claim the next due pending job of the types served."),
    "CLOCK": (CLOCK, "The store's clock; reads no row."),
    "COMPLETE": (COMPLETE, "Record a leased job's result by the verdict table."),
    "CONFIRM_CANCELLED": (
        CONFIRM_CANCELLED,
        "Finish a leased job cancelled on request.",
    ),
    "COUNTS": (COUNTS, "Job counts by status, pending and running capped."),
    "CREATE": (CREATE, "Create a job, unless its dedup key is taken."),
    "CREATE_MANY": (CREATE_MANY, "Create one job per element of a JSON array of payloads."),
    "FAIL": (FAIL, "Record a leased job's failure by the verdict table."),
    "FORGET_CHILD": (FORGET_CHILD, "Forget a recorded child that is dead."),
    "FORGET_KEYS": (FORGET_KEYS, "Forget clients' dedup keys older than the retention."),
    "FORGET_WORKERS": (FORGET_WORKERS, "Forget workers silent for longer than the retention."),
    "GET": (GET, "One job by id."),
    "HEARTBEAT": (HEARTBEAT, "A leased job's heartbeat; returns whether cancel was requested."),
    "HISTORY": (HISTORY, "A job's history, creation first."),
    "POLL": (POLL, "One job's poll view, with its queue position."),
    "PRUNE": (PRUNE, "Delete a batch of old finished jobs; returns their results."),
    "PRUNE_COUNT": (PRUNE_COUNT, "How many finished jobs a prune would delete."),
    "PRUNE_RESULTS": (PRUNE_RESULTS, "The results of the jobs a prune would delete."),
    "QUEUE": (QUEUE, "The pending queue's ids in claim order."),
    "REAP": (REAP, "Requeue or fail every job whose lease went stale."),
    "REAP_STEADY": (REAP_STEADY, "Reap, once the database has been writable for the staleness."),
    "RECORD_CHILD": (RECORD_CHILD, "Record a leased job's child process."),
    "RECOVER_CLAIM": (RECOVER_CLAIM, "Give back a claim whose answer was lost, by its token."),
    "RELEASE": (RELEASE, "Give back a leased job, charging the attempt or not."),
    "RESUBMIT": (RESUBMIT, "Copy a failed or cancelled job as a new pending one, once."),
    "TICK": (TICK, "The reapers' clock tick."),
    "TYPES": (TYPES, "The job types workers registered."),
    "UPDATE_PROGRESS": (UPDATE_PROGRESS, "A leased job's stage, progress and log tail."),
    "UPSERT_TYPE": (UPSERT_TYPE, "Register or update a job type."),
    "WORKERS": (WORKERS, "The live worker registry, with each worker's job."),
    "WORKER_BEAT": (WORKER_BEAT, "A worker's heartbeat in the registry."),
    "WORKER_REMOVE": (WORKER_REMOVE, "Remove a worker from the registry."),
    "WORKER_UPSERT": (WORKER_UPSERT, "Register or re-register a worker."),
}
for _filters in all_filters():
    _NAMED[list_name(_filters)] = (
        _list_jobs(_filters),
        f"A page of {'poll views' if _filters.views else 'jobs'}, newest first"
        f"{', by status' if _filters.status else ''}{', by type' if _filters.type_ else ''}"
        f"{', before a cursor' if _filters.before else ''}.",
    )

#: Every statement by name (see ``_NAMED``), the change stamp applied.
STATEMENTS: dict[str, sa.Executable] = {
    name: _stamped(name, statement) for name, (statement, _) in _NAMED.items()
}
#: What each statement does, in one line.
DESCRIPTIONS: dict[str, str] = {name: text for name, (_, text) in _NAMED.items()}
