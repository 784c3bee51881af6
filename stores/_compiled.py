"""Every statement, compiled for SQLite from ``stores/_statements.py``: GENERATED.

Do not edit: run ``python -m stores._statements`` after changing the statements or
the schema. ``tests/test_compiled.py`` fails while this file is out of date.
"""

from __future__ import annotations

import enum

__all__ = ["COLUMNS", "DDL", "PARAMS", "SCHEMA_REVISION", "SCHEMA_VERSION", "SQL", "UPGRADES", "Q"]

SCHEMA_VERSION = 1
SCHEMA_REVISION = 3


class Q(enum.StrEnum):
    """The name of a statement."""

    CANCEL = 'CANCEL'
    CHECK_CANCEL = 'CHECK_CANCEL'
    CHILDREN_ON_HOST = 'CHILDREN_ON_HOST'
    CLAIM_ANY = 'CLAIM_ANY'
    CLAIM_TYPED = 'CLAIM_TYPED'
    COMPLETE = 'COMPLETE'
    CONFIRM_CANCELLED = 'CONFIRM_CANCELLED'
    COUNTS = 'COUNTS'
    CREATE = 'CREATE'
    CREATE_MANY = 'CREATE_MANY'
    FAIL = 'FAIL'
    FORGET_CHILD = 'FORGET_CHILD'
    GET = 'GET'
    HEARTBEAT = 'HEARTBEAT'
    HISTORY = 'HISTORY'
    LISTV_ = 'LISTV_'
    LISTV_S = 'LISTV_S'
    LISTV_ST = 'LISTV_ST'
    LISTV_T = 'LISTV_T'
    LIST_ = 'LIST_'
    LIST_S = 'LIST_S'
    LIST_ST = 'LIST_ST'
    LIST_T = 'LIST_T'
    POLL = 'POLL'
    PRUNE = 'PRUNE'
    PRUNE_COUNT = 'PRUNE_COUNT'
    REAP = 'REAP'
    RECORD_CHILD = 'RECORD_CHILD'
    RECOVER_CLAIM = 'RECOVER_CLAIM'
    RELEASE = 'RELEASE'
    RESUBMIT = 'RESUBMIT'
    TYPES = 'TYPES'
    UPDATE_PROGRESS = 'UPDATE_PROGRESS'
    UPSERT_TYPE = 'UPSERT_TYPE'


#: The SQL text of each statement (positional ``?`` parameters).
SQL: dict[Q, str] = {
    Q.CANCEL: "UPDATE jobs SET status=CASE WHEN (jobs.status = 'pending') THEN 'cancelled' ELSE jobs.status END, cancel_requested=1, cancel_requested_at=coalesce(jobs.cancel_requested_at, coalesce(?, (julianday('now') - 2440587.5) * 86400.0)), updated_at=CASE WHEN (jobs.status = 'pending') THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) ELSE jobs.updated_at END, finished_at=CASE WHEN (jobs.status = 'pending') THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) ELSE jobs.finished_at END, note=CASE WHEN (jobs.status = 'pending') THEN 'cancelled before it started' ELSE 'cancel requested' END, noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHERE jobs.id = ? AND jobs.status IN ('pending', 'running') RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.CHECK_CANCEL: "SELECT jobs.cancel_requested FROM jobs WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running'",
    Q.CHILDREN_ON_HOST: "SELECT jobs.id, jobs.child_pid, jobs.child_started, jobs.status = 'running' AND jobs.updated_at >= coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? AS alive FROM jobs WHERE jobs.child_host = ? AND jobs.child_pid IS NOT NULL",
    Q.CLAIM_ANY: "UPDATE jobs SET status='running', stage=NULL, progress=NULL, attempt=(jobs.attempt + 1), worker_id=?, lease=(jobs.lease + 1), started_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), child_pid=NULL, child_host=NULL, child_started=NULL, note=('claimed, attempt ' || CAST(jobs.attempt + 1 AS TEXT)), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), claim_token=? WHERE jobs.id = (SELECT head.id FROM jobs AS head WHERE head.status = 'pending' ORDER BY head.created_at, head.id LIMIT 1 OFFSET 0) AND jobs.status = 'pending' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.CLAIM_TYPED: "UPDATE jobs SET status='running', stage=NULL, progress=NULL, attempt=(jobs.attempt + 1), worker_id=?, lease=(jobs.lease + 1), started_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), child_pid=NULL, child_host=NULL, child_started=NULL, note=('claimed, attempt ' || CAST(jobs.attempt + 1 AS TEXT)), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), claim_token=? WHERE jobs.id = (SELECT head.id FROM jobs AS head WHERE head.status = 'pending' AND head.type IN (SELECT value FROM json_each(?)) ORDER BY head.created_at, head.id LIMIT 1 OFFSET 0) AND jobs.status = 'pending' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.COMPLETE: "UPDATE jobs SET status='completed', error=NULL, error_kind=NULL, result=?, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), note='completed', noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.CONFIRM_CANCELLED: "UPDATE jobs SET status='cancelled', updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), note=?, noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.COUNTS: "SELECT (SELECT count(*) AS count_1 FROM (SELECT 1 AS anon_2 FROM jobs WHERE jobs.status = 'pending' LIMIT ? OFFSET 0) AS anon_1) AS pending, (SELECT count(*) AS count_2 FROM (SELECT 1 AS anon_4 FROM jobs WHERE jobs.status = 'running' LIMIT ? OFFSET 0) AS anon_3) AS running, (SELECT count(*) AS count_3 FROM (SELECT 1 AS anon_6 FROM jobs WHERE jobs.status = 'completed' LIMIT ? OFFSET 0) AS anon_5) AS completed, (SELECT count(*) AS count_4 FROM (SELECT 1 AS anon_8 FROM jobs WHERE jobs.status = 'failed' LIMIT ? OFFSET 0) AS anon_7) AS failed, (SELECT count(*) AS count_5 FROM (SELECT 1 AS anon_10 FROM jobs WHERE jobs.status = 'cancelled' LIMIT ? OFFSET 0) AS anon_9) AS cancelled",
    Q.CREATE: "INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested, created_at, updated_at, note, noted_at) VALUES (?, ?, 'pending', 0, coalesce(?, (SELECT job_types.max_attempts FROM job_types WHERE job_types.name = ?), 2), 0, 0, coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce(?, (julianday('now') - 2440587.5) * 86400.0), ?, coalesce(?, (julianday('now') - 2440587.5) * 86400.0)) RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.CREATE_MANY: 'INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested, created_at, updated_at, note, noted_at) SELECT ? AS anon_1, batch.value, \'pending\' AS anon_2, 0 AS anon_3, coalesce(?, (SELECT job_types.max_attempts FROM job_types WHERE job_types.name = ?), 2) AS coalesce_1, 0 AS anon_4, 0 AS anon_5, coalesce(?, (julianday(\'now\') - 2440587.5) * 86400.0) AS coalesce_2, coalesce(?, (julianday(\'now\') - 2440587.5) * 86400.0) AS coalesce__1, ? AS anon_6, coalesce(?, (julianday(\'now\') - 2440587.5) * 86400.0) AS coalesce__2 FROM json_each(?) AS batch ORDER BY batch."key" RETURNING id, max_attempts, created_at',
    Q.FAIL: "UPDATE jobs SET status=CASE WHEN (? = 1 AND jobs.attempt < jobs.max_attempts AND jobs.cancel_requested = 0) THEN 'pending' ELSE 'failed' END, error=?, error_kind=?, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=CASE WHEN (? = 1 AND jobs.attempt < jobs.max_attempts AND jobs.cancel_requested = 0) THEN NULL ELSE coalesce(?, (julianday('now') - 2440587.5) * 86400.0) END, note=(CASE WHEN (? = 1 AND jobs.attempt < jobs.max_attempts AND jobs.cancel_requested = 0) THEN 'will retry: ' ELSE 'failed: ' END || ?), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.FORGET_CHILD: 'UPDATE jobs SET child_pid=NULL, child_host=NULL, child_started=NULL WHERE jobs.id = ? AND jobs.child_pid = ?',
    Q.GET: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token FROM jobs WHERE jobs.id = ?',
    Q.HEARTBEAT: "UPDATE jobs SET updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING cancel_requested",
    Q.HISTORY: 'SELECT job_history.seq, job_history.job_id, job_history.at, job_history.from_status, job_history.to_status, job_history.worker_id, job_history.lease, job_history.reason FROM job_history WHERE job_history.job_id = ? ORDER BY job_history.seq',
    Q.LISTV_: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, CASE WHEN (jobs.status = 'pending') THEN (SELECT count(*) AS count_1 FROM jobs AS ahead WHERE ahead.status = 'pending' AND (ahead.created_at, ahead.id) <= (jobs.created_at, jobs.id)) END AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = jobs.type) AS stages FROM jobs ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LISTV_S: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, CASE WHEN (jobs.status = 'pending') THEN (SELECT count(*) AS count_1 FROM jobs AS ahead WHERE ahead.status = 'pending' AND (ahead.created_at, ahead.id) <= (jobs.created_at, jobs.id)) END AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = jobs.type) AS stages FROM jobs WHERE jobs.status = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LISTV_ST: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, CASE WHEN (jobs.status = 'pending') THEN (SELECT count(*) AS count_1 FROM jobs AS ahead WHERE ahead.status = 'pending' AND (ahead.created_at, ahead.id) <= (jobs.created_at, jobs.id)) END AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = jobs.type) AS stages FROM jobs WHERE jobs.status = ? AND jobs.type = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LISTV_T: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, CASE WHEN (jobs.status = 'pending') THEN (SELECT count(*) AS count_1 FROM jobs AS ahead WHERE ahead.status = 'pending' AND (ahead.created_at, ahead.id) <= (jobs.created_at, jobs.id)) END AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = jobs.type) AS stages FROM jobs WHERE jobs.type = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token FROM jobs ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0',
    Q.LIST_S: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token FROM jobs WHERE jobs.status = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0',
    Q.LIST_ST: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token FROM jobs WHERE jobs.status = ? AND jobs.type = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0',
    Q.LIST_T: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token FROM jobs WHERE jobs.type = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0',
    Q.POLL: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, CASE WHEN (jobs.status = 'pending') THEN (SELECT count(*) AS count_1 FROM jobs AS ahead WHERE ahead.status = 'pending' AND (ahead.created_at, ahead.id) <= (jobs.created_at, jobs.id)) END AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = jobs.type) AS stages FROM jobs WHERE jobs.id = ?",
    Q.PRUNE: "DELETE FROM jobs WHERE jobs.id IN (SELECT jobs.id FROM jobs WHERE jobs.status = ? AND jobs.created_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? AND jobs.finished_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? ORDER BY jobs.created_at LIMIT ? OFFSET 0) RETURNING id",
    Q.PRUNE_COUNT: "SELECT count(*) AS count_1 FROM (SELECT jobs.id AS id FROM jobs WHERE jobs.status = ? AND jobs.created_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? AND jobs.finished_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? ORDER BY jobs.created_at LIMIT ? OFFSET 0) AS anon_1",
    Q.REAP: "UPDATE jobs SET status=CASE WHEN (jobs.cancel_requested = 1) THEN 'cancelled' WHEN (jobs.attempt < jobs.max_attempts AND jobs.cancel_requested = 0) THEN 'pending' ELSE 'failed' END, error=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error ELSE 'stalled: no heartbeat from worker ' || coalesce(jobs.worker_id, '?') || ' for over ' || ? || ' s' END, error_kind=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error_kind ELSE 'stalled' END, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=CASE WHEN (jobs.attempt < jobs.max_attempts AND jobs.cancel_requested = 0) THEN NULL ELSE coalesce(?, (julianday('now') - 2440587.5) * 86400.0) END, note=('reaped: ' || 'stalled: no heartbeat from worker ' || coalesce(jobs.worker_id, '?') || ' for over ' || ? || ' s'), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHERE jobs.status = 'running' AND jobs.updated_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.RECORD_CHILD: "UPDATE jobs SET updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), child_pid=?, child_host=?, child_started=? WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING cancel_requested",
    Q.RECOVER_CLAIM: "UPDATE jobs SET status=CASE WHEN (jobs.cancel_requested = 1) THEN 'cancelled' WHEN (jobs.cancel_requested = 0 AND ? = 0 AND jobs.attempt >= jobs.max_attempts) THEN 'failed' ELSE 'pending' END, attempt=(jobs.attempt - ?), error=CASE WHEN (jobs.cancel_requested = 0 AND ? = 0 AND jobs.attempt >= jobs.max_attempts) THEN ? ELSE jobs.error END, error_kind=CASE WHEN (jobs.cancel_requested = 0 AND ? = 0 AND jobs.attempt >= jobs.max_attempts) THEN 'transient' ELSE jobs.error_kind END, worker_id=NULL, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=CASE WHEN (jobs.cancel_requested = 1 OR jobs.cancel_requested = 0 AND ? = 0 AND jobs.attempt >= jobs.max_attempts) THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) END, note=(CASE WHEN (jobs.cancel_requested = 0 AND ? = 0 AND jobs.attempt >= jobs.max_attempts) THEN 'failed: ' ELSE 'released: ' END || ?), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHERE jobs.status = 'running' AND jobs.worker_id = ? AND jobs.claim_token = ? RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.RELEASE: "UPDATE jobs SET status=CASE WHEN (jobs.cancel_requested = 1) THEN 'cancelled' WHEN (jobs.cancel_requested = 0 AND ? = 0 AND jobs.attempt >= jobs.max_attempts) THEN 'failed' ELSE 'pending' END, attempt=(jobs.attempt - ?), error=CASE WHEN (jobs.cancel_requested = 0 AND ? = 0 AND jobs.attempt >= jobs.max_attempts) THEN ? ELSE jobs.error END, error_kind=CASE WHEN (jobs.cancel_requested = 0 AND ? = 0 AND jobs.attempt >= jobs.max_attempts) THEN 'transient' ELSE jobs.error_kind END, worker_id=NULL, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=CASE WHEN (jobs.cancel_requested = 1 OR jobs.cancel_requested = 0 AND ? = 0 AND jobs.attempt >= jobs.max_attempts) THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) END, note=(CASE WHEN (jobs.cancel_requested = 0 AND ? = 0 AND jobs.attempt >= jobs.max_attempts) THEN 'failed: ' ELSE 'released: ' END || ?), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.RESUBMIT: "INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested, created_at, updated_at, retry_of, note, noted_at) SELECT source.type, source.payload, 'pending' AS anon_1, 0 AS anon_2, source.max_attempts, 0 AS anon_3, 0 AS anon_4, coalesce(?, (julianday('now') - 2440587.5) * 86400.0) AS coalesce_1, coalesce(?, (julianday('now') - 2440587.5) * 86400.0) AS coalesce__1, source.id, 'resubmitted from job ' || CAST(source.id AS TEXT) AS anon_5, coalesce(?, (julianday('now') - 2440587.5) * 86400.0) AS coalesce__2 FROM jobs AS source WHERE source.id = ? AND source.status IN ('failed', 'cancelled') RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token",
    Q.TYPES: 'SELECT job_types.name, job_types.stages, job_types.max_attempts, job_types.timeout FROM job_types ORDER BY job_types.name',
    Q.UPDATE_PROGRESS: "UPDATE jobs SET stage=?, progress=?, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING cancel_requested",
    Q.UPSERT_TYPE: "INSERT INTO job_types (name, stages, max_attempts, timeout, updated_at) VALUES (?, ?, ?, ?, coalesce(?, (julianday('now') - 2440587.5) * 86400.0)) ON CONFLICT (name) DO UPDATE SET stages = excluded.stages, max_attempts = excluded.max_attempts, timeout = excluded.timeout, updated_at = excluded.updated_at",
}
#: The names of a statement's parameters, in the order of its ``?``.
PARAMS: dict[Q, tuple[str, ...]] = {
    Q.CANCEL: ('p_now', 'p_now', 'p_now', 'p_now', 'p_id'),
    Q.CHECK_CANCEL: ('p_id', 'p_lease'),
    Q.CHILDREN_ON_HOST: ('p_now', 'p_stale', 'p_host'),
    Q.CLAIM_ANY: ('p_worker', 'p_now', 'p_now', 'p_now', 'p_token'),
    Q.CLAIM_TYPED: ('p_worker', 'p_now', 'p_now', 'p_now', 'p_token', 'p_types'),
    Q.COMPLETE: ('p_result', 'p_now', 'p_now', 'p_now', 'p_id', 'p_lease'),
    Q.CONFIRM_CANCELLED: ('p_now', 'p_now', 'p_reason', 'p_now', 'p_id', 'p_lease'),
    Q.COUNTS: ('p_cap', 'p_cap', 'p_cap', 'p_cap', 'p_cap'),
    Q.CREATE: ('p_type', 'p_payload', 'p_max', 'p_type', 'p_now', 'p_now', 'p_note', 'p_now'),
    Q.CREATE_MANY: ('p_type', 'p_max', 'p_type', 'p_now', 'p_now', 'p_note', 'p_now', 'p_payloads'),
    Q.FAIL: ('p_retry', 'p_error', 'p_kind', 'p_now', 'p_retry', 'p_now', 'p_retry', 'p_error', 'p_now', 'p_id', 'p_lease'),
    Q.FORGET_CHILD: ('p_id', 'p_pid'),
    Q.GET: ('p_id',),
    Q.HEARTBEAT: ('p_now', 'p_id', 'p_lease'),
    Q.HISTORY: ('p_id',),
    Q.LISTV_: ('p_limit',),
    Q.LISTV_S: ('p_status', 'p_limit'),
    Q.LISTV_ST: ('p_status', 'p_type', 'p_limit'),
    Q.LISTV_T: ('p_type', 'p_limit'),
    Q.LIST_: ('p_limit',),
    Q.LIST_S: ('p_status', 'p_limit'),
    Q.LIST_ST: ('p_status', 'p_type', 'p_limit'),
    Q.LIST_T: ('p_type', 'p_limit'),
    Q.POLL: ('p_id',),
    Q.PRUNE: ('p_status', 'p_now', 'p_retain', 'p_now', 'p_retain', 'p_limit'),
    Q.PRUNE_COUNT: ('p_status', 'p_now', 'p_retain', 'p_now', 'p_retain', 'p_limit'),
    Q.REAP: ('p_stale_text', 'p_now', 'p_now', 'p_stale_text', 'p_now', 'p_now', 'p_stale'),
    Q.RECORD_CHILD: ('p_now', 'p_pid', 'p_host', 'p_started', 'p_id', 'p_lease'),
    Q.RECOVER_CLAIM: ('p_refund', 'p_refund', 'p_refund', 'p_reason', 'p_refund', 'p_now', 'p_refund', 'p_now', 'p_refund', 'p_reason', 'p_now', 'p_worker', 'p_token'),
    Q.RELEASE: ('p_refund', 'p_refund', 'p_refund', 'p_reason', 'p_refund', 'p_now', 'p_refund', 'p_now', 'p_refund', 'p_reason', 'p_now', 'p_id', 'p_lease'),
    Q.RESUBMIT: ('p_now', 'p_now', 'p_now', 'p_id'),
    Q.TYPES: (),
    Q.UPDATE_PROGRESS: ('p_stage', 'p_progress', 'p_now', 'p_id', 'p_lease'),
    Q.UPSERT_TYPE: ('p_name', 'p_stages', 'p_max', 'p_timeout', 'p_now'),
}
#: The columns a statement returns (empty if none).
COLUMNS: dict[Q, tuple[str, ...]] = {
    Q.CANCEL: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.CHECK_CANCEL: ('cancel_requested',),
    Q.CHILDREN_ON_HOST: ('id', 'child_pid', 'child_started', 'alive'),
    Q.CLAIM_ANY: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.CLAIM_TYPED: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.COMPLETE: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.CONFIRM_CANCELLED: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.COUNTS: ('pending', 'running', 'completed', 'failed', 'cancelled'),
    Q.CREATE: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.CREATE_MANY: ('id', 'max_attempts', 'created_at'),
    Q.FAIL: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.FORGET_CHILD: (),
    Q.GET: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.HEARTBEAT: ('cancel_requested',),
    Q.HISTORY: ('seq', 'job_id', 'at', 'from_status', 'to_status', 'worker_id', 'lease', 'reason'),
    Q.LISTV_: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'queue_position', 'stages'),
    Q.LISTV_S: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'queue_position', 'stages'),
    Q.LISTV_ST: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'queue_position', 'stages'),
    Q.LISTV_T: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'queue_position', 'stages'),
    Q.LIST_: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.LIST_S: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.LIST_ST: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.LIST_T: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.POLL: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'queue_position', 'stages'),
    Q.PRUNE: ('id',),
    Q.PRUNE_COUNT: ('count_1',),
    Q.REAP: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.RECORD_CHILD: ('cancel_requested',),
    Q.RECOVER_CLAIM: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.RELEASE: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.RESUBMIT: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token'),
    Q.TYPES: ('name', 'stages', 'max_attempts', 'timeout'),
    Q.UPDATE_PROGRESS: ('cancel_requested',),
    Q.UPSERT_TYPE: (),
}
#: The whole current schema, for a new database (every statement IF NOT EXISTS).
DDL: tuple[str, ...] = (
    'CREATE TABLE IF NOT EXISTS job_history ( seq INTEGER NOT NULL, job_id INTEGER NOT NULL, at FLOAT NOT NULL, from_status VARCHAR(16), to_status VARCHAR(16) NOT NULL, worker_id VARCHAR(128), lease INTEGER NOT NULL, reason TEXT, PRIMARY KEY (seq) )',
    'CREATE INDEX IF NOT EXISTS ix_job_history_job ON job_history (job_id, seq)',
    'CREATE TABLE IF NOT EXISTS job_types ( name VARCHAR(64) NOT NULL, stages TEXT NOT NULL, max_attempts INTEGER NOT NULL, timeout FLOAT, updated_at FLOAT NOT NULL, PRIMARY KEY (name) )',
    "CREATE TABLE IF NOT EXISTS jobs ( id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, type VARCHAR(64) NOT NULL, payload TEXT NOT NULL, status VARCHAR(16) NOT NULL, stage VARCHAR(64), progress FLOAT, attempt INTEGER DEFAULT '0' NOT NULL, max_attempts INTEGER NOT NULL, error TEXT, error_kind VARCHAR(16), result TEXT, worker_id VARCHAR(128), lease INTEGER DEFAULT '0' NOT NULL, cancel_requested INTEGER DEFAULT '0' NOT NULL, cancel_requested_at FLOAT, created_at FLOAT NOT NULL, started_at FLOAT, updated_at FLOAT NOT NULL, finished_at FLOAT, retry_of INTEGER, child_pid INTEGER, child_host VARCHAR(255), child_started FLOAT, note TEXT, noted_at FLOAT, claim_token VARCHAR(32) )",
    'CREATE INDEX IF NOT EXISTS ix_jobs_child_host ON jobs (child_host) WHERE child_pid IS NOT NULL',
    "CREATE INDEX IF NOT EXISTS ix_jobs_pending_fifo ON jobs (created_at, id) WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS ix_jobs_running_updated ON jobs (updated_at) WHERE status = 'running'",
    'CREATE INDEX IF NOT EXISTS ix_jobs_status_created ON jobs (status, created_at)',
    'CREATE TABLE IF NOT EXISTS schema_meta ( "key" VARCHAR(32) NOT NULL, value INTEGER NOT NULL, PRIMARY KEY ("key") )',
    'CREATE TRIGGER IF NOT EXISTS jobs_history_insert AFTER INSERT ON jobs BEGIN INSERT INTO job_history (job_id, at, from_status, to_status, worker_id, lease, reason) VALUES (NEW.id, NEW.noted_at, NULL, NEW.status, NEW.worker_id, NEW.lease, NEW.note); END',
    'CREATE TRIGGER IF NOT EXISTS jobs_history_update AFTER UPDATE OF status, cancel_requested ON jobs WHEN OLD.status IS NOT NEW.status OR OLD.cancel_requested IS NOT NEW.cancel_requested BEGIN INSERT INTO job_history (job_id, at, from_status, to_status, worker_id, lease, reason) VALUES (NEW.id, NEW.noted_at, OLD.status, NEW.status, COALESCE(NEW.worker_id, OLD.worker_id), NEW.lease, NEW.note); END',
    'CREATE TRIGGER IF NOT EXISTS jobs_history_delete AFTER DELETE ON jobs BEGIN DELETE FROM job_history WHERE job_id = OLD.id; END',
)
#: What brings a database of the previous revision to each revision.
UPGRADES: dict[int, tuple[str, ...]] = {
    2: ('ALTER TABLE jobs ADD COLUMN claim_token VARCHAR(32)',),
}
