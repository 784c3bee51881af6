"""``TursoJobStore``: the ``libsql`` driver against a libSQL server (Turso or sqld)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ._errors import JobStoreError, StoreConfigError, StoreUnavailable
from ._session import SqlSession, open_sql_session
from ._sql import SqlJobStore

__all__ = ["TursoJobStore", "open_turso_session", "parse_url"]

#: Real seconds a database call may take before the store gives up on the connection.
CALL_TIMEOUT_S = 15.0
_SCHEMES = {"libsql": "https", "https": "https", "http": "http"}


def parse_url(url: str) -> tuple[str, str, int | None, str]:
    """(transport scheme, host, port, path) of a ``libsql://``, ``https://`` or ``http://``
    URL; raises :class:`StoreConfigError` naming what is wrong."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise StoreConfigError(f"malformed database URL {_safe(url)!r}: {exc}") from None
    if parts.scheme not in _SCHEMES:
        raise StoreConfigError(
            f"unsupported database URL scheme {parts.scheme!r} in {_safe(url)!r}: use "
            "libsql:// (TLS), https:// or http://"
        )
    if not parts.hostname:
        raise StoreConfigError(f"the database URL {_safe(url)!r} names no host")
    if parts.username or parts.password:
        raise StoreConfigError(
            "the database URL must not carry credentials: pass the token as TURSO_AUTH_TOKEN"
        )
    if parts.query and "authToken" in parts.query:
        raise StoreConfigError(
            "the database URL must not carry the token: pass it as TURSO_AUTH_TOKEN"
        )
    return _SCHEMES[parts.scheme], parts.hostname, port, parts.path.strip("/")


def _safe(url: str) -> str:
    """The URL without anything that could be a secret (user info and query)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class TursoJobStore(SqlJobStore):
    """Jobs in a libSQL database over the network (Turso Cloud, or a local ``sqld``).

    ``libsql://`` means TLS (as ``https://``); ``http://`` is for a local sqld. The
    connection lives in a helper process (see ``stores/_helper.py`` for why). The token is
    kept out of URLs, argv, reprs, logs and error messages.
    """

    _label = "turso job store"

    def __init__(
        self,
        url: str,
        auth_token: str | None = None,
        *,
        clock: Callable[[], float] | None = None,
        timeout: float = CALL_TIMEOUT_S,
    ) -> None:
        scheme, host, port, path = parse_url(url)
        if url.startswith("libsql://") and not auth_token:
            raise StoreConfigError(
                f"{_safe(url)} is a Turso URL but no token was given: set TURSO_AUTH_TOKEN "
                "(create one with `turso db tokens create DB`)"
            )
        if auth_token and not all(33 <= ord(c) < 127 for c in auth_token):
            raise StoreConfigError(
                "TURSO_AUTH_TOKEN holds a space, a line break or another character a token "
                "cannot have: copy the token again without them"
            )
        self.url = _safe(url)
        self._token = auth_token or None
        settings = {
            "scheme": scheme,
            "host": host,
            "port": port,
            "path": path,
            "token": self._token,
            "label": self.url,
        }

        def open_session() -> Any:
            from ._helper import HelperSession

            return HelperSession(settings, self._label)

        super().__init__(open_session, timeout=timeout, clock=clock)

    def __repr__(self) -> str:
        token = "set" if self._token else "none"
        return f"<TursoJobStore url={self.url!r} token={token}>"


def _driver_message(exc: BaseException) -> str | None:
    """The text of a libsql driver error (they arrive as ``ValueError("Hrana: ...")``)."""
    orig = getattr(exc, "orig", exc)
    text = str(orig)
    return text if isinstance(orig, ValueError) and "Hrana" in text else None


def open_turso_session(
    scheme: str, host: str, port: int | None, path: str, token: str | None, label: str
) -> SqlSession:
    """Runs in the helper process: connect with libsql through SQLAlchemy, and migrate."""

    def map_error(exc: Exception) -> Exception | None:
        text = _driver_message(exc)
        if text is None:
            return None
        if token:
            text = text.replace(token, "***")
        if "401" in text or "Unauthorized" in text:
            return StoreConfigError(
                f"the libSQL server at {label} refused the token (401): check TURSO_AUTH_TOKEN"
            )
        if "SQLite error" not in text:
            # Errors that certainly ran nothing: a stale or expired stream (server restart,
            # minutes idle) or a refused connection. The store retries these once itself.
            not_sent = any(
                marker in text
                for marker in ("invalid baton", "STREAM_EXPIRED", "Connection refused")
            )
            return StoreUnavailable(
                f"cannot reach the libSQL server at {label}: {text}", not_sent=not_sent
            )
        return JobStoreError(f"the libSQL server at {label} reported: {text}")

    from . import _libsql_dialect  # registers sqlite+libsql

    del _libsql_dialect
    sa_url = sa.engine.URL.create(
        "sqlite+libsql", host=host, port=port, database=path or None, query={"scheme": scheme}
    )
    connect_args = {"auth_token": token} if token else {}
    engine = sa.create_engine(sa_url, poolclass=sa.NullPool, connect_args=connect_args)
    return open_sql_session(engine.connect, map_error)
