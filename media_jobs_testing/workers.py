"""Worker processes for the multi-process tests: `python -m supervisor run` for real."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .helpers import REPO

#: The line `serve` and `run --http` log once they listen, with the URL.
LISTENING = re.compile(r"serving the API and dashboard on (http://\S+)")


def worker_env(**extra: str) -> dict[str, str]:
    """This process's environment without store or worker settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))}
    return {**env, **extra}


def timings(**overrides: float) -> list[str]:
    """`run` flags for short real-time timings; by default self-fencing after
    3 - 2 × 0.3 - 1 = 1.4 s and the sentinel after 2.7 s."""
    values = {
        "poll_interval": 0.2,
        "heartbeat_interval": 0.3,
        "stale_after": 3,
        "reaper_interval": 0.5,
        "kill_grace": 1,
        "shutdown_grace": 2,
        **overrides,
    }
    return [
        arg
        for name, value in values.items()
        for arg in (f"--{name.replace('_', '-')}", f"{value:g}")
    ]


TIMINGS = timings()


class WorkerProcess:
    def __init__(
        self,
        name: str,
        env: dict[str, str],
        log_dir: Path,
        timings: list[str] = TIMINGS,
        prefix: list[str] | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [
                *(prefix or []),
                sys.executable,
                "-m",
                "supervisor",
                "run",
                "--worker-id",
                name,
                *timings,
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            # Its own group: a prefix (faketime) forks the worker, so only killing the whole
            # group is sure to reach it (and the Turso helper it started).
            start_new_session=True,
        )
        log.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGCONT)
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def cli(
    env: dict[str, str], *args: str, timeout: float = 60, stdout: int | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; its output captured (``stdout``: a file descriptor to write to instead)."""
    return subprocess.run(
        [sys.executable, "-m", "supervisor", *args],
        cwd=env.get("CWD", REPO),
        env=env,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )


class Served:
    """A `serve` or `run --http` process on a free port; its URL comes from its log."""

    def __init__(self, env: dict[str, str], args: list[str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "supervisor", *args], cwd=REPO, env=env, stderr=out
            )
        deadline = time.monotonic() + 60
        while not (found := LISTENING.search(log.read_text())):
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        self.url = found.group(1)

    def request(
        self, path: str, body: bytes | None = None, token: str | None = None
    ) -> tuple[int, dict]:  # type: ignore[type-arg]
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)
