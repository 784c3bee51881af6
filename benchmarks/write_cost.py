"""Rows written on Turso (what its plans count) by a worker at default settings: per running
hour with a job whose ffmpeg reports progress all along, and per ``tone`` and ``prep`` job.

    python benchmarks/write_cost.py [--window 180] [--stage 3600]

A real sqld (its own statistics) and a worker process (``python -m supervisor run``, no
``SUPERVISOR_*`` timing set). Phases, one after the other:

* idle: WINDOW seconds with nothing to run, after 15 s of start-up;
* running: a ``tone`` job with ``realtime: true`` of STAGE seconds (ffmpeg reports its
  progress twice a second, moving 100 % over STAGE seconds), WINDOW seconds of it measured
  from 10 s after it started, then cancelled. Rows per hour are the window's, scaled;
* one ``tone`` job (60 s of signal, encoded as fast as ffmpeg goes) and one ``prep`` job
  (a 60 s recording uploaded first), each from submission to completion, the script
  polling the row every 0.5 s meanwhile (reads only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors._ffmpeg import ffmpeg_binary
from benchmarks._common import PYTHON, REPO, TursoJobStore, load_line, worker_env
from media_jobs_testing.helpers import wait_for_status
from media_jobs_testing.sqld import SqldServer
from stores import JobStatus


def written(server: SqldServer) -> int:
    return int(server.stats()["rows_written_count"])


async def window(server: SqldServer, seconds: float) -> tuple[int, float]:
    """Rows written during the next ``seconds``, and the seconds it took."""
    before, start = written(server), time.monotonic()
    await trio.sleep(seconds)
    return written(server) - before, time.monotonic() - start


async def one_job(
    server: SqldServer, store: TursoJobStore, type_: str, payload: dict[str, Any]
) -> tuple[int, float]:
    before, start = written(server), time.monotonic()
    job = await store.create(type_, payload)
    done = await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.5)
    assert done.status is JobStatus.COMPLETED, done
    return written(server) - before, time.monotonic() - start


async def main(seconds: float, stage: float) -> None:
    print(f"write cost: sqld, a worker at default settings; {load_line()}")
    with tempfile.TemporaryDirectory() as tmp, SqldServer(Path(tmp) / "sqld") as server:
        files = f"file://{tmp}/files"
        os.environ["SUPERVISOR_STORAGE_URL"] = files
        store = TursoJobStore(server.url)
        await store.get(1)  # creates the schema
        env = worker_env(TURSO_DATABASE_URL=server.url, SUPERVISOR_STORAGE_URL=files)
        worker = subprocess.Popen(
            [PYTHON, "-m", "supervisor", "run"], cwd=REPO, env=env, stderr=subprocess.DEVNULL
        )
        lines = []
        try:
            await trio.sleep(15)
            rows, took = await window(server, seconds)
            idle = rows / took * 3600
            lines.append(f"idle worker: {rows} rows in {took:.0f} s = {idle:.0f} per hour")
            job = await store.create("tone", {"seconds": stage, "realtime": True})
            await wait_for_status(store, job.id, JobStatus.RUNNING, poll=0.2)
            await trio.sleep(10)
            rows, took = await window(server, seconds)
            busy = rows / took * 3600
            lines.append(
                f"running a realtime tone of {stage:g} s (progress all along): {rows} rows in "
                f"{took:.0f} s = {busy:.0f} per running hour ({busy - idle:.0f} above idle)"
            )
            await store.cancel(job.id)
            await wait_for_status(store, job.id, JobStatus.CANCELLED, poll=0.2)
            rows, took = await one_job(server, store, "tone", {"seconds": 60})
            lines.append(f"one tone job (60 s of signal): {rows} rows written in {took:.1f} s")
            source = Path(tmp) / "recording.wav"
            signal = ["-f", "lavfi", "-i", "sine=440:duration=60"]
            subprocess.run([ffmpeg_binary(), "-v", "error", *signal, "-y", str(source)], check=True)
            from files import get_storage

            await get_storage().upload_file("uploads/in/rec.wav", source, content_type="audio/wav")
            rows, took = await one_job(server, store, "prep", {"input": "uploads/in/rec.wav"})
            lines.append(f"one prep job (60 s recording): {rows} rows written in {took:.1f} s")
        finally:
            worker.terminate()
            worker.wait()
            await store.aclose()
    print("\n".join(f"  {line}" for line in lines))
    print(f"end: {load_line()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--window", type=float, default=180, help="seconds of each window")
    parser.add_argument("--stage", type=float, default=3600, help="seconds of the running tone")
    args = parser.parse_args()
    trio.run(main, args.window, args.stage)
