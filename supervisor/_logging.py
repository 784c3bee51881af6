"""One structured line per event on stderr: time, level, logger, message, key=value; or,
with ``SUPERVISOR_LOG_FORMAT=json``, one JSON object per line with the same fields (for
Render's log search and log streams). A text line is always one line: job text in it has its
control characters escaped (``_text.printable``), so it cannot forge a record of its own."""

from __future__ import annotations

import json
import logging
import sys
import time

from media_jobs_config import declared, environment

from ._text import printable

__all__ = ["KEYS", "JsonFormatter", "KeyValueFormatter", "configure_logging"]

KEYS = (
    "worker",
    "actor",
    "job_id",
    "job_type",
    "attempt",
    "status",
    "types",
    "timings",
    "store",
    "version",
)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        parts = [
            f"{stamp}.{int(record.msecs):03d}Z",
            record.levelname,
            record.name,
            record.getMessage(),
        ]
        for key in KEYS:
            value = getattr(record, key, None)
            if value is not None:
                parts.append(f"{key}={value}")
        line = " ".join(str(p) for p in parts)
        if record.exc_info and record.levelno >= logging.ERROR:
            line += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        return printable(line)


class JsonFormatter(logging.Formatter):
    """The same fields as :class:`KeyValueFormatter`, as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        data: dict[str, object] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in KEYS:
            value = getattr(record, key, None)
            if value is not None:
                data[key] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info and record.levelno >= logging.ERROR:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: int = logging.INFO, fmt: str | None = None) -> None:
    """Log to stderr, key=value lines or JSON (``fmt``, else ``SUPERVISOR_LOG_FORMAT``)."""
    setting = declared("SUPERVISOR_LOG_FORMAT")
    fmt = (fmt or environment().get(setting.variable) or str(setting.default)).strip().lower()
    if fmt not in ("text", "json"):
        raise ValueError(f"SUPERVISOR_LOG_FORMAT must be text or json, got {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
