"""The one schema: tables, partial indexes, history triggers, and the schema's revisions.

Why partial indexes: on Turso every row read is billed and an idle worker polls forever. The
claim, the queue position, the heartbeat and the reaper only ever look at ``pending`` or
``running`` rows, so each has an index that holds only those rows; finished jobs (the vast
majority of the table) are never read by a hot path.

Why triggers: every transition is one statement (one round trip, atomic on every transport,
no interactive transaction held open over HTTP), and the trigger appends its history row in
that same statement, so the history can never miss or invent a transition. A job's first
entry, its creation, is not a row of the history: it is read from the job's own row
(``created_at``, ``retry_of``), which saves every job a history row and its index entry.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "FINISHED",
    "RETIRED",
    "SCHEMA_REVISION",
    "SCHEMA_VERSION",
    "UPGRADES",
    "ddl",
    "history",
    "job_types",
    "jobs",
    "metadata",
    "workers",
]

#: Compatibility version: raised only by a change that code of the previous version cannot
#: live with. Code refuses a database whose version is newer than its own.
SCHEMA_VERSION = 1
#: Changes that code of the previous release can live with raise only the revision: during
#: a deploy, its workers keep running on the migrated database, so old and new workers can
#: overlap. Most are additive (a column, an index: old code ignores what it does not know);
#: revision 7 also retires indexes old code's lists and prune used (they then scan, until
#: the old workers are replaced) and its insert triggers (old code's history of a job created
#: meanwhile lacks the creation entry). Revision 4: the HTTP layer's indexes.
#: Revision 6: job counts by status, kept by triggers. Revision 7: fewer pages written per
#: job (the index of finished rows instead of one of every row by status; no history row or
#: trigger on creation: the "created" entry is read from the job row). Revision 8: creation
#: made idempotent (``dedup_key``: an Idempotency-Key, or the job a resubmit came from, at
#: most one job each) and the live worker registry (``workers``). Revision 10: a retry
#: waits for its backoff (``retry_at``; old code ignores it and retries at once). Revision 9:
#: the pruner's index by finish time; a change stamp that never goes back (live updates), and
#: the reapers' clock riding out a database clock stepped back. Revision 11: a running
#: job's log tail (``log_tail``, written by the progress report's own UPDATE), a failure's
#: telling line (``error_detail``) and a job type's example payload (``job_types.example``);
#: old code ignores all three.
SCHEMA_REVISION = 11

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(64)),
    sa.Column("progress", sa.Float),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("error_kind", sa.String(16)),
    sa.Column("result", sa.Text),
    sa.Column("worker_id", sa.String(128)),
    sa.Column("lease", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cancel_requested", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cancel_requested_at", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("retry_of", sa.Integer),
    # The running child (pid, host, start time) so a restarted worker on the same host can
    # finish off a leftover ffmpeg whose worker was SIGKILLed.
    sa.Column("child_pid", sa.Integer),
    sa.Column("child_host", sa.String(255)),
    sa.Column("child_started", sa.Float),
    # Reason and time of the last transition, copied into the history by the triggers.
    sa.Column("note", sa.Text),
    sa.Column("noted_at", sa.Float),
    # Revision 2: a random name for each claim, to give back a claim whose answer was lost.
    sa.Column("claim_token", sa.String(32)),
    # Revision 8: at most one job per dedup key (a UNIQUE index below), written by the very
    # INSERT that makes the job, so no race can make two: "key:" and a client's
    # Idempotency-Key (with ``request_hash``, the fingerprint of the request it came with),
    # or "retry:" and the id of the job a resubmit copies.
    sa.Column("dedup_key", sa.String(300)),
    sa.Column("request_hash", sa.String(64)),
    # Revision 9: the change stamp live updates read (see _STAMP in _statements).
    sa.Column("changed_at", sa.Float),
    # Revision 10: a job retried after a failure waits until then (a backoff); NULL: at once.
    sa.Column("retry_at", sa.Float),
    # Revision 11: the last lines of the running child's output (ffmpeg's stderr), written
    # only by statements that write the row anyway (a progress report, the finish), never
    # by a write of its own: on Turso every row written is billed. Cleared by a claim.
    sa.Column("log_tail", sa.Text),
    # Revision 11: the one line of a failure that says most (ffmpeg's "Invalid frame size"),
    # kept beside ``error`` by the same rule (see _statements._verdict_columns).
    sa.Column("error_detail", sa.Text),
    sqlite_autoincrement=True,
)

# Claim order and queue position: only pending rows, in FIFO order. The status leads
# (revision 7; before, ix_jobs_pending_fifo without it): counting pending rows, a queue
# position and the claim's choice read the index alone, never a row of the table, and each
# is an index search (an idle claim reads 1 row on sqld; a scan of the empty index, 2).
sa.Index(
    "ix_jobs_pending",
    jobs.c.status,
    jobs.c.created_at,
    jobs.c.id,
    sqlite_where=jobs.c.status == "pending",
)
# Reaper: only running rows, by the time of their last heartbeat (status likewise; before
# revision 7, ix_jobs_running_updated).
sa.Index(
    "ix_jobs_running",
    jobs.c.status,
    jobs.c.updated_at,
    sqlite_where=jobs.c.status == "running",
)
# Revision 7: `list --status S` (newest first) and the pruner (oldest first, filtering on
# finished_at too) for the finished statuses: only finished rows, so that creating, claiming
# and finishing a job write no page of it but the one entry a job gains when it finishes.
# (Until revision 6 an index of every row by (status, created_at) served all statuses, and
# every transition moved the row's entry in it.) `list --status pending` and `running` use
# the partial indexes above.
FINISHED = ("completed", "failed", "cancelled")
sa.Index(
    "ix_jobs_finished",
    jobs.c.status,
    jobs.c.created_at,
    sqlite_where=jobs.c.status.in_(FINISHED),
)
# Revision 9: the pruner, by finish time. Retention counts from when a job finished, and
# the index above orders by creation: an idle prune round read every job created before the
# cut-off but finished after it (20,008 rows read with 20,000 jobs that had waited in the
# queue). Keyed on finished_at, the cut-off is one index search and a round with nothing to
# delete reads no job. (One entry more per finished job; the lists need creation order.)
sa.Index(
    "ix_jobs_finished_at",
    jobs.c.status,
    jobs.c.finished_at,
    sqlite_where=jobs.c.status.in_(FINISHED),
)

# Revision 3: recorded children, by host, for the sweep a worker makes at start (few rows:
# only jobs whose child is recorded as running).
sa.Index("ix_jobs_child_host", jobs.c.child_host, sqlite_where=jobs.c.child_pid.is_not(None))

# -- revision 4: the HTTP layer -------------------------------------------------------------
# Revision 9: live updates read the rows whose change stamp (``changed_at``) is past the
# last one they saw, through this index, however large the table. The stamp is not a time
# that can go back: before revision 9 it was max(updated_at, noted_at), the database's clock,
# and with that clock stepped back by 600 s every write landed behind the watchers' cursor
# and no stream saw anything for 600 s. (The index on that expression, ix_jobs_changed, is
# retired.)
sa.Index("ix_jobs_changed_at", jobs.c.changed_at)
# The unfiltered list, newest first, and its keyset pages.
sa.Index("ix_jobs_created", jobs.c.created_at, jobs.c.id)

# Revision 8: the uniqueness rule of creation (only rows that have a key: none is written for
# a job created without one), and the keys of clients, oldest first, for the sweep that
# forgets them after their retention (resubmits' keys have no request_hash: kept for ever).
sa.Index(
    "ux_jobs_dedup_key",
    jobs.c.dedup_key,
    unique=True,
    sqlite_where=jobs.c.dedup_key.is_not(None),
)
sa.Index(
    "ix_jobs_client_keys",
    jobs.c.created_at,
    sqlite_where=jobs.c.request_hash.is_not(None),
)

history = sa.Table(
    "job_history",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.Integer, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("from_status", sa.String(16)),
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("worker_id", sa.String(128)),
    sa.Column("lease", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text),
)
sa.Index("ix_job_history_job", history.c.job_id, history.c.seq)

# What workers serve: stage lists and limits per job type, written by each worker at start so
# that an app polling from another process can show the stage list of a job type.
job_types = sa.Table(
    "job_types",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("stages", sa.Text, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("timeout", sa.Float),
    sa.Column("updated_at", sa.Float, nullable=False),
    # Revision 11: a payload the type declares as an example (JSON), for the dashboard.
    sa.Column("example", sa.Text),
)

# Revision 8: the live workers. Each worker writes its row at start, bumps ``last_beat`` once
# per reaper round (one row written per round: an idle worker's only write besides the
# reapers' tick) and deletes the row at a clean shutdown. A row silent for more than three
# of its own ``beat_interval`` is a dead worker's; it is swept after ``_model.DEAD_WORKER_KEPT``.
# The job a worker runs is not kept here (that would be a write per claim): it is read from
# the running rows of ``jobs`` (few, through ix_jobs_running).
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("types", sa.Text, nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("last_beat", sa.Float, nullable=False),
    sa.Column("beat_interval", sa.Float, nullable=False),
)

# Revision 5: the reapers' clock. Every reap round writes its tick here; a gap between ticks
# means nobody could write (the database was down, stalled or locked), so no lease could
# be renewed either: reaping waits until ticks have run steadily for stale_after.
reaper_clock = sa.Table(
    "reaper_clock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("last_tick", sa.Float, nullable=False),
    sa.Column("steady_since", sa.Float, nullable=False),
)

# Revision 6: how many jobs have finished in each status (completed, failed, cancelled), kept
# by triggers on the transitions into a finished status and on deletes, so that a metrics
# scrape need not count them (through an index it read every row counted: 30,000 rows per
# scrape with 100,000 finished jobs on sqld, which Turso bills). Pending and running jobs
# are counted through their partial indexes instead: no write on creation or claim. (Every
# statement inserts a pending job, so inserts need no trigger; a row inserted by hand as
# finished is not counted.)
job_counts = sa.Table(
    "job_counts",
    metadata,
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)

schema_meta = sa.Table(
    "schema_meta",
    metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

_TRIGGERS = (
    """
    CREATE TRIGGER IF NOT EXISTS jobs_history_update AFTER UPDATE OF status, cancel_requested
    ON jobs
    WHEN OLD.status IS NOT NEW.status OR OLD.cancel_requested IS NOT NEW.cancel_requested
    BEGIN
        INSERT INTO job_history (job_id, at, from_status, to_status, worker_id, lease, reason)
        VALUES (NEW.id, NEW.noted_at, OLD.status, NEW.status,
                COALESCE(NEW.worker_id, OLD.worker_id), NEW.lease, NEW.note);
    END
    """,
    # Revision 3: a pruned job takes its history with it, in the same statement.
    """
    CREATE TRIGGER IF NOT EXISTS jobs_history_delete AFTER DELETE ON jobs
    BEGIN
        DELETE FROM job_history WHERE job_id = OLD.id;
    END
    """,
    # Revision 6: the counts of finished jobs.
    """
    CREATE TRIGGER IF NOT EXISTS jobs_count_update AFTER UPDATE OF status ON jobs
    WHEN OLD.status IS NOT NEW.status
    AND (NEW.status IN ('completed', 'failed', 'cancelled')
         OR OLD.status IN ('completed', 'failed', 'cancelled'))
    BEGIN
        UPDATE job_counts SET n = n + (CASE status WHEN NEW.status THEN 1 ELSE -1 END)
        WHERE status IN (OLD.status, NEW.status);
    END
    """,
    # Revision 9: during a deploy, workers of revision 7 or 8 write no change stamp; these
    # give their writes one, so live updates of new servers see them. New code stamps every
    # write itself, so the WHEN is false and they write nothing.
    """
    CREATE TRIGGER IF NOT EXISTS jobs_stamp_update AFTER UPDATE OF updated_at, noted_at
    ON jobs
    WHEN NEW.changed_at IS OLD.changed_at
    BEGIN
        UPDATE jobs SET changed_at = max(NEW.updated_at, coalesce(NEW.noted_at, 0),
                                         coalesce((SELECT max(changed_at) FROM jobs), 0) + 1e-6)
        WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS jobs_stamp_insert AFTER INSERT ON jobs
    WHEN NEW.changed_at IS NULL
    BEGIN
        UPDATE jobs SET changed_at = max(NEW.updated_at,
                                         coalesce((SELECT max(changed_at) FROM jobs), 0) + 1e-6)
        WHERE id = NEW.id;
    END
    """,
    # Revision 9: the database clock stepped back (a tick earlier than the last one). Every
    # heartbeat written before the step is then in the future, and a job whose worker died
    # would not look stale until the clock caught up (600 s for a 600 s step): such a beat
    # is taken as made now, so the job is stale stale_after from now if nothing beats
    # again. Never early: a live holder's next beat is at the clock's new time anyway.
    """
    CREATE TRIGGER IF NOT EXISTS reaper_clock_stepped_back AFTER UPDATE OF last_tick
    ON reaper_clock
    WHEN NEW.last_tick < OLD.last_tick
    BEGIN
        UPDATE jobs SET updated_at = NEW.last_tick,
            changed_at = max(NEW.last_tick,
                             coalesce((SELECT max(changed_at) FROM jobs), 0) + 1e-6)
        WHERE status = 'running' AND updated_at > NEW.last_tick;
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS jobs_count_delete AFTER DELETE ON jobs
    WHEN OLD.status IN ('completed', 'failed', 'cancelled')
    BEGIN
        UPDATE job_counts SET n = n - 1 WHERE status = OLD.status;
    END
    """,
)

#: Seeds the counts, after the triggers exist, in one statement: a transition committed
#: before it is counted by it, one after it by a trigger (the triggers' updates before the
#: seed find no row). Run again (another worker migrating at once) it changes nothing.
_SEED_COUNTS = """
    INSERT OR IGNORE INTO job_counts (status, n)
    SELECT column1, (SELECT count(*) FROM jobs WHERE jobs.status = column1)
    FROM (VALUES ('completed'), ('failed'), ('cancelled'))
"""


#: Statements that bring a database from the previous revision to this one. A new database
#: gets the whole current schema instead (``ddl``: every statement ``IF NOT EXISTS``).
UPGRADES: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE jobs ADD COLUMN claim_token VARCHAR(32)",),
    # Jobs made before have no dedup key: a job resubmitted before revision 8 may be
    # resubmitted once more (its earlier copies are not known to the rule).
    8: (
        "ALTER TABLE jobs ADD COLUMN dedup_key VARCHAR(300)",
        "ALTER TABLE jobs ADD COLUMN request_hash VARCHAR(64)",
    ),
    # Rows written before keep no stamp: they are not "changed" until their next write
    # (finished ones never are), so the upgrade rewrites no row.
    9: ("ALTER TABLE jobs ADD COLUMN changed_at FLOAT",),
    10: ("ALTER TABLE jobs ADD COLUMN retry_at FLOAT",),
    11: (
        "ALTER TABLE jobs ADD COLUMN log_tail TEXT",
        "ALTER TABLE jobs ADD COLUMN error_detail TEXT",
        "ALTER TABLE job_types ADD COLUMN example TEXT",
    ),
}

#: Objects of earlier revisions that this one no longer has: ``(type, name)``. Revision 7:
#: every statement inserts a pending job, so neither trigger on insert is needed (a job's
#: "created" history entry is read from its row; rows written before keep theirs); the
#: index by status of every row gave way to ix_jobs_finished, and the pending and running
#: indexes to ones that lead with the status. They are dropped after the DDL has made
#: their replacements (so the hot paths never go without an index), and again at any start
#: that finds one: a process of the previous revision migrating the same database at the
#: same moment can make them again after this one dropped them.
RETIRED: tuple[tuple[str, str], ...] = (
    ("trigger", "jobs_history_insert"),
    ("trigger", "jobs_count_insert"),
    ("index", "ix_jobs_status_created"),
    ("index", "ix_jobs_pending_fifo"),
    ("index", "ix_jobs_running_updated"),
    # Revision 9: the change stamp is a column of its own (ix_jobs_changed_at).
    ("index", "ix_jobs_changed"),
)


def ddl() -> list[str]:
    """The whole current schema as SQLite statements, each ``IF NOT EXISTS``."""
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    statements: list[str] = []
    for table in metadata.sorted_tables:
        statements.append(
            str(sa.schema.CreateTable(table, if_not_exists=True).compile(dialect=dialect))
        )
        for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
            statements.append(
                str(sa.schema.CreateIndex(index, if_not_exists=True).compile(dialect=dialect))
            )
    statements.extend(_TRIGGERS)
    statements.append(_SEED_COUNTS)
    return [" ".join(statement.split()) for statement in statements]
