"""Fill a job table with many finished jobs (cost tests and benchmarks)."""

from __future__ import annotations

from typing import Any

FILL_FINISHED = """
WITH RECURSIVE seq(n) AS (SELECT 1 WHERE {count} > 0 UNION ALL
                          SELECT n + 1 FROM seq WHERE n < {count})
INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested,
                  created_at, started_at, updated_at, finished_at, result, note, noted_at)
SELECT 'tone', '{{}}', CASE n % 3 WHEN 0 THEN 'completed' WHEN 1 THEN 'failed'
                                 ELSE 'cancelled' END,
       1, 2, 1, 0, 1000.0 + n, 1000.5 + n, 1001.0 + n, 1001.0 + n, 'null', 'bulk', 1001.0 + n
FROM seq
"""

#: The product never inserts a finished job (its counts are kept by triggers on transitions):
#: rows inserted finished are counted by hand, as their transitions would have been.
COUNT_FILLED = """
UPDATE job_counts SET n = n + CASE status WHEN 'completed' THEN {completed}
                                          WHEN 'failed' THEN {failed} ELSE {cancelled} END
"""


def fill_sql(count: int) -> list[str]:
    """Two statements that add ``count`` finished jobs (a third each completed, failed and
    cancelled) and count them; run them in order."""
    count = int(count)
    counted = {"completed": count // 3, "failed": (count + 2) // 3, "cancelled": (count + 1) // 3}
    return [FILL_FINISHED.format(count=count), COUNT_FILLED.format(**counted)]


def fill(conn: Any, count: int) -> None:
    """Add ``count`` finished jobs, counted, through ``conn`` (sqlite3 or libsql)."""
    for statement in fill_sql(count):
        conn.execute(statement)
