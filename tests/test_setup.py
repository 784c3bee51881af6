"""The README's two commands: the second (`./scripts/test`) does all the set-up itself, and
CI runs exactly it. Its missing-package path is run for real, with a PATH that lacks a tool
(nothing is uninstalled)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "test"
TOOLS = ("npm", "faketime", "chromium", "spin", "gcc", "prometheus")


def readme_commands() -> list[str]:
    """The README's first two shell blocks: the install-and-demo and the test commands."""
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [b.strip() for b in blocks[:2]]


def ensure_tools(tmp_path: Path, present: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """The script's check, sourced, with a PATH holding only ``present`` (no apt-get)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in present:
        found = shutil.which(tool)
        assert found is not None, f"{tool} is installed on this machine (see scripts/test)"
        (bin_dir / tool).symlink_to(found)
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(
        [bash, "-c", f"source {SCRIPT} && ensure_tools"],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_missing_tool_is_named_in_one_line_with_how_to_install_it(tmp_path: Path) -> None:
    done = ensure_tools(tmp_path, tuple(t for t in TOOLS if t not in ("gcc", "spin")))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("scripts/test: missing spin gcc (needed by the tests)")
    assert "apt-get install spin gcc" in done.stderr


def test_nothing_missing_says_nothing(tmp_path: Path) -> None:
    done = ensure_tools(tmp_path, TOOLS)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_readme_test_command_is_the_script() -> None:
    assert readme_commands()[1] == "./scripts/test"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in lines


def test_the_readme_first_command_is_unchanged() -> None:
    assert readme_commands()[0] == (
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python -m supervisor demo"
    )
