"""The HTTP server against hostile or careless clients: health cost, login, headers, tokens,
connection limits, and a big list that must not stall the worker (issue 16)."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import trio

from stores import JobStore, LocalJobStore, TursoJobStore
from supervisor._reference import JOB_TYPES
from web import Broadcaster, WebSettings, serve_http

from .conftest import REPO
from .sqld import SqldServer
from .web_client import Server, running_server

TYPES = [t.info() for t in JOB_TYPES]
TOKEN = "tok-hardening-SECRET-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def local_store(tmp_path: Path) -> Iterator[JobStore]:
    store = LocalJobStore(tmp_path / "jobs.db")
    yield store
    store.close()


@pytest.fixture
async def secured(local_store: JobStore) -> AsyncIterator[Server]:
    async with running_server(local_store, WebSettings(token=TOKEN, types=TYPES)) as server:
        yield server


# -- 9: /healthz is cheap and says nothing secret ----------------------------------------


async def test_health_reads_the_store_at_most_about_once_a_second(sqld: SqldServer) -> None:
    """A tight loop of /healthz costs about one store read per second, not one per call."""
    store = TursoJobStore(sqld.url, timeout=10)
    try:
        async with running_server(store) as server:
            await server.client.get("/healthz")
            before = sqld.rows_read()
            started = trio.current_time()
            for _ in range(60):
                response = await server.client.get("/healthz")
                assert response.status_code == 200
            elapsed = trio.current_time() - started
            read = sqld.rows_read() - before
    finally:
        store.close()
    assert read <= elapsed + 2, (read, elapsed)


async def test_health_503_names_no_database_url(sqld: SqldServer) -> None:
    """With the database down, /healthz is 503 and its body holds no URL or address."""
    store = TursoJobStore(sqld.url, timeout=2)
    try:
        async with running_server(store) as server:
            sqld.stop()
            response = await server.client.get("/healthz")
    finally:
        store.close()
    assert response.status_code == 503
    host_port = sqld.url.split("//", 1)[1]
    assert host_port not in response.text


# -- 10: login -------------------------------------------------------------------------


async def test_login_with_many_fields_is_a_400_not_a_500(secured: Server) -> None:
    """A login form with five fields is refused in one line, not with a traceback."""
    response = await secured.client.post("/login", content="a=1&b=2&c=3&d=4&token=x", headers=_FORM)
    assert response.status_code == 400


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def _login(client: httpx.AsyncClient, token: str = TOKEN) -> httpx.Response:
    return await client.post("/login", data={"token": token}, headers=_FORM)


def _session(response: httpx.Response) -> str:
    cookie = response.cookies.get("mj_session")
    assert cookie is not None, response.headers
    return cookie


async def test_logout_revokes_the_session_cookie(secured: Server) -> None:
    """A session cookie copied before logout no longer opens the API after it."""
    cookie = _session(await _login(secured.client))
    jar = {"Cookie": f"mj_session={cookie}"}
    async with httpx.AsyncClient(base_url=secured.url) as other:
        assert (await other.get("/api/jobs", headers=jar)).status_code == 200
        await other.post("/logout", headers=jar)
        assert (await other.get("/api/jobs", headers=jar)).status_code == 401


async def test_two_logins_get_different_sessions(secured: Server) -> None:
    """Each login makes its own session: the cookie is not a function of the token."""
    first = _session(await _login(secured.client))
    secured.client.cookies.clear()
    second = _session(await _login(secured.client))
    assert first != second


async def test_failed_logins_are_throttled_and_logged_without_the_secret(
    secured: Server, caplog: pytest.LogCaptureFixture
) -> None:
    """After a few wrong tokens from one address the login answers 429 with Retry-After;
    each failure is logged, never with what was typed."""
    guess = "wrong-guess-0123456789-SECRET"
    caplog.set_level(logging.INFO)
    statuses = [(await _login(secured.client, guess)).status_code for _ in range(12)]
    assert 429 in statuses
    refused = await _login(secured.client, guess)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert guess not in caplog.text
    assert "login failed" in caplog.text


async def test_the_right_token_still_logs_in_while_throttled_is_refused(secured: Server) -> None:
    """While an address is throttled even the right token is refused (429), so the throttle
    cannot be used as an oracle; the bearer API is unaffected."""
    for _ in range(12):
        await _login(secured.client, "wrong-guess-0123456789")
    assert (await _login(secured.client)).status_code == 429
    assert (await secured.client.get("/api/jobs", headers=BEARER)).status_code == 200


# -- 11: a token that cannot travel in a header ----------------------------------------


def test_a_non_ascii_token_is_refused_at_start(tmp_path: Path) -> None:
    """`serve` with a token outside ASCII exits 2 with one line: it could never be sent as a
    Bearer header."""
    env = {
        "PATH": "/usr/bin:/bin",
        "JOBS_DB_PATH": str(tmp_path / "jobs.db"),
        "SUPERVISOR_API_TOKEN": "tökén-with-ümlauts-0123456789",
    }
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", "serve", "--port", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "ASCII" in result.stderr


# -- 16: security headers on every answer ------------------------------------------------


async def _metrics() -> bytes:
    return b"# metrics\n"


@pytest.fixture
async def with_metrics(local_store: JobStore) -> AsyncIterator[Server]:
    settings = WebSettings(token=TOKEN, types=TYPES)
    broadcaster = Broadcaster(local_store, interval=settings.tick)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve_http(
                local_store,
                "127.0.0.1",
                0,
                settings,
                stop,
                broadcaster=broadcaster,
                metrics=_metrics,
                task_status=task_status,
            )
        )
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Server(url, local_store, broadcaster, client)
        stop.set()


ANSWERS = [
    ("GET", "/login", True),
    ("GET", "/", False),
    ("GET", "/healthz", True),
    ("GET", "/api/info", True),
    ("GET", "/api/jobs/1/history", True),
    ("GET", "/metrics", True),
    ("GET", "/api/jobs", True),
    ("GET", "/static/app.js", False),
    ("GET", "/nowhere", True),
]


@pytest.mark.parametrize(("method", "path", "live"), ANSWERS)
async def test_every_answer_has_the_security_headers(
    with_metrics: Server, method: str, path: str, live: bool
) -> None:
    """No answer may be framed or sniffed; per-user and live answers are never stored."""
    await with_metrics.store.create("tone", {"seconds": 1})
    response = await with_metrics.client.request(method, path, headers=BEARER)
    assert response.headers.get("x-frame-options") == "DENY"
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")
    assert response.headers.get("x-content-type-options") == "nosniff"
    cache = response.headers.get("cache-control", "")
    assert ("no-store" in cache) == live, cache
