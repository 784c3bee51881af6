"""Several OS processes claiming from one database: each job runs exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import trio

from media_jobs_testing.helpers import REPO, StoreFactory
from stores import JobStatus, JobStore

PROCESSES = 4
JOBS = 200


@pytest.mark.slow
async def test_processes_claim_each_job_exactly_once(
    backend: str, store_factory: StoreFactory, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """N jobs, several claiming processes: every job completed once, none claimed twice."""
    store: JobStore = store_factory()
    ids = {(await store.create("tone", {"n": n})).id for n in range(JOBS)}
    env = dict(os.environ)
    if backend == "turso":
        env["TURSO_DATABASE_URL"] = request.getfixturevalue("sqld").url
    else:
        env["JOBS_DB_PATH"] = str(store.path)  # type: ignore[attr-defined]

    go = tmp_path / "go"

    def run_all() -> list[str]:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.claimer", f"p{i}", str(go)],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(PROCESSES)
        ]
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline() == "ready\n"
        go.touch()
        outputs = [p.communicate(timeout=300)[0] for p in procs]
        assert [p.returncode for p in procs] == [0] * PROCESSES
        return outputs

    outputs = await trio.to_thread.run_sync(run_all)
    claimed = Counter(int(line) for out in outputs for line in out.split())
    assert set(claimed) == ids
    assert max(claimed.values()) == 1
    assert sum(1 for out in outputs if out.strip()) >= 2, "only one process got any job"
    jobs = await store.list(limit=1000)
    assert {j.status for j in jobs} == {JobStatus.COMPLETED}
    assert all(j.attempt == 1 and j.result == {"by": j.worker_id} for j in jobs)
    for job_id in list(ids)[:20]:
        starts = [h for h in await store.history(job_id) if h.to_status == "running"]
        assert len(starts) == 1
