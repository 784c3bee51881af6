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
from ._statements import DESCRIPTIONS, STATEMENTS

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


#: Every parameter a statement takes: its Python type and what it is, one line each (a
#: statement's parameter missing here fails the build). The generated helpers carry them.
PARAMETERS: dict[str, tuple[str, str]] = {
    "p_after": ("int", "the id after which, among rows of the mark's stamp"),
    "p_before_at": ("float", "the cursor's creation time"),
    "p_before_id": ("int", "the cursor's job id"),
    "p_cap": ("int", "the most rows counted"),
    "p_delay": ("float", "seconds a retry waits"),
    "p_detail": ("str | None", "the failure's detail"),
    "p_error": ("str", "the failure's text"),
    "p_example": ("str | None", "a job type's example payload (JSON text)"),
    "p_gap": ("float", "seconds between ticks that restart the steady period"),
    "p_hash": ("str | None", "the request's fingerprint (a client's key)"),
    "p_host": ("str", "a host name"),
    "p_id": ("int", "a job id"),
    "p_interval": ("float", "a worker's heartbeat interval, seconds"),
    "p_key": ("str | None", "a dedup key"),
    "p_kind": ("str", "the failure's kind (ErrorKind)"),
    "p_lease": ("int", "the lease's fencing token"),
    "p_limit": ("int", "the most rows (-1: no limit)"),
    "p_max": ("int | None", "the most attempts (None: the type's, else 2)"),
    "p_name": ("str", "a job type's name"),
    "p_note": ("str", "the job's note"),
    "p_now": ("float | None", "a test's clock (None: the database's)"),
    "p_payload": ("str", "a payload (JSON text)"),
    "p_payloads": ("str", "payloads (a JSON array of JSON texts)"),
    "p_pid": ("int", "a process id"),
    "p_progress": ("float | None", "the progress, 0 to 1"),
    "p_reason": ("str", "why (history note)"),
    "p_refund": ("int", "1: give the attempt back, 0: charge it"),
    "p_result": ("str", "the result (JSON text)"),
    "p_retain": ("float", "seconds to keep"),
    "p_since": ("float", "the mark's change stamp"),
    "p_stage": ("str | None", "the stage"),
    "p_stages": ("str", "a job type's stages (JSON array)"),
    "p_stale": ("float", "seconds without a heartbeat that make a lease stale"),
    "p_stale_text": ("str", "p_stale as text, for notes"),
    "p_started": ("float", "a child's start time"),
    "p_status": ("str", "a job status"),
    "p_tail": ("str | None", "the log tail (None: keep it)"),
    "p_timeout": ("float | None", "a job type's timeout, seconds"),
    "p_token": ("str", "the claim's token"),
    "p_type": ("str", "a job type's name"),
    "p_types": ("str", "job type names (JSON array)"),
    "p_version": ("str", "a worker's version"),
    "p_worker": ("str", "a worker id"),
}
#: Where a name means something else in one statement.
_PARAMETER_OVERRIDES = {
    ("WORKER_UPSERT", "p_id"): ("str", "a worker id"),
    ("WORKER_BEAT", "p_id"): ("str", "a worker id"),
    ("WORKER_REMOVE", "p_id"): ("str", "a worker id"),
    # A child's record is cleared with NULLs.
    ("RECORD_CHILD", "p_pid"): ("int | None", "the child's process id"),
    ("RECORD_CHILD", "p_host"): ("str | None", "the child's host"),
    ("RECORD_CHILD", "p_started"): ("float | None", "the child's start time"),
}


def _parameter(name: str, parameter: str) -> tuple[str, str]:
    found = _PARAMETER_OVERRIDES.get((name, parameter)) or PARAMETERS.get(parameter)
    if found is None:
        raise SystemExit(f"{name}: parameter {parameter} is not in stores/_build.PARAMETERS")
    return found


def _helper(name: str, params: tuple[str, ...]) -> list[str]:
    """A typed function per statement: mypy checks the names and types at each call."""
    unique = list(dict.fromkeys(params))
    typed = [(p, *_parameter(name, p)) for p in unique]
    signature = ", ".join(f"{p}: {t}" for p, t, _ in typed)
    lines = ["", "", f"def {name.lower()}({'*, ' + signature if typed else ''}) -> Op:"]
    lines.append(f'    """{DESCRIPTIONS[name]}')
    if typed:
        lines.append("")
        lines.extend(f"    ``{p}``: {doc}." for p, _, doc in typed)
    lines.append('    """')
    body = ", ".join(f"{p!r}: {p}" for p in unique)
    lines.append(f"    return Q.{name}, {{{body}}}")
    return lines


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
        '__all__ = ["COLUMNS", "DDL", "DESCRIPTIONS", "PARAMS", "RETIRED", "SCHEMA_REVISION",'
        ' "SCHEMA_VERSION", "SQL", "UPGRADES", "Op", "Q"]',
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
        "#: What each statement does, in one line.",
        "DESCRIPTIONS: dict[Q, str] = {",
        *(f"    Q.{name}: {DESCRIPTIONS[name]!r}," for name in statements),
        "}",
        "",
        "#: A statement with its parameters by name, as the typed helpers below make it.",
        "Op = tuple[Q, dict[str, object]]",
        *(line for name, (_, params, _) in statements.items() for line in _helper(name, params)),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import pathlib

    target = pathlib.Path(__file__).with_name("_compiled.py")
    target.write_text(generate())
    print(f"wrote {target}")
