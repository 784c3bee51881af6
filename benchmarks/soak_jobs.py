"""Job types for the soak (``benchmarks/soak.py``): every run starts real child processes.

A worker serves them with ``--handlers soak_jobs`` (``benchmarks`` on ``PYTHONPATH``) and
needs ``SOAK_DIR`` in its environment: the folder holding the child log (``children.log``)
and the per-job lock files (``locks/``) of ``benchmarks/soak_child.py``.

Payload: ``{"seq": N, "runs": [[seconds, steps], ...], "fail": MODE}``. Each entry of
``runs`` is one child, run one after the other (stage ``probe`` for the first of several,
``work`` for the others); the handler follows each child's progress lines. ``fail``:

* ``none``: every child exits 0; the job completes;
* ``transient_once``: on attempt 1 the last child exits 75 (a transient failure, retried);
* ``transient``: the last child exits 75 on every attempt;
* ``permanent``: the last child exits 76 (a permanent failure, never retried).

A child that dies by a signal is a transient failure naming the signal.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from supervisor import JobContext, JobType, PermanentError, TransientError

__all__ = ["CHILD", "EXIT_PERMANENT", "EXIT_TRANSIENT", "JOB_TYPES"]

CHILD = Path(__file__).resolve().with_name("soak_child.py")
EXIT_TRANSIENT, EXIT_PERMANENT = 75, 76


def _exit_code(fail: str, attempt: int, last: bool) -> int:
    if not last:
        return 0
    if fail == "transient" or (fail == "transient_once" and attempt == 1):
        return EXIT_TRANSIENT
    if fail == "permanent":
        return EXIT_PERMANENT
    return 0


async def soak_job(ctx: JobContext, payload: Any) -> dict[str, Any]:
    soak_dir = Path(os.environ["SOAK_DIR"])
    runs = payload["runs"]
    fail = str(payload.get("fail", "none"))
    job = ctx.job
    statuses = []
    for index, (seconds, steps) in enumerate(runs):
        stage = "probe" if index == 0 and len(runs) > 1 else "work"
        await ctx.set_stage(stage, 0)
        code = _exit_code(fail, job.attempt, index == len(runs) - 1)
        argv = [
            sys.executable,
            "-I",
            "-S",
            str(CHILD),
            str(soak_dir / "children.log"),
            str(soak_dir / "locks"),
            str(job.id),
            str(job.attempt),
            str(ctx.lease.token),
            f"{float(seconds):g}",
            str(int(steps)),
            str(code),
        ]
        async with ctx.open_child(argv, capture_stdout=True, capture_stderr=False) as child:
            assert child.stdout is not None
            pending = b""
            while chunk := await child.stdout.receive_some(4096):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if line.startswith(b"progress "):
                        await ctx.set_progress(float(line[len(b"progress ") :]))
            status = await child.wait()
        if status == EXIT_TRANSIENT:
            raise TransientError("deliberate transient failure")
        if status == EXIT_PERMANENT:
            raise PermanentError("deliberate permanent failure")
        if status < 0:
            raise TransientError(f"child killed by signal {-status}")
        if status != 0:
            raise TransientError(f"child exited with status {status}")
        statuses.append(status)
    return {"children": len(statuses)}


JOB_TYPES: tuple[JobType, ...] = (
    JobType("soak", soak_job, stages=("probe", "work"), timeout=60, max_attempts=2),
    # Children longer than this timeout: the timeout path (child killed, transient failure).
    JobType("soak_timeout", soak_job, stages=("probe", "work"), timeout=1.5, max_attempts=2),
)
