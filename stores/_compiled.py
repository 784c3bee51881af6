"""Every statement, compiled for SQLite from ``stores/_statements.py``: GENERATED.

Do not edit: run ``python -m stores._build`` after changing the statements or
the schema. ``tests/test_compiled.py`` fails while this file is out of date.
"""

from __future__ import annotations

import enum

__all__ = ["COLUMNS", "DDL", "DESCRIPTIONS", "PARAMS", "RETIRED", "SCHEMA_REVISION", "SCHEMA_VERSION", "SQL", "UPGRADES", "Op", "Q"]

SCHEMA_VERSION = 1
SCHEMA_REVISION = 11


class Q(enum.StrEnum):
    """The name of a statement."""

    BY_DEDUP_KEY = 'BY_DEDUP_KEY'
    CANCEL = 'CANCEL'
    CHANGES = 'CHANGES'
    CHANGE_MARK = 'CHANGE_MARK'
    CHECK_CANCEL = 'CHECK_CANCEL'
    CHILDREN_ON_HOST = 'CHILDREN_ON_HOST'
    CLAIM_ANY = 'CLAIM_ANY'
    CLAIM_TYPED = 'CLAIM_TYPED'
    CLOCK = 'CLOCK'
    COMPLETE = 'COMPLETE'
    CONFIRM_CANCELLED = 'CONFIRM_CANCELLED'
    COUNTS = 'COUNTS'
    CREATE = 'CREATE'
    CREATE_MANY = 'CREATE_MANY'
    FAIL = 'FAIL'
    FORGET_CHILD = 'FORGET_CHILD'
    FORGET_KEYS = 'FORGET_KEYS'
    FORGET_WORKERS = 'FORGET_WORKERS'
    GET = 'GET'
    HEARTBEAT = 'HEARTBEAT'
    HISTORY = 'HISTORY'
    LISTV_ = 'LISTV_'
    LISTV_B = 'LISTV_B'
    LISTV_F = 'LISTV_F'
    LISTV_FB = 'LISTV_FB'
    LISTV_FT = 'LISTV_FT'
    LISTV_FTB = 'LISTV_FTB'
    LISTV_P = 'LISTV_P'
    LISTV_PB = 'LISTV_PB'
    LISTV_PT = 'LISTV_PT'
    LISTV_PTB = 'LISTV_PTB'
    LISTV_R = 'LISTV_R'
    LISTV_RB = 'LISTV_RB'
    LISTV_RT = 'LISTV_RT'
    LISTV_RTB = 'LISTV_RTB'
    LISTV_T = 'LISTV_T'
    LISTV_TB = 'LISTV_TB'
    LIST_ = 'LIST_'
    LIST_B = 'LIST_B'
    LIST_F = 'LIST_F'
    LIST_FB = 'LIST_FB'
    LIST_FT = 'LIST_FT'
    LIST_FTB = 'LIST_FTB'
    LIST_P = 'LIST_P'
    LIST_PB = 'LIST_PB'
    LIST_PT = 'LIST_PT'
    LIST_PTB = 'LIST_PTB'
    LIST_R = 'LIST_R'
    LIST_RB = 'LIST_RB'
    LIST_RT = 'LIST_RT'
    LIST_RTB = 'LIST_RTB'
    LIST_T = 'LIST_T'
    LIST_TB = 'LIST_TB'
    POLL = 'POLL'
    PRUNE = 'PRUNE'
    PRUNE_COUNT = 'PRUNE_COUNT'
    PRUNE_RESULTS = 'PRUNE_RESULTS'
    QUEUE = 'QUEUE'
    REAP = 'REAP'
    REAP_STEADY = 'REAP_STEADY'
    RECORD_CHILD = 'RECORD_CHILD'
    RECOVER_CLAIM = 'RECOVER_CLAIM'
    RELEASE = 'RELEASE'
    RESUBMIT = 'RESUBMIT'
    TICK = 'TICK'
    TYPES = 'TYPES'
    UPDATE_PROGRESS = 'UPDATE_PROGRESS'
    UPSERT_TYPE = 'UPSERT_TYPE'
    WORKERS = 'WORKERS'
    WORKER_BEAT = 'WORKER_BEAT'
    WORKER_REMOVE = 'WORKER_REMOVE'
    WORKER_UPSERT = 'WORKER_UPSERT'


#: The SQL text of each statement (positional ``?`` parameters).
SQL: dict[Q, str] = {
    Q.BY_DEDUP_KEY: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.dedup_key = ?',
    Q.CANCEL: "UPDATE jobs SET status=CASE WHEN (jobs.status = 'pending') THEN 'cancelled' ELSE jobs.status END, cancel_requested=1, cancel_requested_at=coalesce(jobs.cancel_requested_at, coalesce(?, (julianday('now') - 2440587.5) * 86400.0)), updated_at=CASE WHEN (jobs.status = 'pending') THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) ELSE jobs.updated_at END, finished_at=CASE WHEN (jobs.status = 'pending') THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) ELSE jobs.finished_at END, note=CASE WHEN (jobs.status = 'pending') THEN 'cancelled before it started' ELSE 'cancel requested' END, noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), retry_at=NULL WHERE jobs.id = ? AND jobs.status IN ('pending', 'running') RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.CHANGES: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail, CASE WHEN (jobs.status = 'pending') THEN (SELECT count(*) AS count_1 FROM jobs AS ahead WHERE ahead.status = 'pending' AND (ahead.created_at, ahead.id) <= (jobs.created_at, jobs.id)) END AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = jobs.type) AS stages, coalesce(?, (julianday('now') - 2440587.5) * 86400.0) AS read_at FROM jobs WHERE jobs.changed_at >= ? AND (jobs.changed_at > ? OR jobs.id > ?) ORDER BY jobs.changed_at, jobs.id LIMIT ? OFFSET 0",
    Q.CHANGE_MARK: "SELECT jobs.changed_at, jobs.id, coalesce(?, (julianday('now') - 2440587.5) * 86400.0) AS now FROM jobs WHERE jobs.changed_at IS NOT NULL ORDER BY jobs.changed_at DESC, jobs.id DESC LIMIT 1 OFFSET 0",
    Q.CHECK_CANCEL: "SELECT jobs.cancel_requested FROM jobs WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running'",
    Q.CHILDREN_ON_HOST: "SELECT jobs.id, jobs.child_pid, jobs.child_started, jobs.status = 'running' AND jobs.updated_at >= coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? AS alive FROM jobs WHERE jobs.child_host = ? AND jobs.child_pid IS NOT NULL",
    Q.CLAIM_ANY: "UPDATE jobs SET status='running', stage=NULL, progress=NULL, attempt=(jobs.attempt + 1), worker_id=?, lease=(jobs.lease + 1), started_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), child_pid=NULL, child_host=NULL, child_started=NULL, note=('claimed, attempt ' || CAST(jobs.attempt + 1 AS TEXT)), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), claim_token=?, changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), retry_at=NULL, log_tail=NULL WHERE jobs.id = (SELECT head.id FROM jobs AS head WHERE head.status = 'pending' AND (head.retry_at IS NULL OR head.retry_at <= coalesce(?, (julianday('now') - 2440587.5) * 86400.0)) ORDER BY head.created_at, head.id LIMIT 1 OFFSET 0) AND jobs.status = 'pending' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.CLAIM_TYPED: "UPDATE jobs SET status='running', stage=NULL, progress=NULL, attempt=(jobs.attempt + 1), worker_id=?, lease=(jobs.lease + 1), started_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), child_pid=NULL, child_host=NULL, child_started=NULL, note=('claimed, attempt ' || CAST(jobs.attempt + 1 AS TEXT)), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), claim_token=?, changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), retry_at=NULL, log_tail=NULL WHERE jobs.id = (SELECT head.id FROM jobs AS head WHERE head.status = 'pending' AND (head.retry_at IS NULL OR head.retry_at <= coalesce(?, (julianday('now') - 2440587.5) * 86400.0)) AND head.type IN (SELECT value FROM json_each(?)) ORDER BY head.created_at, head.id LIMIT 1 OFFSET 0) AND jobs.status = 'pending' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.CLOCK: "SELECT coalesce(?, (julianday('now') - 2440587.5) * 86400.0) AS now",
    Q.COMPLETE: "UPDATE jobs SET status='completed', error=NULL, error_kind=NULL, result=?, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), note='completed', noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), log_tail=coalesce(?, jobs.log_tail), error_detail=NULL WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.CONFIRM_CANCELLED: "UPDATE jobs SET status='cancelled', error=jobs.error, error_kind=jobs.error_kind, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), note=?, noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), error_detail=jobs.error_detail WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.COUNTS: "SELECT job_counts.status, job_counts.n FROM job_counts UNION ALL SELECT 'pending' AS status, (SELECT count(*) AS count_1 FROM (SELECT 1 AS anon_2 FROM jobs WHERE jobs.status = 'pending' LIMIT ? OFFSET 0) AS anon_1) AS n UNION ALL SELECT 'running' AS status, (SELECT count(*) AS count_2 FROM (SELECT 1 AS anon_4 FROM jobs WHERE jobs.status = 'running' LIMIT ? OFFSET 0) AS anon_3) AS n",
    Q.CREATE: "INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested, created_at, updated_at, note, noted_at, dedup_key, request_hash, changed_at) VALUES (?, ?, 'pending', 0, coalesce(?, (SELECT job_types.max_attempts FROM job_types WHERE job_types.name = ?), 2), 0, 0, coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce(?, (julianday('now') - 2440587.5) * 86400.0), ?, coalesce(?, (julianday('now') - 2440587.5) * 86400.0), ?, ?, max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06)) ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.CREATE_MANY: 'INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested, created_at, updated_at, note, noted_at, changed_at) SELECT ? AS anon_1, batch.value, \'pending\' AS anon_2, 0 AS anon_3, coalesce(?, (SELECT job_types.max_attempts FROM job_types WHERE job_types.name = ?), 2) AS coalesce_1, 0 AS anon_4, 0 AS anon_5, coalesce(?, (julianday(\'now\') - 2440587.5) * 86400.0) AS coalesce_2, coalesce(?, (julianday(\'now\') - 2440587.5) * 86400.0) AS coalesce__1, ? AS anon_6, coalesce(?, (julianday(\'now\') - 2440587.5) * 86400.0) AS coalesce__2, max(coalesce(?, (julianday(\'now\') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_2 FROM jobs AS latest), 0) + 1e-06) AS max_1 FROM json_each(?) AS batch ORDER BY batch."key" RETURNING id, max_attempts, created_at',
    Q.FAIL: "UPDATE jobs SET status=CASE WHEN (? IN ('stalled', 'timeout', 'transient') AND jobs.cancel_requested != 1 AND jobs.attempt < jobs.max_attempts) THEN 'pending' ELSE 'failed' END, error=?, error_kind=?, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=CASE WHEN (? IN ('stalled', 'timeout', 'transient') AND jobs.cancel_requested != 1 AND jobs.attempt < jobs.max_attempts) THEN NULL ELSE coalesce(?, (julianday('now') - 2440587.5) * 86400.0) END, note=(CASE WHEN (? IN ('stalled', 'timeout', 'transient') AND jobs.cancel_requested != 1 AND jobs.attempt < jobs.max_attempts) THEN CASE WHEN (? > 0) THEN 'will retry in ' || printf('%.0f', ?) || ' s: ' ELSE 'will retry: ' END ELSE 'failed: ' END || ?), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), retry_at=CASE WHEN (? IN ('stalled', 'timeout', 'transient') AND jobs.cancel_requested != 1 AND jobs.attempt < jobs.max_attempts) THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) + ? END, log_tail=coalesce(?, jobs.log_tail), error_detail=? WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.FORGET_CHILD: 'UPDATE jobs SET child_pid=NULL, child_host=NULL, child_started=NULL WHERE jobs.id = ? AND jobs.child_pid = ?',
    Q.FORGET_KEYS: "UPDATE jobs SET dedup_key=NULL, request_hash=NULL, changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06) WHERE jobs.id IN (SELECT jobs.id FROM jobs WHERE jobs.request_hash IS NOT NULL AND jobs.created_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? ORDER BY jobs.created_at LIMIT ? OFFSET 0) RETURNING id",
    Q.FORGET_WORKERS: "DELETE FROM workers WHERE workers.last_beat < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? RETURNING id",
    Q.GET: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.id = ?',
    Q.HEARTBEAT: "UPDATE jobs SET updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06) WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING cancel_requested",
    Q.HISTORY: "SELECT 0 AS seq, jobs.id AS job_id, jobs.created_at AS at, NULL AS from_status, 'pending' AS to_status, NULL AS worker_id, 0 AS lease, CASE WHEN (jobs.retry_of IS NOT NULL) THEN 'resubmitted from job ' || CAST(jobs.retry_of AS TEXT) ELSE 'created' END AS reason FROM jobs WHERE jobs.id = ? AND NOT (EXISTS (SELECT * FROM job_history WHERE job_history.job_id = jobs.id AND job_history.from_status IS NULL)) UNION ALL SELECT job_history.seq, job_history.job_id, job_history.at, job_history.from_status, job_history.to_status, job_history.worker_id, job_history.lease, job_history.reason FROM job_history WHERE job_history.job_id = ? ORDER BY seq",
    Q.LISTV_: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_B: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_F: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_FB: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') AND (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_FT: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') AND jobs.type = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_FTB: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') AND jobs.type = ? AND (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_P: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = 'pending' ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_PB: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = 'pending' AND (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_PT: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = 'pending' AND jobs.type = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_PTB: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = 'pending' AND jobs.type = ? AND (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_R: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = 'running' ORDER BY jobs.created_at + 0 DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_RB: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = 'running' AND (jobs.created_at + 0, jobs.id) < (?, ?) ORDER BY jobs.created_at + 0 DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_RT: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = 'running' AND jobs.type = ? ORDER BY jobs.created_at + 0 DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_RTB: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.status = 'running' AND jobs.type = ? AND (jobs.created_at + 0, jobs.id) < (?, ?) ORDER BY jobs.created_at + 0 DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_T: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.type = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LISTV_TB: "WITH page AS (SELECT jobs.id AS id, jobs.type AS type, jobs.payload AS payload, jobs.status AS status, jobs.stage AS stage, jobs.progress AS progress, jobs.attempt AS attempt, jobs.max_attempts AS max_attempts, jobs.error AS error, jobs.error_kind AS error_kind, jobs.result AS result, jobs.worker_id AS worker_id, jobs.lease AS lease, jobs.cancel_requested AS cancel_requested, jobs.cancel_requested_at AS cancel_requested_at, jobs.created_at AS created_at, jobs.started_at AS started_at, jobs.updated_at AS updated_at, jobs.finished_at AS finished_at, jobs.retry_of AS retry_of, jobs.child_pid AS child_pid, jobs.child_host AS child_host, jobs.child_started AS child_started, jobs.note AS note, jobs.noted_at AS noted_at, jobs.claim_token AS claim_token, jobs.dedup_key AS dedup_key, jobs.request_hash AS request_hash, jobs.changed_at AS changed_at, jobs.retry_at AS retry_at, jobs.log_tail AS log_tail, jobs.error_detail AS error_detail FROM jobs WHERE jobs.type = ? AND (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0), bounds AS (SELECT min(page.created_at) AS lo, max(page.created_at) AS hi FROM page WHERE page.status = 'pending'), ranked AS (SELECT span.id AS id, (SELECT count(*) AS count_1 FROM jobs AS older WHERE older.status = 'pending' AND older.created_at < (SELECT bounds.lo FROM bounds)) + row_number() OVER (ORDER BY span.created_at, span.id) AS queue_position FROM jobs AS span WHERE span.status = 'pending' AND span.created_at >= (SELECT bounds.lo FROM bounds) AND span.created_at <= (SELECT bounds.hi FROM bounds)) SELECT page.id, page.type, page.payload, page.status, page.stage, page.progress, page.attempt, page.max_attempts, page.error, page.error_kind, page.result, page.worker_id, page.lease, page.cancel_requested, page.cancel_requested_at, page.created_at, page.started_at, page.updated_at, page.finished_at, page.retry_of, page.child_pid, page.child_host, page.child_started, page.note, page.noted_at, page.claim_token, page.dedup_key, page.request_hash, page.changed_at, page.retry_at, page.log_tail, page.error_detail, (SELECT ranked.queue_position FROM ranked WHERE ranked.id = page.id) AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = page.type) AS stages FROM page ORDER BY page.created_at DESC, page.id DESC",
    Q.LIST_: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0',
    Q.LIST_B: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0',
    Q.LIST_F: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_FB: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') AND (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_FT: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') AND jobs.type = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_FTB: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') AND jobs.type = ? AND (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_P: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = 'pending' ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_PB: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = 'pending' AND (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_PT: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = 'pending' AND jobs.type = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_PTB: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = 'pending' AND jobs.type = ? AND (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_R: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = 'running' ORDER BY jobs.created_at + 0 DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_RB: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = 'running' AND (jobs.created_at + 0, jobs.id) < (?, ?) ORDER BY jobs.created_at + 0 DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_RT: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = 'running' AND jobs.type = ? ORDER BY jobs.created_at + 0 DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_RTB: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.status = 'running' AND jobs.type = ? AND (jobs.created_at + 0, jobs.id) < (?, ?) ORDER BY jobs.created_at + 0 DESC, jobs.id DESC LIMIT ? OFFSET 0",
    Q.LIST_T: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.type = ? ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0',
    Q.LIST_TB: 'SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail FROM jobs WHERE jobs.type = ? AND (jobs.created_at, jobs.id) < (?, ?) ORDER BY jobs.created_at DESC, jobs.id DESC LIMIT ? OFFSET 0',
    Q.POLL: "SELECT jobs.id, jobs.type, jobs.payload, jobs.status, jobs.stage, jobs.progress, jobs.attempt, jobs.max_attempts, jobs.error, jobs.error_kind, jobs.result, jobs.worker_id, jobs.lease, jobs.cancel_requested, jobs.cancel_requested_at, jobs.created_at, jobs.started_at, jobs.updated_at, jobs.finished_at, jobs.retry_of, jobs.child_pid, jobs.child_host, jobs.child_started, jobs.note, jobs.noted_at, jobs.claim_token, jobs.dedup_key, jobs.request_hash, jobs.changed_at, jobs.retry_at, jobs.log_tail, jobs.error_detail, CASE WHEN (jobs.status = 'pending') THEN (SELECT count(*) AS count_1 FROM jobs AS ahead WHERE ahead.status = 'pending' AND (ahead.created_at, ahead.id) <= (jobs.created_at, jobs.id)) END AS queue_position, (SELECT job_types.stages FROM job_types WHERE job_types.name = jobs.type) AS stages FROM jobs WHERE jobs.id = ?",
    Q.PRUNE: "DELETE FROM jobs WHERE jobs.id IN (SELECT jobs.id FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') AND jobs.finished_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? AND jobs.created_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? ORDER BY jobs.finished_at LIMIT ? OFFSET 0) RETURNING id, result",
    Q.PRUNE_COUNT: "SELECT count(*) AS count_1 FROM (SELECT jobs.id AS id FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') AND jobs.finished_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? AND jobs.created_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? ORDER BY jobs.finished_at LIMIT ? OFFSET 0) AS anon_1",
    Q.PRUNE_RESULTS: "SELECT jobs.result FROM jobs WHERE jobs.id IN (SELECT jobs.id FROM jobs WHERE jobs.status = ? AND jobs.status IN ('completed', 'failed', 'cancelled') AND jobs.finished_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? AND jobs.created_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? ORDER BY jobs.finished_at LIMIT ? OFFSET 0)",
    Q.QUEUE: "SELECT jobs.id FROM jobs WHERE jobs.status = 'pending' ORDER BY jobs.created_at, jobs.id LIMIT ? OFFSET 0",
    Q.REAP: "UPDATE jobs SET status=CASE WHEN (jobs.cancel_requested = 1) THEN 'cancelled' WHEN (jobs.cancel_requested != 1 AND jobs.attempt < jobs.max_attempts) THEN 'pending' ELSE 'failed' END, error=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error ELSE 'stalled: no heartbeat from worker ' || coalesce(jobs.worker_id, '?') || ' for over ' || ? || ' s' END, error_kind=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error_kind ELSE 'stalled' END, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=CASE WHEN (jobs.cancel_requested = 1) THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHEN (jobs.cancel_requested != 1 AND jobs.attempt < jobs.max_attempts) THEN NULL ELSE coalesce(?, (julianday('now') - 2440587.5) * 86400.0) END, note=('reaped: ' || 'stalled: no heartbeat from worker ' || coalesce(jobs.worker_id, '?') || ' for over ' || ? || ' s'), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), error_detail=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error_detail END WHERE jobs.status = 'running' AND jobs.updated_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.REAP_STEADY: "UPDATE jobs SET status=CASE WHEN (jobs.cancel_requested = 1) THEN 'cancelled' WHEN (jobs.cancel_requested != 1 AND jobs.attempt < jobs.max_attempts) THEN 'pending' ELSE 'failed' END, error=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error ELSE 'stalled: no heartbeat from worker ' || coalesce(jobs.worker_id, '?') || ' for over ' || ? || ' s' END, error_kind=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error_kind ELSE 'stalled' END, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=CASE WHEN (jobs.cancel_requested = 1) THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHEN (jobs.cancel_requested != 1 AND jobs.attempt < jobs.max_attempts) THEN NULL ELSE coalesce(?, (julianday('now') - 2440587.5) * 86400.0) END, note=('reaped: ' || 'stalled: no heartbeat from worker ' || coalesce(jobs.worker_id, '?') || ' for over ' || ? || ' s'), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), error_detail=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error_detail END WHERE jobs.status = 'running' AND jobs.updated_at < coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - ? AND (SELECT coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - reaper_clock.steady_since AS anon_1 FROM reaper_clock WHERE reaper_clock.id = 1) >= ? RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.RECORD_CHILD: "UPDATE jobs SET updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), child_pid=?, child_host=?, child_started=?, changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06) WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING cancel_requested",
    Q.RECOVER_CLAIM: "UPDATE jobs SET status=CASE WHEN (jobs.cancel_requested = 1) THEN 'cancelled' WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN 'failed' ELSE 'pending' END, attempt=(jobs.attempt - ?), error=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN ? ELSE jobs.error END, error_kind=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error_kind WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN 'transient' ELSE jobs.error_kind END, worker_id=NULL, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=CASE WHEN (jobs.cancel_requested = 1) THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) END, note=(CASE WHEN (jobs.cancel_requested = 1) THEN 'released: ' WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN 'failed: ' ELSE 'released: ' END || ?), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), error_detail=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error_detail WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN NULL ELSE jobs.error_detail END WHERE jobs.status = 'running' AND jobs.worker_id = ? AND jobs.claim_token = ? RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.RELEASE: "UPDATE jobs SET status=CASE WHEN (jobs.cancel_requested = 1) THEN 'cancelled' WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN 'failed' ELSE 'pending' END, attempt=(jobs.attempt - ?), error=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN ? ELSE jobs.error END, error_kind=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error_kind WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN 'transient' ELSE jobs.error_kind END, worker_id=NULL, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), finished_at=CASE WHEN (jobs.cancel_requested = 1) THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN coalesce(?, (julianday('now') - 2440587.5) * 86400.0) END, note=(CASE WHEN (jobs.cancel_requested = 1) THEN 'released: ' WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN 'failed: ' ELSE 'released: ' END || ?), noted_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), error_detail=CASE WHEN (jobs.cancel_requested = 1) THEN jobs.error_detail WHEN (? = 0 AND jobs.cancel_requested != 1 AND jobs.attempt >= jobs.max_attempts) THEN NULL ELSE jobs.error_detail END WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.RESUBMIT: "INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested, created_at, updated_at, retry_of, note, noted_at, dedup_key, changed_at) SELECT source.type, source.payload, 'pending' AS anon_1, 0 AS anon_2, source.max_attempts, 0 AS anon_3, 0 AS anon_4, coalesce(?, (julianday('now') - 2440587.5) * 86400.0) AS coalesce_1, coalesce(?, (julianday('now') - 2440587.5) * 86400.0) AS coalesce__1, source.id, 'resubmitted from job ' || CAST(source.id AS TEXT) AS anon_5, coalesce(?, (julianday('now') - 2440587.5) * 86400.0) AS coalesce__2, 'retry:' || CAST(source.id AS TEXT) AS anon_6, max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_2 FROM jobs AS latest), 0) + 1e-06) AS max_1 FROM jobs AS source WHERE source.id = ? AND source.status IN ('failed', 'cancelled') ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id, type, payload, status, stage, progress, attempt, max_attempts, error, error_kind, result, worker_id, lease, cancel_requested, cancel_requested_at, created_at, started_at, updated_at, finished_at, retry_of, child_pid, child_host, child_started, note, noted_at, claim_token, dedup_key, request_hash, changed_at, retry_at, log_tail, error_detail",
    Q.TICK: "INSERT INTO reaper_clock (id, last_tick, steady_since) VALUES (1, coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce(?, (julianday('now') - 2440587.5) * 86400.0)) ON CONFLICT (id) DO UPDATE SET last_tick = excluded.last_tick, steady_since = CASE WHEN (excluded.last_tick - reaper_clock.last_tick > ?) THEN excluded.last_tick WHEN (excluded.last_tick - reaper_clock.last_tick < 0) THEN reaper_clock.steady_since + (excluded.last_tick - reaper_clock.last_tick) ELSE reaper_clock.steady_since END",
    Q.TYPES: 'SELECT job_types.name, job_types.stages, job_types.max_attempts, job_types.timeout, job_types.example FROM job_types ORDER BY job_types.name',
    Q.UPDATE_PROGRESS: "UPDATE jobs SET stage=?, progress=?, updated_at=coalesce(?, (julianday('now') - 2440587.5) * 86400.0), changed_at=max(coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce((SELECT max(latest.changed_at) AS max_1 FROM jobs AS latest), 0) + 1e-06), log_tail=coalesce(?, jobs.log_tail) WHERE jobs.id = ? AND jobs.lease = ? AND jobs.status = 'running' RETURNING cancel_requested",
    Q.UPSERT_TYPE: "INSERT INTO job_types (name, stages, max_attempts, timeout, updated_at, example) VALUES (?, ?, ?, ?, coalesce(?, (julianday('now') - 2440587.5) * 86400.0), ?) ON CONFLICT (name) DO UPDATE SET stages = excluded.stages, max_attempts = excluded.max_attempts, timeout = excluded.timeout, updated_at = excluded.updated_at, example = excluded.example",
    Q.WORKERS: "SELECT workers.id, workers.host, workers.pid, workers.types, workers.version, workers.started_at, workers.last_beat, workers.beat_interval, coalesce(?, (julianday('now') - 2440587.5) * 86400.0) - workers.last_beat AS beat_age, (SELECT jobs.id FROM jobs WHERE jobs.status = 'running' AND jobs.worker_id = workers.id LIMIT 1 OFFSET 0) AS job_id FROM workers ORDER BY workers.id",
    Q.WORKER_BEAT: "UPDATE workers SET last_beat=coalesce(?, (julianday('now') - 2440587.5) * 86400.0) WHERE workers.id = ? RETURNING id",
    Q.WORKER_REMOVE: 'DELETE FROM workers WHERE workers.id = ?',
    Q.WORKER_UPSERT: "INSERT INTO workers (id, host, pid, types, version, started_at, last_beat, beat_interval) VALUES (?, ?, ?, ?, ?, coalesce(?, (julianday('now') - 2440587.5) * 86400.0), coalesce(?, (julianday('now') - 2440587.5) * 86400.0), ?) ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, types = excluded.types, version = excluded.version, last_beat = excluded.last_beat, beat_interval = excluded.beat_interval",
}
#: The names of a statement's parameters, in the order of its ``?``.
PARAMS: dict[Q, tuple[str, ...]] = {
    Q.BY_DEDUP_KEY: ('p_key',),
    Q.CANCEL: ('p_now', 'p_now', 'p_now', 'p_now', 'p_now', 'p_id'),
    Q.CHANGES: ('p_now', 'p_since', 'p_since', 'p_after', 'p_limit'),
    Q.CHANGE_MARK: ('p_now',),
    Q.CHECK_CANCEL: ('p_id', 'p_lease'),
    Q.CHILDREN_ON_HOST: ('p_now', 'p_stale', 'p_host'),
    Q.CLAIM_ANY: ('p_worker', 'p_now', 'p_now', 'p_now', 'p_token', 'p_now', 'p_now'),
    Q.CLAIM_TYPED: ('p_worker', 'p_now', 'p_now', 'p_now', 'p_token', 'p_now', 'p_now', 'p_types'),
    Q.CLOCK: ('p_now',),
    Q.COMPLETE: ('p_result', 'p_now', 'p_now', 'p_now', 'p_now', 'p_tail', 'p_id', 'p_lease'),
    Q.CONFIRM_CANCELLED: ('p_now', 'p_now', 'p_reason', 'p_now', 'p_now', 'p_id', 'p_lease'),
    Q.COUNTS: ('p_cap', 'p_cap'),
    Q.CREATE: ('p_type', 'p_payload', 'p_max', 'p_type', 'p_now', 'p_now', 'p_note', 'p_now', 'p_key', 'p_hash', 'p_now'),
    Q.CREATE_MANY: ('p_type', 'p_max', 'p_type', 'p_now', 'p_now', 'p_note', 'p_now', 'p_now', 'p_payloads'),
    Q.FAIL: ('p_kind', 'p_error', 'p_kind', 'p_now', 'p_kind', 'p_now', 'p_kind', 'p_delay', 'p_delay', 'p_error', 'p_now', 'p_now', 'p_kind', 'p_now', 'p_delay', 'p_tail', 'p_detail', 'p_id', 'p_lease'),
    Q.FORGET_CHILD: ('p_id', 'p_pid'),
    Q.FORGET_KEYS: ('p_now', 'p_now', 'p_retain', 'p_limit'),
    Q.FORGET_WORKERS: ('p_now', 'p_retain'),
    Q.GET: ('p_id',),
    Q.HEARTBEAT: ('p_now', 'p_now', 'p_id', 'p_lease'),
    Q.HISTORY: ('p_id', 'p_id'),
    Q.LISTV_: ('p_limit',),
    Q.LISTV_B: ('p_before_at', 'p_before_id', 'p_limit'),
    Q.LISTV_F: ('p_status', 'p_limit'),
    Q.LISTV_FB: ('p_status', 'p_before_at', 'p_before_id', 'p_limit'),
    Q.LISTV_FT: ('p_status', 'p_type', 'p_limit'),
    Q.LISTV_FTB: ('p_status', 'p_type', 'p_before_at', 'p_before_id', 'p_limit'),
    Q.LISTV_P: ('p_limit',),
    Q.LISTV_PB: ('p_before_at', 'p_before_id', 'p_limit'),
    Q.LISTV_PT: ('p_type', 'p_limit'),
    Q.LISTV_PTB: ('p_type', 'p_before_at', 'p_before_id', 'p_limit'),
    Q.LISTV_R: ('p_limit',),
    Q.LISTV_RB: ('p_before_at', 'p_before_id', 'p_limit'),
    Q.LISTV_RT: ('p_type', 'p_limit'),
    Q.LISTV_RTB: ('p_type', 'p_before_at', 'p_before_id', 'p_limit'),
    Q.LISTV_T: ('p_type', 'p_limit'),
    Q.LISTV_TB: ('p_type', 'p_before_at', 'p_before_id', 'p_limit'),
    Q.LIST_: ('p_limit',),
    Q.LIST_B: ('p_before_at', 'p_before_id', 'p_limit'),
    Q.LIST_F: ('p_status', 'p_limit'),
    Q.LIST_FB: ('p_status', 'p_before_at', 'p_before_id', 'p_limit'),
    Q.LIST_FT: ('p_status', 'p_type', 'p_limit'),
    Q.LIST_FTB: ('p_status', 'p_type', 'p_before_at', 'p_before_id', 'p_limit'),
    Q.LIST_P: ('p_limit',),
    Q.LIST_PB: ('p_before_at', 'p_before_id', 'p_limit'),
    Q.LIST_PT: ('p_type', 'p_limit'),
    Q.LIST_PTB: ('p_type', 'p_before_at', 'p_before_id', 'p_limit'),
    Q.LIST_R: ('p_limit',),
    Q.LIST_RB: ('p_before_at', 'p_before_id', 'p_limit'),
    Q.LIST_RT: ('p_type', 'p_limit'),
    Q.LIST_RTB: ('p_type', 'p_before_at', 'p_before_id', 'p_limit'),
    Q.LIST_T: ('p_type', 'p_limit'),
    Q.LIST_TB: ('p_type', 'p_before_at', 'p_before_id', 'p_limit'),
    Q.POLL: ('p_id',),
    Q.PRUNE: ('p_status', 'p_now', 'p_retain', 'p_now', 'p_retain', 'p_limit'),
    Q.PRUNE_COUNT: ('p_status', 'p_now', 'p_retain', 'p_now', 'p_retain', 'p_limit'),
    Q.PRUNE_RESULTS: ('p_status', 'p_now', 'p_retain', 'p_now', 'p_retain', 'p_limit'),
    Q.QUEUE: ('p_limit',),
    Q.REAP: ('p_stale_text', 'p_now', 'p_now', 'p_now', 'p_stale_text', 'p_now', 'p_now', 'p_now', 'p_stale'),
    Q.REAP_STEADY: ('p_stale_text', 'p_now', 'p_now', 'p_now', 'p_stale_text', 'p_now', 'p_now', 'p_now', 'p_stale', 'p_now', 'p_stale'),
    Q.RECORD_CHILD: ('p_now', 'p_pid', 'p_host', 'p_started', 'p_now', 'p_id', 'p_lease'),
    Q.RECOVER_CLAIM: ('p_refund', 'p_refund', 'p_refund', 'p_reason', 'p_refund', 'p_now', 'p_now', 'p_refund', 'p_now', 'p_refund', 'p_reason', 'p_now', 'p_now', 'p_refund', 'p_worker', 'p_token'),
    Q.RELEASE: ('p_refund', 'p_refund', 'p_refund', 'p_reason', 'p_refund', 'p_now', 'p_now', 'p_refund', 'p_now', 'p_refund', 'p_reason', 'p_now', 'p_now', 'p_refund', 'p_id', 'p_lease'),
    Q.RESUBMIT: ('p_now', 'p_now', 'p_now', 'p_now', 'p_id'),
    Q.TICK: ('p_now', 'p_now', 'p_gap'),
    Q.TYPES: (),
    Q.UPDATE_PROGRESS: ('p_stage', 'p_progress', 'p_now', 'p_now', 'p_tail', 'p_id', 'p_lease'),
    Q.UPSERT_TYPE: ('p_name', 'p_stages', 'p_max', 'p_timeout', 'p_now', 'p_example'),
    Q.WORKERS: ('p_now',),
    Q.WORKER_BEAT: ('p_now', 'p_id'),
    Q.WORKER_REMOVE: ('p_id',),
    Q.WORKER_UPSERT: ('p_id', 'p_host', 'p_pid', 'p_types', 'p_version', 'p_now', 'p_now', 'p_interval'),
}
#: The columns a statement returns (empty if none).
COLUMNS: dict[Q, tuple[str, ...]] = {
    Q.BY_DEDUP_KEY: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.CANCEL: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.CHANGES: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages', 'read_at'),
    Q.CHANGE_MARK: ('changed_at', 'id', 'now'),
    Q.CHECK_CANCEL: ('cancel_requested',),
    Q.CHILDREN_ON_HOST: ('id', 'child_pid', 'child_started', 'alive'),
    Q.CLAIM_ANY: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.CLAIM_TYPED: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.CLOCK: ('now',),
    Q.COMPLETE: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.CONFIRM_CANCELLED: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.COUNTS: ('status', 'n'),
    Q.CREATE: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.CREATE_MANY: ('id', 'max_attempts', 'created_at'),
    Q.FAIL: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.FORGET_CHILD: (),
    Q.FORGET_KEYS: ('id',),
    Q.FORGET_WORKERS: ('id',),
    Q.GET: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.HEARTBEAT: ('cancel_requested',),
    Q.HISTORY: ('seq', 'job_id', 'at', 'from_status', 'to_status', 'worker_id', 'lease', 'reason'),
    Q.LISTV_: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_B: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_F: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_FB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_FT: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_FTB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_P: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_PB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_PT: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_PTB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_R: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_RB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_RT: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_RTB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_T: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LISTV_TB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.LIST_: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_B: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_F: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_FB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_FT: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_FTB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_P: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_PB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_PT: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_PTB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_R: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_RB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_RT: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_RTB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_T: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.LIST_TB: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.POLL: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail', 'queue_position', 'stages'),
    Q.PRUNE: ('id', 'result'),
    Q.PRUNE_COUNT: ('count_1',),
    Q.PRUNE_RESULTS: ('result',),
    Q.QUEUE: ('id',),
    Q.REAP: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.REAP_STEADY: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.RECORD_CHILD: ('cancel_requested',),
    Q.RECOVER_CLAIM: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.RELEASE: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.RESUBMIT: ('id', 'type', 'payload', 'status', 'stage', 'progress', 'attempt', 'max_attempts', 'error', 'error_kind', 'result', 'worker_id', 'lease', 'cancel_requested', 'cancel_requested_at', 'created_at', 'started_at', 'updated_at', 'finished_at', 'retry_of', 'child_pid', 'child_host', 'child_started', 'note', 'noted_at', 'claim_token', 'dedup_key', 'request_hash', 'changed_at', 'retry_at', 'log_tail', 'error_detail'),
    Q.TICK: (),
    Q.TYPES: ('name', 'stages', 'max_attempts', 'timeout', 'example'),
    Q.UPDATE_PROGRESS: ('cancel_requested',),
    Q.UPSERT_TYPE: (),
    Q.WORKERS: ('id', 'host', 'pid', 'types', 'version', 'started_at', 'last_beat', 'beat_interval', 'beat_age', 'job_id'),
    Q.WORKER_BEAT: ('id',),
    Q.WORKER_REMOVE: (),
    Q.WORKER_UPSERT: (),
}
#: The whole current schema, for a new database (every statement IF NOT EXISTS).
DDL: tuple[str, ...] = (
    'CREATE TABLE IF NOT EXISTS job_counts ( status VARCHAR(16) NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (status) ) WITHOUT ROWID',
    'CREATE TABLE IF NOT EXISTS job_history ( seq INTEGER NOT NULL, job_id INTEGER NOT NULL, at FLOAT NOT NULL, from_status VARCHAR(16), to_status VARCHAR(16) NOT NULL, worker_id VARCHAR(128), lease INTEGER NOT NULL, reason TEXT, PRIMARY KEY (seq) )',
    'CREATE INDEX IF NOT EXISTS ix_job_history_job ON job_history (job_id, seq)',
    'CREATE TABLE IF NOT EXISTS job_types ( name VARCHAR(64) NOT NULL, stages TEXT NOT NULL, max_attempts INTEGER NOT NULL, timeout FLOAT, updated_at FLOAT NOT NULL, example TEXT, PRIMARY KEY (name) )',
    "CREATE TABLE IF NOT EXISTS jobs ( id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, type VARCHAR(64) NOT NULL, payload TEXT NOT NULL, status VARCHAR(16) NOT NULL, stage VARCHAR(64), progress FLOAT, attempt INTEGER DEFAULT '0' NOT NULL, max_attempts INTEGER NOT NULL, error TEXT, error_kind VARCHAR(16), result TEXT, worker_id VARCHAR(128), lease INTEGER DEFAULT '0' NOT NULL, cancel_requested INTEGER DEFAULT '0' NOT NULL, cancel_requested_at FLOAT, created_at FLOAT NOT NULL, started_at FLOAT, updated_at FLOAT NOT NULL, finished_at FLOAT, retry_of INTEGER, child_pid INTEGER, child_host VARCHAR(255), child_started FLOAT, note TEXT, noted_at FLOAT, claim_token VARCHAR(32), dedup_key VARCHAR(300), request_hash VARCHAR(64), changed_at FLOAT, retry_at FLOAT, log_tail TEXT, error_detail TEXT )",
    'CREATE INDEX IF NOT EXISTS ix_jobs_changed_at ON jobs (changed_at)',
    'CREATE INDEX IF NOT EXISTS ix_jobs_child_host ON jobs (child_host) WHERE child_pid IS NOT NULL',
    'CREATE INDEX IF NOT EXISTS ix_jobs_client_keys ON jobs (created_at) WHERE request_hash IS NOT NULL',
    'CREATE INDEX IF NOT EXISTS ix_jobs_created ON jobs (created_at, id)',
    "CREATE INDEX IF NOT EXISTS ix_jobs_finished ON jobs (status, created_at) WHERE status IN ('completed', 'failed', 'cancelled')",
    "CREATE INDEX IF NOT EXISTS ix_jobs_finished_at ON jobs (status, finished_at) WHERE status IN ('completed', 'failed', 'cancelled')",
    "CREATE INDEX IF NOT EXISTS ix_jobs_pending ON jobs (status, created_at, id) WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS ix_jobs_running ON jobs (status, updated_at) WHERE status = 'running'",
    'CREATE UNIQUE INDEX IF NOT EXISTS ux_jobs_dedup_key ON jobs (dedup_key) WHERE dedup_key IS NOT NULL',
    'CREATE TABLE IF NOT EXISTS reaper_clock ( id INTEGER NOT NULL, last_tick FLOAT NOT NULL, steady_since FLOAT NOT NULL, PRIMARY KEY (id) )',
    'CREATE TABLE IF NOT EXISTS schema_meta ( "key" VARCHAR(32) NOT NULL, value INTEGER NOT NULL, PRIMARY KEY ("key") )',
    'CREATE TABLE IF NOT EXISTS workers ( id VARCHAR(128) NOT NULL, host VARCHAR(255) NOT NULL, pid INTEGER NOT NULL, types TEXT NOT NULL, version VARCHAR(64) NOT NULL, started_at FLOAT NOT NULL, last_beat FLOAT NOT NULL, beat_interval FLOAT NOT NULL, PRIMARY KEY (id) )',
    'CREATE TRIGGER IF NOT EXISTS jobs_history_update AFTER UPDATE OF status, cancel_requested ON jobs WHEN OLD.status IS NOT NEW.status OR OLD.cancel_requested IS NOT NEW.cancel_requested BEGIN INSERT INTO job_history (job_id, at, from_status, to_status, worker_id, lease, reason) VALUES (NEW.id, NEW.noted_at, OLD.status, NEW.status, COALESCE(NEW.worker_id, OLD.worker_id), NEW.lease, NEW.note); END',
    'CREATE TRIGGER IF NOT EXISTS jobs_history_delete AFTER DELETE ON jobs BEGIN DELETE FROM job_history WHERE job_id = OLD.id; END',
    "CREATE TRIGGER IF NOT EXISTS jobs_count_update AFTER UPDATE OF status ON jobs WHEN OLD.status IS NOT NEW.status AND (NEW.status IN ('completed', 'failed', 'cancelled') OR OLD.status IN ('completed', 'failed', 'cancelled')) BEGIN UPDATE job_counts SET n = n + (CASE status WHEN NEW.status THEN 1 ELSE -1 END) WHERE status IN (OLD.status, NEW.status); END",
    'CREATE TRIGGER IF NOT EXISTS jobs_stamp_update AFTER UPDATE OF updated_at, noted_at ON jobs WHEN NEW.changed_at IS OLD.changed_at BEGIN UPDATE jobs SET changed_at = max(NEW.updated_at, coalesce(NEW.noted_at, 0), coalesce((SELECT max(changed_at) FROM jobs), 0) + 1e-6) WHERE id = NEW.id; END',
    'CREATE TRIGGER IF NOT EXISTS jobs_stamp_insert AFTER INSERT ON jobs WHEN NEW.changed_at IS NULL BEGIN UPDATE jobs SET changed_at = max(NEW.updated_at, coalesce((SELECT max(changed_at) FROM jobs), 0) + 1e-6) WHERE id = NEW.id; END',
    "CREATE TRIGGER IF NOT EXISTS reaper_clock_stepped_back AFTER UPDATE OF last_tick ON reaper_clock WHEN NEW.last_tick < OLD.last_tick BEGIN UPDATE jobs SET updated_at = NEW.last_tick, changed_at = max(NEW.last_tick, coalesce((SELECT max(changed_at) FROM jobs), 0) + 1e-6) WHERE status = 'running' AND updated_at > NEW.last_tick; END",
    "CREATE TRIGGER IF NOT EXISTS jobs_count_delete AFTER DELETE ON jobs WHEN OLD.status IN ('completed', 'failed', 'cancelled') BEGIN UPDATE job_counts SET n = n - 1 WHERE status = OLD.status; END",
    "INSERT OR IGNORE INTO job_counts (status, n) SELECT column1, (SELECT count(*) FROM jobs WHERE jobs.status = column1) FROM (VALUES ('completed'), ('failed'), ('cancelled'))",
)
#: What brings a database of the previous revision to each revision.
UPGRADES: dict[int, tuple[str, ...]] = {
    2: ('ALTER TABLE jobs ADD COLUMN claim_token VARCHAR(32)',),
    8: ('ALTER TABLE jobs ADD COLUMN dedup_key VARCHAR(300)', 'ALTER TABLE jobs ADD COLUMN request_hash VARCHAR(64)'),
    9: ('ALTER TABLE jobs ADD COLUMN changed_at FLOAT',),
    10: ('ALTER TABLE jobs ADD COLUMN retry_at FLOAT',),
    11: ('ALTER TABLE jobs ADD COLUMN log_tail TEXT', 'ALTER TABLE jobs ADD COLUMN error_detail TEXT', 'ALTER TABLE job_types ADD COLUMN example TEXT'),
}
#: Objects of earlier revisions to drop once their replacements exist: (type, name).
RETIRED: tuple[tuple[str, str], ...] = (('trigger', 'jobs_history_insert'), ('trigger', 'jobs_count_insert'), ('index', 'ix_jobs_status_created'), ('index', 'ix_jobs_pending_fifo'), ('index', 'ix_jobs_running_updated'), ('index', 'ix_jobs_changed'))
#: What each statement does, in one line.
DESCRIPTIONS: dict[Q, str] = {
    Q.BY_DEDUP_KEY: 'The job that holds a dedup key.',
    Q.CANCEL: 'Cancel a job: a pending one at once, a running one by request.',
    Q.CHANGES: 'Poll views of the rows changed after a mark, in stamp order.',
    Q.CHANGE_MARK: "The latest change's stamp and id, and the clock.",
    Q.CHECK_CANCEL: 'Whether cancellation of a leased job was requested.',
    Q.CHILDREN_ON_HOST: 'Children recorded on a host; is their worker alive.',
    Q.CLAIM_ANY: 'Claim the next due pending job of any type.',
    Q.CLAIM_TYPED: 'Claim the next due pending job of the types served.',
    Q.CLOCK: "The store's clock; reads no row.",
    Q.COMPLETE: "Record a leased job's result by the verdict table.",
    Q.CONFIRM_CANCELLED: 'Finish a leased job cancelled on request.',
    Q.COUNTS: 'Job counts by status, pending and running capped.',
    Q.CREATE: 'Create a job, unless its dedup key is taken.',
    Q.CREATE_MANY: 'Create one job per element of a JSON array of payloads.',
    Q.FAIL: "Record a leased job's failure by the verdict table.",
    Q.FORGET_CHILD: 'Forget a recorded child that is dead.',
    Q.FORGET_KEYS: "Forget clients' dedup keys older than the retention.",
    Q.FORGET_WORKERS: 'Forget workers silent for longer than the retention.',
    Q.GET: 'One job by id.',
    Q.HEARTBEAT: "A leased job's heartbeat; returns whether cancel was requested.",
    Q.HISTORY: "A job's history, creation first.",
    Q.LISTV_: 'A page of poll views, newest first.',
    Q.LISTV_B: 'A page of poll views, newest first, before a cursor.',
    Q.LISTV_F: 'A page of poll views, newest first, by status.',
    Q.LISTV_FB: 'A page of poll views, newest first, by status, before a cursor.',
    Q.LISTV_FT: 'A page of poll views, newest first, by status, by type.',
    Q.LISTV_FTB: 'A page of poll views, newest first, by status, by type, before a cursor.',
    Q.LISTV_P: 'A page of poll views, newest first, by status.',
    Q.LISTV_PB: 'A page of poll views, newest first, by status, before a cursor.',
    Q.LISTV_PT: 'A page of poll views, newest first, by status, by type.',
    Q.LISTV_PTB: 'A page of poll views, newest first, by status, by type, before a cursor.',
    Q.LISTV_R: 'A page of poll views, newest first, by status.',
    Q.LISTV_RB: 'A page of poll views, newest first, by status, before a cursor.',
    Q.LISTV_RT: 'A page of poll views, newest first, by status, by type.',
    Q.LISTV_RTB: 'A page of poll views, newest first, by status, by type, before a cursor.',
    Q.LISTV_T: 'A page of poll views, newest first, by type.',
    Q.LISTV_TB: 'A page of poll views, newest first, by type, before a cursor.',
    Q.LIST_: 'A page of jobs, newest first.',
    Q.LIST_B: 'A page of jobs, newest first, before a cursor.',
    Q.LIST_F: 'A page of jobs, newest first, by status.',
    Q.LIST_FB: 'A page of jobs, newest first, by status, before a cursor.',
    Q.LIST_FT: 'A page of jobs, newest first, by status, by type.',
    Q.LIST_FTB: 'A page of jobs, newest first, by status, by type, before a cursor.',
    Q.LIST_P: 'A page of jobs, newest first, by status.',
    Q.LIST_PB: 'A page of jobs, newest first, by status, before a cursor.',
    Q.LIST_PT: 'A page of jobs, newest first, by status, by type.',
    Q.LIST_PTB: 'A page of jobs, newest first, by status, by type, before a cursor.',
    Q.LIST_R: 'A page of jobs, newest first, by status.',
    Q.LIST_RB: 'A page of jobs, newest first, by status, before a cursor.',
    Q.LIST_RT: 'A page of jobs, newest first, by status, by type.',
    Q.LIST_RTB: 'A page of jobs, newest first, by status, by type, before a cursor.',
    Q.LIST_T: 'A page of jobs, newest first, by type.',
    Q.LIST_TB: 'A page of jobs, newest first, by type, before a cursor.',
    Q.POLL: "One job's poll view, with its queue position.",
    Q.PRUNE: 'Delete a batch of old finished jobs; returns their results.',
    Q.PRUNE_COUNT: 'How many finished jobs a prune would delete.',
    Q.PRUNE_RESULTS: 'The results of the jobs a prune would delete.',
    Q.QUEUE: "The pending queue's ids in claim order.",
    Q.REAP: 'Requeue or fail every job whose lease went stale.',
    Q.REAP_STEADY: 'Reap, once the database has been writable for the staleness.',
    Q.RECORD_CHILD: "Record a leased job's child process.",
    Q.RECOVER_CLAIM: 'Give back a claim whose answer was lost, by its token.',
    Q.RELEASE: 'Give back a leased job, charging the attempt or not.',
    Q.RESUBMIT: 'Copy a failed or cancelled job as a new pending one, once.',
    Q.TICK: "The reapers' clock tick.",
    Q.TYPES: 'The job types workers registered.',
    Q.UPDATE_PROGRESS: "A leased job's stage, progress and log tail.",
    Q.UPSERT_TYPE: 'Register or update a job type.',
    Q.WORKERS: "The live worker registry, with each worker's job.",
    Q.WORKER_BEAT: "A worker's heartbeat in the registry.",
    Q.WORKER_REMOVE: 'Remove a worker from the registry.',
    Q.WORKER_UPSERT: 'Register or re-register a worker.',
}

#: A statement with its parameters by name, as the typed helpers below make it.
Op = tuple[Q, dict[str, object]]


def by_dedup_key(*, p_key: str | None) -> Op:
    """The job that holds a dedup key.

    ``p_key``: a dedup key.
    """
    return Q.BY_DEDUP_KEY, {'p_key': p_key}


def cancel(*, p_now: float | None, p_id: int) -> Op:
    """Cancel a job: a pending one at once, a running one by request.

    ``p_now``: a test's clock (None: the database's).
    ``p_id``: a job id.
    """
    return Q.CANCEL, {'p_now': p_now, 'p_id': p_id}


def changes(*, p_now: float | None, p_since: float, p_after: int, p_limit: int) -> Op:
    """Poll views of the rows changed after a mark, in stamp order.

    ``p_now``: a test's clock (None: the database's).
    ``p_since``: the mark's change stamp.
    ``p_after``: the id after which, among rows of the mark's stamp.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.CHANGES, {'p_now': p_now, 'p_since': p_since, 'p_after': p_after, 'p_limit': p_limit}


def change_mark(*, p_now: float | None) -> Op:
    """The latest change's stamp and id, and the clock.

    ``p_now``: a test's clock (None: the database's).
    """
    return Q.CHANGE_MARK, {'p_now': p_now}


def check_cancel(*, p_id: int, p_lease: int) -> Op:
    """Whether cancellation of a leased job was requested.

    ``p_id``: a job id.
    ``p_lease``: the lease's fencing token.
    """
    return Q.CHECK_CANCEL, {'p_id': p_id, 'p_lease': p_lease}


def children_on_host(*, p_now: float | None, p_stale: float, p_host: str) -> Op:
    """Children recorded on a host; is their worker alive.

    ``p_now``: a test's clock (None: the database's).
    ``p_stale``: seconds without a heartbeat that make a lease stale.
    ``p_host``: a host name.
    """
    return Q.CHILDREN_ON_HOST, {'p_now': p_now, 'p_stale': p_stale, 'p_host': p_host}


def claim_any(*, p_worker: str, p_now: float | None, p_token: str) -> Op:
    """Claim the next due pending job of any type.

    ``p_worker``: a worker id.
    ``p_now``: a test's clock (None: the database's).
    ``p_token``: the claim's token.
    """
    return Q.CLAIM_ANY, {'p_worker': p_worker, 'p_now': p_now, 'p_token': p_token}


def claim_typed(*, p_worker: str, p_now: float | None, p_token: str, p_types: str) -> Op:
    """Claim the next due pending job of the types served.

    ``p_worker``: a worker id.
    ``p_now``: a test's clock (None: the database's).
    ``p_token``: the claim's token.
    ``p_types``: job type names (JSON array).
    """
    return Q.CLAIM_TYPED, {'p_worker': p_worker, 'p_now': p_now, 'p_token': p_token, 'p_types': p_types}


def clock(*, p_now: float | None) -> Op:
    """The store's clock; reads no row.

    ``p_now``: a test's clock (None: the database's).
    """
    return Q.CLOCK, {'p_now': p_now}


def complete(*, p_result: str, p_now: float | None, p_tail: str | None, p_id: int, p_lease: int) -> Op:
    """Record a leased job's result by the verdict table.

    ``p_result``: the result (JSON text).
    ``p_now``: a test's clock (None: the database's).
    ``p_tail``: the log tail (None: keep it).
    ``p_id``: a job id.
    ``p_lease``: the lease's fencing token.
    """
    return Q.COMPLETE, {'p_result': p_result, 'p_now': p_now, 'p_tail': p_tail, 'p_id': p_id, 'p_lease': p_lease}


def confirm_cancelled(*, p_now: float | None, p_reason: str, p_id: int, p_lease: int) -> Op:
    """Finish a leased job cancelled on request.

    ``p_now``: a test's clock (None: the database's).
    ``p_reason``: why (history note).
    ``p_id``: a job id.
    ``p_lease``: the lease's fencing token.
    """
    return Q.CONFIRM_CANCELLED, {'p_now': p_now, 'p_reason': p_reason, 'p_id': p_id, 'p_lease': p_lease}


def counts(*, p_cap: int) -> Op:
    """Job counts by status, pending and running capped.

    ``p_cap``: the most rows counted.
    """
    return Q.COUNTS, {'p_cap': p_cap}


def create(*, p_type: str, p_payload: str, p_max: int | None, p_now: float | None, p_note: str, p_key: str | None, p_hash: str | None) -> Op:
    """Create a job, unless its dedup key is taken.

    ``p_type``: a job type's name.
    ``p_payload``: a payload (JSON text).
    ``p_max``: the most attempts (None: the type's, else 2).
    ``p_now``: a test's clock (None: the database's).
    ``p_note``: the job's note.
    ``p_key``: a dedup key.
    ``p_hash``: the request's fingerprint (a client's key).
    """
    return Q.CREATE, {'p_type': p_type, 'p_payload': p_payload, 'p_max': p_max, 'p_now': p_now, 'p_note': p_note, 'p_key': p_key, 'p_hash': p_hash}


def create_many(*, p_type: str, p_max: int | None, p_now: float | None, p_note: str, p_payloads: str) -> Op:
    """Create one job per element of a JSON array of payloads.

    ``p_type``: a job type's name.
    ``p_max``: the most attempts (None: the type's, else 2).
    ``p_now``: a test's clock (None: the database's).
    ``p_note``: the job's note.
    ``p_payloads``: payloads (a JSON array of JSON texts).
    """
    return Q.CREATE_MANY, {'p_type': p_type, 'p_max': p_max, 'p_now': p_now, 'p_note': p_note, 'p_payloads': p_payloads}


def fail(*, p_kind: str, p_error: str, p_now: float | None, p_delay: float, p_tail: str | None, p_detail: str | None, p_id: int, p_lease: int) -> Op:
    """Record a leased job's failure by the verdict table.

    ``p_kind``: the failure's kind (ErrorKind).
    ``p_error``: the failure's text.
    ``p_now``: a test's clock (None: the database's).
    ``p_delay``: seconds a retry waits.
    ``p_tail``: the log tail (None: keep it).
    ``p_detail``: the failure's detail.
    ``p_id``: a job id.
    ``p_lease``: the lease's fencing token.
    """
    return Q.FAIL, {'p_kind': p_kind, 'p_error': p_error, 'p_now': p_now, 'p_delay': p_delay, 'p_tail': p_tail, 'p_detail': p_detail, 'p_id': p_id, 'p_lease': p_lease}


def forget_child(*, p_id: int, p_pid: int) -> Op:
    """Forget a recorded child that is dead.

    ``p_id``: a job id.
    ``p_pid``: a process id.
    """
    return Q.FORGET_CHILD, {'p_id': p_id, 'p_pid': p_pid}


def forget_keys(*, p_now: float | None, p_retain: float, p_limit: int) -> Op:
    """Forget clients' dedup keys older than the retention.

    ``p_now``: a test's clock (None: the database's).
    ``p_retain``: seconds to keep.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.FORGET_KEYS, {'p_now': p_now, 'p_retain': p_retain, 'p_limit': p_limit}


def forget_workers(*, p_now: float | None, p_retain: float) -> Op:
    """Forget workers silent for longer than the retention.

    ``p_now``: a test's clock (None: the database's).
    ``p_retain``: seconds to keep.
    """
    return Q.FORGET_WORKERS, {'p_now': p_now, 'p_retain': p_retain}


def get(*, p_id: int) -> Op:
    """One job by id.

    ``p_id``: a job id.
    """
    return Q.GET, {'p_id': p_id}


def heartbeat(*, p_now: float | None, p_id: int, p_lease: int) -> Op:
    """A leased job's heartbeat; returns whether cancel was requested.

    ``p_now``: a test's clock (None: the database's).
    ``p_id``: a job id.
    ``p_lease``: the lease's fencing token.
    """
    return Q.HEARTBEAT, {'p_now': p_now, 'p_id': p_id, 'p_lease': p_lease}


def history(*, p_id: int) -> Op:
    """A job's history, creation first.

    ``p_id``: a job id.
    """
    return Q.HISTORY, {'p_id': p_id}


def listv_(*, p_limit: int) -> Op:
    """A page of poll views, newest first.

    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_, {'p_limit': p_limit}


def listv_b(*, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of poll views, newest first, before a cursor.

    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_B, {'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def listv_f(*, p_status: str, p_limit: int) -> Op:
    """A page of poll views, newest first, by status.

    ``p_status``: a job status.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_F, {'p_status': p_status, 'p_limit': p_limit}


def listv_fb(*, p_status: str, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of poll views, newest first, by status, before a cursor.

    ``p_status``: a job status.
    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_FB, {'p_status': p_status, 'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def listv_ft(*, p_status: str, p_type: str, p_limit: int) -> Op:
    """A page of poll views, newest first, by status, by type.

    ``p_status``: a job status.
    ``p_type``: a job type's name.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_FT, {'p_status': p_status, 'p_type': p_type, 'p_limit': p_limit}


def listv_ftb(*, p_status: str, p_type: str, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of poll views, newest first, by status, by type, before a cursor.

    ``p_status``: a job status.
    ``p_type``: a job type's name.
    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_FTB, {'p_status': p_status, 'p_type': p_type, 'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def listv_p(*, p_limit: int) -> Op:
    """A page of poll views, newest first, by status.

    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_P, {'p_limit': p_limit}


def listv_pb(*, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of poll views, newest first, by status, before a cursor.

    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_PB, {'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def listv_pt(*, p_type: str, p_limit: int) -> Op:
    """A page of poll views, newest first, by status, by type.

    ``p_type``: a job type's name.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_PT, {'p_type': p_type, 'p_limit': p_limit}


def listv_ptb(*, p_type: str, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of poll views, newest first, by status, by type, before a cursor.

    ``p_type``: a job type's name.
    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_PTB, {'p_type': p_type, 'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def listv_r(*, p_limit: int) -> Op:
    """A page of poll views, newest first, by status.

    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_R, {'p_limit': p_limit}


def listv_rb(*, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of poll views, newest first, by status, before a cursor.

    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_RB, {'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def listv_rt(*, p_type: str, p_limit: int) -> Op:
    """A page of poll views, newest first, by status, by type.

    ``p_type``: a job type's name.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_RT, {'p_type': p_type, 'p_limit': p_limit}


def listv_rtb(*, p_type: str, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of poll views, newest first, by status, by type, before a cursor.

    ``p_type``: a job type's name.
    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_RTB, {'p_type': p_type, 'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def listv_t(*, p_type: str, p_limit: int) -> Op:
    """A page of poll views, newest first, by type.

    ``p_type``: a job type's name.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_T, {'p_type': p_type, 'p_limit': p_limit}


def listv_tb(*, p_type: str, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of poll views, newest first, by type, before a cursor.

    ``p_type``: a job type's name.
    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LISTV_TB, {'p_type': p_type, 'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def list_(*, p_limit: int) -> Op:
    """A page of jobs, newest first.

    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_, {'p_limit': p_limit}


def list_b(*, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of jobs, newest first, before a cursor.

    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_B, {'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def list_f(*, p_status: str, p_limit: int) -> Op:
    """A page of jobs, newest first, by status.

    ``p_status``: a job status.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_F, {'p_status': p_status, 'p_limit': p_limit}


def list_fb(*, p_status: str, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of jobs, newest first, by status, before a cursor.

    ``p_status``: a job status.
    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_FB, {'p_status': p_status, 'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def list_ft(*, p_status: str, p_type: str, p_limit: int) -> Op:
    """A page of jobs, newest first, by status, by type.

    ``p_status``: a job status.
    ``p_type``: a job type's name.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_FT, {'p_status': p_status, 'p_type': p_type, 'p_limit': p_limit}


def list_ftb(*, p_status: str, p_type: str, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of jobs, newest first, by status, by type, before a cursor.

    ``p_status``: a job status.
    ``p_type``: a job type's name.
    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_FTB, {'p_status': p_status, 'p_type': p_type, 'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def list_p(*, p_limit: int) -> Op:
    """A page of jobs, newest first, by status.

    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_P, {'p_limit': p_limit}


def list_pb(*, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of jobs, newest first, by status, before a cursor.

    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_PB, {'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def list_pt(*, p_type: str, p_limit: int) -> Op:
    """A page of jobs, newest first, by status, by type.

    ``p_type``: a job type's name.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_PT, {'p_type': p_type, 'p_limit': p_limit}


def list_ptb(*, p_type: str, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of jobs, newest first, by status, by type, before a cursor.

    ``p_type``: a job type's name.
    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_PTB, {'p_type': p_type, 'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def list_r(*, p_limit: int) -> Op:
    """A page of jobs, newest first, by status.

    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_R, {'p_limit': p_limit}


def list_rb(*, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of jobs, newest first, by status, before a cursor.

    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_RB, {'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def list_rt(*, p_type: str, p_limit: int) -> Op:
    """A page of jobs, newest first, by status, by type.

    ``p_type``: a job type's name.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_RT, {'p_type': p_type, 'p_limit': p_limit}


def list_rtb(*, p_type: str, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of jobs, newest first, by status, by type, before a cursor.

    ``p_type``: a job type's name.
    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_RTB, {'p_type': p_type, 'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def list_t(*, p_type: str, p_limit: int) -> Op:
    """A page of jobs, newest first, by type.

    ``p_type``: a job type's name.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_T, {'p_type': p_type, 'p_limit': p_limit}


def list_tb(*, p_type: str, p_before_at: float, p_before_id: int, p_limit: int) -> Op:
    """A page of jobs, newest first, by type, before a cursor.

    ``p_type``: a job type's name.
    ``p_before_at``: the cursor's creation time.
    ``p_before_id``: the cursor's job id.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.LIST_TB, {'p_type': p_type, 'p_before_at': p_before_at, 'p_before_id': p_before_id, 'p_limit': p_limit}


def poll(*, p_id: int) -> Op:
    """One job's poll view, with its queue position.

    ``p_id``: a job id.
    """
    return Q.POLL, {'p_id': p_id}


def prune(*, p_status: str, p_now: float | None, p_retain: float, p_limit: int) -> Op:
    """Delete a batch of old finished jobs; returns their results.

    ``p_status``: a job status.
    ``p_now``: a test's clock (None: the database's).
    ``p_retain``: seconds to keep.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.PRUNE, {'p_status': p_status, 'p_now': p_now, 'p_retain': p_retain, 'p_limit': p_limit}


def prune_count(*, p_status: str, p_now: float | None, p_retain: float, p_limit: int) -> Op:
    """How many finished jobs a prune would delete.

    ``p_status``: a job status.
    ``p_now``: a test's clock (None: the database's).
    ``p_retain``: seconds to keep.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.PRUNE_COUNT, {'p_status': p_status, 'p_now': p_now, 'p_retain': p_retain, 'p_limit': p_limit}


def prune_results(*, p_status: str, p_now: float | None, p_retain: float, p_limit: int) -> Op:
    """The results of the jobs a prune would delete.

    ``p_status``: a job status.
    ``p_now``: a test's clock (None: the database's).
    ``p_retain``: seconds to keep.
    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.PRUNE_RESULTS, {'p_status': p_status, 'p_now': p_now, 'p_retain': p_retain, 'p_limit': p_limit}


def queue(*, p_limit: int) -> Op:
    """The pending queue's ids in claim order.

    ``p_limit``: the most rows (-1: no limit).
    """
    return Q.QUEUE, {'p_limit': p_limit}


def reap(*, p_stale_text: str, p_now: float | None, p_stale: float) -> Op:
    """Requeue or fail every job whose lease went stale.

    ``p_stale_text``: p_stale as text, for notes.
    ``p_now``: a test's clock (None: the database's).
    ``p_stale``: seconds without a heartbeat that make a lease stale.
    """
    return Q.REAP, {'p_stale_text': p_stale_text, 'p_now': p_now, 'p_stale': p_stale}


def reap_steady(*, p_stale_text: str, p_now: float | None, p_stale: float) -> Op:
    """Reap, once the database has been writable for the staleness.

    ``p_stale_text``: p_stale as text, for notes.
    ``p_now``: a test's clock (None: the database's).
    ``p_stale``: seconds without a heartbeat that make a lease stale.
    """
    return Q.REAP_STEADY, {'p_stale_text': p_stale_text, 'p_now': p_now, 'p_stale': p_stale}


def record_child(*, p_now: float | None, p_pid: int | None, p_host: str | None, p_started: float | None, p_id: int, p_lease: int) -> Op:
    """Record a leased job's child process.

    ``p_now``: a test's clock (None: the database's).
    ``p_pid``: the child's process id.
    ``p_host``: the child's host.
    ``p_started``: the child's start time.
    ``p_id``: a job id.
    ``p_lease``: the lease's fencing token.
    """
    return Q.RECORD_CHILD, {'p_now': p_now, 'p_pid': p_pid, 'p_host': p_host, 'p_started': p_started, 'p_id': p_id, 'p_lease': p_lease}


def recover_claim(*, p_refund: int, p_reason: str, p_now: float | None, p_worker: str, p_token: str) -> Op:
    """Give back a claim whose answer was lost, by its token.

    ``p_refund``: 1: give the attempt back, 0: charge it.
    ``p_reason``: why (history note).
    ``p_now``: a test's clock (None: the database's).
    ``p_worker``: a worker id.
    ``p_token``: the claim's token.
    """
    return Q.RECOVER_CLAIM, {'p_refund': p_refund, 'p_reason': p_reason, 'p_now': p_now, 'p_worker': p_worker, 'p_token': p_token}


def release(*, p_refund: int, p_reason: str, p_now: float | None, p_id: int, p_lease: int) -> Op:
    """Give back a leased job, charging the attempt or not.

    ``p_refund``: 1: give the attempt back, 0: charge it.
    ``p_reason``: why (history note).
    ``p_now``: a test's clock (None: the database's).
    ``p_id``: a job id.
    ``p_lease``: the lease's fencing token.
    """
    return Q.RELEASE, {'p_refund': p_refund, 'p_reason': p_reason, 'p_now': p_now, 'p_id': p_id, 'p_lease': p_lease}


def resubmit(*, p_now: float | None, p_id: int) -> Op:
    """Copy a failed or cancelled job as a new pending one, once.

    ``p_now``: a test's clock (None: the database's).
    ``p_id``: a job id.
    """
    return Q.RESUBMIT, {'p_now': p_now, 'p_id': p_id}


def tick(*, p_now: float | None, p_gap: float) -> Op:
    """The reapers' clock tick.

    ``p_now``: a test's clock (None: the database's).
    ``p_gap``: seconds between ticks that restart the steady period.
    """
    return Q.TICK, {'p_now': p_now, 'p_gap': p_gap}


def types() -> Op:
    """The job types workers registered.
    """
    return Q.TYPES, {}


def update_progress(*, p_stage: str | None, p_progress: float | None, p_now: float | None, p_tail: str | None, p_id: int, p_lease: int) -> Op:
    """A leased job's stage, progress and log tail.

    ``p_stage``: the stage.
    ``p_progress``: the progress, 0 to 1.
    ``p_now``: a test's clock (None: the database's).
    ``p_tail``: the log tail (None: keep it).
    ``p_id``: a job id.
    ``p_lease``: the lease's fencing token.
    """
    return Q.UPDATE_PROGRESS, {'p_stage': p_stage, 'p_progress': p_progress, 'p_now': p_now, 'p_tail': p_tail, 'p_id': p_id, 'p_lease': p_lease}


def upsert_type(*, p_name: str, p_stages: str, p_max: int | None, p_timeout: float | None, p_now: float | None, p_example: str | None) -> Op:
    """Register or update a job type.

    ``p_name``: a job type's name.
    ``p_stages``: a job type's stages (JSON array).
    ``p_max``: the most attempts (None: the type's, else 2).
    ``p_timeout``: a job type's timeout, seconds.
    ``p_now``: a test's clock (None: the database's).
    ``p_example``: a job type's example payload (JSON text).
    """
    return Q.UPSERT_TYPE, {'p_name': p_name, 'p_stages': p_stages, 'p_max': p_max, 'p_timeout': p_timeout, 'p_now': p_now, 'p_example': p_example}


def workers(*, p_now: float | None) -> Op:
    """The live worker registry, with each worker's job.

    ``p_now``: a test's clock (None: the database's).
    """
    return Q.WORKERS, {'p_now': p_now}


def worker_beat(*, p_now: float | None, p_id: str) -> Op:
    """A worker's heartbeat in the registry.

    ``p_now``: a test's clock (None: the database's).
    ``p_id``: a worker id.
    """
    return Q.WORKER_BEAT, {'p_now': p_now, 'p_id': p_id}


def worker_remove(*, p_id: str) -> Op:
    """Remove a worker from the registry.

    ``p_id``: a worker id.
    """
    return Q.WORKER_REMOVE, {'p_id': p_id}


def worker_upsert(*, p_id: str, p_host: str, p_pid: int, p_types: str, p_version: str, p_now: float | None, p_interval: float) -> Op:
    """Register or re-register a worker.

    ``p_id``: a worker id.
    ``p_host``: a host name.
    ``p_pid``: a process id.
    ``p_types``: job type names (JSON array).
    ``p_version``: a worker's version.
    ``p_now``: a test's clock (None: the database's).
    ``p_interval``: a worker's heartbeat interval, seconds.
    """
    return Q.WORKER_UPSERT, {'p_id': p_id, 'p_host': p_host, 'p_pid': p_pid, 'p_types': p_types, 'p_version': p_version, 'p_now': p_now, 'p_interval': p_interval}
