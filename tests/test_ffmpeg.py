"""run_ffmpeg and the media reference jobs against the real ffmpeg, in a real worker."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio

from actors import JobContext, JobType, probe_duration, run_ffmpeg
from actors._ffmpeg import ffmpeg_binary
from media_jobs_testing.helpers import pid_alive, wait_for_status
from media_jobs_testing.media import loudness, make_audio
from stores import JobStatus, LocalJobStore
from supervisor import WorkerConfig, open_supervisor
from supervisor.reference import JOB_TYPES

pytestmark = pytest.mark.store(backends=("local",), clock="real")

CONFIG = dict(
    poll_interval=0.1, heartbeat_interval=0.2, stale_after=10, kill_grace=2, progress_interval=0.05
)


async def unknown_duration(ctx: JobContext, payload: Any) -> None:
    """lavfi input with no duration given: ffmpeg cannot know how long it will take."""
    await run_ffmpeg(
        ctx,
        ["-re", "-f", "lavfi", "-i", "sine=frequency=300:duration=2", "-f", "null", "-"],
        stage="encoding",
    )


async def dead_input(ctx: JobContext, payload: Any) -> None:
    """Reads a FIFO nobody writes to: alive, but no progress, ever."""
    await run_ffmpeg(
        ctx,
        ["-f", "s16le", "-i", payload["fifo"], "-f", "null", "-"],
        stage="encoding",
        duration=10,
    )


TYPES = [
    *JOB_TYPES,
    JobType("unknown", unknown_duration, stages=("encoding",)),
    JobType("dead", dead_input, stages=("encoding",), progress_watchdog=1.0),
]


@pytest.fixture(autouse=True)
def local_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The storage is a local folder: an input is a file put there, an output is read there."""
    monkeypatch.setenv("SUPERVISOR_STORAGE_URL", f"file://{tmp_path / 'files'}")
    monkeypatch.setenv("SUPERVISOR_SCRATCH_DIR", str(tmp_path / "scratch"))
    (tmp_path / "files").mkdir()


ProgressLog = list[tuple[str | None, float | None]]


@pytest.fixture
def progress_log(store: LocalJobStore, monkeypatch: pytest.MonkeyPatch) -> ProgressLog:
    """Every (stage, progress) the worker writes to ``store``, in order."""
    log: ProgressLog = []
    original = store.update

    async def recording(lease: Any, *, stage: Any, progress: Any) -> Any:
        log.append((stage, progress))
        return await original(lease, stage=stage, progress=progress)

    monkeypatch.setattr(store, "update", recording)
    return log


def ffmpeg_processes() -> list[int]:
    """Live processes running the ffmpeg binary (from the process table, /proc)."""
    binary = os.path.basename(ffmpeg_binary()).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv0 = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if os.path.basename(argv0) == binary and pid_alive(int(entry.name)):
                found.append(int(entry.name))
    return found


async def test_tone_progress_is_monotonic_and_reaches_100(
    store: Any, progress_log: ProgressLog
) -> None:
    """A real encode reports rising percentages from ffmpeg's own clock, ending at 100."""
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("tone", {"seconds": 2, "realtime": True})
        with trio.fail_after(20):
            done = await wait_for_status(store, job.id, JobStatus.COMPLETED)
    values = [p for stage, p in progress_log if stage == "encoding"]
    assert values[0] == 0
    assert values[-1] == 100
    assert values == sorted(values), values
    assert len(set(values)) >= 4, values
    (output,) = done.result["outputs"]
    assert (output["name"], output["content_type"]) == (f"tone-{job.id}.mp3", "audio/mpeg")
    assert stored(store, output["key"]).stat().st_size == output["size"] > 10_000
    assert abs(output["duration"] - 2) < 0.1


def stored(store: Any, key: str) -> Path:
    """The file of a stored object (the local storage folder is beside the database)."""
    return Path(store.path).parent / "files" / key


async def test_unknown_duration_is_indeterminate(store: Any, progress_log: ProgressLog) -> None:
    """Without a known duration progress stays None: shown as indeterminate, never made up."""
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("unknown")
        with trio.fail_after(20):
            await wait_for_status(store, job.id, JobStatus.RUNNING)
            view = await store.poll(job.id)
            while view.stage is None:
                view = await store.poll(job.id)
            assert view.indeterminate
            await wait_for_status(store, job.id, JobStatus.COMPLETED)
    assert {p for _, p in progress_log} == {None}


async def test_corrupt_input_fails_permanently_with_a_readable_reason(
    store: Any, tmp_path: Path
) -> None:
    """A file that is not media fails at once, permanent, saying so."""
    bad = tmp_path / "files" / "bad.wav"
    bad.write_bytes(b"this is not audio" * 100)
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("prep", {"input": bad.name})
        with trio.fail_after(20):
            failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert failed.error_kind == "permanent"
    assert failed.attempt == 1
    assert "not a media file" in failed.error or "Invalid data" in failed.error


async def test_missing_input_fails_permanently(store: Any, tmp_path: Path) -> None:
    """A missing input is permanent, with the path in the reason."""
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("prep", {"input": "nope.wav"})
        with trio.fail_after(20):
            failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert failed.error == "input not found: nope.wav"


async def test_cancel_mid_ffmpeg_reaps_it_within_the_grace(store: Any) -> None:
    """Cancel during a long encode: ffmpeg is gone from the process table within the grace."""
    before = set(ffmpeg_processes())
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("tone", {"seconds": 120, "realtime": True})
        with trio.fail_after(20):
            while not (row := await store.get(job.id)).child_pid or not row.progress:
                await trio.sleep(0.05)
        assert row.child_pid in ffmpeg_processes()
        requested = trio.current_time()
        await store.cancel(job.id)
        with trio.fail_after(10):
            await wait_for_status(store, job.id, JobStatus.CANCELLED)
        took = trio.current_time() - requested
    assert took < CONFIG["heartbeat_interval"] + CONFIG["kill_grace"] + 1
    assert not pid_alive(row.child_pid)
    assert set(ffmpeg_processes()) <= before


async def test_progress_watchdog_stops_a_stuck_ffmpeg(store: Any, tmp_path: Path) -> None:
    """ffmpeg alive but silent (a dead input) is stopped and failed as transient `stalled`."""
    fifo = tmp_path / "dead.fifo"
    os.mkfifo(fifo)
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("dead", {"fifo": str(fifo)}, max_attempts=1)
        with trio.fail_after(20):
            failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert failed.error_kind == "stalled"
    assert failed.error.startswith("stalled: ffmpeg reported no progress for 1 s")
    assert not pid_alive(failed.child_pid)


async def test_prep_brings_loudness_to_the_target(
    store: Any, progress_log: ProgressLog, tmp_path: Path
) -> None:
    """prep measures (two-pass loudnorm), normalises and encodes: output near -16 LUFS."""
    quiet = make_audio(tmp_path / "files" / "quiet.wav", volume_db=-30, seconds=6)
    before = loudness(quiet)
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("prep", {"input": quiet.name})
        with trio.fail_after(60):
            done = await wait_for_status(store, job.id, JobStatus.COMPLETED)
    (output,) = done.result["outputs"]
    out = stored(store, output["key"])
    after = loudness(out)
    assert out.suffix == ".mp3"
    assert out.stat().st_size > 10_000
    assert abs(after - (-16)) < abs(before - (-16)), (before, after)
    assert abs(after - (-16)) < 2, (before, after)
    assert abs(done.result["output_lufs"] - after) < 0.5  # its own figure agrees
    assert abs(done.result["input_lufs"] - before) < 0.5
    stages = [stage for stage, _ in progress_log]
    order = ["downloading", "analyzing", "normalizing", "encoding", "uploading"]
    assert [stages.index(s) for s in order] == sorted(stages.index(s) for s in order)
    assert list((tmp_path / "scratch").iterdir()) == []


async def probe_only(ctx: JobContext, payload: Any) -> None:
    await probe_duration(payload["path"], ctx=ctx)


async def test_a_duration_probe_is_the_jobs_child_like_any_other(
    store: Any, tmp_path: Path
) -> None:
    """The probe run_ffmpeg makes is recorded on the row and stopped on cancel, like ffmpeg
    itself (so the sentinel guards it too)."""
    fifo = tmp_path / "never.pcm"
    os.mkfifo(fifo)  # ffmpeg waits on it forever: the probe stays alive
    types = [JobType("probe", probe_only)]
    async with open_supervisor(store, types, WorkerConfig(**CONFIG)):  # type: ignore[arg-type]
        job = await store.create("probe", {"path": str(fifo)})
        with trio.fail_after(10):
            while not ((row := await store.get(job.id)) and row.child_pid):
                await trio.sleep(0.02)
        with open(f"/proc/{row.child_pid}/cmdline", "rb") as cmdline:
            assert str(fifo).encode() in cmdline.read()
        await store.cancel(job.id)
        with trio.fail_after(10):
            await wait_for_status(store, job.id, JobStatus.CANCELLED)
    assert not pid_alive(row.child_pid)


async def copy_audio(ctx: JobContext, payload: Any) -> None:
    """Re-encodes the video and copies the audio: near the end ffmpeg's ``out_time`` steps
    back (the copied audio runs ahead of the video the encoder still holds)."""
    args = ["-stats_period", "0.05", "-i", payload["input"], "-c:v", "libx264", "-c:a", "copy"]
    await run_ffmpeg(ctx, [*args, "-y", payload["output"]], stage="encoding")


async def test_progress_never_steps_back_when_ffmpegs_clock_does(
    store: Any, progress_log: ProgressLog, tmp_path: Path
) -> None:
    """A real encode whose own clock goes back (``-c:a copy``) still reports a progress
    that only rises, to 100."""
    source = tmp_path / "clip.mp4"
    make = ["-f", "lavfi", "-i", "testsrc=duration=10:size=320x240:rate=25"]
    make += ["-f", "lavfi", "-i", "sine=duration=10", "-c:v", "mpeg4", "-c:a", "aac"]
    subprocess.run([ffmpeg_binary(), "-loglevel", "error", *make, str(source)], check=True)
    types = [JobType("copy", copy_audio, stages=("encoding",))]
    payload = {"input": str(source), "output": str(tmp_path / "out.mp4")}
    async with open_supervisor(store, types, WorkerConfig(**{**CONFIG, "progress_interval": 0.01})):
        job = await store.create("copy", payload)
        with trio.fail_after(60):
            await wait_for_status(store, job.id, JobStatus.COMPLETED)
    values = [p for stage, p in progress_log if stage == "encoding"]
    assert values == sorted(values), values
    assert values[-1] == 100
