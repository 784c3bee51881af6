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


async def ours(source: Path, folder: Path) -> tuple[float, float, dict[str, Any], Path]:
    """prep through a worker: (claim → completed, worker start → completed, result, output)."""
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
    return row.finished_at - row.started_at, ended - started, row.result, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs of each 10-minute case")
    parser.add_argument("--short-runs", type=int, default=5, help="runs of the short case")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (seconds, graph) in RECORDINGS.items():
            source = Path(tmp) / f"{seconds}.wav"
            make(source, seconds, graph)
            runs = args.short_runs if seconds < 60 else args.runs
            theirs, mine, whole = [], [], []
            for i in range(runs):  # alternate, so that the machine's state favours neither
                folder = Path(tmp) / f"run-{name[:5]}-{i}"
                folder.mkdir()
                theirs.append(peer(source, folder / "peer.mp3"))
                claim, start, result, out = trio.run(ours, source, folder)
                mine.append(claim)
                whole.append(start)
            peer_lufs, peer_tp = meter(folder / "peer.mp3")
            our_lufs, our_tp = meter(out)
            ratio = statistics.median(mine) / statistics.median(theirs)
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
                    result["normalization"]["method"],
                )
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


if __name__ == "__main__":
    main()
