"""ffmpeg's stderr, read line by line: what the handler gets back, what a failure says, and
the live tail a person watches.

ffmpeg runs with ``-loglevel level+info``: every message is tagged with its level. What it
prints at ``info`` includes what it *read* (an input's tags and metadata, which a text file
can fill with anything), so only diagnostics (warnings and errors) and ffmpeg's own
statistics line (``size=… time=… bitrate=… speed=…``, numbers it computed) reach text that
others see: a job's error, its telling line and its log tail. The handler gets every line
(filters such as loudnorm print their results at ``info``), statistics excepted.

The statistics line ends with a carriage return and is printed again every half second;
the tail keeps only the latest one, so that it never pushes the diagnostics out.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable

import attrs
import trio

__all__ = ["DIAGNOSTIC", "FfmpegLog", "Line"]

#: A level tag, after the context tags (``[Parsed_volume_0 @ 0x…] [Eval @ 0x…]``) if any.
_LEVEL = re.compile(
    r"^((?:\[[^\]]* @ 0x[0-9a-fA-F]+\] )*)\[(trace|debug|verbose|info|warning|error|fatal|panic)\]"
    r"(?: |$)"
)
#: The levels whose lines may go into a job's error: ffmpeg's own diagnostics.
DIAGNOSTIC = frozenset({"warning", "error", "fatal", "panic"})
_ERRORS = frozenset({"error", "fatal", "panic"})
#: ffmpeg's periodic statistics line (video starts with the frame count, audio with size).
_STATS = re.compile(r"^(?:frame|size)=")
#: Lines kept for the handler and the error; lines in the live tail (the store clips too).
KEPT_LINES = 40
TAIL_LINES = 20


@attrs.frozen
class Line:
    """One line of ffmpeg's stderr: its level, its context tags and its message."""

    level: str
    context: str
    message: str

    @property
    def text(self) -> str:
        return f"{self.context} {self.message}".strip()


class FfmpegLog:
    """Collects ffmpeg's stderr; ``on_tail`` hears the new live tail after each line, and
    ``on_line`` every line but the statistics as it comes (its level tag taken out)."""

    def __init__(
        self,
        on_tail: Callable[[str], None] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self.lines: collections.deque[Line] = collections.deque(maxlen=KEPT_LINES)
        self._shown: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._stats_last = False  # whether the tail's last line is a statistics line
        self._level = "info"  # an untagged first line is not treated as a diagnostic
        self._on_tail = on_tail
        self._on_line = on_line

    async def read(self, stream: trio.abc.ReceiveStream) -> None:
        """Read ``stream`` to its end, line by line (``\\n`` or ``\\r`` ends a line)."""
        buffer = b""
        async for chunk in stream:
            buffer += chunk
            *lines, buffer = re.split(rb"[\r\n]", buffer)
            for line in lines:
                self.add(line)
        if buffer.strip():
            self.add(buffer)

    def add(self, raw: bytes) -> None:
        """One line. ffmpeg tags the first line of each message; the lines that continue a
        multi-line message (loudnorm's JSON) carry no tag and take the level before them."""
        text = raw.decode(errors="replace")
        if not text.strip():
            return
        tagged = _LEVEL.match(text)
        context = ""
        if tagged is not None:
            self._level, context = tagged.group(2), tagged.group(1).strip()
            text = text[tagged.end() :]
        line = Line(self._level, context, text.strip())
        if line.level == "info" and _STATS.match(line.message):
            self._show(line.message, stats=True)
            return
        self.lines.append(line)
        if line.level in DIAGNOSTIC:
            self._show(line.text, stats=False)
        if self._on_line is not None:
            self._on_line(line.text)

    def _show(self, text: str, *, stats: bool) -> None:
        if stats and self._stats_last:
            self._shown.pop()  # the newer statistics replace the older
        self._shown.append(text)
        self._stats_last = stats
        if self._on_tail is not None:
            self._on_tail(self.tail)

    @property
    def tail(self) -> str:
        """The live tail: the latest diagnostics and statistics line, oldest first."""
        return "\n".join(self._shown)

    def diagnostics(self) -> list[str]:
        """The kept warnings and errors, as ffmpeg printed them (less the level tag)."""
        return [line.text for line in self.lines if line.level in DIAGNOSTIC]

    def telling(self) -> str | None:
        """The line that says most about a failure: ffmpeg prints the cause first and its
        consequences after ("Invalid frame size: x." before "Error opening output files"),
        so the first error kept; else the last warning; None if neither."""
        errors = [line.message for line in self.lines if line.level in _ERRORS]
        if errors:
            return errors[0]
        warnings = [line.message for line in self.lines if line.level == "warning"]
        return warnings[-1] if warnings else None

    def texts(self) -> list[str]:
        """Every kept line but the statistics, for the handler."""
        return [line.text for line in self.lines]
