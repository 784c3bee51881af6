"""Text from jobs made safe for a log line or a terminal (the rule lives in ``stores._text``,
where the store applies it to a job's log tail too)."""

from __future__ import annotations

from stores._text import printable

__all__ = ["printable"]
