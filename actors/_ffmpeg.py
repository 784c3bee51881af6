"""``run_ffmpeg``: ffmpeg as a job's child, with real progress and real cancellation.

Progress comes from ffmpeg's own ``-progress`` stream (``out_time_us`` against the input's
duration): a percentage when the duration is known (passed in, ``-t`` in the arguments, or
the first input's header line, which ffmpeg prints before it decodes anything: no probe
process), ``None`` (indeterminate) when it is not. Never invented.

What ffmpeg says lands in a job's ``error``, its telling line and its live log tail, which
the HTTP API shows to whoever submitted the job. ffmpeg also prints what it *read*: the
input's tags and metadata (a text file that parses as ``ffmetadata`` or ``lrc`` puts its
lines there), a playlist's entries. So ffmpeg runs with ``-loglevel level+info``, every line
is tagged with its level, and those texts keep only its warnings and errors (``Invalid data
found``, ``No such file``, ...) and its statistics line, never the informational dump of
what it opened (see ``_ffmpeg_log``). The lines returned to the handler keep everything.
"""

from __future__ import annotations

import itertools
import re
import shutil
import signal
from collections.abc import Callable, Sequence

import attrs
import trio

from media_jobs_config import environment

from ._child import open_child
from ._context import JobContext
from ._errors import PermanentError, StalledError, TransientError
from ._ffmpeg_log import FfmpegLog

__all__ = ["NOT_MEDIA", "ffmpeg_binary", "header_duration", "probe_duration", "run_ffmpeg"]
#: A probe reads the header only; a file with megabytes of tags is cut off, not buffered.
_PROBE_LIMIT = 256 * 1024
_DURATION = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
#: An input's header line, its level tag taken out. A tag named "Duration" is printed as
#: "Duration        : ...", so it cannot pass for one.
_HEADER = re.compile(r"^Duration: (?:(\d+):(\d\d):(\d\d(?:\.\d+)?)|N/A)")
#: What ffmpeg says of an input that is not media it may read.
NOT_MEDIA = ("Invalid data found", "does not contain any stream", "not on whitelist")
_PERMANENT = (
    "Invalid data found",
    "Unknown encoder",
    "Unknown decoder",
    "Decoder not found",
    "Encoder not found",
    "No such file or directory",
    "Unrecognized option",
    "Invalid argument",
    "does not contain any stream",
    "Unknown input format",
    "Requested output format",
    "Unable to find a suitable output format",
    "not supported",
    "Permission denied",
    "Is a directory",
    "Option not found",
    "Error parsing",
    "matches no streams",
    "Invalid duration",
)
_TRANSIENT = (
    "Connection refused",
    "Connection timed out",
    "Connection reset",
    "timed out",
    "Input/output error",
    "I/O error",
    "Server returned 5",
    "Network is unreachable",
    "Temporary failure",
    "No space left on device",
    "Resource temporarily unavailable",
)


def ffmpeg_binary() -> str:
    """``FFMPEG_BINARY``, else ``ffmpeg`` on PATH, else the ``imageio-ffmpeg`` wheel's."""
    override = environment().get("FFMPEG_BINARY")
    if override:
        return override
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _limit(args: Sequence[str]) -> float | None:
    """The output duration set by ``-t`` (seconds or [HH:]MM:SS), if any."""
    for flag, value in itertools.pairwise(args):
        if flag == "-t":
            return _seconds(value)
    return None


def _seconds(text: str) -> float | None:
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        return None
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return total


async def probe_duration(
    path: str,
    *,
    kill_grace: float = 2.0,
    ctx: JobContext | None = None,
    input_options: Sequence[str] = (),
) -> float | None:
    """The duration of a media file in seconds (None if ffmpeg reports none). With ``ctx``
    the probe is the job's child like any other (recorded, guarded by the sentinel).
    ``input_options`` go before ``-i`` (e.g. ``-protocol_whitelist file``); ``path`` may
    carry the ``file:`` prefix.

    Raises :class:`PermanentError` if the file is missing or not media ffmpeg can read
    (including a format that ``input_options`` refuse).

    Cancellation: the probe is stopped and reaped before the cancellation propagates.
    """
    local = path.removeprefix("file:")
    if "://" not in path and not await trio.Path(local).exists():
        raise PermanentError(f"input not found: {path}")
    argv = [ffmpeg_binary(), "-hide_banner", "-nostdin", *input_options, "-i", path]
    opened = (
        ctx.open_child(argv, capture_stdout=False)
        if ctx is not None
        else open_child(argv, kill_grace=kill_grace, capture_stdout=False)
    )
    async with opened as child:
        assert child.stderr is not None
        stderr = b""
        async for chunk in child.stderr:
            if len(stderr) < _PROBE_LIMIT:
                stderr += chunk
        await child.wait()
    if any(marker.encode() in stderr for marker in NOT_MEDIA):
        raise PermanentError(f"not a media file ffmpeg can read: {path}")
    match = _DURATION.search(stderr)
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def header_duration(line: str) -> float | None:
    """The seconds an input's header line states (``Duration: 00:01:02.50, start: ...``,
    its level tag taken out); None for another line or a header without a duration."""
    match = _HEADER.match(line)
    if match is None or match.group(1) is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _failure(status: int, log: FfmpegLog) -> Exception:
    tail = log.diagnostics()[-12:]
    text = " | ".join(line for line in tail if line.strip())[-800:] or f"exit status {status}"
    message = f"ffmpeg failed (exit {status}): {text}"
    detail = log.telling()
    if any(marker in text for marker in _TRANSIENT):
        return TransientError(message, detail=detail)
    if status < 0:  # killed by a signal we did not send: the machine, not the input
        return TransientError(message, detail=detail)
    if any(marker in text for marker in _PERMANENT):
        return PermanentError(message, detail=detail)
    return PermanentError(message, detail=detail)


async def run_ffmpeg(
    ctx: JobContext,
    args: Sequence[str],
    *,
    stage: str,
    duration: float | None = None,
    stop_when: Callable[[str], bool] | None = None,
) -> list[str]:
    """Run ffmpeg with ``args`` (without the binary's name) as stage ``stage``; returns the
    last lines of its stderr (filters such as loudnorm print their results there).

    ``stop_when`` is shown every line of stderr as it comes (its level tag taken out, the
    statistics lines left out); when it answers True ffmpeg is asked to stop (SIGTERM), and
    this returns once it is reaped, whatever its exit status: the caller knows why it
    stopped.

    Reports real progress within the stage, keeps the tail of stderr for the error message
    and the job's live log tail (``ctx.set_log_tail``: written with the next progress
    report, and with the outcome), and raises :class:`PermanentError` (bad input, unknown
    codec or format, missing file), :class:`TransientError` (I/O and network trouble), or
    ``StalledError`` when the job type's ``progress_watchdog`` sees no progress for that
    long. Each carries ffmpeg's most telling line as its ``detail``.

    Cancellation: ffmpeg gets SIGTERM, then SIGKILL after the kill grace, and this returns
    (raising ``Cancelled``) only once it is reaped.
    """
    length = _Length(duration if duration is not None else _limit(args))
    if length.seconds is not None:
        length.read.set()
    argv = [
        ffmpeg_binary(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "level+info",  # each line says its level: only diagnostics reach the job's error
        "-progress",
        "pipe:1",
        *args,
    ]
    watchdog = ctx.job_type.progress_watchdog
    async with ctx.open_child(argv) as child:
        assert child.stdout is not None and child.stderr is not None
        stderr = child.stderr
        asked: list[bool] = []

        def watch(text: str) -> None:
            if not length.read.is_set() and _HEADER.match(text) is not None:
                length.seconds = header_duration(text)  # the first input's only
                length.read.set()
            if stop_when is not None and not asked and stop_when(text):
                asked.append(True)
                child.signal(signal.SIGTERM)  # ffmpeg ends cleanly, closing both streams

        log = FfmpegLog(ctx.set_log_tail, watch)

        async def read_stderr() -> None:
            await log.read(stderr)
            length.read.set()  # no header line will come now

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_stderr)
            await _enter(ctx, stage, length)
            stalled = await _follow_progress(ctx, child.stdout, length, watchdog)
            if stalled:
                await child.stop(ctx.kill_grace)  # stderr ends with it, and so does the tail
        status = await (child.stop(ctx.kill_grace) if asked else child.wait())
    if asked:
        return log.texts()
    if stalled:
        raise StalledError(
            f"stalled: ffmpeg reported no progress for {watchdog:g} s; last output: "
            + (" | ".join(log.diagnostics()[-5:]) or "no warning or error"),
            detail=log.telling(),
        )
    if status != 0:
        raise _failure(status, log)
    if length.seconds:
        await ctx.set_progress(100)
    return log.texts()


@attrs.define
class _Length:
    """The input's duration (``seconds``), and whether it is settled (``read``): given, or
    the first input's header line seen, or stderr ended without one."""

    seconds: float | None
    read: trio.Event = attrs.Factory(trio.Event)


#: How long a stage waits for ffmpeg's header before it is entered as indeterminate.
_HEADER_WAIT = 1.0


async def _enter(ctx: JobContext, stage: str, length: _Length) -> None:
    """Enter ``stage`` once the duration is settled (at 0 %), or indeterminate if it is
    not known (or ffmpeg says nothing for ``_HEADER_WAIT`` seconds)."""
    with trio.move_on_after(_HEADER_WAIT):
        await length.read.wait()
    await ctx.set_stage(stage, 0 if length.seconds else None)


async def _follow_progress(
    ctx: JobContext,
    stream: trio.abc.ReceiveStream,
    length: _Length,
    watchdog: float | None,
) -> bool:
    """Read ``-progress`` blocks until ffmpeg closes the stream; True if it stalled."""
    buffer = b""
    last_out_time = -1
    while True:
        with trio.move_on_after(watchdog if watchdog else float("inf")) as quiet:
            chunk = await stream.receive_some(4096)
        if quiet.cancelled_caught:
            return True
        if not chunk:
            return False
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            key, _, value = line.decode(errors="replace").strip().partition("=")
            duration = length.seconds
            if key == "out_time_us" and value.isdigit() and duration:
                out_time = int(value)
                if out_time != last_out_time:
                    last_out_time = out_time
                    await ctx.set_progress(min(100.0, out_time / 1e6 / duration * 100))
