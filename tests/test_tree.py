"""The work tree itself: what a careless merge or edit can leave in any file."""

from __future__ import annotations

import re
import subprocess

from media_jobs_testing.helpers import REPO

#: The lines git writes around a conflict: a file holding one was committed unresolved.
_CONFLICT = re.compile(rb"^(<{7} |>{7} |={7}$)", re.MULTILINE)


def test_no_file_holds_a_merge_conflict() -> None:
    """Every tracked text file is free of conflict markers (one was once committed in the
    README's test command, which then failed on every machine)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    paths = [REPO / name.decode() for name in tracked if name]
    assert len(paths) > 100  # the listing worked: the repository has hundreds of files
    holding = [
        str(path.relative_to(REPO))
        for path in paths
        if path.is_file() and _CONFLICT.search(path.read_bytes())
    ]
    assert holding == []


def test_the_store_fixture_is_defined_once() -> None:
    """Tests get their store from the one fixture in conftest, chosen with the ``store``
    marker; a module's own ``store`` fixture would silently escape the marker's rules."""
    defining = [
        path.name
        for path in sorted((REPO / "tests").glob("*.py"))
        if re.search(rb"^(async )?def store\(", path.read_bytes(), re.MULTILINE)
    ]
    assert defining == ["conftest.py"]
