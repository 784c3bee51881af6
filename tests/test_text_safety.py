"""Job text never forges a log line nor reaches the operator's terminal as control codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from media_jobs_testing.helpers import REPO
from media_jobs_testing.workers import TIMINGS
from supervisor._text import printable

#: What the CLI may print for a person: no control, separator or bidi character but "\n".
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) \S+ ")
FORGED = "2026-12-03T14:00:00.000Z ERROR supervisor SUPERVISOR_API_TOKEN rotated"
#: A `fail` job's message: a forged log line, colours, a window title, a bidi override, C1.
EVIL = f"boom\n{FORGED}\r\n\x1b[31mRED\x1b[0m \x1b]0;owned\x07 \u202eevil\u2028 \x9b2J \x7f"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))},
        "JOBS_DB_PATH": str(tmp_path / "jobs.db"),
        "SUPERVISOR_OUTPUT_DIR": str(tmp_path / "out"),
        "PYTHONPATH": str(tmp_path),
        "PYTHONIOENCODING": "utf-8",
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supervisor", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_until(env: dict[str, str], job: str, status: str, log: Path, *args: str) -> None:
    """Run a worker (its log to ``log``) until ``job`` has ``status``, then stop it."""
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", *args, *TIMINGS],
            cwd=REPO,
            env=env,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 60
        while json.loads(cli(env, "status", job, "--json").stdout)["status"] != status:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(30)


@pytest.fixture
def failed(env: dict[str, str], tmp_path: Path) -> str:
    """The id of a `fail` job that failed with :data:`EVIL` as its message."""
    payload = json.dumps({"message": EVIL})
    job = cli(env, "submit", "fail", "--payload", payload).stdout.strip()
    run_until(env, job, "failed", tmp_path / "worker.log")
    return job


def test_a_job_message_cannot_forge_a_log_line(failed: str, tmp_path: Path) -> None:
    """Every line of a text log is one record: a line break or ESC in a job's error is
    written as its escape, inside the record that carries it."""
    log = (tmp_path / "worker.log").read_text()
    lines = log.splitlines()
    assert [line for line in lines if not LOG_LINE.match(line)] == []
    assert UNSAFE.findall(log) == []
    failure = next(line for line in lines if "job failed" in line)
    assert f"boom\\n{FORGED}\\r\\n\\x1b[31mRED" in failure
    assert f"job_id={failed}" in failure


def test_json_logs_keep_the_text_exact(env: dict[str, str], tmp_path: Path) -> None:
    """With SUPERVISOR_LOG_FORMAT=json the record holds the job's text exactly (the JSON
    encoder escapes line breaks, so each record is still one line)."""
    job = cli(env, "submit", "fail", "--payload", json.dumps({"message": EVIL})).stdout.strip()
    log = tmp_path / "worker.log"
    run_until({**env, "SUPERVISOR_LOG_FORMAT": "json"}, job, "failed", log)
    records = [json.loads(line) for line in log.read_text().split("\n") if line]
    failed = next(r for r in records if r["message"].startswith("job failed"))
    assert failed["message"] == f"job failed: {EVIL} (permanent)"


@pytest.mark.parametrize(
    "command", [["status"], ["list"], ["history"], ["watch"], ["status", "--json"]]
)
def test_job_text_reaches_the_terminal_escaped(
    env: dict[str, str], failed: str, command: list[str]
) -> None:
    """`status`, `list`, `history` and `watch` print a job's text with its control
    characters escaped; `--json` stays exact JSON (its encoder escapes them)."""
    name, *flags = command
    result = cli(env, name, *([] if name == "list" else [failed]), *flags)
    assert result.returncode in (0, 1), result.stderr
    shown = result.stdout + result.stderr
    if flags:
        assert json.loads(result.stdout)["error"] == EVIL
    else:
        assert UNSAFE.findall(shown) == []
        assert "\\x1b]0;owned\\x07 \\u202eevil\\u2028 \\x9b2J \\x7f" in shown


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x00\x1b\x7f", "\\x00\\x1b\\x7f"),
        ("\x85\x9b", "\\x85\\x9b"),
        ("\u2028\u2029", "\\u2028\\u2029"),
        ("\u202a\u202b\u202c\u202d\u202e", "\\u202a\\u202b\\u202c\\u202d\\u202e"),
        ("\u2066\u2069\u200e\u200f\u061c", "\\u2066\\u2069\\u200e\\u200f\\u061c"),
        ("\ud800", "\\ud800"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(raw: str, shown: str) -> None:
    """Controls (C0, DEL, C1), line and paragraph separators, bidi controls and lone
    surrogates are written as escapes."""
    assert printable(raw) == shown


def test_printable_keeps_ordinary_text() -> None:
    """Letters, accents, emoji (with their joiners), CJK and backslashes stay as they are."""
    text = "Café 日本語 👩\u200d💻 C:\\out\\a.mp3 -16 LUFS"
    assert printable(text) == text
