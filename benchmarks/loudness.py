"""The reference ``prep`` against ``ffmpeg-normalize`` on the same inputs and target.

For each recording, side by side in one run:

* ``prep`` through a worker (in-process, the local store and the local storage folder):
  the time from the claim to ``completed``, and with the worker's start;
* ``ffmpeg-normalize -nt ebu -t TARGET -tp -1.5`` (the tool people use for this; PyPI),
  with the same ffmpeg binary (``FFMPEG_PATH``), the same codec and bitrate;
* both outputs measured by an independent meter: ``pyloudnorm`` (ITU-R BS.1770) for the
  integrated loudness, and the true peak from a 4× oversampled signal (``scipy``).

Recordings: a 10-minute stereo 44.1 kHz mix of pink noise and a tone (linear normalisation
possible), a 10-minute speech-like recording whose linear gain would push the true peak
over the limit (bursts of band-limited noise with sharp clicks), and a 10-second file where
start-up dominates.

    pip install -e '.[bench]'   # ffmpeg-normalize, pyloudnorm, scipy
    python benchmarks/loudness.py [--runs 1] [--short-runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors._ffmpeg import ffmpeg_binary

TARGET = -16.0
LIMIT = -1.5

#: name → (seconds, the lavfi graph that makes it)
RECORDINGS = {
    "music-like 10 min": (
        600,
        "anoisesrc=color=pink:amplitude=0.05:duration={d}:sample_rate=44100[n];"
        "sine=frequency=440:duration={d}:sample_rate=44100[t];"
        "[n][t]amix=inputs=2:weights=1 0.05,pan=stereo|c0=c0|c1=c0",
    ),
    "speech-like 10 min": (
        600,
        "anoisesrc=color=white:amplitude=0.15:duration={d}:sample_rate=44100,lowpass=f=4000,"
        "volume='if(lt(mod(t,0.4),0.25),1,0.08)':eval=frame[s];"
        "aevalsrc='if(lt(mod(t\\,2.5)\\,0.001)\\,0.6*sin(2*PI*2500*t)\\,0)':s=44100:d={d}[c];"
        "[s][c]amix=inputs=2:weights=1 1:normalize=0,pan=stereo|c0=c0|c1=c0",
    ),
    "short 10 s": (
        10,
        "anoisesrc=color=pink:amplitude=0.05:duration={d}:sample_rate=44100[n];"
        "sine=frequency=440:duration={d}:sample_rate=44100[t];"
        "[n][t]amix=inputs=2:weights=1 0.05,pan=stereo|c0=c0|c1=c0",
    ),
}


def make(path: Path, seconds: int, graph: str) -> None:
    subprocess.run(
        [
            *(ffmpeg_binary(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"),
            *("-filter_complex", graph.format(d=seconds), "-c:a", "pcm_s16le", str(path)),
        ],
        check=True,
    )


def meter(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS, pyloudnorm) and true peak (dBTP, 4× oversampled)."""
    import numpy as np
    import pyloudnorm
    from scipy.signal import resample_poly

    raw = subprocess.run(
        [
            ffmpeg_binary(),
            "-v",
            "error",
            "-i",
            str(path),
            *("-f", "f32le", "-ac", "2", "-ar", "48000", "-"),
        ],
        capture_output=True,
        check=True,
    ).stdout
    samples = np.frombuffer(raw, dtype=np.float32).reshape(-1, 2).astype(np.float64)
    lufs = pyloudnorm.Meter(48000).integrated_loudness(samples)
    peak = float(np.max(np.abs(resample_poly(samples, 4, 1, axis=0))))
    return float(lufs), 20 * float(np.log10(peak))


def peer(source: Path, out: Path) -> float:
    env = {**os.environ, "FFMPEG_PATH": ffmpeg_binary()}
    beside = Path(sys.executable).parent / "ffmpeg-normalize"  # the venv's, unactivated
    argv = [
        str(beside) if beside.exists() else shutil.which("ffmpeg-normalize") or "ffmpeg-normalize",
        str(source),
    ]
    argv += ["-nt", "ebu", "-t", str(TARGET), "-tp", str(LIMIT), "-c:a", "libmp3lame"]
    argv += ["-b:a", "192k", "-ext", "mp3", "-o", str(out), "-f", "-q"]
    start = time.perf_counter()
    subprocess.run(argv, check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's reaped children so far: ffmpeg-normalize
    and its ffmpeg, or prep's ffmpeg processes (the worker runs in this process)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def stage_times(marks: list[tuple[float, str | None]], end: float) -> dict[str, float]:
    """Seconds spent in each stage, from the times the worker wrote each stage first."""
    times: dict[str, float] = {}
    entered = [(t, s) for i, (t, s) in enumerate(marks) if s and (i == 0 or marks[i - 1][1] != s)]
    for (at, stage), (until, _) in zip(entered, [*entered[1:], (end, None)], strict=True):
        times[stage] = times.get(stage, 0.0) + until - at
    return times


async def ours(source: Path, folder: Path) -> tuple[float, float, dict[str, Any], Path, dict]:
    """prep through a worker: (claim → completed, worker start → completed, result, output,
    seconds per stage)."""
    from files import get_storage, reset_storage
    from stores import JobStatus, LocalJobStore
    from supervisor import WorkerConfig, open_supervisor
    from supervisor.reference import JOB_TYPES

    os.environ["SUPERVISOR_STORAGE_URL"] = f"file://{folder}/files"
    os.environ["SUPERVISOR_SCRATCH_DIR"] = str(folder / "scratch")
    reset_storage()
    storage = get_storage()
    await storage.upload_file("uploads/in/recording.wav", source, content_type="audio/wav")
    jobs = LocalJobStore(folder / "jobs.db")
    job = await jobs.create("prep", {"input": "uploads/in/recording.wav"})
    marks: list[tuple[float, str | None]] = []
    update = jobs.update

    async def recording(lease: Any, *, stage: Any, progress: Any, **more: Any) -> Any:
        marks.append((time.perf_counter(), stage))
        return await update(lease, stage=stage, progress=progress, **more)

    jobs.update = recording  # type: ignore[method-assign]
    config = WorkerConfig(poll_interval=0.02, heartbeat_interval=1, stale_after=30)
    started = time.perf_counter()
    async with open_supervisor(jobs, JOB_TYPES, config):
        while (row := await jobs.get(job.id)) and not row.status.terminal:
            await trio.sleep(0.005)
        ended = time.perf_counter()
    assert row is not None, row
    assert row.status is JobStatus.COMPLETED, row
    assert row.started_at is not None
    assert row.finished_at is not None
    jobs.close()
    (output,) = row.result["outputs"]
    out = folder / "ours.mp3"
    await storage.download_file(output["key"], out)
    return (
        row.finished_at - row.started_at,
        ended - started,
        row.result,
        out,
        stage_times(marks, ended),
    )


STAGES = ("downloading", "analyzing", "normalizing", "encoding", "uploading")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each 10-minute case")
    parser.add_argument("--short-runs", type=int, default=7, help="runs of the short case")
    parser.add_argument("--only", choices=("music", "speech", "short"), action="append")
    args = parser.parse_args()
    began = time.perf_counter()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (seconds, graph) in RECORDINGS.items():
            if args.only and name.split("-")[0].split()[0] not in args.only:
                continue
            source = Path(tmp) / f"{seconds}.wav"
            make(source, seconds, graph)
            runs = args.short_runs if seconds < 60 else args.runs
            theirs, mine, whole, stages = [], [], [], []
            cpu_theirs, cpu_mine = [], []
            for i in range(runs):  # alternate, so that the machine's state favours neither
                folder = Path(tmp) / f"run-{name[:5]}-{i}"
                folder.mkdir()
                cpu = children_cpu()
                theirs.append(peer(source, folder / "peer.mp3"))
                cpu_theirs.append(children_cpu() - cpu)
                cpu, own = children_cpu(), time.process_time()
                claim, start, result, out, times = trio.run(ours, source, folder)
                cpu_mine.append(children_cpu() - cpu)
                own = time.process_time() - own
                mine.append(claim)
                whole.append(start)
                stages.append(times)
                print(
                    f"  {name} run {i + 1}: peer {theirs[-1]:.2f} s, prep {claim:.2f} s "
                    f"({claim / theirs[-1]:.2f}x); CPU: peer {cpu_theirs[-1]:.2f} s, prep's "
                    f"ffmpeg {cpu_mine[-1]:.2f} s ({cpu_mine[-1] / cpu_theirs[-1]:.2f}x), this "
                    f"process (worker, benchmark's polling) {own:.2f} s; "
                    f"load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
            peer_lufs, peer_tp = meter(folder / "peer.mp3")
            our_lufs, our_tp = meter(out)
            ratio = statistics.median(mine) / statistics.median(theirs)
            norm = result["normalization"]
            before, after = result["loudness_before"], result["loudness_after"]
            per_stage = {s: statistics.median(t.get(s, 0.0) for t in stages) for s in STAGES}
            rows.append(
                (
                    name,
                    statistics.median(theirs),
                    statistics.median(mine),
                    statistics.median(whole),
                    ratio,
                    peer_lufs,
                    peer_tp,
                    our_lufs,
                    our_tp,
                    norm["method"],
                )
            )
            print(
                f"  {name}: {norm['method']} (gain {norm['gain_db']:+.2f} dB, make-up "
                f"{norm['makeup_db']:+.2f} dB, ceiling {norm['ceiling_dbtp']}, reason: "
                f"{norm['reason']}); before {before['integrated_lufs']} LUFS, sample peak "
                f"{before['sample_peak_dbfs']} dBFS; after (prep's own meter) "
                f"{after['integrated_lufs']} LUFS, {after['true_peak_dbtp']} dBTP",
                flush=True,
            )
            each = ", ".join(f"{m / t:.2f}" for m, t in zip(mine, theirs, strict=True))
            print(
                "  stages (median s): "
                + ", ".join(f"{s} {per_stage[s]:.2f}" for s in STAGES)
                + f"; ratio of each run {each}",
                flush=True,
            )
    print(f"target {TARGET} LUFS, true peak at most {LIMIT} dBTP, MP3 192k; medians")
    print(
        f"{'recording':<20} {'peer s':>7} {'prep s':>7} {'+start':>7} {'ratio':>6} "
        f"{'peer LUFS':>9} {'peer TP':>7} {'prep LUFS':>9} {'prep TP':>7}  method"
    )
    for n, ts, ms, ws, r, pl, pt, ol, ot, method in rows:
        print(
            f"{n:<20} {ts:7.2f} {ms:7.2f} {ws:7.2f} {r:6.2f} "
            f"{pl:9.2f} {pt:7.2f} {ol:9.2f} {ot:7.2f}  {method}"
        )
    print(
        f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"the whole run took {time.perf_counter() - began:.0f} s"
    )


if __name__ == "__main__":
    main()
