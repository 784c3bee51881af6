"""An asyncio app's event-loop lag during a 6 s database stall (issue 18 #3): the store API
called through ``run_sync`` against the HTTP client (``media_jobs_client.AsyncClient``),
side by side, on one real sqld (stopped with SIGSTOP for the stall).

    python benchmarks/client_lag.py [--stall 6]

The store is a TursoJobStore on the sqld, polled with ``run_sync(store.poll(id))`` from
inside the asyncio loop (what a Django or FastAPI app would write without the client); the
client polls ``GET /api/jobs/{id}`` of a ``serve`` on the same sqld.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from media_jobs_client import AsyncClient
from media_jobs_testing.loop_lag import a_job_on, lag_during_stall
from media_jobs_testing.sqld import SqldServer
from media_jobs_testing.workers import Served, worker_env
from stores import TursoJobStore, run_sync


async def through_the_store(sqld: SqldServer, job_id: int, stall: float) -> tuple[float, float]:
    store = TursoJobStore(sqld.url)

    async def poll() -> object:
        return run_sync(store.poll(job_id))  # blocks the thread, and so the loop

    try:
        return await lag_during_stall(poll, sqld, stall)
    finally:
        run_sync(store.aclose())


async def through_the_client(
    url: str, sqld: SqldServer, job_id: int, stall: float
) -> tuple[float, float]:
    async with AsyncClient(url) as jobs:
        return await lag_during_stall(lambda: jobs.get(job_id), sqld, stall)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stall", type=float, default=6.0)
    stall = parser.parse_args().stall
    with tempfile.TemporaryDirectory() as tmp, SqldServer(Path(tmp) / "db") as sqld:
        job_id = a_job_on(sqld)
        store = asyncio.run(through_the_store(sqld, job_id, stall))
        served = Served(
            worker_env(TURSO_DATABASE_URL=sqld.url),
            ["serve", "--port", "0"],
            Path(tmp) / "serve.log",
        )
        try:
            client = asyncio.run(through_the_client(served.url, sqld, job_id, stall))
        finally:
            served.stop()
    print(f"asyncio loop during a {stall:g} s sqld stall: worst lag / longest call (s)")
    for name, (worst, longest) in (("store via run_sync", store), ("AsyncClient", client)):
        print(f"  {name:<20} {worst:6.3f} / {longest:6.3f}")


if __name__ == "__main__":
    main()
