"""Worker processes for the multi-process tests: `python -m supervisor run` for real."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from .conftest import REPO


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
