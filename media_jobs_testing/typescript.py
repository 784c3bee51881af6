"""TypeScript's ``tsc``, which checks the dashboard's JavaScript (``// @ts-check``, JSDoc).

Installed from the npm registry into the work tree's own ``.tools/`` (ignored by git), on
first use: by ``scripts/test`` before pytest runs (``python -m
media_jobs_testing.typescript``), and by ``tests/test_javascript.py`` if it is still
missing (pytest run on its own). One version,
pinned here; a tree that has another installs this one over it.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path

from .helpers import REPO

TYPESCRIPT = "5.9.3"
TOOLS = REPO / ".tools"


def tsc_binary() -> Path:
    """Path of ``tsc``, installing typescript with npm into ``.tools/`` on first use."""
    binary = TOOLS / "node_modules" / ".bin" / "tsc"
    manifest = TOOLS / "node_modules" / "typescript" / "package.json"
    if binary.exists() and _version(manifest) == TYPESCRIPT:
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install typescript (apt-get install npm)")
    TOOLS.mkdir(exist_ok=True)
    with open(TOOLS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several test processes may race to install
        if not (binary.exists() and _version(manifest) == TYPESCRIPT):
            flags = ["--no-save", "--no-audit", "--no-fund", "--prefix", str(TOOLS)]
            subprocess.run(
                [npm, "install", *flags, f"typescript@{TYPESCRIPT}"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
    return binary


def _version(manifest: Path) -> str | None:
    try:
        version = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return str(version)


if __name__ == "__main__":
    print(tsc_binary())
