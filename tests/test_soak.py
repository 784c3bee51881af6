"""The soak (benchmarks/soak.py): its CI variant must find 0 violations on both stores; and
its detectors must catch what they are there to catch.

The CI variant runs 60 s of random faults on each store (sqld, then a SQLite file), plus the
drain and the check: about three minutes. ``SOAK_SEED`` replays a seed; ``SOAK_DURATION``
changes the length. On failure the message holds the soak's report, and the run's folder
(worker logs, the children's log, report.json) is kept under pytest's tmp_path.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import trio

from media_jobs_testing.helpers import REPO
from stores import LocalJobStore

sys.path.insert(0, str(REPO / "benchmarks"))

from soak_check import RunData, Timings, WorkerTimeline, check


@pytest.mark.sqld
@pytest.mark.slow
def test_the_soak_ci_variant_finds_no_violation_on_either_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = os.environ.get("SOAK_SEED") or str(random.SystemRandom().randrange(10**9))
    duration = float(os.environ.get("SOAK_DURATION", "60"))
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "soak.py"),
            "--store",
            "both",
            "--duration",
            f"{duration:g}",
            "--seed",
            seed,
            "--workdir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=2 * (duration + 300),
    )
    report = f"seed {seed}\n{result.stdout[-30000:]}\n{result.stderr[-5000:]}"
    with capsys.disabled():  # the figures belong in the CI log, pass or fail
        print("\n" + "\n".join(line[:300] for line in result.stdout.splitlines()[-60:]))
    assert result.returncode == 0, report
    assert f"soak: seed {seed}: 0 violations" in result.stdout, report


# -- the detectors, on their own ------------------------------------------------------------


@pytest.mark.slow
async def test_a_real_double_run_is_caught_by_every_detector(tmp_path: Path) -> None:
    """Not a vacuous check: a worker whose lease outlives its peer's ``stale_after`` (60 s
    against 3 s) is paused mid-child; the peer reaps the job and runs it while the first
    child still lives. The lock, the child log and the history must each show it."""
    (tmp_path / "locks").mkdir()
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "soak_jobs.py").symlink_to(REPO / "benchmarks" / "soak_jobs.py")
    db = tmp_path / "jobs.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))}
    env.update(
        JOBS_DB_PATH=str(db),
        SOAK_DIR=str(tmp_path),
        PYTHONPATH=os.pathsep.join([str(tmp_path / "handlers"), str(REPO)]),
    )

    def worker(name: str, stale_after: float) -> subprocess.Popen[bytes]:
        flags = Timings(stale_after=stale_after).flags()
        argv = ["-m", "supervisor", "--handlers", "soak_jobs", "run", "--worker-id", name]
        with open(tmp_path / f"{name}.log", "wb") as log:
            return subprocess.Popen(
                [sys.executable, *argv, *flags], cwd=REPO, env=env, stdout=log, stderr=log
            )

    store = LocalJobStore(db)
    job = await store.create("soak", {"runs": [[6, 60]], "fail": "none"}, max_attempts=3)
    slow = worker("slow", 60)
    fast: subprocess.Popen[bytes] | None = None
    try:
        with trio.fail_after(30):
            while not ((row := await store.get(job.id)) and row.child_pid):
                await trio.sleep(0.05)
        slow.send_signal(signal.SIGSTOP)
        stopped = time.time()
        fast = worker("fast", 3)
        with trio.fail_after(30):
            while not ((row := await store.get(job.id)) and row.worker_id == "fast"):
                await trio.sleep(0.05)
        await trio.sleep(1)
        slow.send_signal(signal.SIGCONT)
        resumed = time.time()
        with trio.fail_after(30):
            while not ((row := await store.get(job.id)) and row.terminal):
                await trio.sleep(0.1)
    finally:
        for proc in (slow, fast):
            if proc is not None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
                proc.wait(20)
        store.close()
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        jobs = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM jobs")}
        history = [dict(r) for r in conn.execute("SELECT * FROM job_history ORDER BY seq")]
    jobs[job.id]["payload"] = json.loads(jobs[job.id]["payload"])
    data = RunData(
        jobs=jobs,
        history={job.id: history},
        children=_events(tmp_path),
        submitted=[job.id],
        workers={
            "slow": WorkerTimeline("slow", 0.0, stops=[[stopped, resumed]]),
            "fast": WorkerTimeline("fast", 0.0),
        },
        store_faults=[],
    )
    result = check(data, Timings())
    kinds = {v.kind for v in result.violations}
    assert {"double_run", "double_run_log", "child_outlived_lease"} <= kinds, result.violations
    assert result.figures["reaps_after_worker_freeze"] == 1  # the pause excuses the reap


def _child(tmp_path: Path, job: int, lease: int, seconds: float) -> subprocess.Popen[bytes]:
    (tmp_path / "locks").mkdir(exist_ok=True)
    return subprocess.Popen(
        [
            sys.executable,
            "-I",
            "-S",
            str(REPO / "benchmarks" / "soak_child.py"),
            str(tmp_path / "children.log"),
            str(tmp_path / "locks"),
            str(job),
            "1",
            str(lease),
            f"{seconds:g}",
            "2",
            "0",
        ],
        stdout=subprocess.DEVNULL,
    )


def _events(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "children.log").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_a_second_live_child_of_a_job_is_caught_by_its_lock(tmp_path: Path) -> None:
    first = _child(tmp_path, 7, 1, 1.0)
    while not (tmp_path / "children.log").exists() or not _events(tmp_path):
        pass  # the first holds the lock once it logged its start
    second = _child(tmp_path, 7, 2, 0.1)
    assert second.wait(10) == 0
    assert first.wait(10) == 0
    third = _child(tmp_path, 7, 3, 0.1)  # the first is gone: its lock with it
    assert third.wait(10) == 0
    events = _events(tmp_path)
    violations = [e for e in events if e["event"] == "violation"]
    assert len(violations) == 1
    assert violations[0]["lease"] == 2
    assert violations[0]["holder"] == [str(first.pid), "1", "1"]
    assert [e["lease"] for e in events if e["event"] == "start" and e["locked"]] == [1, 3]


def _claim(job: int, lease: int, attempt: int, at: float, worker: str = "w1") -> dict[str, Any]:
    return {
        "job_id": job,
        "at": at,
        "from_status": "pending",
        "to_status": "running",
        "worker_id": worker,
        "lease": lease,
        "reason": f"claimed, attempt {attempt}",
    }


def _entry(job: int, lease: int, at: float, to: str, reason: str) -> dict[str, Any]:
    return {
        "job_id": job,
        "at": at,
        "from_status": "running",
        "to_status": to,
        "worker_id": "w1",
        "lease": lease,
        "reason": reason,
    }


def _data(history: list[dict[str, Any]], status: str, attempt: int, max_attempts: int) -> RunData:
    row = {
        "id": 1,
        "status": status,
        "attempt": attempt,
        "max_attempts": max_attempts,
        "worker_id": None,
        "payload": {"runs": [[0.1, 1]]},
    }
    created = {"from_status": None, "to_status": "pending", "lease": 0, "reason": "", "at": 0.0}
    return RunData(
        jobs={1: row},
        history={1: [created, *history]},
        children=[],
        submitted=[1, 2],
        workers={"w1": WorkerTimeline("w1", 0.0)},
        store_faults=[],
    )


def test_the_checker_flags_charged_shutdowns_overdrawn_attempts_and_live_reaps() -> None:
    history = [
        _claim(1, 1, 1, 10.0),
        _entry(1, 1, 11.0, "pending", "released: shutdown: not finished within 2 s"),
        _claim(1, 2, 2, 12.0),  # the shutdown was charged
        _entry(1, 2, 20.0, "pending", "reaped: stalled: no heartbeat from worker w1"),
        _claim(1, 3, 3, 21.0),  # attempt 3 of 2
        _entry(1, 3, 22.0, "completed", "completed"),
    ]
    result = check(_data(history, "completed", 3, 2), Timings())
    kinds = sorted(v.kind for v in result.violations)
    assert kinds == [
        "attempt_over_max",
        "attempt_over_max",
        "charged_release",
        "completed_without_children",
        "lost_row",
        "reaped_live_worker",
    ], result.violations


def test_the_checker_accepts_a_clean_history() -> None:
    history = [
        _claim(1, 1, 1, 10.0),
        _entry(1, 1, 11.0, "pending", "released: database unreachable: no heartbeat for 3 s"),
        _claim(1, 2, 1, 12.0),
        _entry(1, 2, 13.0, "pending", "will retry: deliberate transient failure"),
        _claim(1, 3, 2, 14.0),
        _entry(1, 3, 15.0, "failed", "failed: deliberate permanent failure"),
    ]
    data = _data(history, "failed", 2, 2)
    data.submitted = [1]
    assert check(data, Timings()).violations == []
