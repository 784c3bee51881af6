"""`submit TYPE --file PATH` and `fetch ID [-o PATH]` through the real CLI and a real worker
process, on both storage backends; the worker and the CLI share only the database and the
storage (each has its own working directory and scratch folder, as on Render)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from media_jobs_testing.media import loudness, make_audio
from media_jobs_testing.seaweed import SeaweedServer
from media_jobs_testing.workers import timings, worker_env


@pytest.fixture(params=["local", "s3"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment the CLI and the worker share: the database and the storage."""
    shared = {"JOBS_DB_PATH": str(tmp_path / "jobs.db")}
    if request.param == "s3":
        server: SeaweedServer = request.getfixturevalue("seaweed")
        return worker_env(**shared, **server.env(f"t-{uuid.uuid4().hex[:10]}"))
    return worker_env(**shared, SUPERVISOR_STORAGE_URL=f"file://{tmp_path / 'files'}")


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supervisor", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    home = tmp_path / "worker"
    home.mkdir()
    with open(tmp_path / "worker.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", *timings(stale_after=10)],
            env={**env, "SUPERVISOR_SCRATCH_DIR": str(home / "scratch")},
            cwd=home,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
    yield proc
    proc.terminate()
    proc.wait(30)


def test_submit_a_file_then_fetch_the_output(
    env: dict[str, str], worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    """`submit prep --file` uploads then submits; `watch` follows it; `fetch -o` writes
    the output, whose SHA-256 is the result's and whose loudness is near the target."""
    here = tmp_path / "laptop"
    here.mkdir()
    take = make_audio(here / "take.wav", seconds=4, volume_db=-30)
    submitted = cli(env, here, "submit", "prep", "--file", "take.wav")
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    watched = cli(env, here, "watch", job_id, "--interval", "0.2")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    view = json.loads(cli(env, here, "status", job_id, "--json").stdout)
    assert view["result"]["input"].endswith("/take.wav")
    fetched = cli(env, here, "fetch", job_id, "-o", "clean.mp3")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.strip() == "clean.mp3"
    data = (here / "clean.mp3").read_bytes()
    assert hashlib.sha256(data).hexdigest() == view["result"]["outputs"][0]["sha256"]
    assert abs(loudness(here / "clean.mp3") + 16) < 1.5
    assert loudness(take) < -40
    again = cli(env, here, "fetch", job_id)  # into the working directory, by its name
    assert again.stdout.strip() == f"prep-{job_id}.mp3"
    assert (here / f"prep-{job_id}.mp3").read_bytes() == data


def test_transfer_errors_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    """A missing --file, or a job with no outputs: one line on stderr, exit 2."""
    missing = cli(env, tmp_path, "submit", "prep", "--file", "nope.wav")
    assert missing.returncode == 2
    assert missing.stderr == "supervisor: --file nope.wav: no such file\n"
    job_id = cli(env, tmp_path, "submit", "tone").stdout.strip()
    empty = cli(env, tmp_path, "fetch", job_id)
    assert empty.returncode == 2
    assert empty.stderr == f"supervisor: job {job_id} has no outputs (it is pending)\n"


def test_refused_credentials_are_named_never_shown(seaweed: SeaweedServer, tmp_path: Path) -> None:
    """A wrong secret: exit 2 naming the variables to check; the secret is not printed."""
    wrong = "WRONG-" + uuid.uuid4().hex
    env = worker_env(
        JOBS_DB_PATH=str(tmp_path / "jobs.db"),
        **{**seaweed.env("x"), "AWS_SECRET_ACCESS_KEY": wrong},
    )
    make_audio(tmp_path / "a.wav", seconds=0.5)
    result = cli(env, tmp_path, "submit", "prep", "--file", "a.wav")
    assert result.returncode == 2
    assert "AWS_SECRET_ACCESS_KEY" in result.stderr
    assert wrong not in result.stderr + result.stdout
