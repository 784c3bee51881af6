"""One configuration: every variable is declared once (``media_jobs_config.SETTINGS``: name,
default, help), only ``media_jobs_config`` reads the environment, and the README's
configuration table lists exactly the declared variables with their defaults."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from media_jobs_config import SETTINGS, declared
from media_jobs_testing.helpers import REPO
from media_jobs_testing.sqld import free_port
from media_jobs_testing.workers import worker_env

PACKAGES = ("supervisor", "web", "stores", "files", "actors", "media_jobs_client")
NAME = re.compile(r'"((?:SUPERVISOR|TURSO|JOBS|AWS)_[A-Z0-9_]+|FFMPEG_BINARY|PORT)"')
#: What reads the process's environment in Python (``os.environ`` and its aliases).
ENVIRONMENT_READ = re.compile(r"\bos\.environ\b|\bos\.getenv\b|\bgetenv\(|from os import environ")
READER = REPO / "media_jobs_config" / "_environment.py"


def table_rows() -> dict[str, str]:
    """Each variable in the table's first column, with its row's default (last column);
    ``_SUFFIX`` continues the name before it (`SUPERVISOR_RETAIN_COMPLETED` / `_CANCELLED`)."""
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        cells = row.split("|")
        last = ""
        names = []
        for given in re.findall(r"`([A-Z_][A-Z0-9_]*)`", cells[1]):
            if given.startswith("_") and last:
                given = last.rsplit("_", 1)[0] + given
            names.append(given)
            last = given
        defaults = [d.strip() for d in cells[-2].split("/")]
        for i, name in enumerate(names):
            rows[name] = defaults[i] if len(defaults) == len(names) else cells[-2].strip()
    return rows


def test_the_table_lists_exactly_the_declared_variables() -> None:
    declared_names = {s.variable for s in SETTINGS}
    assert sorted(set(table_rows()) - declared_names) == []
    assert sorted(declared_names - set(table_rows())) == []


def test_the_tables_defaults_are_the_declared_ones() -> None:
    """A numeric default in the table (the first number of its cell) is the declared one."""
    for name, cell in table_rows().items():
        found = re.match(r"`?(\d+(?:\.\d+)?)", cell)
        if found is None:
            continue
        assert float(found.group(1)) == declared(name).default, name


def test_every_variable_the_code_names_is_declared() -> None:
    found: set[str] = set()
    for package in PACKAGES:
        for source in (REPO / package).rglob("*.py"):
            found.update(NAME.findall(source.read_text()))
    assert sorted(found - {s.variable for s in SETTINGS}) == []


def test_only_the_configuration_reads_the_environment() -> None:
    """No module but ``media_jobs_config/_environment.py`` reads ``os.environ``."""
    readers = []
    for package in (*PACKAGES, "media_jobs_config"):
        for source in sorted((REPO / package).rglob("*.py")):
            if source != READER and ENVIRONMENT_READ.search(source.read_text()):
                readers.append(str(source.relative_to(REPO)))
    assert readers == []


def test_the_table_reads_the_shorthand_rows() -> None:
    rows = table_rows()
    assert rows["SUPERVISOR_RETAIN_CANCELLED"] == "86400"
    assert rows["SUPERVISOR_RETAIN_FAILED"] == "604800"
    assert "SUPERVISOR_CORS_ORIGINS" in rows


def test_the_dashboard_gets_the_workers_timings_and_the_late_rule_from_api_info(
    tmp_path: Path,
) -> None:
    """`serve` with the workers' timings set: /api/info carries them and the threshold after
    which the page calls a heartbeat late, so the page has no rule or default of its own."""
    port = free_port()
    env = worker_env(
        JOBS_DB_PATH=str(tmp_path / "jobs.db"),
        SUPERVISOR_HEARTBEAT_INTERVAL="2",
        SUPERVISOR_STALE_AFTER="30",
    )
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 60
        while "serving the API" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/api/info"
        with urllib.request.urlopen(url, timeout=30) as answer:
            info = json.load(answer)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert (info["heartbeat_interval"], info["stale_after"]) == (2, 30)
    assert info["heartbeat_late_after"] == 6  # two beats missed, and 2 s


def test_the_page_copies_no_timing_of_the_server() -> None:
    """app.js reads the timings and the late rule from /api/info: no default or rule of
    its own (they were copies of the server's, and drifted when a worker was tuned)."""
    script = (REPO / "web" / "static" / "app.js").read_text()
    assert re.findall(r"(?:heartbeat_interval|stale_after|tick)\s*:\s*[\d.]+", script) == []
    assert "state.info.heartbeat_late_after" in script
    assert re.findall(r"\d\s*\*\s*state\.info\.heartbeat_interval", script) == []
