"""``python -m supervisor demo``: a worker in-process and a few real jobs, shown live."""

from __future__ import annotations

import sys
from typing import Any, TextIO

import trio

from stores import JobStore, JobView

from ._config import WorkerConfig
from ._supervisor import open_supervisor
from ._text import printable
from .reference import JOB_TYPES

__all__ = ["DEMO_JOBS", "run_demo"]

#: (type, payload, cancel after seconds or None, what it shows)
DEMO_JOBS: tuple[tuple[str, dict[str, Any], float | None, str], ...] = (
    ("tone", {"seconds": 60, "realtime": True}, 1.5, "ffmpeg, cancelled mid-encode"),
    ("tone", {"seconds": 4, "realtime": True}, None, "ffmpeg, completes with real progress"),
    ("prep", {"input": "no-such-recording.wav"}, None, "fails at once with a clear reason"),
)


def _line(view: JobView, what: str) -> str:
    if view.status.value == "running":
        if view.progress is None:
            state = f"{view.stage or 'starting'} [~~~~~~~~~~~~~~~~~~~~] indeterminate"
        else:
            filled = int(view.progress / 5)
            state = f"{view.stage} [{'#' * filled}{'.' * (20 - filled)}] {view.progress:5.1f}%"
    else:
        state = view.reason
    return printable(f"  job {view.id:>4} {view.type:<6} {state}   ({what})")


async def run_demo(
    store: JobStore, *, out: TextIO | None = None, config: WorkerConfig | None = None
) -> list[JobView]:
    """Submit the demo jobs, run them on an in-process worker, show them until all end."""
    out = out or sys.stdout
    tty = out.isatty()
    config = config or WorkerConfig(
        poll_interval=0.2, heartbeat_interval=0.5, stale_after=10, kill_grace=2
    )
    out.write(f"demo: store {store!r}, worker {config.worker_id}\n")
    async with open_supervisor(store, JOB_TYPES, config):
        jobs = [(await store.create(t, p), cancel, what) for t, p, cancel, what in DEMO_JOBS]
        start = trio.current_time()
        cancelled: set[int] = set()
        shown: list[str] = []
        while True:
            views = [await store.poll(job.id) for job, _, _ in jobs]
            lines = [_line(v, what) for v, (_, _, what) in zip(views, jobs, strict=True)]
            if lines != shown:
                if tty and shown:
                    out.write(f"\x1b[{len(shown)}F")
                out.write("".join(f"\x1b[2K{line}\n" if tty else f"{line}\n" for line in lines))
                out.flush()
                shown = lines
            if all(v.status.terminal for v in views):
                break
            for job, cancel_after, _ in jobs:
                elapsed = trio.current_time() - start
                if cancel_after is not None and elapsed >= cancel_after and job.id not in cancelled:
                    await store.cancel(job.id)
                    cancelled.add(job.id)
            await trio.sleep(0.1)
    out.write("demo: done. Try `python -m supervisor history ID` for a job's transitions.\n")
    return views
