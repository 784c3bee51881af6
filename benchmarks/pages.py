"""Pages written per commit: what each statement of a job's life writes to the WAL, for the
store's schema and for the raw schema of ``peers.py``, and what each index or trigger of
the store's schema adds.

    python benchmarks/pages.py [--jobs 2000]

Why: on a local file the store's time goes mostly to SQLite, and a commit's cost follows
the pages it writes (each a WAL frame: two ``pwrite`` calls, and a share of the checkpoints'
writes and ``fsync``). The figures are counts, not timings, so they do not move from run to
run. Method: the store's compiled statements (``stores/_compiled.py``) run through
``sqlite3`` on a fresh file in WAL mode with automatic checkpoints off; after each phase the
WAL's frame count (``PRAGMA wal_checkpoint``) is divided by the commits of the phase. JOBS
jobs are created one by one, then each is claimed and completed in turn (one commit each).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import table
from benchmarks.peers import RAW_CLAIM, RAW_DONE, RAW_INSERT, RAW_SCHEMA
from stores._compiled import COLUMNS, DDL, PARAMS, SQL, Q

#: What the store's schema holds that a bare queue would not: each is left out in turn.
PARTS = (
    ("ix_jobs_changed_at", "the change stamp's index (live updates)"),
    ("ix_job_history_job", "the history's index by job"),
    ("jobs_history_update", "the history trigger (its row and that row's index entry)"),
    ("jobs_count_update", "the kept counts' trigger"),
    ("ix_jobs_created", "the creation-order index (the unfiltered list)"),
    ("ix_jobs_finished", "the index of finished rows"),
    ("ix_jobs_finished_at", "the pruner's index of finished rows by finish time"),
)


def _frames(conn: sqlite3.Connection) -> int:
    """Frames in the WAL, then an empty WAL for the next phase."""
    frames = int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return frames


def _open(folder: Path, schema: Sequence[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(folder / "pages.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in schema:
        conn.execute(statement)
    _frames(conn)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


#: One statement of a job's life, run on a connection (the claim returns the row it took).
Step = Callable[[sqlite3.Connection, Any], Any]


def _pages(
    schema: Sequence[str], jobs: int, create: Step, claim: Step, complete: Step
) -> tuple[float, float, float]:
    """Pages per create, per claim and per completion: ``jobs`` creates, then each job
    claimed and completed in turn (one commit each)."""
    with tempfile.TemporaryDirectory() as name:
        conn = _open(Path(name), schema)
        for n in range(jobs):
            create(conn, n)
        created = _frames(conn)
        claims = completions = 0
        for _ in range(jobs):
            row = claim(conn, None)
            claims += _frames(conn)
            complete(conn, row)
            completions += _frames(conn)
        conn.close()
    return created / jobs, claims / jobs, completions / jobs


def _bound(name: Q, **values: Any) -> tuple[Any, ...]:
    """The positional parameters of statement ``name`` (None for any not given)."""
    return tuple(values.get(param) for param in PARAMS[name])


def store(jobs: int, leave_out: str | None = None) -> tuple[float, float, float]:
    """The store's compiled statements on its schema (less ``leave_out``, if given)."""
    return _pages(
        [s for s in DDL if leave_out is None or f" {leave_out} " not in s],
        jobs,
        lambda c, n: c.execute(
            SQL[Q.CREATE],
            _bound(Q.CREATE, p_type="noop", p_payload=json.dumps({"n": n}), p_note="created"),
        ).fetchall(),
        lambda c, _: c.execute(
            SQL[Q.CLAIM_ANY], _bound(Q.CLAIM_ANY, p_worker="w", p_token="tok")
        ).fetchone(),
        lambda c, row: c.execute(
            SQL[Q.COMPLETE],
            _bound(
                Q.COMPLETE,
                p_result="null",
                p_id=row[0],
                p_lease=row[COLUMNS[Q.CLAIM_ANY].index("lease")],
            ),
        ).fetchall(),
    )


def raw(jobs: int) -> tuple[float, float, float]:
    """The same with peers.py's raw statements and schema."""
    return _pages(
        [s for s in RAW_SCHEMA.split(";") if s.strip()],
        jobs,
        lambda c, n: c.execute(RAW_INSERT, ("noop", json.dumps({"n": n}), 1.0, 1.0)),
        lambda c, _: c.execute(RAW_CLAIM, ("bench", 2.0)).fetchone(),
        lambda c, row: c.execute(RAW_DONE, ("null", 3.0, 3.0, row[0])),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2000, help="jobs (default 2000)")
    args = parser.parse_args()
    ours = store(args.jobs)
    rows = [
        ["raw sqlite3 (peers.py)", *(f"{v:.2f}" for v in raw(args.jobs))],
        ["this store", *(f"{v:.2f}" for v in ours)],
    ]
    for part, what in PARTS:
        without = store(args.jobs, part)
        rows.append(
            [f"  without {what}", *(f"{a - b:+.2f}" for a, b in zip(without, ours, strict=True))]
        )
    print(f"WAL pages written per commit, {args.jobs} jobs (create all, then claim + complete)")
    print(table(["schema", "create", "claim", "complete"], rows))


if __name__ == "__main__":
    main()
