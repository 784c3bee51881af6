"""A session: one SQLAlchemy connection running named statements from the registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from ._errors import StoreConfigError
from ._runner import Op, Rows
from ._schema import migrate
from ._statements import STATEMENTS

__all__ = ["SqlSession", "open_sql_session"]

ErrorMapper = Callable[[Exception], Exception | None]


class SqlSession:
    """Runs ops in order on one connection; driver errors are mapped at this boundary."""

    def __init__(self, conn: sa.Connection, map_error: ErrorMapper) -> None:
        self._conn = conn
        self._map_error = map_error

    def execute(self, ops: Sequence[Op]) -> Rows:
        try:
            return [self._one(name, params) for name, params in ops]
        except Exception as exc:
            mapped = self._map_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def _one(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        result = self._conn.execute(STATEMENTS[name], params)
        if not result.returns_rows:
            return []
        return [dict(row._mapping) for row in result]

    def interrupt(self) -> None:
        dbapi = self._conn.connection.dbapi_connection
        interrupt = getattr(dbapi, "interrupt", None)
        if interrupt is not None:
            interrupt()

    def close(self) -> None:
        self._conn.close()


def open_sql_session(connect: Callable[[], sa.Connection], map_error: ErrorMapper) -> SqlSession:
    """Connect, bring the schema up to date, and wrap the connection."""
    try:
        conn = connect()
    except Exception as exc:
        mapped = map_error(exc)
        if mapped is None:
            raise
        raise mapped from exc
    try:
        migrate(conn)
    except RuntimeError as exc:
        conn.close()
        raise StoreConfigError(str(exc)) from exc
    except Exception as exc:
        conn.close()
        mapped = map_error(exc)
        if mapped is None:
            raise
        raise mapped from exc
    return SqlSession(conn, map_error)
