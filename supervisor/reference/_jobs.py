"""The reference job types a worker serves when no ``--handlers`` module is given.

They are examples for writing your own: a handler is ``async def handler(ctx, payload)``;
it reports with ``ctx.set_stage`` / ``ctx.set_progress`` and raises ``TransientError`` or
``PermanentError`` to say how it failed.
"""

from __future__ import annotations

import shutil
from typing import Any

import trio

from actors import JobContext, JobType, PermanentError, TransientError

from .._payload import PayloadRules, integer, number, string
from ._media import PREP, TONE, prep_job, tone_job

__all__ = ["JOB_TYPES"]


SLEEP = PayloadRules("sleep", {"seconds": number(2, 0, 86_400), "steps": integer(10, 1, 10_000)})
CHILD = PayloadRules("child", {"seconds": number(30, 0, 86_400)})
FAIL = PayloadRules(
    "fail",
    {"kind": string("permanent", choices=("permanent", "transient")), "message": string()},
)


async def sleep_job(ctx: JobContext, payload: Any) -> dict[str, float]:
    """Sleep ``seconds`` in ``steps`` steps, reporting real progress after each."""
    p = SLEEP.check(payload)
    seconds, steps = float(p["seconds"]), int(p["steps"])
    await ctx.set_stage("sleeping", 0)
    for step in range(1, steps + 1):
        await trio.sleep(seconds / steps)
        await ctx.set_progress(100 * step / steps)
    return {"slept": seconds}


async def child_job(ctx: JobContext, payload: Any) -> dict[str, int]:
    """Run a real child process (``sleep``) for ``seconds``: cancellation, timeouts and
    worker deaths must kill it. Progress is indeterminate: the child cannot report any."""
    seconds = float(CHILD.check(payload)["seconds"])
    sleep_binary = shutil.which("sleep")
    if sleep_binary is None:
        raise PermanentError("no `sleep` binary on this machine")
    await ctx.set_stage("waiting", None)
    argv = [sleep_binary, f"{seconds:g}"]
    async with ctx.open_child(argv, capture_stdout=False, capture_stderr=False) as child:
        status = await child.wait()
    if status != 0:
        raise TransientError(f"child exited with status {status}")
    return {"exit": status}


async def fail_job(ctx: JobContext, payload: Any) -> None:
    """Fail as told: ``{"kind": "transient"|"permanent", "message": "..."}``."""
    p = FAIL.check(payload)
    kind = p["kind"]
    message = p.get("message", f"{kind} failure on purpose")
    await ctx.set_stage("failing", None)
    if kind == "transient":
        raise TransientError(message)
    raise PermanentError(message)


JOB_TYPES: tuple[JobType, ...] = (
    JobType(
        "tone",
        tone_job,
        stages=("encoding", "uploading"),
        timeout=3900,
        progress_watchdog=60,
        validate=TONE.check,
        example={"seconds": 8, "realtime": True},
    ),
    JobType(
        "prep",
        prep_job,
        stages=("downloading", "analyzing", "normalizing", "encoding", "uploading"),
        timeout=3600,
        progress_watchdog=120,
        validate=PREP.check,
        # The dashboard's file picker puts the uploaded file's key in "input".
        example={"input": "uploads/interview.wav", "target_lufs": -16},
    ),
    JobType(
        "sleep",
        sleep_job,
        stages=("sleeping",),
        timeout=3600,
        validate=SLEEP.check,
        example={"seconds": 5, "steps": 10},
    ),
    JobType(
        "child",
        child_job,
        stages=("waiting",),
        timeout=3600,
        validate=CHILD.check,
        example={"seconds": 10},
    ),
    JobType(
        "fail",
        fail_job,
        stages=("failing",),
        timeout=60,
        validate=FAIL.check,
        example={"kind": "permanent", "message": "bad input: demo"},
    ),
)
