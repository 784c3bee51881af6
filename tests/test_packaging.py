"""Packaging (issue 18 #2): one version, single-sourced from pyproject.toml, shown by
``--version``, the worker's start line and ``/api/info``; a console script of its own; a
start refused when another installed distribution owns one of the import names. The wheel
itself is built, installed into a clean venv and smoke-tested by scripts/wheel_smoke.py (CI)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from media_jobs_testing.helpers import REPO
from media_jobs_testing.web_client import running_server
from stores import LocalJobStore
from supervisor import JobType, open_supervisor

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
VERSION = PYPROJECT["version"]
SCRIPT = Path(sys.executable).parent / "media-jobs"


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def test_the_console_script_is_the_cli() -> None:
    assert PYPROJECT["scripts"] == {"media-jobs": "supervisor._cli:main"}
    done = run(str(SCRIPT), "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: media-jobs [-h]")


@pytest.mark.parametrize("argv", [[str(SCRIPT)], [sys.executable, "-m", "supervisor"]])
def test_version_is_pyprojects(argv: list[str]) -> None:
    done = run(*argv, "--version")
    assert done.returncode == 0
    assert done.stdout.strip().endswith(f" {VERSION}")


async def test_the_worker_start_line_and_api_info_carry_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def noop(ctx: object, payload: object) -> None:
        return None

    store = LocalJobStore(tmp_path / "jobs.db")
    caplog.set_level(logging.INFO, logger="supervisor")
    async with open_supervisor(store, [JobType("noop", noop)]):
        started = [r for r in caplog.records if r.getMessage() == "worker started"]
        assert [getattr(r, "version", None) for r in started] == [VERSION]
        async with running_server(store) as server:
            info = (await server.client.get("/api/info")).json()
    assert info["version"] == VERSION
    await store.aclose()


def a_distribution_owning(site: Path, name: str, top_level: str) -> None:
    """The metadata of an installed distribution (no files of its own to clash)."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "top_level.txt").write_text(f"{top_level}\n")


@pytest.mark.parametrize("command", [["run"], ["serve", "--port", "0"]])
def test_a_start_is_refused_when_another_distribution_owns_an_import_name(
    tmp_path: Path, command: list[str]
) -> None:
    a_distribution_owning(tmp_path / "site", "supervisord", "supervisor")
    env = {"PYTHONPATH": str(tmp_path / "site"), "JOBS_DB_PATH": str(tmp_path / "jobs.db")}
    try:
        done = run(str(SCRIPT), *command, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("started anyway")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "'supervisor' also by supervisord" in done.stderr
    assert "virtualenv of its own" in done.stderr


def test_the_import_names_are_pyprojects_packages() -> None:
    """What the check compares comes from the installed metadata, which pyproject feeds."""
    from importlib import metadata

    from supervisor._version import DISTRIBUTION, conflicts

    owners = metadata.packages_distributions()
    ours = {name for name, dists in owners.items() if DISTRIBUTION in dists}
    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert ours == {package.split(".")[0] for package in setup["packages"]}
    assert conflicts() == {}
