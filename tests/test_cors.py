"""Cross-origin calls from a browser frontend (issue 18 #4), through real HTTP: an
allow-list (``SUPERVISOR_CORS_ORIGINS``), off by default; the preflight answered before
authentication; CORS headers for allowed origins only; ``*`` and non-origins refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from media_jobs_testing.web_client import Server, live_worker, running_server
from media_jobs_testing.workers import cli, worker_env
from stores import LocalJobStore
from supervisor.reference import JOB_TYPES
from web import WebSettings
from web._settings import WebConfigError

pytestmark = pytest.mark.store(backends=("local",), clock="real")

TOKEN = "tok-cors-SECRET-0123456789abcdef"
APP = "https://app.example.com"
OTHER = "https://evil.example.net"
PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


def settings(token: str | None, origins: str) -> WebSettings:
    env = {"SUPERVISOR_CORS_ORIGINS": origins}
    if token is not None:
        env["SUPERVISOR_API_TOKEN"] = token
    return WebSettings.from_env(env)


@pytest.fixture
async def served(store: LocalJobStore) -> LocalJobStore:
    """``store``, with a live worker serving the reference types (the API takes only types
    a live worker serves)."""
    await live_worker(store, [t.info() for t in JOB_TYPES])
    return store


@pytest.fixture
async def api(served: LocalJobStore) -> AsyncIterator[Server]:
    async with running_server(served, settings(TOKEN, f"{APP}, http://localhost:3000")) as s:
        yield s


async def test_a_preflight_from_an_allowed_origin_is_answered_without_the_token(
    api: Server,
) -> None:
    answer = await api.client.options("/api/jobs", headers=PREFLIGHT)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == APP
    assert answer.headers["access-control-allow-methods"] == "GET, HEAD, POST, PUT"
    allowed = answer.headers["access-control-allow-headers"]
    assert allowed == "Authorization, Content-Type, Idempotency-Key, If-None-Match"
    assert answer.headers["access-control-max-age"] == "600"
    assert answer.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in answer.headers
    assert answer.headers["x-frame-options"] == "DENY"  # the security headers still apply


async def test_an_actual_call_from_an_allowed_origin_may_be_read(api: Server) -> None:
    headers = {"Origin": APP, "Authorization": f"Bearer {TOKEN}"}
    created = await api.client.post("/api/jobs", json={"type": "tone"}, headers=headers)
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == APP
    assert created.headers["access-control-expose-headers"] == "Location, ETag"
    assert "Origin" in created.headers["vary"]
    refused = await api.client.get("/api/jobs", headers={"Origin": APP})
    assert refused.status_code == 401  # the token is still required, and the page sees why
    assert refused.headers["access-control-allow-origin"] == APP


async def test_other_origins_get_no_cors_header_at_all(api: Server) -> None:
    preflight = await api.client.options("/api/jobs", headers={**PREFLIGHT, "Origin": OTHER})
    assert preflight.status_code == 403
    assert "SUPERVISOR_CORS_ORIGINS" in preflight.json()["error"]
    headers = {"Origin": OTHER, "Authorization": f"Bearer {TOKEN}"}
    actual = await api.client.get("/api/jobs", headers=headers)
    assert actual.status_code == 200
    for answer in (preflight, actual):
        assert [h for h in answer.headers if h.startswith("access-control-")] == []
        assert answer.headers["vary"] == "Origin"


async def test_the_dashboards_cookie_never_serves_an_allowed_origin(api: Server) -> None:
    """No credentials mode: a state-changing call from an allowed origin carried by the
    session cookie (not the token) is refused, and no answer allows credentials."""
    login = await api.client.post("/login", data={"token": TOKEN})
    assert login.status_code == 303
    made = await api.client.post("/api/jobs", json={"type": "tone"})  # same-origin: fine
    assert made.status_code == 201
    cross = await api.client.post(f"/api/jobs/{made.json()['id']}/cancel", headers={"Origin": APP})
    assert cross.status_code == 403
    assert "access-control-allow-credentials" not in cross.headers


async def test_an_options_that_is_not_a_preflight_still_needs_the_token(api: Server) -> None:
    answer = await api.client.options("/api/jobs", headers={"Origin": APP})
    assert answer.status_code == 401


async def test_cors_is_off_by_default(served: LocalJobStore) -> None:
    async with running_server(served, settings(TOKEN, "")) as api:
        answer = await api.client.options("/api/jobs", headers=PREFLIGHT)
        get = await api.client.get("/healthz", headers={"Origin": APP})
    assert answer.status_code == 401
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in get.headers


async def test_without_a_token_an_allowed_origin_may_submit_and_others_may_not(
    served: LocalJobStore,
) -> None:
    """Loopback without a token: a state-changing call from another site is refused, unless
    the operator allowed that origin."""
    async with running_server(served, settings(None, "http://localhost:3000")) as api:
        allowed = await api.client.post(
            "/api/jobs", json={"type": "tone"}, headers={"Origin": "http://localhost:3000"}
        )
        other = await api.client.post(
            "/api/jobs", json={"type": "tone"}, headers={"Origin": "http://localhost:4000"}
        )
    assert allowed.status_code == 201
    assert other.status_code == 403


@pytest.mark.parametrize(
    "given, text",
    [
        ("*", "may not be '*'"),
        (f"{APP}, *", "may not be '*'"),
        ("app.example.com", "is not an origin"),
        (f"{APP}/path", "is not an origin"),
        ("https://App.example.com", "is not an origin"),
        ("ftp://app.example.com", "is not an origin"),
    ],
)
@pytest.mark.parametrize("token", [TOKEN, None])
def test_a_wildcard_or_a_non_origin_is_refused_at_start(
    given: str, text: str, token: str | None
) -> None:
    with pytest.raises(WebConfigError, match="SUPERVISOR_CORS_ORIGINS") as refused:
        settings(token, given)
    assert text in str(refused.value)


def test_a_trailing_slash_is_the_same_origin() -> None:
    assert settings(TOKEN, f"{APP}/,").cors_origins == {APP}


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["run", "--http", "127.0.0.1:0"]])
def test_serve_and_run_http_refuse_a_wildcard_at_start(tmp_path: Path, command: list[str]) -> None:
    """One line, exit 2, before anything listens."""
    env = {
        **worker_env(JOBS_DB_PATH=str(tmp_path / "jobs.db")),
        "SUPERVISOR_CORS_ORIGINS": "*",
    }
    result = cli(env, *command, timeout=30)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "supervisor: SUPERVISOR_CORS_ORIGINS may not be '*' (every site's pages could then "
        "call this API): list the origins of your frontends"
    ]
