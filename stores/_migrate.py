"""Bringing a database to the current schema, over any transport (plain SQL, no SQLAlchemy).

Idempotent and safe to race: every DDL statement is ``IF NOT EXISTS``, an upgrade that
another process ran a moment ago is taken as done, and the recorded version and revision
only ever grow. ``schema_meta`` holds a compatibility ``version`` (code refuses a database
whose version is newer than its own) and a ``revision`` (additive changes, which code of
the previous release ignores: old and new workers can share a database during a deploy).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ._compiled import DDL, RETIRED, SCHEMA_REVISION, SCHEMA_VERSION, UPGRADES
from ._errors import JobStoreError, StoreConfigError

__all__ = ["migrate"]

#: Runs plain SQL ops ((text, parameters), ...) and returns the rows of each.
Execute = Callable[[Sequence[tuple[str, tuple[Any, ...]]]], Awaitable[list[list[tuple[Any, ...]]]]]

#: Which of the schema's bookkeeping table and of the retired objects exist: one read.
_PRESENT = "SELECT type, name FROM sqlite_master WHERE name IN ({})".format(
    ", ".join("?" * (1 + len(RETIRED)))
)
_PRESENT_NAMES = ("schema_meta", *(name for _, name in RETIRED))
_READ_META = "SELECT key, value FROM schema_meta WHERE key IN ('version', 'revision')"
_SET_META = (
    "INSERT INTO schema_meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value < excluded.value"
)


async def _state(execute: Execute) -> tuple[int, int, list[tuple[str, str]]]:
    """The recorded (version, revision), (0, 0) for a new database, and the retired
    objects the database still has."""
    present = [(str(t), str(n)) for t, n in (await execute([(_PRESENT, _PRESENT_NAMES)]))[0]]
    if ("table", "schema_meta") not in present:
        return 0, 0, []
    meta: dict[Any, Any] = dict((await execute([(_READ_META, ())]))[0])
    version = int(meta.get("version") or 0)
    revision = int(meta.get("revision") or min(version, 1))
    return version, revision, [(t, n) for t, n in present if (t, n) in RETIRED]


async def _retire(execute: Execute, objects: Sequence[tuple[str, str]]) -> None:
    """Drop retired objects (each ``IF EXISTS``: another process may have just done it)."""
    if objects:
        await execute([(f"DROP {kind.upper()} IF EXISTS {name}", ()) for kind, name in objects])


async def migrate(execute: Execute) -> int:
    """Bring the schema to the current revision; returns the revision found before.

    Raises :class:`StoreConfigError` if the database's version is newer than this code.
    """
    version, revision, leftovers = await _state(execute)
    if version > SCHEMA_VERSION:
        raise StoreConfigError(
            f"the database has schema version {version}, newer than this code's "
            f"{SCHEMA_VERSION}: upgrade the code before using this database"
        )
    if revision >= SCHEMA_REVISION:
        # A process of an earlier revision that migrated at the same moment may have made
        # retired objects again after they were dropped.
        await _retire(execute, leftovers)
        return revision
    if version > 0:
        for step in range(revision + 1, SCHEMA_REVISION + 1):
            for statement in UPGRADES.get(step, ()):
                try:
                    await execute([(statement, ())])
                except JobStoreError as exc:
                    # Another process ran the same upgrade a moment ago: the outcome we want.
                    if "duplicate column" not in str(exc):
                        raise
    await execute([(statement, ()) for statement in DDL])
    # Only now, with their replacements made: the hot paths never go without an index.
    await _retire(execute, RETIRED)
    await execute(
        [(_SET_META, ("version", SCHEMA_VERSION)), (_SET_META, ("revision", SCHEMA_REVISION))]
    )
    return revision
