"""The soak's job child: a real process that sleeps in small steps and prints its progress.

Started by the soak's handler (``benchmarks/soak_jobs.py``) through ``ctx.open_child``, so
it is exactly what a worker guards (sentinel, process group, parent-death signal).

It is also the double-run detector. At start it takes an exclusive, non-blocking ``flock``
on its job's lock file. The kernel drops the lock when the process dies, however it dies
(exit, SIGTERM, SIGKILL by the worker, the sentinel or the parent-death signal), so
failing to take it proves that another child of the same job is alive at this moment: it
logs a ``violation`` line naming the holder (whose pid and lease it wrote into the file).
It logs ``start`` once it holds the lock and ``end`` while it still holds it (on exit and
on SIGTERM; a SIGKILL leaves no end line, the lock is the proof there).

Log lines are JSON objects appended with one ``write`` on an ``O_APPEND`` file, so lines of
concurrent children never interleave.

    soak_child.py LOG LOCKDIR JOB_ID ATTEMPT LEASE SECONDS STEPS EXIT_CODE

Standard library only; run as ``python -I -S`` (fast start, no site packages).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import time
from typing import Any

MARKER = "soak_child.py"


def main(argv: list[str]) -> int:
    log_path, lock_dir, job, attempt, lease, seconds, steps, code = argv
    job_id, attempt_n, lease_n = int(job), int(attempt), int(lease)
    total, step_count, exit_code = float(seconds), max(1, int(steps)), int(code)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pid = os.getpid()

    def log(event: str, **extra: Any) -> None:
        line = {
            "event": event,
            "job": job_id,
            "attempt": attempt_n,
            "lease": lease_n,
            "pid": pid,
            "mono": time.monotonic(),
            "wall": time.time(),
            **extra,
        }
        os.write(log_fd, (json.dumps(line) + "\n").encode())

    lock_fd = os.open(os.path.join(lock_dir, f"job-{job_id}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        locked = True
    except BlockingIOError:
        locked = False
    if locked:
        os.ftruncate(lock_fd, 0)
        os.pwrite(lock_fd, f"{pid} {lease_n} {attempt_n}".encode(), 0)
    else:
        holder = os.pread(lock_fd, 64, 0).decode(errors="replace").split()
        log("violation", kind="overlap", holder=holder)
    log("start", locked=locked)

    def on_term(signum: int, _frame: object) -> None:
        log("end", how="sigterm")
        signal.signal(signum, signal.SIG_DFL)
        os.kill(pid, signum)  # die by the signal, as the worker expects

    signal.signal(signal.SIGTERM, on_term)
    for step in range(1, step_count + 1):
        time.sleep(total / step_count)
        try:
            print(f"progress {100.0 * step / step_count:.1f}", flush=True)
        except BrokenPipeError:
            pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the end line must not be torn
    log("end", how="exit", code=exit_code)
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
