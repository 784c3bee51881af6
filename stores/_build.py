"""Build time only: compile every statement, once, for SQLite, into ``stores/_compiled.py``.

Run ``python -m stores._build`` (``make regenerate``) after changing the statements
(``_statements.py``) or the schema (``_schema.py``); the pre-commit hook runs it and
``tests/test_compiled.py`` fails while the generated file is stale. Nothing imports this
module at run time: it is the only place that compiles SQL.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler

from ._schema import RETIRED, SCHEMA_REVISION, SCHEMA_VERSION, UPGRADES, ddl
from ._statements import STATEMENTS

__all__ = ["compiled", "generate"]


class _Compiler(SQLiteCompiler):
    def visit_bindparam(self, bindparam: Any, **kw: Any) -> Any:  # type: ignore[override]
        # Constants become literals (SQLite can then match partial indexes); only the
        # caller's values (p_*) stay parameters.
        if not bindparam.key.startswith("p_"):
            kw["literal_binds"] = True
        return super().visit_bindparam(bindparam, **kw)  # type: ignore[no-untyped-call]


class _Dialect(sqlite.dialect):  # type: ignore[misc,valid-type]
    statement_compiler = _Compiler


def _columns(statement: sa.Executable) -> tuple[str, ...]:
    """The names of the columns a statement returns (its RETURNING or its select list)."""
    exported = getattr(statement, "exported_columns", ())
    return tuple(str(column.key) for column in exported)


def compiled() -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """Every statement by name: (SQL text, parameter names in order, result columns)."""
    dialect = _Dialect(paramstyle="qmark")
    out = {}
    for name in sorted(STATEMENTS):
        statement = STATEMENTS[name]
        c = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        # positiontup: the documented order of a positional statement's parameters.
        out[name] = (" ".join(str(c).split()), tuple(c.positiontup or ()), _columns(statement))
    return out


def generate() -> str:
    """The source of ``stores/_compiled.py``."""
    statements = compiled()
    lines = [
        '"""Every statement, compiled for SQLite from ``stores/_statements.py``: GENERATED.',
        "",
        "Do not edit: run ``python -m stores._build`` after changing the statements or",
        "the schema. ``tests/test_compiled.py`` fails while this file is out of date.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import enum",
        "",
        '__all__ = ["COLUMNS", "DDL", "PARAMS", "RETIRED", "SCHEMA_REVISION", "SCHEMA_VERSION",'
        ' "SQL", "UPGRADES", "Q"]',
        "",
        f"SCHEMA_VERSION = {SCHEMA_VERSION}",
        f"SCHEMA_REVISION = {SCHEMA_REVISION}",
        "",
        "",
        "class Q(enum.StrEnum):",
        '    """The name of a statement."""',
        "",
        *(f"    {name} = {name!r}" for name in statements),
        "",
        "",
        "#: The SQL text of each statement (positional ``?`` parameters).",
        "SQL: dict[Q, str] = {",
        *(f"    Q.{name}: {sql!r}," for name, (sql, _, _) in statements.items()),
        "}",
        "#: The names of a statement's parameters, in the order of its ``?``.",
        "PARAMS: dict[Q, tuple[str, ...]] = {",
        *(f"    Q.{name}: {params!r}," for name, (_, params, _) in statements.items()),
        "}",
        "#: The columns a statement returns (empty if none).",
        "COLUMNS: dict[Q, tuple[str, ...]] = {",
        *(f"    Q.{name}: {columns!r}," for name, (_, _, columns) in statements.items()),
        "}",
        "#: The whole current schema, for a new database (every statement IF NOT EXISTS).",
        "DDL: tuple[str, ...] = (",
        *(f"    {statement!r}," for statement in ddl()),
        ")",
        "#: What brings a database of the previous revision to each revision.",
        "UPGRADES: dict[int, tuple[str, ...]] = {",
        *(f"    {rev}: {steps!r}," for rev, steps in UPGRADES.items()),
        "}",
        "#: Objects of earlier revisions to drop once their replacements exist: (type, name).",
        f"RETIRED: tuple[tuple[str, str], ...] = {RETIRED!r}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import pathlib

    target = pathlib.Path(__file__).with_name("_compiled.py")
    target.write_text(generate())
    print(f"wrote {target}")
