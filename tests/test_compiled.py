"""The compiled statements are exactly what the SQLAlchemy definitions compile to now."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import stores._statements as statements
from stores._compiled import COLUMNS, DDL, PARAMS, SQL, Q


def test_the_compiled_module_is_current() -> None:
    """stores/_compiled.py equals a fresh compile (run `python -m stores._statements`)."""
    committed = Path(statements.__file__).with_name("_compiled.py").read_text()
    assert committed == statements.generate(), "run: python -m stores._statements"


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
