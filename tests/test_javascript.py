"""The dashboard's JavaScript is checked like the Python: every file under ``// @ts-check``,
type-checked by TypeScript's ``tsc`` from its JSDoc, and its pure functions unit-tested with
``node --test`` (tests/js/)."""

from __future__ import annotations

import shutil
import subprocess

from media_jobs_testing.helpers import REPO
from media_jobs_testing.typescript import tsc_binary

STATIC = REPO / "web" / "static"


def test_every_dashboard_script_is_under_ts_check() -> None:
    scripts = sorted(STATIC.glob("*.js"))
    assert scripts
    assert [p.name for p in scripts if not p.read_text().startswith("// @ts-check\n")] == []


def test_the_dashboard_javascript_type_checks() -> None:
    done = subprocess.run(
        [str(tsc_binary()), "--project", str(REPO / "tsconfig.json"), "--checkJs", "--noEmit"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_pure_functions_pass_their_unit_tests() -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed (it comes with Debian's npm: apt-get install npm)"
    done = subprocess.run(
        [node, "--test", str(REPO / "tests" / "js")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout
