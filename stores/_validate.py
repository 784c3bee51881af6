"""Input checks at the store's edge: bad input is refused before anything is written."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ._errors import InvalidJob
from ._model import JobStatus
from ._text import printable

__all__ = [
    "MAX_DETAIL_CHARS",
    "MAX_ERROR_CHARS",
    "MAX_KEY_CHARS",
    "MAX_PAYLOAD_BYTES",
    "MAX_RESULT_BYTES",
    "MAX_TAIL_BYTES",
    "MAX_TAIL_LINES",
    "check_cursor",
    "check_id",
    "check_idempotency_key",
    "check_limit",
    "check_max_attempts",
    "check_progress",
    "check_stage",
    "check_status",
    "check_time",
    "check_type_name",
    "check_worker_id",
    "clip_detail",
    "clip_error",
    "clip_tail",
    "dump_json",
    "storable_text",
]

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_RESULT_BYTES = 256 * 1024
MAX_ERROR_CHARS = 2000
#: A job's log tail (ffmpeg's last lines): written with every progress report, so small.
MAX_TAIL_LINES = 20
MAX_TAIL_BYTES = 4096
#: The one line of a failure that says most (e.g. ffmpeg's "Invalid frame size: ...").
MAX_DETAIL_CHARS = 300
MAX_ID = 2**63 - 1  # SQLite's INTEGER
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")  # job types and stages


def check_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise InvalidJob(f"a job id is a positive integer below 2**63, got {shown}")
    return value


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidJob(
            f"invalid {what} {value!r}: use 1 to 64 characters, a letter first, then "
            "letters, digits, '_', '.' or '-'"
        )
    return value


def check_type_name(value: object) -> str:
    return _name(value, "job type")


def check_stage(value: object) -> str | None:
    return None if value is None else _name(value, "stage name")


def check_progress(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidJob(f"progress is a percentage from 0 to 100 or None, got {value!r}")
    return min(100.0, max(0.0, float(value)))


def check_status(value: object) -> JobStatus:
    try:
        return JobStatus(value)  # type: ignore[arg-type]  # checked here
    except ValueError:
        names = ", ".join(s.value for s in JobStatus)
        raise InvalidJob(f"unknown status {value!r}: use one of {names}") from None


def check_limit(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        raise InvalidJob(f"limit must be an integer from 1 to 10000, got {value!r}")
    return value


def check_max_attempts(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise InvalidJob(f"max_attempts must be an integer from 1 to 100, got {value!r}")
    return value


#: The longest Idempotency-Key kept (Stripe's limit too).
MAX_KEY_CHARS = 255


def check_idempotency_key(value: object) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_KEY_CHARS
        or not (value.isascii() and value.isprintable())
        or value != value.strip()
    ):
        raise InvalidJob(
            f"an idempotency key is 1 to {MAX_KEY_CHARS} printable ASCII characters (e.g. a "
            f"UUID), without spaces around it; got {str(value)[:40]!r}"
        )
    return value


def check_worker_id(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 128 or not value.isprintable():
        raise InvalidJob(f"a worker id is 1 to 128 printable characters, got {value!r}")
    return value


#: What ``json.dumps(value, allow_nan=False, ...)`` would build anew on every call.
_ENCODER = json.JSONEncoder(allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def dump_json(value: Any, *, what: str, limit: int) -> str:
    """Strict JSON (no NaN or Infinity), at most ``limit`` bytes of UTF-8.

    Every way the value can fail to become stored text raises :class:`InvalidJob` naming
    it, never anything else: a caller's bad value must not look like a database fault.
    """
    try:
        text = _ENCODER.encode(value)
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
    except RecursionError:
        raise InvalidJob(f"the {what} is nested too deeply to store as JSON: flatten it") from None
    except UnicodeEncodeError as exc:
        bad = ascii(exc.object[exc.start : exc.end])
        raise InvalidJob(
            f"the {what} holds text that is not valid Unicode ({bad}, a lone surrogate such "
            "as an undecodable file name): decode such names with errors='backslashreplace'"
        ) from None
    except (TypeError, ValueError) as exc:
        raise InvalidJob(f"the {what} is not JSON-serialisable: {clip_error(exc)}") from None
    except Exception as exc:  # a custom object whose own methods fail while being encoded
        raise InvalidJob(
            f"the {what} could not be encoded as JSON: {type(exc).__name__} raised by one "
            "of its values: return plain dicts, lists, strings and numbers"
        ) from exc
    if size > limit:
        raise InvalidJob(
            f"the {what} is {size} bytes of JSON, over the limit of {limit} bytes: "
            "store large data elsewhere and pass a reference (a path or URL)"
        )
    return text


def storable_text(text: str) -> str:
    """``text`` with lone surrogates (undecodable file names) escaped, so it encodes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def clip_error(message: object) -> str:
    """An error text that always fits and always stores: long messages keep their head and
    tail; lone surrogates are escaped (``\\udcff``)."""
    try:
        text = storable_text(str(message)) or "unknown error"
    except Exception:  # a broken __str__ must not hide the failure it describes
        text = f"unprintable {type(message).__name__}"
    if len(text) <= MAX_ERROR_CHARS:
        return text
    half = MAX_ERROR_CHARS // 2 - 10
    return f"{text[:half]} [...] {text[-half:]}"


def check_time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidJob(f"a time is a finite number of Unix seconds, got {value!r}")
    return float(value)


def check_cursor(value: object) -> tuple[float, int]:
    """A keyset cursor: the ``(created_at, id)`` of the last job of the previous page."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise InvalidJob(f"a list cursor is (created_at, id), got {value!r}")
    return check_time(value[0]), check_id(value[1])


def clip_tail(text: str | None) -> str | None:
    """A log tail that fits: its last ``MAX_TAIL_LINES`` lines and ``MAX_TAIL_BYTES`` bytes,
    each line escaped as the CLI and the logs escape job text (``printable``), so a line
    stays one line and no control code reaches a terminal. None stays None (no tail)."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidJob(f"a log tail is text, got {type(text).__name__}")
    lines = [printable(line) for line in text.split("\n")[-MAX_TAIL_LINES:]]
    tail = "\n".join(lines)
    while len(tail.encode("utf-8", "backslashreplace")) > MAX_TAIL_BYTES:
        if len(lines) > 1:
            lines.pop(0)  # the oldest line goes first
            tail = "\n".join(lines)
        else:  # one line longer than the limit keeps its end (the newest text)
            tail = tail.encode("utf-8", "backslashreplace")[-MAX_TAIL_BYTES:].decode(
                "utf-8", "ignore"
            )
    return storable_text(tail)


def clip_detail(text: str | None) -> str | None:
    """A failure's telling line: one escaped line, at most ``MAX_DETAIL_CHARS``."""
    if text is None or not str(text).strip():
        return None
    line = printable(storable_text(str(text).strip()))
    return line if len(line) <= MAX_DETAIL_CHARS else line[: MAX_DETAIL_CHARS - 3] + "..."
