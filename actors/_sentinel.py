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

A beat carries the time (the system's monotonic clock, shared by all processes) at which
the confirming write was *sent*; arming carries the last such time. Arming is not a beat:
a child started for the next stage is killed as late as the lease allows, no later.

Protocol on stdin, one line each: ``arm PGID SECONDS STAMP``, ``beat STAMP``,
``disarm PGID``.
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


def _child_environ() -> dict[str, str]:
    # Imported here, not at the top: as a script this file may import only the standard
    # library. The list of secrets lives with the store, whose helper process needs it too.
    from stores._secrets import child_environ

    return child_environ()


class Sentinel:
    """The worker's handle on its sentinel process.

    It heals itself: if the process died (killed by someone, out of memory), the next
    message starts a new one and arms it again with every group still armed, and
    ``restarts`` counts it. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[int, float] = {}  # pgid -> seconds, to arm a replacement
        self._stamp = time.monotonic()  # the last beat's stamp
        self.restarts = 0
        self._closed = False
        self._proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Run as a plain script: it needs only the standard library, and starts fast.
        return subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            start_new_session=True,
            env=_child_environ(),
        )

    def __repr__(self) -> str:
        return f"<Sentinel pid={self._proc.pid} armed={len(self._armed)}>"

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def _send(self, line: str) -> bool:
        """Send ``line``; returns whether a live sentinel got it."""
        with self._lock:
            if self._write(line):
                return True
            if self._closed:
                return False
            # Its input is closed: dead or dying (a broken pipe can come before it is a
            # zombie). A replacement takes over every armed group, as of the last beat.
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            self._proc.wait()
            self._proc = self._spawn()
            self.restarts += 1
            for pgid, seconds in self._armed.items():
                self._write(f"arm {pgid} {seconds} {self._stamp}")
            return self._write(line)

    def _write(self, line: str) -> bool:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(line.encode() + b"\n")
            stdin.flush()
        except (BrokenPipeError, ValueError):
            return False
        return True

    def arm(self, pgid: int, seconds: float) -> bool:
        """Guard ``pgid``: SIGKILL it once no beat came for ``seconds`` (counted from the
        last beat, not from now). Returns whether a live sentinel took it."""
        self._armed[pgid] = seconds
        return self._send(f"arm {pgid} {seconds} {self._stamp}")

    def beat(self, stamp: float | None = None) -> None:
        """The lease was confirmed by a write sent at ``stamp`` (``time.monotonic()``;
        default: now)."""
        self._stamp = max(self._stamp, time.monotonic() if stamp is None else stamp)
        if self._armed:  # with nothing armed the stamp travels with the next arm
            self._send(f"beat {self._stamp}")

    def disarm(self, pgid: int) -> None:
        self._armed.pop(pgid, None)
        self._send(f"disarm {pgid}")

    def check(self) -> None:
        """Replace the process now if it died (the heartbeat calls this every beat)."""
        if not self.alive:
            self._send(f"beat {self._stamp}")

    def close(self) -> None:
        """End the sentinel (disarm everything first: closing its input kills armed groups)."""
        self._closed = True
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
    armed: dict[int, float] = {}  # pgid -> seconds of silence allowed
    last_beat = 0.0  # the worker's stamps (monotonic, system-wide) say when it was confirmed
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
            if len(parts) == 2 and parts[0] == "beat":
                last_beat = max(last_beat, float(parts[1]))
            elif len(parts) == 4 and parts[0] == "arm":
                armed[int(parts[1])] = float(parts[2])
                last_beat = max(last_beat, float(parts[3]))
            elif len(parts) == 2 and parts[0] == "disarm":
                armed.pop(int(parts[1]), None)


if __name__ == "__main__":
    _main()
