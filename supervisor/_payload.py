"""What a job type's payload may hold, declared once: checked at submit and before a run.

Rationale. A payload is JSON from whoever submits the job. Checked ad hoc inside a handler,
``"seconds": true`` passed (a bool is an int in Python) and failed later inside ffmpeg's
parser; a misspelt key was silently ignored. A :class:`PayloadRules` lists each key's kind,
range or choices and default; its :meth:`~PayloadRules.check` refuses anything else with a
:class:`PayloadError` naming the key and the JSON type it got. A job type declares it
(``JobType(..., validate=RULES.check)``) so the CLI and the HTTP API refuse a bad payload at
submit time with the same words the worker would use.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import attrs

from actors import PermanentError

__all__ = ["Field", "PayloadError", "PayloadRules", "boolean", "integer", "number", "string"]


class PayloadError(PermanentError, ValueError):
    """A payload its job type refuses; the message names the key and what it must be.
    A ``ValueError``: a job that raises it fails at once (permanent), never retried."""


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


def _shown(value: object) -> str:
    try:
        text = json.dumps(value, ensure_ascii=True)
    except ValueError:  # NaN passes json.loads but not a strict dumps
        text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{text} ({_json_type(value)})"


@attrs.frozen
class Field:
    """One payload key: its kind (``number``, ``integer``, ``string``, ``boolean``), its
    range (``low`` exclusive when ``above``) or choices, and its default (None: absent
    stays absent). Build one with :func:`number`, :func:`integer`, :func:`string` or
    :func:`boolean`."""

    kind: str
    default: Any = None
    required: bool = False
    low: float | None = None
    high: float | None = None
    above: bool = False
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        """What a value must be, as the error says it."""
        if self.choices:
            return f"one of {sorted(self.choices)}"
        what = {"integer": "a whole number", "boolean": "true or false"}.get(
            self.kind, f"a {self.kind}"
        )
        if self.low is not None and self.high is not None:
            low = f"above {self.low:g} and up to" if self.above else f"from {self.low:g} to"
            what += f" {low} {self.high:g}"
        return what

    def accepts(self, value: object) -> bool:
        if self.kind == "boolean":
            return isinstance(value, bool)
        if self.kind == "string":
            return isinstance(value, str) and (not self.choices or value in self.choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False  # a bool is an int in Python, never a number in a payload
        if not math.isfinite(value) or (self.kind == "integer" and value != int(value)):
            return False
        low_ok = self.low is None or (value > self.low if self.above else value >= self.low)
        return low_ok and (self.high is None or value <= self.high)


def number(default: float | None, low: float, high: float, *, above: bool = False) -> Field:
    return Field("number", default, low=low, high=high, above=above)


def integer(default: int | None, low: int, high: int) -> Field:
    return Field("integer", default, low=low, high=high)


def string(
    default: str | None = None, *, required: bool = False, choices: tuple[str, ...] = ()
) -> Field:
    return Field("string", default, required=required, choices=choices)


def boolean(default: bool = False) -> Field:
    return Field("boolean", default)


@attrs.frozen
class PayloadRules:
    """The keys a job type's payload may hold (see the module docstring)."""

    type_name: str
    fields: Mapping[str, Field]

    def check(self, payload: Any) -> dict[str, Any]:
        """``payload`` with its defaults filled in; raises :class:`PayloadError` for a
        payload that is not an object, an unknown key, a missing required key or a value
        of the wrong kind or out of range."""
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise PayloadError(
                f"the payload of {self.type_name!r} must be a JSON object, got {_shown(payload)}"
            )
        unknown = sorted(set(payload) - set(self.fields))
        if unknown:
            raise PayloadError(
                f"payload key {unknown[0]!r} is not one {self.type_name!r} takes: "
                f"{', '.join(sorted(self.fields))}"
            )
        checked = dict(payload)
        for key, field in self.fields.items():
            if key not in payload:
                if field.required:
                    raise PayloadError(f"payload {key!r} is required: {field.describe()}")
                if field.default is not None:
                    checked[key] = field.default
            elif not field.accepts(payload[key]):
                raise PayloadError(
                    f"payload {key!r} must be {field.describe()}, got {_shown(payload[key])}"
                )
        return checked
