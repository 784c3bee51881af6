"""Small helpers shared by the benchmark scripts (not a benchmark itself).

Tables, percentiles, the machine's load, process trees and their memory, and the
environment a worker process gets.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the package loads it lazily, so name it for the type checker
    from stores._turso import TursoJobStore as TursoJobStore
else:
    from stores import TursoJobStore

REPO = Path(__file__).resolve().parent.parent
_VENV_PYTHON = REPO / ".venv" / "bin" / "python"
#: The project's virtualenv interpreter (every child process of a benchmark runs it).
PYTHON = str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable


__all__ = [
    "PYTHON",
    "REPO",
    "TursoJobStore",
    "children",
    "command",
    "cpu_seconds",
    "descendants",
    "load_line",
    "median",
    "percentile",
    "pid_alive",
    "rss_kib",
    "table",
    "worker_env",
]


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return (
        f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores "
        f"({time.strftime('%Y-%m-%d %H:%M:%S')})"
    )


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in cells[1:])
    return "\n".join(out)


def worker_env(**extra: str) -> dict[str, str]:
    """This process's environment without store or worker settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))}
    return {**env, **extra}


# -- processes -------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces and parentheses).
    return text.rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from the ppid field of /proc/*/stat)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry))
    return sorted(found)


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` in KiB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used by ``pid`` so far (0 if it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def pid_alive(pid: int | None) -> bool:
    """True if ``pid`` runs (a zombie counts as dead: it has exited)."""
    if pid is None:
        return False
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"
