"""A job's outputs as its result lists them, and where a download puts each: the rules the
CLI's ``fetch`` and the HTTP client's ``fetch`` share (one place, so they cannot drift)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._errors import StorageError
from ._keys import check_name

__all__ = ["BadTarget", "download_targets", "result_outputs"]


class BadTarget(StorageError, ValueError):
    """Where to write the outputs does not fit them (several outputs, one file)."""


def result_outputs(result: Any) -> list[dict[str, Any]]:
    """The entries of ``result["outputs"]`` that name a stored object (a ``key``)."""
    found = result.get("outputs") if isinstance(result, dict) else None
    entries = found if isinstance(found, list) else []
    return [o for o in entries if isinstance(o, dict) and isinstance(o.get("key"), str)]


def download_targets(
    outputs: list[dict[str, Any]], given: str | Path | None, what: str
) -> list[Path]:
    """Where each output goes: ``given`` itself for one output (unless it is a folder),
    else each output's name inside ``given`` (default: the working directory). ``what``
    names the option in the message (``-o``, ``to=``). Names are checked: a name from the
    server never writes outside the folder."""
    folder = Path(given or ".")
    if len(outputs) == 1 and given is not None and not folder.is_dir():
        return [folder]
    if not folder.is_dir():
        raise BadTarget(f"{what} {given}: the job has {len(outputs)} outputs; give a folder")
    return [folder / check_name(o.get("name"), what="the output name") for o in outputs]
