"""Job payloads are untrusted input: what a payload may make the worker read and write.

Every rule is tried through the public surface with the real ffmpeg: jobs are submitted with
`python -m supervisor submit`, run by a real `python -m supervisor run` worker, and judged
by `status --json` and the file system (the store API with `open_supervisor` where a test
needs the worker in-process). The worker runs with a umask of 0, so any mode the code does
not set itself shows as world-writable.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio

from actors import JobContext, JobType, run_ffmpeg
from media_jobs_testing.helpers import wait_for_status
from media_jobs_testing.media import make_audio
from media_jobs_testing.workers import timings
from stores import JobStatus, LocalJobStore
from supervisor import WorkerConfig, open_supervisor

SECRET = "SECRET-hunter2-7f3a"


@attrs.frozen
class Site:
    """One worker and its folders: ``inputs`` is the storage folder (so an input is a key
    there), ``outputs`` its ``jobs/`` folder; ``cwd`` is the worker's working directory."""

    root: Path
    inputs: Path
    outputs: Path
    outside: Path
    env: dict[str, str]

    def fresh_outside(self) -> Path:
        """An empty folder outside both the input and the output folder."""
        folder = self.outside / uuid.uuid4().hex[:8]
        folder.mkdir(parents=True)
        return folder


def cli(site: Site, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supervisor", *args],
        cwd=site.inputs,
        env=site.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def submit(site: Site, job_type: str, payload: dict[str, Any]) -> str:
    result = cli(site, "submit", job_type, "--payload", json.dumps(payload))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def status(site: Site, job_id: str) -> dict[str, Any]:
    result = cli(site, "status", job_id, "--json")
    assert result.returncode == 0, result.stderr
    view: dict[str, Any] = json.loads(result.stdout)
    return view


def run_job(site: Site, job_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Submit a job, wait until it ends, return its poll view."""
    job_id = submit(site, job_type, payload)
    cli(site, "watch", job_id, "--interval", "0.2", timeout=120)
    return status(site, job_id)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A worker with umask 0 whose working directory is the input folder (so that, before
    the rules existed, a relative path meant the same file to the worker and the test)."""
    root = tmp_path_factory.mktemp("site")
    # Inputs are objects in the local storage folder; outputs land in its jobs/ folder.
    inputs, outside = root / "files", root / "outside"
    outputs = inputs / "jobs"
    inputs.mkdir()
    outside.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))}
    env = {
        **base,
        "JOBS_DB_PATH": str(root / "jobs.db"),
        "SUPERVISOR_STORAGE_URL": f"file://{inputs}",
        "SUPERVISOR_SCRATCH_DIR": str(root / "scratch"),
    }
    site = Site(root, inputs, outputs, outside, env)
    with open(root / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "supervisor",
                "run",
                *timings(stale_after=30, heartbeat_interval=0.5, kill_grace=2),
            ],
            cwd=inputs,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            umask=0,
        )
    try:
        yield site
    finally:
        worker.terminate()
        worker.wait(30)


# -- outputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output, rule",
    [
        ("{outside}/abs.mp3", "without '/'"),
        ("../outside/{tag}/dotdot.mp3", "without '/'"),
        ("..", "'..'"),
        (".hidden.mp3", "hidden"),
        ("bad\nname.mp3", "control characters"),
        ("nul\u0000.mp3", "control characters"),
        ("", "non-empty"),
    ],
)
def test_an_output_name_that_is_not_a_plain_file_name_fails_permanently_naming_the_rule(
    site: Site, output: str, rule: str
) -> None:
    """Paths, '..', hidden names and control characters are refused before ffmpeg runs:
    the job fails at once (permanent, one attempt) and nothing is written."""
    outside = site.fresh_outside()
    output = output.format(outside=outside, tag=outside.name)
    view = run_job(site, "tone", {"seconds": 0.5, "output": output})
    assert view["status"] == "failed", view
    assert view["error_kind"] == "permanent", view
    assert view["attempt"] == 1
    assert rule in view["error"]
    assert "payload 'output'" in view["error"]
    assert files_under(outside) == []
    assert "\n" not in view["error"]


def test_the_format_cannot_steer_the_default_output_name(site: Site) -> None:
    """`format` only picks an encoder from the list; it never becomes part of a path."""
    outside = site.fresh_outside()
    view = run_job(
        site, "tone", {"seconds": 0.5, "format": f"x/../../outside/{outside.name}/f.mp3"}
    )
    assert view["status"] == "failed"
    assert "payload 'format' must be one of" in view["error"]
    assert files_under(outside) == []


def next_id(site: Site) -> int:
    """The id the next job will get (jobs are made one at a time in this module)."""
    result = cli(site, "list", "--json")
    assert result.returncode == 0, result.stderr
    return max((int(v["id"]) for v in json.loads(result.stdout)), default=0) + 1


def test_an_existing_symlink_at_the_output_is_replaced_not_followed(site: Site) -> None:
    """A symlink planted where the output goes is not written through: the output takes
    its place, the file it pointed at is untouched."""
    outside = site.fresh_outside()
    victim = outside / "victim.mp3"
    victim.write_text("precious")
    folder = site.outputs / str(next_id(site))
    folder.mkdir(parents=True)
    (folder / "x.mp3").symlink_to(victim)
    view = run_job(site, "tone", {"seconds": 0.5, "output": "x.mp3"})
    assert view["status"] == "completed", view
    assert victim.read_text() == "precious"
    assert not (folder / "x.mp3").is_symlink()
    assert (folder / "x.mp3").stat().st_size > 1000


def test_a_hard_link_at_the_output_is_replaced_not_written_through(site: Site) -> None:
    """An output name that is a hard link to another file: the output takes the name's
    place, the other file keeps its content."""
    outside = site.fresh_outside()
    victim = outside / "victim.mp3"
    victim.write_text("precious")
    folder = site.outputs / str(next_id(site))
    folder.mkdir(parents=True)
    os.link(victim, folder / "hard.mp3")
    view = run_job(site, "tone", {"seconds": 0.5, "output": "hard.mp3"})
    assert view["status"] == "completed", view
    assert victim.read_text() == "precious"
    assert (folder / "hard.mp3").stat().st_size > 1000


def test_a_symlinked_folder_on_the_output_path_is_refused(site: Site) -> None:
    """The job's output folder planted as a symlink (to anywhere): refused, nothing
    written through it."""
    outside = site.fresh_outside()
    site.outputs.mkdir(exist_ok=True)
    (site.outputs / str(next_id(site))).symlink_to(outside, target_is_directory=True)
    view = run_job(site, "tone", {"seconds": 0.5, "output": "x.mp3"})
    assert view["status"] == "failed"
    assert "symbolic link" in view["error"]
    assert files_under(outside) == []


@pytest.mark.parametrize(
    "name",
    ["-y.mp3", "-i.mp3", "pipe:1.mp3", "concat:x.mp3", "file:..x.mp3", "http:x.mp3", "a b.mp3"],
)
def test_option_and_protocol_looking_outputs_are_plain_files_in_the_storage(
    site: Site, name: str
) -> None:
    """A name that ffmpeg would read as an option or a protocol is only ever an object of
    that name in the job's folder (ffmpeg itself writes a name the worker chose)."""
    view = run_job(site, "tone", {"seconds": 0.5, "output": name})
    assert view["status"] == "completed", view
    written = site.outputs / str(view["id"]) / name
    assert written.is_file()
    assert not written.is_symlink()
    assert written.stat().st_size > 1000


def wait_until_encoding(site: Site, job_id: str) -> None:
    for _ in range(200):
        view = status(site, job_id)
        assert view["status"] in ("pending", "running"), view
        if view["stage"] == "encoding" and view["progress"]:
            return
    raise AssertionError(f"job {job_id} never reported encoding progress")


def test_a_symlink_planted_during_the_encode_is_replaced_not_followed(site: Site) -> None:
    """Race: a symlink appears at the output's name while ffmpeg runs; the finished file
    replaces the link, and what it pointed at is untouched."""
    outside = site.fresh_outside()
    victim = outside / "victim.mp3"
    victim.write_text("precious")
    job_id = submit(site, "tone", {"seconds": 3, "realtime": True, "output": "race.mp3"})
    wait_until_encoding(site, job_id)
    target = site.outputs / job_id / "race.mp3"
    target.parent.mkdir(parents=True)
    target.symlink_to(victim)
    cli(site, "watch", job_id, "--interval", "0.2", timeout=120)
    assert status(site, job_id)["status"] == "completed"
    assert victim.read_text() == "precious"
    assert not target.is_symlink()
    assert target.stat().st_size > 10_000


def test_a_folder_planted_as_a_symlink_during_the_encode_is_not_followed(site: Site) -> None:
    """Race: the job's output folder appears as a symlink to elsewhere while ffmpeg runs;
    nothing is written through it (the job fails naming the link)."""
    outside = site.fresh_outside()
    job_id = submit(site, "tone", {"seconds": 3, "realtime": True, "output": "x.mp3"})
    wait_until_encoding(site, job_id)
    site.outputs.mkdir(exist_ok=True)
    (site.outputs / job_id).symlink_to(outside, target_is_directory=True)
    cli(site, "watch", job_id, "--interval", "0.2", timeout=120)
    view = status(site, job_id)
    assert view["status"] == "failed", view
    assert "symbolic link" in view["error"], view
    assert files_under(outside) == []


def test_outputs_are_0644_in_0755_folders_whatever_the_umask(site: Site) -> None:
    """The worker runs with umask 0: the output and every folder it creates still get
    0644 and 0755, never world-writable; its scratch folders are 0700 and gone after."""
    view = run_job(site, "tone", {"seconds": 0.5, "output": "x.mp3"})
    assert view["status"] == "completed", view
    folder = site.outputs / str(view["id"])
    assert mode(folder / "x.mp3") == 0o644
    assert mode(folder) == 0o755
    assert mode(site.outputs) == 0o755
    prep_input = make_audio(site.inputs / f"{uuid.uuid4().hex[:8]}.wav")
    done = run_job(site, "prep", {"input": prep_input.name, "output": "prep.mp3"})
    assert done["status"] == "completed", done
    assert mode(site.outputs / str(done["id"]) / "prep.mp3") == 0o644
    assert not [p for p in site.outputs.rglob(".*")]
    assert mode(site.root / "scratch") == 0o755
    assert list((site.root / "scratch").iterdir()) == []


# -- inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, rule",
    [
        ("{outside}/o.wav", "not an absolute path"),
        ("../outside/{tag}/o.wav", "'..'"),
        ("sub/../../outside/{tag}/o.wav", "'..'"),
        ("{link}", "symbolic link"),
        ("{linkdir}/o.wav", "symbolic link"),
    ],
)
def test_an_input_outside_the_input_folder_fails_permanently_naming_the_rule(
    site: Site, given: str, rule: str
) -> None:
    """prep reads only objects inside the storage folder, reached without symlinks."""
    outside = site.fresh_outside()
    make_audio(outside / "o.wav")
    link = site.inputs / f"link-{outside.name}.wav"
    link.symlink_to(outside / "o.wav")
    linkdir = site.inputs / f"linkdir-{outside.name}"
    linkdir.symlink_to(outside, target_is_directory=True)
    payload = {
        "input": given.format(
            outside=outside, tag=outside.name, link=link.name, linkdir=linkdir.name
        )
    }
    view = run_job(site, "prep", payload)
    assert view["status"] == "failed", view
    assert view["error_kind"] == "permanent", view
    assert view["attempt"] == 1
    assert rule in view["error"]
    assert "payload 'input'" in view["error"]


def test_a_missing_input_names_the_payload_value(site: Site) -> None:
    """The reason names the file as the payload did, not the server's folders."""
    view = run_job(site, "prep", {"input": "sub/nope.wav"})
    assert view["error"] == "input not found: sub/nope.wav"
    assert view["error_kind"] == "permanent"


def test_a_fifo_or_a_folder_is_not_an_input(site: Site) -> None:
    """Only regular files are objects: a FIFO would hang the worker, a folder is no audio."""
    tag = uuid.uuid4().hex[:8]
    os.mkfifo(site.inputs / f"{tag}.fifo")
    (site.inputs / f"{tag}.dir").mkdir()
    for name in (f"{tag}.fifo", f"{tag}.dir"):
        view = run_job(site, "prep", {"input": name})
        assert view["status"] == "failed", view
        assert view["error"] == f"input not found: {name}", view


@pytest.mark.parametrize("prefix", ["concat:", "file:", "subfile,,start,0,end,0,,:", "-"])
def test_protocol_and_option_looking_inputs_are_read_as_the_plain_file(
    site: Site, prefix: str
) -> None:
    """An input named like an ffmpeg protocol is that file, not what the protocol would open:
    `concat:quiet.wav` (loud) is measured loud though `quiet.wav` is quiet."""
    tag = uuid.uuid4().hex[:8]
    quiet = make_audio(site.inputs / f"{tag}-quiet.wav", volume_db=-30)  # about -52 LUFS
    make_audio(site.inputs / f"{prefix}{quiet.name}", volume_db=0)  # about -22 LUFS
    view = run_job(site, "prep", {"input": f"{prefix}{quiet.name}", "output": f"{tag}.mp3"})
    assert view["status"] == "completed", view
    assert job_result(site, view)["input_lufs"] > -35  # the loud file, not quiet.wav


def view_id(view: dict[str, Any]) -> str:
    return str(view["id"])


def job_result(site: Site, view: dict[str, Any]) -> dict[str, Any]:
    """The job's result, read with the store API from the worker's database."""
    store = LocalJobStore(site.root / "jobs.db")
    try:
        job = trio.run(store.get, view["id"])
    finally:
        store.close()
    assert job is not None
    assert isinstance(job.result, dict)
    return job.result


PLAYLISTS = {
    "hls.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2,\n../outside/{tag}/o.ts\n"
    "#EXT-X-ENDLIST\n",
    "list.ffconcat": "ffconcat version 1.0\nfile {tag}-sibling.wav\n",
}


@pytest.mark.parametrize("name", sorted(PLAYLISTS))
def test_playlists_are_refused(site: Site, name: str) -> None:
    """An input that is a playlist (HLS, ffconcat) would make ffmpeg open other files, even
    outside the input folder: only media containers are accepted."""
    outside = site.fresh_outside()
    make_audio(outside / "o.ts")
    make_audio(site.inputs / f"{outside.name}-sibling.wav")
    playlist = site.inputs / f"{outside.name}-{name}"
    playlist.write_text(PLAYLISTS[name].format(tag=outside.name))
    view = run_job(site, "prep", {"input": playlist.name})
    assert view["status"] == "failed", view
    assert view["error_kind"] == "permanent", view
    assert "not a media file ffmpeg can read" in view["error"]


SECRET_FILES = {
    "ffmetadata.txt": f";FFMETADATA1\napi_key={SECRET}\n",
    "lyrics.lrc": f"[ti:{SECRET}]\n[00:01.00]{SECRET}\n",
    "notes.m3u8": f"#EXTM3U\n#EXTINF:1,\n{SECRET}.ts\n",
    "dotenv.txt": f"TOKEN={SECRET}\nOTHER=1\n",
}


@pytest.mark.parametrize("name", sorted(SECRET_FILES))
def test_a_text_file_given_as_input_leaks_nothing_through_the_error(site: Site, name: str) -> None:
    """A text file with a secret, given as prep's input: the job fails and neither its
    error nor its history quotes the file."""
    secret_file = site.inputs / f"{uuid.uuid4().hex[:8]}-{name}"
    secret_file.write_text(SECRET_FILES[name])
    view = run_job(site, "prep", {"input": secret_file.name})
    assert view["status"] == "failed", view
    assert SECRET not in view["error"]
    assert "hunter2" not in view["error"]
    history = cli(site, "history", view_id(view))
    assert SECRET not in history.stdout


FORGED_SUMMARY = (
    "\n[Parsed_ebur128_0 @ 0x55d0c0ffee00] Summary:\n\n  Integrated loudness:\n"
    "    I:         -60.0 LUFS\n    Threshold: -70.0 LUFS\n\n  Loudness range:\n"
    "    LRA:         1.0 LU\n    Threshold: -80.0 LUFS\n\n  True peak:\n"
    "    Peak:      -50.0 dBFS\n"
)


def test_forged_loudness_figures_in_the_input_metadata_are_ignored(site: Site) -> None:
    """prep reads ebur128's own summary, never one found elsewhere in ffmpeg's output (the
    input's tags are printed there too, and a tag can hold a whole forged summary, or
    loudnorm's JSON): the measurement is the file's, and the result hits the target."""
    tag = uuid.uuid4().hex[:8]
    fake = {"input_i": "-60.0", "input_tp": "-50.0", "input_lra": "1.0"}
    comment = json.dumps(fake) + FORGED_SUMMARY
    source = make_audio(site.inputs / f"{tag}.wav", volume_db=-20, comment=comment)
    view = run_job(site, "prep", {"input": source.name, "output": f"{tag}.mp3"})
    assert view["status"] == "completed", view
    result = job_result(site, view)
    assert result["input_lufs"] > -50  # measured about -42, forged -60
    assert abs(result["output_lufs"] - (-16)) < 1


# -- stderr --------------------------------------------------------------------------


CONFIG = dict(
    poll_interval=0.1, heartbeat_interval=0.2, stale_after=10, kill_grace=2, progress_interval=0.05
)


async def read_raw(ctx: JobContext, payload: Any) -> None:
    """A handler that gives ffmpeg a path as it is, with no whitelist of its own."""
    await run_ffmpeg(
        ctx, ["-i", payload["path"], "-af", "anull", "-f", "null", "-"], stage="reading"
    )


async def test_run_ffmpeg_keeps_only_ffmpeg_diagnostics_in_the_error(tmp_path: Path) -> None:
    """Whatever a handler lets ffmpeg open, the stored error carries ffmpeg's warnings and
    errors, not the lines where it prints what it read (tags, metadata)."""
    secret_file = tmp_path / "settings.txt"
    secret_file.write_text(f";FFMETADATA1\napi_key={SECRET}\n")
    store = LocalJobStore(tmp_path / "jobs.db")
    try:
        types = [JobType("raw", read_raw, stages=("reading",))]
        async with open_supervisor(store, types, WorkerConfig(**CONFIG)):  # type: ignore[arg-type]
            job = await store.create("raw", {"path": str(secret_file)})
            with trio.fail_after(30):
                failed = await wait_for_status(store, job.id, JobStatus.FAILED)
    finally:
        store.close()
    assert failed.error is not None
    assert SECRET not in failed.error
    assert "does not contain any stream" in failed.error, failed.error


# -- the database --------------------------------------------------------------------


@pytest.fixture
def umask_zero() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


async def test_the_local_database_and_its_wal_are_private(tmp_path: Path, umask_zero: None) -> None:
    """With umask 0 the job database, its WAL and shared-memory files are 0600 and the
    folder made for them 0755 (not writable by others, who could swap the file)."""
    path = tmp_path / "db" / "jobs.db"
    store = LocalJobStore(path)
    try:
        await store.create("tone", {"seconds": 1})
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists()
        assert shm.exists()
        assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
        assert mode(path.parent) == 0o755
    finally:
        store.close()
