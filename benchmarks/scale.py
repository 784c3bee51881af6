"""Scale-out on one sqld: 1, 4 and 16 worker processes drain a queue of short jobs.

    python benchmarks/scale.py [--workers 1 4 16] [--jobs 500] [--seconds 0]
                               [--poll-interval SECONDS]

For each worker count, on a fresh sqld: start the workers (``python -m supervisor run``,
DEFAULT timings unless ``--poll-interval`` is given), wait until each is up (its sentinel
process exists) and idle, then insert JOBS ``sleep`` jobs (SECONDS, one step) in one
statement, and wait until none is pending or running.

Reported, from the database's own times (job history):

* jobs/s overall: jobs / (last completion - insert); includes the idle workers' first
  pickup (their idle poll may have backed off by then)
* jobs/s busy: jobs / (last completion - first claim)
* jobs/s all active: claims per second between the moment the last worker made its first
  claim and the last claim (n/a when the queue drained before every worker joined)
* rows read (and written) per job: sqld's statistics over the run, without this script's
  own polls (found by their text in sqld's per-query statistics) and the bulk insert
* exactly once: every job completed at attempt 1, with one transition to running (a claim
  given back because its answer was lost is not counted: its worker ran nothing under it)
* CPU: seconds used by the workers (with their helper and sentinel processes) and by sqld
  during the run, and the share of the machine's cores that makes over the busy time
  (first claim to last completion)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import libsql
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (
    PYTHON,
    REPO,
    TursoJobStore,
    children,
    command,
    cpu_seconds,
    descendants,
    load_line,
    table,
    worker_env,
)
from media_jobs_testing.sqld import SqldServer

NOW = "((julianday('now') - 2440587.5) * 86400.0)"
BULK_INSERT = f"""
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested,
                  created_at, updated_at, note, noted_at)
SELECT 'sleep', ?, 'pending', 0, 2, 0, 0, {NOW}, {NOW}, 'created', {NOW} FROM seq
"""
# Distinctive column names: this script's own reads are found in sqld's per-query stats.
POLL_PENDING = "SELECT id AS scale_bench_pending FROM jobs WHERE status = 'pending' LIMIT 1"
POLL_RUNNING = "SELECT count(*) AS scale_bench_running FROM jobs WHERE status = 'running'"


def start_workers(count: int, env: dict[str, str], tmp: Path, flags: list[str]) -> list[Any]:
    procs = []
    for i in range(count):
        log = open(tmp / f"worker-{i}.log", "wb")
        procs.append(
            subprocess.Popen(
                [PYTHON, "-m", "supervisor", "run", "--worker-id", f"w{i:02d}", *flags],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        )
        log.close()
    return procs


def wait_ready(procs: list[Any], timeout: float = 120) -> float:
    start = time.monotonic()
    waiting = {p.pid for p in procs}
    while waiting and time.monotonic() - start < timeout:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"worker {p.pid} exited with {p.returncode}")
        waiting = {
            pid for pid in waiting if not any("sentinel" in command(c) for c in children(pid))
        }
        time.sleep(0.2)
    if waiting:
        print(f"  warning: {len(waiting)} workers showed no sentinel after {timeout:.0f} s")
    return time.monotonic() - start


def tree_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(p) + sum(cpu_seconds(c) for c in descendants(p)) for p in pids)


def own_rows(stats: dict[str, Any]) -> int:
    """Rows read by this script's polls, from sqld's per-query statistics."""
    total = 0
    for entry in stats.get("queries", {}).get("stats", []) or []:
        if "scale_bench_" in entry.get("query", ""):
            total += int(entry.get("rows_read", 0))
    return total


def log_summary(tmp: Path, count: int) -> list[str]:
    """Warnings and errors the workers logged during the run (counted, a few shown)."""
    lines = []
    for i in range(count):
        for line in (tmp / f"worker-{i}.log").read_text(errors="replace").splitlines():
            if "WARNING" in line or "ERROR" in line or "Traceback" in line:
                lines.append(f"    w{i:02d}: {line[:220]}")
    return lines


def one(conn: Any, sql: str, *params: object) -> Any:
    rows = conn.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


def run(count: int, args: argparse.Namespace) -> dict[str, Any]:
    flags = ["--poll-interval", f"{args.poll_interval:g}"] if args.poll_interval else []
    with tempfile.TemporaryDirectory() as name, SqldServer(Path(name) / "sqld") as server:
        tmp = Path(name)
        store = TursoJobStore(server.url)
        trio.run(store.get, 1)  # schema
        store.close()
        env = worker_env(TURSO_DATABASE_URL=server.url, SUPERVISOR_STORAGE_URL=f"file://{name}")
        procs = start_workers(count, env, tmp, flags)
        try:
            startup = wait_ready(procs)
            time.sleep(3)  # start-up work done everywhere
            conn = libsql.connect(server.url, isolation_level=None)
            pids = [p.pid for p in procs]
            assert server.proc is not None
            sqld_pid = server.proc.pid
            stats0 = server.stats()
            payload = json.dumps({"seconds": args.seconds, "steps": 1})
            conn.execute(BULK_INSERT, (args.jobs, payload))
            stats1 = server.stats()
            cpu0, sqld0, wall0 = tree_cpu(pids), cpu_seconds(sqld_pid), time.monotonic()
            deadline = time.monotonic() + args.timeout
            progress: tuple[object, object] = (None, None)
            moved = time.monotonic()
            problem = ""
            while True:
                now = (one(conn, POLL_PENDING), one(conn, POLL_RUNNING))
                if now[0] is None and now[1] == 0:
                    break
                if now != progress:
                    progress, moved = now, time.monotonic()
                if time.monotonic() - moved > args.stall:
                    problem = f"no progress for {args.stall:.0f} s: run stopped"
                    break
                if time.monotonic() > deadline:
                    problem = f"not drained after {args.timeout:.0f} s: run stopped"
                    break
                time.sleep(0.1)
            exited = [p.returncode for p in procs if p.poll() is not None]
            if exited:
                problem += f"; {len(exited)} workers exited during the run ({exited})"
            if problem:
                print(f"  warning: {problem.lstrip('; ')}", flush=True)
            wall = time.monotonic() - wall0
            cpu, sqld_cpu = tree_cpu(pids) - cpu0, cpu_seconds(sqld_pid) - sqld0
            stats2 = server.stats()
            mine = own_rows(stats2) - own_rows(stats1)
            result = analyse(conn, args.jobs)
            conn.close()
            result["log_lines"] = log_summary(tmp, count)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    read = stats2["rows_read_count"] - stats1["rows_read_count"] - mine
    written = stats2["rows_written_count"] - stats1["rows_written_count"]
    result.update(
        workers=count,
        startup=startup,
        rows_read=read / args.jobs,
        rows_written=written / args.jobs,
        own_rows=mine,
        insert_read=stats1["rows_read_count"] - stats0["rows_read_count"],
        cpu=cpu,
        sqld_cpu=sqld_cpu,
        wall=wall,
    )
    return result


#: The reason of a release of a claim whose answer was lost (``RECOVER_CLAIM``).
RECOVERED = "released: the claim's answer was lost"


def analyse(conn: Any, jobs: int) -> dict[str, Any]:
    created = one(conn, "SELECT min(created_at) FROM jobs")
    finished = one(conn, "SELECT max(finished_at) FROM jobs")
    claims = [
        (float(at), str(worker))
        for at, worker in conn.execute(
            "SELECT at, worker_id FROM job_history WHERE to_status = 'running' ORDER BY at"
        ).fetchall()
    ]
    first_claim = claims[0][0] if claims else float("nan")
    joined: dict[str, float] = {}
    for at, worker in claims:
        joined.setdefault(worker, at)
    last_join = max(joined.values()) if joined else float("nan")
    last_claim = claims[-1][0] if claims else float("nan")
    in_window = [at for at, _ in claims if last_join <= at <= last_claim]
    window = last_claim - last_join
    per_worker: dict[str, int] = {}
    for _, worker in claims:
        per_worker[worker] = per_worker.get(worker, 0) + 1
    completed_once = one(
        conn, "SELECT count(*) FROM jobs WHERE status = 'completed' AND attempt = 1"
    )
    # Runs per job: its claims, less those given back because their answer was lost (the
    # worker never learnt it held the job, so it ran nothing under that claim).
    not_once = one(
        conn,
        "SELECT count(*) FROM (SELECT job_id FROM job_history GROUP BY job_id HAVING "
        "sum(to_status = 'running') - sum(reason LIKE ?) <> 1)",
        RECOVERED + "%",
    )
    ran = one(conn, "SELECT count(DISTINCT job_id) FROM job_history WHERE to_status = 'running'")
    suspects = [
        row[0]
        for row in conn.execute(
            "SELECT job_id FROM job_history WHERE to_status = 'running' GROUP BY job_id "
            "HAVING count(*) <> 1 UNION SELECT id FROM jobs WHERE status != 'completed' "
            "OR attempt != 1 ORDER BY 1 LIMIT 5"
        ).fetchall()
    ]
    histories = []
    for job_id in suspects:
        for at, from_status, to_status, worker, lease, reason in conn.execute(
            "SELECT at, from_status, to_status, worker_id, lease, reason FROM job_history "
            "WHERE job_id = ? ORDER BY seq",
            (job_id,),
        ).fetchall():
            histories.append(
                f"    job {job_id} {at - created:7.3f} s {from_status} -> {to_status} "
                f"{worker} lease {lease}: {reason}"
            )
    return {
        "overall": jobs / (finished - created),
        "busy": jobs / (finished - first_claim),
        "busy_s": finished - first_claim,
        "active": (len(in_window) - 1) / window if window >= 1.0 else None,
        "window": window,
        "pickup": first_claim - created,
        "last_join": last_join - created,
        "per_worker": sorted(per_worker.values()),
        "exactly_once": completed_once == jobs and not_once == 0 and ran == jobs,
        "histories": histories,
        "once_detail": f"completed at attempt 1: {completed_once}/{jobs}, "
        f"jobs run: {ran}, run more than once: {not_once}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=0.0, help="each sleep job's length")
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=None,
        help="passed to `run` (default: none, the default timings)",
    )
    parser.add_argument("--timeout", type=float, default=180, help="bound on one drain (s)")
    parser.add_argument(
        "--stall", type=float, default=30, help="stop a drain that makes no progress this long"
    )
    args = parser.parse_args()
    timings = f"--poll-interval {args.poll_interval:g}" if args.poll_interval else "default timings"
    print(
        f"scale: {args.jobs} `sleep` jobs ({args.seconds:g} s, one step) on one sqld, "
        f"workers with {timings}; {load_line()}"
    )
    results = []
    for count in args.workers:
        result = run(count, args)
        results.append(result)
        print(
            f"  {count} workers: started in {result['startup']:.1f} s; "
            f"{result['once_detail']}; {load_line()}",
            flush=True,
        )
        for line in result["histories"]:
            print(line)
        if result["log_lines"]:
            print(f"    {len(result['log_lines'])} warning/error lines in the worker logs, e.g.:")
            for line in result["log_lines"][:8]:
                print(line)
    cores = os.cpu_count() or 1
    rows = []
    for r in results:
        rows.append(
            [
                str(r["workers"]),
                f"{r['overall']:.1f}",
                f"{r['busy']:.1f}",
                "n/a" if r["active"] is None else f"{r['active']:.1f}",
                f"{r['pickup']:.1f}/{r['last_join']:.1f}",
                f"{r['rows_read']:.1f}",
                f"{r['rows_written']:.1f}",
                "yes" if r["exactly_once"] else "NO",
                f"{min(r['per_worker'])}-{max(r['per_worker'])}",
                f"{r['cpu']:.1f}",
                f"{r['sqld_cpu']:.1f}",
                f"{100 * (r['cpu'] + r['sqld_cpu']) / (r['busy_s'] * cores):.0f}%",
            ]
        )
    print()
    print(
        table(
            [
                "workers",
                "jobs/s overall",
                "busy",
                "all active",
                "1st/last join s",
                "rows read/job",
                "written/job",
                "once",
                "jobs/worker",
                "worker CPU s",
                "sqld CPU s",
                f"CPU of {cores} cores",
            ],
            rows,
        )
    )
    print(
        "  rows read exclude this script's polls "
        + ", ".join(f"({r['own_rows']} rows at {r['workers']} workers)" for r in results)
        + f"; the bulk insert itself read {results[0]['insert_read']} rows"
    )
    print(f"\nend: {load_line()}")


if __name__ == "__main__":
    main()
