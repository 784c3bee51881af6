"""The sentinel: a tiny separate process that kills a job's child when the worker goes
silent, even if the worker itself is frozen (SIGSTOP, a stuck driver, a paused VM).

Why a process: the heartbeat's self-fencing runs inside the worker, so it cannot act while
the worker is paused; meanwhile another worker may reap the job and start it again. The
sentinel hears a beat after every write that proved the lease still held; when beats stop
for ``sentinel_after`` seconds (``stale_after`` less a heartbeat interval: later than the
worker's own self-fencing, which it only backs up), it SIGKILLs the armed process groups,
before any other worker may claim the job.
It also kills them at once when the worker dies (end of its input), and lives in its own
session so a signal to the worker's process group does not pause it too.

Protocol on stdin, one line each: ``arm PGID SECONDS``, ``beat``, ``disarm PGID``.
"""

# This file also runs as a script (the sentinel process): standard library imports only.
from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time

__all__ = ["Sentinel"]


class Sentinel:
    """The worker's handle on its sentinel process."""

    def __init__(self) -> None:
        # Run as a plain script: it needs only the standard library, and starts fast.
        self._proc = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Sentinel pid={self._proc.pid}>"

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _send(self, line: str) -> None:
        assert self._proc.stdin is not None
        with self._lock, contextlib.suppress(BrokenPipeError, ValueError):
            self._proc.stdin.write(line.encode() + b"\n")
            self._proc.stdin.flush()

    def arm(self, pgid: int, seconds: float) -> None:
        self._send(f"arm {pgid} {seconds}")

    def beat(self) -> None:
        self._send("beat")

    def disarm(self, pgid: int) -> None:
        self._send(f"disarm {pgid}")

    def close(self) -> None:
        """End the sentinel (disarm everything first: closing its input kills armed groups)."""
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def _kill(pgid: int, why: str) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
        print(f"sentinel: killed process group {pgid}: {why}", file=sys.stderr, flush=True)


def _main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides; we follow its input
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    armed: dict[int, float] = {}  # pgid -> fence_after
    last_beat = time.monotonic()
    fd = sys.stdin.fileno()
    buffer = b""
    while True:
        now = time.monotonic()
        deadline = min((last_beat + s for s in armed.values()), default=None)
        if deadline is not None and now >= deadline:
            for pgid in list(armed):
                _kill(pgid, f"no beat from the worker for {now - last_beat:.1f} s")
            armed.clear()
            continue
        timeout = None if deadline is None else deadline - now
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:  # the worker is gone: its children go with it
            for pgid in armed:
                _kill(pgid, "the worker exited")
            return
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            parts = raw.decode().split()
            if parts == ["beat"]:
                last_beat = time.monotonic()
            elif len(parts) == 3 and parts[0] == "arm":
                armed[int(parts[1])] = float(parts[2])
                last_beat = time.monotonic()
            elif len(parts) == 2 and parts[0] == "disarm":
                armed.pop(int(parts[1]), None)


if __name__ == "__main__":
    _main()
