"""Text from jobs made safe for a log line or a terminal: control characters escaped.

Rationale. A job's text (a handler's error, a payload's message, a stage name) is written by
whoever submitted the job or wrote the handler. Raw, a line break in it forges a log line of
its own (``ERROR supervisor ... rotated``), an ESC sequence repaints or retitles the
operator's terminal, and a bidi override makes a line read other than it is. One function
escapes them, for the text logs and for everything the CLI prints for a person: the text
stays readable (``\\n``, ``\\x1b``, ``\\u202e``) and every line stays one line. JSON output
(``--json``, ``SUPERVISOR_LOG_FORMAT=json``) is exact JSON instead, escaped by the encoder.
The store applies the same rule to a job's log tail (ffmpeg's last lines, shown by the CLI
and the dashboard), which is why it lives here, below every package that prints job text.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

#: C0 controls (line breaks, ESC, tab), DEL, C1 controls (0x9b is an 8-bit CSI), the Unicode
#: line and paragraph separators, the bidi controls (embeddings, overrides, isolates, marks)
#: and lone surrogates (no terminal encoding can write them).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def printable(text: str) -> str:
    """``text`` with every control, separator and bidi character written as its escape."""
    return _UNSAFE.sub(_escape, text)
