"""The one version, and the check that this distribution's import names are its own.

Single-sourced: ``version`` in pyproject.toml, read through the installed distribution's
metadata (so a wheel, an editable install and the work tree after ``pip install -e`` agree).
The import names are whatever pyproject's ``packages`` list held when the distribution was
built (its ``top_level.txt``), never written out here a second time. ``importlib.metadata``
costs tens of milliseconds to import and scan, so both load only when asked.
"""

from __future__ import annotations

__all__ = ["DISTRIBUTION", "conflict_line", "conflicts", "version"]

#: The distribution's name on PyPI and in pyproject.toml.
DISTRIBUTION = "media-jobs"


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a work tree that was never installed
        return "0+unknown"


def conflicts() -> dict[str, list[str]]:
    """Each of this distribution's top-level import names that another installed
    distribution also owns, with those distributions: pip lets the last install win, so
    one of them has silently replaced the other's files."""
    from importlib import metadata

    owners = metadata.packages_distributions()
    found = {}
    for name, dists in owners.items():
        others = sorted(set(dists) - {DISTRIBUTION})
        if DISTRIBUTION in dists and others:
            found[name] = others
    return found


def conflict_line() -> str | None:
    """The one line that refuses to start when an import name is shared, else None."""
    shared = conflicts()
    if not shared:
        return None
    names = "; ".join(f"{name!r} also by {', '.join(d)}" for name, d in sorted(shared.items()))
    return (
        f"another installed distribution owns an import name of {DISTRIBUTION} ({names}): "
        "one install has replaced the other's files; install media-jobs into a virtualenv "
        "of its own"
    )
