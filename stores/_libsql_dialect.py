"""A SQLAlchemy dialect, ``sqlite+libsql``, for the maintained ``libsql`` driver.

It is SQLAlchemy's own pysqlite dialect with the connection swapped: SQL, types and
compilation are SQLite's. (The ``sqlalchemy-libsql`` package targets the older
``libsql-experimental`` driver, so we register this small one instead.) Connections are
opened in autocommit mode: the store runs one statement per transition.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL

__all__ = ["LibsqlDialect"]


class LibsqlDialect(SQLiteDialect_pysqlite):
    driver = "libsql"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        import libsql  # imported only when a Turso store is used

        return libsql  # type: ignore[no-any-return]

    def on_connect(self) -> None:  # type: ignore[override]
        # pysqlite's hook registers a REGEXP function, which libsql connections lack.
        return None

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        query = dict(url.query)
        scheme = str(query.pop("scheme", "https"))
        port = f":{url.port}" if url.port else ""
        target = f"{scheme}://{url.host}{port}{(url.database and '/' + url.database) or ''}"
        # The token is never part of the URL (URLs get logged); pass it in connect_args.
        return [target], {"isolation_level": None}

    def set_isolation_level(self, dbapi_connection: Any, level: Any) -> None:
        # libsql's isolation level is fixed at connect time (autocommit here).
        return None

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        return "AUTOCOMMIT"

    def do_rollback(self, dbapi_connection: Any) -> None:
        # Autocommit: nothing is open unless a statement began a transaction explicitly.
        if getattr(dbapi_connection, "in_transaction", False):
            dbapi_connection.rollback()


registry.register("sqlite.libsql", __name__, "LibsqlDialect")
