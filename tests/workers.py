"""Worker processes for the multi-process tests: `python -m supervisor run` for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

#: Short real-time timings: self-fence after 3 - 0.6 - 1 = 1.4 s, sentinel after 2.7 s.
TIMINGS = [
    "--poll-interval",
    "0.2",
    "--heartbeat-interval",
    "0.3",
    "--stale-after",
    "3",
    "--reaper-interval",
    "0.5",
    "--kill-grace",
    "1",
    "--shutdown-grace",
    "2",
]


class WorkerProcess:
    def __init__(
        self, name: str, env: dict[str, str], log_dir: Path, timings: list[str] = TIMINGS
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", "--worker-id", name, *timings],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
        self.proc.wait()

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
