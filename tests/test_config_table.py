"""The README's configuration table names every variable the code reads: a setting added
without its row (as SUPERVISOR_CORS_ORIGINS could have been) fails here."""

from __future__ import annotations

import re

from media_jobs_testing.helpers import REPO

PACKAGES = ("supervisor", "web", "stores", "files", "actors")
NAME = re.compile(r'"((?:SUPERVISOR|TURSO|JOBS)_[A-Z0-9_]+)"')


def table_names() -> set[str]:
    """The variables in the table's first column; ``_SUFFIX`` continues the name before it
    (`SUPERVISOR_RETAIN_COMPLETED` / `_CANCELLED`)."""
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        last = ""
        for given in re.findall(r"`([A-Z_][A-Z0-9_]*)`", row.split("|")[1]):
            if given.startswith("_") and last:
                given = last.rsplit("_", 1)[0] + given
            names.add(given)
            last = given
    return names


def code_names() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for source in (REPO / package).rglob("*.py"):
            found.update(NAME.findall(source.read_text()))
    return found


def test_every_variable_the_code_reads_is_in_the_readme_table() -> None:
    assert sorted(code_names() - table_names()) == []


def test_the_table_reads_the_shorthand_rows() -> None:
    names = table_names()
    assert {"SUPERVISOR_RETAIN_CANCELLED", "SUPERVISOR_RETAIN_FAILED"} <= names
    assert "SUPERVISOR_CORS_ORIGINS" in names
