"""The HTTP server against hostile or careless clients: health cost, login, headers, tokens,
connection limits, and a big list that must not stall the worker (issue 16)."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import trio

from media_jobs_testing.helpers import REPO, WallClock, wait_for_status
from media_jobs_testing.sqld import SqldServer
from media_jobs_testing.web_client import LISTENING, Server, live_worker, running_server
from stores import JobStatus, JobStore, LocalJobStore, TursoJobStore
from supervisor import JobContext, JobType, WorkerConfig, open_supervisor
from supervisor.reference import JOB_TYPES
from web import WebConfigError, WebSettings
from web._sessions import Sessions

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
    await live_worker(local_store, TYPES)
    async with running_server(local_store, WebSettings(token=TOKEN)) as server:
        yield server


# -- 9: /healthz is cheap and says nothing secret ----------------------------------------


@pytest.mark.sqld
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


@pytest.mark.sqld
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


async def test_while_throttled_even_the_right_token_is_refused(secured: Server) -> None:
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
    await live_worker(local_store, TYPES)
    settings = WebSettings(token=TOKEN)
    async with running_server(local_store, settings, metrics=_metrics) as server:
        yield server


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


async def _broken_metrics() -> bytes:
    raise RuntimeError("a renderer with a bug")


async def test_an_internal_error_has_the_security_headers_too(local_store: JobStore) -> None:
    """A 500 (here: a metrics renderer that raises) carries the same headers as any answer."""
    settings = WebSettings(token=TOKEN)
    async with running_server(local_store, settings, metrics=_broken_metrics) as server:
        response = await server.client.get("/metrics", headers=BEARER)
    assert response.status_code == 500
    assert response.headers.get("x-frame-options") == "DENY"
    assert response.headers.get("cache-control") == "no-store"


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


# -- 20: a big list does not stall the worker ----------------------------------------------

FILL_PENDING = """
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {count})
INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested,
                  created_at, updated_at)
SELECT 'tone', '{{}}', 'pending', 0, 2, 0, 0, {at} + n / 7, {at} + n / 7 FROM seq
"""


def fill_pending(path: Path, count: int, at: float) -> None:
    """Add ``count`` pending jobs created after ``at`` (seven per second: ties included)."""
    with sqlite3.connect(path) as conn:
        conn.execute(FILL_PENDING.format(count=int(count), at=float(at)))


async def hang(ctx: JobContext, payload: object) -> None:
    await trio.sleep_forever()


class HeartbeatWatch:
    """Reads a running job's heartbeat (``updated_at``) from a thread of its own, through its
    own connection, so what it sees does not depend on the worker's event loop."""

    def __init__(self, path: Path, job_id: int) -> None:
        self.path, self.job_id = path, job_id
        self.beats: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            last = None
            while not self.done.wait(0.02):
                (beat,) = conn.execute(
                    "SELECT updated_at FROM jobs WHERE id = ?", (self.job_id,)
                ).fetchone()
                if beat != last:
                    self.beats.append(time.monotonic())
                    last = beat

    def longest_silence(self) -> float:
        return max(b - a for a, b in itertools.pairwise(self.beats))


async def test_a_500_row_list_of_60000_pending_jobs_does_not_stall_the_heartbeat(
    tmp_path: Path,
) -> None:
    """With 60,000 jobs pending, listing 500 of them (with their queue positions) through the
    API of the worker's own process leaves its running job's heartbeat on time."""
    path = tmp_path / "jobs.db"
    store = LocalJobStore(path)
    config = WorkerConfig(worker_id="w-list", poll_interval=0.1, heartbeat_interval=0.1)
    try:
        running = await store.create("hang")
        fill_pending(path, 60_000, running.created_at)
        async with (
            open_supervisor(store, [JobType("hang", hang)], config),
            running_server(store, WebSettings()) as server,
        ):
            with trio.fail_after(30):
                await wait_for_status(store, running.id, JobStatus.RUNNING)
            watch = HeartbeatWatch(path, running.id)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(trio.to_thread.run_sync, watch.run)
                await trio.sleep(0.5)  # a few beats before the list: the watch's baseline
                for query in ("limit=500", "limit=500&status=pending", "limit=500&type=tone"):
                    response = await server.client.get(f"/api/jobs?{query}")
                    assert response.status_code == 200
                await trio.sleep(0.5)
                watch.done.set()
    finally:
        store.close()
    assert len(response.json()["jobs"]) == 500
    assert watch.longest_silence() < 1.0, watch.beats


async def test_list_positions_are_the_polls_for_every_filter(
    store: JobStore, wall: WallClock
) -> None:
    """The list's queue positions, numbered in one pass, equal each job's own poll: with ties
    on the creation time, two types, and finished and running jobs in between."""
    for n in range(12):
        if n % 3 == 0:
            wall.advance(1.0)  # the others are created at the same instant: ties
        job = await store.create("tone" if n % 3 else "sleep", {"n": n})
        if n % 4 == 1:
            await store.cancel(job.id)
    claimed = await store.claim("w-positions", types=["tone"])
    assert claimed is not None
    for status in (None, "pending", "running", "cancelled"):
        for type_ in (None, "tone", "sleep"):
            for limit in (3, 50):
                views = await store.views(status=status, type=type_, limit=limit)
                for view in views:
                    assert view.queue_position == (await store.poll(view.id)).queue_position


# -- 2: connections: caps, deadlines, and descriptors ------------------------------------

HELD_REQUEST = (
    b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntoken="
)


class Served:
    """`python -m supervisor ARGS` on a free loopback port, under an open-file limit."""

    def __init__(self, tmp_path: Path, args: list[str], fd_limit: int, **env: str) -> None:
        self.log = tmp_path / "served.log"
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "JOBS_DB_PATH": str(tmp_path / "jobs.db"),
            "SUPERVISOR_OUTPUT_DIR": str(tmp_path / "out"),
            "SUPERVISOR_API_TOKEN": TOKEN,
            **env,
        }

        def limit() -> None:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, hard))

        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "supervisor", *args],
                cwd=REPO,
                env=environment,
                stderr=out,
                preexec_fn=limit,
            )
        deadline = time.monotonic() + 60
        while not (found := LISTENING.search(self.log.read_text())):
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)
        url = found.group(1)
        self.url = url
        host, _, port = url.removeprefix("http://").rpartition(":")
        self.address = (host, int(port))

    def descriptors(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def connect(self, first: bytes = b"") -> socket.socket:
        sock = socket.create_connection(self.address, timeout=10)
        if first:
            sock.sendall(first)
        return sock

    def get(self, path: str, *, token: str | None = None, timeout: float = 5) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.url + path, headers=headers, timeout=timeout)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@contextlib.contextmanager
def served(tmp_path: Path, args: list[str], fd_limit: int = 1024, **env: str) -> Iterator[Served]:
    server = Served(tmp_path, args, fd_limit, **env)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def held(server: Served, count: int, first: bytes = HELD_REQUEST) -> Iterator[list[socket.socket]]:
    """``count`` connections that each send ``first`` and then nothing."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(server.connect(first))
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server ends the connection within ``within`` seconds (any answer it
    sent first is read and dropped)."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def test_held_anonymous_connections_leave_health_and_jobs_working(tmp_path: Path) -> None:
    """Under a 256-descriptor limit, 300 anonymous `POST /login` that never send their body
    hold few descriptors: `/healthz` answers, and the worker of `run --http` still runs a job
    that writes an output."""
    with served(tmp_path, ["run", "--http", "127.0.0.1:0"], fd_limit=256) as server:
        with held(server, 300):
            health = server.get("/healthz")
            descriptors = server.descriptors()
            created = httpx.post(
                server.url + "/api/jobs",
                json={"type": "tone", "payload": {"seconds": 0.2, "format": "wav"}},
                headers=BEARER,
                timeout=10,
            )
            assert created.status_code == 201, created.text
            job_id = created.json()["id"]
            deadline = time.monotonic() + 60
            while (view := server.get(f"/api/jobs/{job_id}", token=TOKEN).json())["status"] in (
                "pending",
                "running",
            ):
                assert time.monotonic() < deadline, view
                time.sleep(0.1)
    assert health.status_code == 200
    assert descriptors < 128, descriptors
    assert view["status"] == "completed", view


def test_a_body_that_does_not_arrive_in_time_is_a_408_and_the_connection_closes(
    tmp_path: Path,
) -> None:
    """A request whose body stops coming is answered 408 once SUPERVISOR_HTTP_BODY_TIMEOUT
    has passed since its headers, and its connection is closed."""
    with served(tmp_path, ["serve", "--port", "0"], SUPERVISOR_HTTP_BODY_TIMEOUT="1") as server:
        sock = server.connect(HELD_REQUEST)
        sock.settimeout(10)
        try:
            answer = sock.recv(65536)
            closed = closed_by_server(sock, 10)
        finally:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert closed


def test_beyond_the_anonymous_cap_the_oldest_anonymous_connection_is_closed(
    tmp_path: Path,
) -> None:
    """With SUPERVISOR_HTTP_MAX_ANONYMOUS=4, each new connection beyond four closes the
    oldest anonymous one; a connection that proved the token is never among them."""
    with served(tmp_path, ["serve", "--port", "0"], SUPERVISOR_HTTP_MAX_ANONYMOUS="4") as server:
        proven = server.connect()
        first = exchange(proven, PROVEN_REQUEST)
        with held(server, 8) as sockets:
            health = server.get("/healthz")  # accepted after the eight: all are counted
            closed = [closed_by_server(sock, 0.5) for sock in sockets]
            again = exchange(proven, PROVEN_REQUEST)
        proven.close()
    assert first == 200
    assert health.status_code == 200
    assert closed == [True] * 5 + [False] * 3  # the health check's own connection took one
    assert again == 200


PROVEN_REQUEST = (
    f"GET /api/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
)


def exchange(sock: socket.socket, request: bytes) -> int:
    """Send ``request`` on a kept-alive connection and read its whole answer; its status."""
    sock.settimeout(10)
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    assert length is not None, head
    while len(body) < int(length.group(1)):
        body += sock.recv(65536)
    return int(head.split()[1])


def test_beyond_the_connection_cap_new_connections_wait_their_turn(tmp_path: Path) -> None:
    """With SUPERVISOR_HTTP_MAX_CONNECTIONS=6, a seventh connection is not served while six
    are open, and is served as soon as one of them closes."""
    env = {"SUPERVISOR_HTTP_MAX_CONNECTIONS": "6", "SUPERVISOR_HTTP_MAX_ANONYMOUS": "6"}
    with served(tmp_path, ["serve", "--port", "0"], **env) as server:
        with held(server, 6, PROVEN_REQUEST):
            waiting = server.connect(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            waiting.settimeout(1)
            with pytest.raises(TimeoutError):
                waiting.recv(65536)
        # The six closed (the block above ended): the seventh is accepted and answered.
        waiting.settimeout(10)
        try:
            answer = waiting.recv(65536)
        finally:
            waiting.close()
    assert answer.startswith(b"HTTP/1.1 200")


EXHAUSTED = """
import os, resource, sys, trio
import files
from actors import classify
from supervisor._transfer import _classified

async def main():
    storage = files.get_storage()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
    held = []
    try:
        for _ in range(200):
            held.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        pass
    try:
        with _classified("payload 'output'", "x.wav"):  # as store_output maps it
            await storage.upload_file("jobs/1/x.wav", sys.argv[1])
        print("stored")
    except Exception as exc:
        print(classify(exc).value, type(exc).__name__, exc)

trio.run(main)
"""


def test_running_out_of_descriptors_is_transient_not_a_verdict_on_the_job(
    tmp_path: Path,
) -> None:
    """With every descriptor in use (EMFILE), storing an output fails as a transient error
    (retried), never as a permanent verdict on the job."""
    source = tmp_path / "x.wav"
    source.write_bytes(b"RIFF")
    env = {"PATH": "/usr/bin:/bin", "SUPERVISOR_STORAGE_URL": f"file://{tmp_path}/files"}
    result = subprocess.run(
        [sys.executable, "-c", EXHAUSTED, str(source)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("transient "), result.stdout
    assert "Too many open files" in result.stdout


def test_a_session_expires_and_a_forged_or_altered_cookie_is_refused() -> None:
    """A session cookie stops working at its expiry; one signed with another token, or with
    its expiry moved, never works."""
    clock = WallClock(1_800_000_000.0)
    sessions = Sessions(TOKEN, lifetime=60, clock=clock)
    cookie = sessions.issue()
    version, session_id, expires, mac = cookie.split(".")
    later = f"{version}.{session_id}.{int(expires) + 3600}.{mac}"
    forged = Sessions("another-token-0123456789abcdef", clock=clock).issue()
    assert sessions.valid(cookie)
    assert not sessions.valid(later)
    assert not sessions.valid(forged)
    clock.advance(61)
    assert not sessions.valid(cookie)


async def test_headers_that_trickle_in_are_cut_off_at_the_header_timeout(
    local_store: JobStore,
) -> None:
    """A client that sends its headers a byte at a time, never finishing them, is
    disconnected once the header timeout has passed since it connected."""
    settings = WebSettings(token=TOKEN, header_timeout=0.5)
    async with running_server(local_store, settings) as server:
        host, _, port = server.url.removeprefix("http://").rpartition(":")
        stream = await trio.open_tcp_stream(host, int(port))
        started = trio.current_time()
        with trio.fail_after(10):
            try:
                for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
                    await stream.send_all(bytes([byte]))
                    await trio.sleep(0.05)
            except trio.BrokenResourceError:
                pass  # the server closed it while we were still sending: what we wanted
            try:
                left = await stream.receive_some()
            except trio.BrokenResourceError:
                left = b""  # reset rather than closed: ended all the same
        await stream.aclose()
    assert left == b""
    assert trio.current_time() - started < 3.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SUPERVISOR_HTTP_MAX_CONNECTIONS", "abc"),
        ("SUPERVISOR_HTTP_MAX_ANONYMOUS", "0"),
        ("SUPERVISOR_HTTP_BODY_TIMEOUT", "-1"),
    ],
)
def test_a_bad_limit_is_refused_by_its_variable_name(name: str, value: str) -> None:
    """A connection limit that is not a positive number is refused, naming the variable."""
    with pytest.raises(WebConfigError, match=name):
        WebSettings.from_env({name: value})
