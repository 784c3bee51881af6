"""The compiled statements are exactly what the SQLAlchemy definitions compile to now."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import stores._build as build
import stores._statements as statements
from stores._compiled import COLUMNS, DDL, PARAMS, SQL, Q


def test_the_compiled_module_is_current() -> None:
    """stores/_compiled.py equals a fresh compile (run `python -m stores._build`)."""
    committed = Path(build.__file__).with_name("_compiled.py").read_text()
    assert committed == build.generate(), "run: python -m stores._build (make regenerate)"


def test_every_statement_prepares_with_its_parameter_list() -> None:
    """Each name has SQL text that SQLite prepares on the compiled schema and binds with
    exactly its parameter list (a wrong count raises)."""
    assert set(SQL) == set(PARAMS) == set(COLUMNS) == set(Q)
    conn = sqlite3.connect(":memory:")
    for ddl in DDL:
        conn.execute(ddl)
    for name in Q:
        assert all(p.startswith("p_") for p in PARAMS[name]), name
        conn.execute("EXPLAIN " + SQL[name], (None,) * len(PARAMS[name]))
        with pytest.raises(sqlite3.ProgrammingError, match="bindings"):
            conn.execute("EXPLAIN " + SQL[name], (None,) * (len(PARAMS[name]) + 1))


def test_the_statements_sent_to_reader_connections_are_exactly_those_that_write_nothing() -> None:
    """The local store sends a statement to its read-only connections by its first word
    (``_is_read``): that must hold for every statement, as SQLite itself sees it when it
    prepares the statement (its authorizer is told of every insert, update and delete,
    triggers' included)."""
    from stores._local import _is_read

    writes = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE}
    conn = sqlite3.connect(":memory:")
    for ddl in DDL:
        conn.execute(ddl)
    seen: set[int] = set()

    def authorizer(action: int, *_: object) -> int:
        seen.add(action)
        return sqlite3.SQLITE_OK

    conn.set_authorizer(authorizer)
    for name in Q:
        seen.clear()
        conn.execute("EXPLAIN " + SQL[name], (None,) * len(PARAMS[name]))
        writes_something = bool(seen & writes)
        assert _is_read(SQL[name]) is not writes_something, name


def test_every_statement_defined_is_in_the_registry_with_a_description() -> None:
    """A statement written in ``stores/_statements.py`` but left out of its explicit
    registry would never be compiled: each public one is there, described in one line."""
    import sqlalchemy as sa

    defined = {
        name
        for name, value in vars(statements).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, sa.Executable)
    }
    assert defined <= set(statements.STATEMENTS)
    assert all(statements.DESCRIPTIONS[name] for name in statements.STATEMENTS)
