"""One structured line per event on stderr: time, level, logger, message, key=value."""

from __future__ import annotations

import logging
import sys
import time

__all__ = ["KEYS", "configure_logging"]

KEYS = ("worker", "actor", "job_id", "job_type", "attempt", "status", "types", "timings", "store")


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
        return line


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
