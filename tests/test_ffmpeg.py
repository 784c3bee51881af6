"""run_ffmpeg and the media reference jobs against the real ffmpeg, in a real worker."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio

from actors import JobContext, JobType, header_duration, probe_duration, run_ffmpeg
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


async def bad_size(ctx: JobContext, payload: Any) -> None:
    """Real ffmpeg refusing its arguments: a frame size that is not one."""
    args = ["-f", "lavfi", "-i", "testsrc=d=1", "-s", "nonsense", "-f", "null", "-"]
    await run_ffmpeg(ctx, args, stage="encoding")


async def realtime(ctx: JobContext, payload: Any) -> None:
    """A few seconds of real-time encoding, from a source whose tags ffmpeg prints."""
    args = ["-re", "-f", "lavfi", "-i", "sine=duration=4", "-metadata", "title=SECRET-TAG"]
    await run_ffmpeg(ctx, [*args, "-f", "mp3", "-"], stage="encoding", duration=4)


TYPES = [
    *JOB_TYPES,
    JobType("unknown", unknown_duration, stages=("encoding",)),
    JobType("dead", dead_input, stages=("encoding",), progress_watchdog=1.0),
    JobType("bad_size", bad_size, stages=("encoding",)),
    JobType("realtime", realtime, stages=("encoding",)),
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

    async def recording(lease: Any, *, stage: Any, progress: Any, **more: Any) -> Any:
        log.append((stage, progress))
        return await original(lease, stage=stage, progress=progress, **more)

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
            while view.stage is None:  # the stage is entered once ffmpeg's header is read
                await trio.sleep(0.01)
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


async def cancel(store: Any, job_id: int) -> float:
    """Cancel the job and wait for `cancelled`: the seconds it took."""
    requested = trio.current_time()
    await store.cancel(job_id)
    with trio.fail_after(10):
        await wait_for_status(store, job_id, JobStatus.CANCELLED)
    return trio.current_time() - requested


async def test_cancel_mid_ffmpeg_reaps_it_within_the_grace(store: Any) -> None:
    """Cancel during a long encode: ffmpeg is gone from the process table within the grace."""
    before = set(ffmpeg_processes())
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("tone", {"seconds": 120, "realtime": True})
        with trio.fail_after(20):
            while not (row := await store.get(job.id)).child_pid or not row.progress:
                await trio.sleep(0.05)
        assert row.child_pid in ffmpeg_processes()
        took = await cancel(store, job.id)
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


async def test_a_failing_ffmpeg_names_its_telling_line_and_keeps_its_tail(store: Any) -> None:
    """ffmpeg's first error (the cause, before its consequences) is the failure's detail,
    apart from the message; the log tail keeps its diagnostics, not what it read."""
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("bad_size")
        with trio.fail_after(20):
            failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    assert failed.error_detail == "Invalid frame size: nonsense."
    assert failed.error.startswith("ffmpeg failed (exit ")
    assert failed.log_tail is not None
    assert "Invalid frame size: nonsense." in failed.log_tail
    assert "Input #0" not in failed.log_tail


async def test_the_live_tail_shows_ffmpegs_statistics_while_it_runs(store: Any) -> None:
    """While ffmpeg runs, the job's log tail carries its latest statistics line (one, not
    one per report), written with the progress reports; the input's tags never appear."""
    tails: list[str] = []
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("realtime")
        with trio.fail_after(30):
            await wait_for_status(store, job.id, JobStatus.RUNNING)
            while (view := await store.poll(job.id)).status is JobStatus.RUNNING:
                if view.log_tail:
                    tails.append(view.log_tail)
                await trio.sleep(0.1)
    assert view.status is JobStatus.COMPLETED
    running = [t for t in tails if "time=" in t]
    assert running, tails
    assert all(t.count("time=") == 1 for t in tails), tails
    assert all("SECRET-TAG" not in t for t in tails)
    assert len(set(running)) >= 2, running  # it moved while the job ran


#: lavfi graphs of 6-second test recordings for prep (44.1 kHz, like a CD rip).
SPEECH_LIKE = (  # bursts of noise with sharp clicks: linear gain would clip
    "anoisesrc=color=white:amplitude=0.15:duration=6:sample_rate=44100:seed=7,lowpass=f=4000,"
    "volume='if(lt(mod(t,0.4),0.25),1,0.08)':eval=frame[s];"
    "aevalsrc='if(lt(mod(t\\,2.5)\\,0.001)\\,0.6*sin(2*PI*2500*t)\\,0)':s=44100:d=6[c];"
    "[s][c]amix=inputs=2:weights=1 1:normalize=0,pan=stereo|c0=c0|c1=c0"
)
MUSIC_LIKE = (  # pink noise and a tone, peaks well below the limit after the gain
    "anoisesrc=color=pink:amplitude=0.05:duration=6:sample_rate=44100:seed=7[n];"
    "sine=frequency=440:duration=6:sample_rate=44100[t];"
    "[n][t]amix=inputs=2:weights=1 0.05,pan=stereo|c0=c0|c1=c0"
)
#: A quiet tone with clicks of sample pairs (+a, +a, -a, -a, ...): with the gain its sample
#: peak stays under -1.5 dBFS but the signal between the samples (the true peak) goes over.
INTER_SAMPLE = (
    "aevalsrc='0.03*sin(2*PI*997*t)+0.07*(between(mod(n\\,22050)\\,100\\,101)"
    "-between(mod(n\\,22050)\\,102\\,103)+between(mod(n\\,22050)\\,104\\,105)"
    "-between(mod(n\\,22050)\\,106\\,107))':s=44100:d=6"
)


def recording(path: Path, graph: str) -> Path:
    subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-nostdin", "-filter_complex", graph, "-y", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def meter(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak of a file, by loudnorm's meter in a separate
    ffmpeg (not the ebur128 filter prep uses)."""
    result = subprocess.run(
        [
            *(ffmpeg_binary(), "-hide_banner", "-nostdin", "-i", str(path)),
            *("-af", "loudnorm=print_format=json", "-f", "null", "-"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    text = result.stderr
    found = json.loads(text[text.rindex("{") : text.rindex("}") + 1])
    return float(found["input_i"]), float(found["input_tp"])


async def run_prep(store: Any, source: Path) -> tuple[dict[str, Any], float, float]:
    """prep on ``source`` through a worker: its result and the output's own figures."""
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("prep", {"input": source.name})
        with trio.fail_after(90):
            done = await wait_for_status(store, job.id, JobStatus.COMPLETED)
    (output,) = done.result["outputs"]
    return done.result, *meter(stored(store, output["key"]))


async def test_prep_normalises_linearly_when_the_peaks_allow_it(
    store: Any, progress_log: ProgressLog, tmp_path: Path
) -> None:
    """A recording with room for the gain: one linear gain (no limiter, no make-up), the
    output on the target and under the true-peak limit, the result's own figures agreeing."""
    source = recording(tmp_path / "files" / "music.wav", MUSIC_LIKE)
    result, lufs, peak = await run_prep(store, source)
    assert result["normalization"]["method"] == "linear"
    assert result["normalization"]["makeup_db"] == 0
    assert abs(lufs - (-16)) <= 0.5
    assert peak <= -1.5
    after = result["loudness_after"]
    assert abs(after["integrated_lufs"] - lufs) <= 0.2
    assert after["true_peak_dbtp"] <= -1.5
    for stage in ("analyzing", "encoding"):  # real percentages, without a probe of the input
        values = [p for s, p in progress_log if s == stage]
        assert values[0] is not None
        assert values[-1] == 100


@pytest.mark.parametrize(
    "line, seconds",
    [
        ("Duration: 00:10:00.05, start: 0.000000, bitrate: 1411 kb/s", 600.05),
        ("Duration: 01:00:02.50, start: 0.025057, bitrate: 192 kb/s", 3602.5),
        ("Duration: N/A, start: 0.000000, bitrate: N/A", None),
        ("Duration        : 00:00:01.00", None),  # a tag named Duration
        ("comment         : Duration: 00:00:01.00, start: 0", None),  # a tag's value
    ],
)
def test_only_an_inputs_header_line_gives_the_duration(line: str, seconds: float | None) -> None:
    assert header_duration(line) == seconds


async def test_prep_limited_output_still_lands_on_the_target(store: Any, tmp_path: Path) -> None:
    """A recording whose linear gain would push the true peak over the limit is limited,
    and the loudness the limiter takes is made up: on the target within 0.3 LU by an
    independent meter (the bound is 0.5), true peak at or below -1.5 dBTP."""
    source = recording(tmp_path / "files" / "speech.wav", SPEECH_LIKE)
    result, lufs, peak = await run_prep(store, source)
    assert result["normalization"]["method"] == "limited"
    assert abs(lufs - (-16)) <= 0.5
    assert peak <= -1.5
    assert result["loudness_after"]["true_peak_dbtp"] <= -1.5
    assert result["normalization"]["makeup_db"] > 0


async def test_prep_gives_up_linear_gain_when_the_outputs_true_peak_goes_over(
    store: Any, progress_log: ProgressLog, tmp_path: Path
) -> None:
    """The sample peak allows the gain but the peaks between the samples do not: the linear
    encode is stopped when its output's true peak goes over, and the limited path says so."""
    source = recording(tmp_path / "files" / "clicks.wav", INTER_SAMPLE)
    result, lufs, peak = await run_prep(store, source)
    before = result["loudness_before"]
    assert before["sample_peak_dbfs"] + result["normalization"]["gain_db"] <= -1.5
    assert result["normalization"]["method"] == "limited"
    assert "output's true peak" in result["normalization"]["reason"]
    assert peak <= -1.5
    assert abs(lufs - (-16)) <= 0.5
    assert result["normalization"]["oversampled"]  # the limiter at 1x let them through too
    assert entered(progress_log) == [
        "downloading",
        "analyzing",
        "normalizing",  # the plan: linear
        "encoding",  # linear, abandoned
        "normalizing",  # the limiter's make-up, at the signal's rate
        "encoding",  # abandoned too
        "normalizing",  # the make-up of the oversampled limiter
        "encoding",
        "uploading",
    ]


def entered(log: list[tuple[str | None, float | None]]) -> list[str | None]:
    """The stages in the order they were entered (a stage entered again counts again)."""
    return [stage for i, (stage, _) in enumerate(log) if i == 0 or log[i - 1][0] != stage]


async def test_cancelling_prep_mid_encode_leaves_no_ffmpeg(store: Any, tmp_path: Path) -> None:
    """Cancel prep while it encodes (the encoder, the loopback decoder and the meter in one
    ffmpeg): `cancelled` only once that ffmpeg is gone, within the kill grace."""
    long = MUSIC_LIKE.replace("duration=6", "duration=300")
    source = recording(tmp_path / "files" / "long.wav", long)
    async with open_supervisor(store, TYPES, WorkerConfig(**CONFIG)):
        job = await store.create("prep", {"input": source.name})
        with trio.fail_after(60):
            while not ((row := await store.get(job.id)).stage == "encoding" and row.child_pid):
                await trio.sleep(0.02)
        assert row.child_pid in ffmpeg_processes()
        took = await cancel(store, job.id)
    assert took < CONFIG["heartbeat_interval"] + CONFIG["kill_grace"] + 1
    assert not pid_alive(row.child_pid)
