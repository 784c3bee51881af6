"""docs/HANDLERS.md cannot rot: its example module and its test are copied out of the page
and run (a real worker through open_supervisor, real ffmpeg)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from media_jobs_testing.helpers import REPO

GUIDE = REPO / "docs" / "HANDLERS.md"


def example_files() -> dict[str, str]:
    """The page's Python blocks whose first line names a file (``# myjobs.py...``)."""
    files = {}
    for block in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S):
        named = re.match(r"# (\w+\.py)", block)
        if named:
            files[named.group(1)] = block
    return files


def test_the_guide_has_the_module_and_its_test() -> None:
    assert set(example_files()) == {"myjobs.py", "test_myjobs.py"}


def test_the_guides_example_runs_and_its_test_passes(tmp_path: Path) -> None:
    for name, text in example_files().items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_myjobs.py"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_the_guide_is_linked_from_the_readme() -> None:
    assert "docs/HANDLERS.md" in (REPO / "README.md").read_text()
