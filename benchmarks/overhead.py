"""What a worker adds to bare ffmpeg: the same encode run bare and as a ``tone`` job.

    python benchmarks/overhead.py [--seconds 600] [--runs 5]

Side by side in one run, alternating: the encode ``tone`` makes (a sine of SECONDS seconds
to MP3 192k, the same ffmpeg arguments the worker passes) run bare from this script, then
the same job run by a real worker process (``python -m supervisor run``, default settings,
the local store and storage folder). For each run:

* wall: bare ffmpeg's, and the job's from its claim to ``completed`` (the store's own
  times; the queue wait before the claim is the poll interval's business, not the job's);
* CPU: ffmpeg's (bare: this script's reaped children; job: the worker's reaped children),
  and the worker's own (user + system) from the job's creation to its completion.

Goals (issue 19): the job's wall at most bare + 150 ms, the worker's CPU at most 2 % of
ffmpeg's.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors._ffmpeg import ffmpeg_binary
from benchmarks._common import PYTHON, REPO, cpu_seconds, load_line, median, table, worker_env
from media_jobs_testing.helpers import wait_for_status
from stores import JobStatus, LocalJobStore


def bare_argv(seconds: float, out: Path) -> list[str]:
    """The argv ``tone`` gives ffmpeg (``run_ffmpeg``'s own options included)."""
    return [
        *(ffmpeg_binary(), "-hide_banner", "-nostdin", "-nostats"),
        *("-loglevel", "level+info", "-progress", "pipe:1"),
        *("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"),
        *("-c:a", "libmp3lame", "-b:a", "192k", "-y", str(out)),
    ]


def bare(seconds: float, out: Path) -> tuple[float, float]:
    """(wall, ffmpeg CPU) of the encode run from here."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(bare_argv(seconds, out), check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def children_cpu(pid: int) -> float:
    """CPU seconds of the reaped children of ``pid`` (cutime + cstime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


async def job(store: LocalJobStore, worker: int, seconds: float) -> tuple[float, float, float]:
    """(claim → completed, ffmpeg CPU, the worker's own CPU) of one ``tone`` job."""
    own, kids = cpu_seconds(worker), children_cpu(worker)
    created = await store.create("tone", {"seconds": seconds})
    with trio.fail_after(seconds + 120):
        done = await wait_for_status(store, created.id, JobStatus.COMPLETED, poll=0.2)
    assert done.started_at is not None and done.finished_at is not None
    return (
        done.finished_at - done.started_at,
        children_cpu(worker) - kids,
        cpu_seconds(worker) - own,
    )


async def main(seconds: float, runs: int) -> None:
    print(load_line())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = worker_env(
            JOBS_DB_PATH=str(folder / "jobs.db"),
            SUPERVISOR_STORAGE_URL=f"file://{folder / 'files'}",
            SUPERVISOR_SCRATCH_DIR=str(folder / "scratch"),
        )
        store = LocalJobStore(folder / "jobs.db")
        await store.get(1)  # the schema, before the worker opens the file
        worker = subprocess.Popen(
            [PYTHON, "-m", "supervisor", "run"], cwd=REPO, env=env, stderr=subprocess.DEVNULL
        )
        rows = []
        try:
            await job(store, worker.pid, 1)  # warm: imports, the first claim
            for i in range(runs):  # alternate, so that the machine's state favours neither
                bare_wall, bare_cpu = bare(seconds, folder / f"bare-{i}.mp3")
                job_wall, job_cpu, worker_cpu = await job(store, worker.pid, seconds)
                rows.append((bare_wall, bare_cpu, job_wall, job_cpu, worker_cpu))
                print(
                    f"  run {i + 1}: bare {bare_wall:.3f} s, job {job_wall:.3f} s "
                    f"(+{(job_wall - bare_wall) * 1000:.0f} ms); worker CPU {worker_cpu:.2f} s "
                    f"= {worker_cpu / job_cpu * 100:.1f} % of ffmpeg's {job_cpu:.2f} s",
                    flush=True,
                )
        finally:
            worker.terminate()
            worker.wait()
            store.close()
    cols = list(zip(*rows, strict=True))
    bw, bc, jw, jc, wc = (median(c) for c in cols)
    print(f"\ntone {seconds:g} s to MP3 192k, {runs} runs, medians")
    print(
        table(
            ["", "wall s", "ffmpeg CPU s", "worker CPU s"],
            [
                ["bare ffmpeg", f"{bw:.3f}", f"{bc:.2f}", "-"],
                ["as a job (claim → completed)", f"{jw:.3f}", f"{jc:.2f}", f"{wc:.2f}"],
            ],
        )
    )
    print(
        f"job - bare: {(jw - bw) * 1000:+.0f} ms at the median, "
        f"{(min(cols[2]) - min(cols[0])) * 1000:+.0f} ms between the fastest of each (less "
        f"moved by a busy machine; goal at most +150 ms); worker CPU {wc / jc * 100:.1f} % "
        "of ffmpeg's (goal at most 2 %)"
    )
    print(load_line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600, help="length of the tone")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    trio.run(main, args.seconds, args.runs)
