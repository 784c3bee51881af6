"""HTTP layer figures, measured here against real processes:

1. the poll endpoint (``GET /api/jobs/{id}``): requests per second and p50/p99 latency with
   1 and 50 concurrent clients, on the local store and on sqld, served by ``serve`` and by
   ``run --http`` (a worker in the same process running short ``sleep`` jobs, a few writes
   each, all along); with ``--baseline DIR`` (a checkout of other code, e.g.
   ``git archive main | tar -x -C DIR``) that code is measured in the same run, in turn;
2. SSE latency: from a progress write returning to the event arriving in headless Chromium
   (an ``EventSource`` on ``/api/events``), at the default tick (0.5 s);
3. rows read per minute on sqld (its own statistics: what Turso bills) with a running job and
   0, 1 and 100 open watchers.

    python benchmarks/http_api.py [--seconds 10] [--window 60] [--parts poll,sse,rows]
        [--stores local,sqld] [--servers serve,worker] [--baseline DIR]

(Not ``http.py``: a script's folder is first on the import path, so a file named like the
standard library's ``http`` would break every other script in this folder.)

The server is ``python -m supervisor serve`` (or ``run --http``) in its own process; the
clients run in this one (httpx on Trio). Both share this machine's cores, so the request
rates are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from media_jobs_testing.sqld import SqldServer
from media_jobs_testing.web_client import CHROMIUM, CHROMIUM_ARGS, LISTENING, sse
from stores import JobStore, LocalJobStore, TursoJobStore

REPO = Path(__file__).resolve().parent.parent


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))}
    return {**env, **extra}


@contextmanager
def serving(env: dict[str, str], args: list[str], log: Path, code: Path = REPO) -> Iterator[str]:
    """A `python -m supervisor` process serving HTTP (the code in ``code``: its folder is
    first on the import path); yields its URL; SIGTERM at the end."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "supervisor", *args], cwd=code, env=env, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := LISTENING.search(log.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text()}")
            time.sleep(0.05)
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(30)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Poller:
    """One keep-alive HTTP/1.1 connection sending the same GET again and again.

    Why not httpx: with 50 clients in one process it is the bottleneck, not the server
    (measured: the httpx client at 95 % of a core, the server at 36 %), and its latencies
    are then its own scheduling. This sends prepared bytes and reads the status line, the
    headers and ``Content-Length`` bytes of body: a few tens of microseconds a request.
    Hypercorn closes a connection after 1,000 requests: the next request opens another.
    """

    def __init__(self, address: tuple[str, int], request: bytes) -> None:
        self.address, self.request, self.buffer = address, request, b""
        self.stream: trio.SocketStream | None = None

    async def get(self) -> int:
        """One request (on a new connection if the last one was closed); its status code."""
        try:
            return await self._get()
        except (ConnectionError, trio.BrokenResourceError):
            await self.close()
            return await self._get()

    async def _get(self) -> int:
        if self.stream is None:
            self.stream, self.buffer = await trio.open_tcp_stream(*self.address), b""
        await self.stream.send_all(self.request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            await self._more()
        head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
        lines = head.split(b"\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in lines
            if line.lower().startswith(b"content-length:")
        )
        while len(self.buffer) < length:
            await self._more()
        self.buffer = self.buffer[length:]
        return int(lines[0].split()[1])

    async def _more(self) -> None:
        assert self.stream is not None
        chunk = await self.stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    async def close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            await stream.aclose()


async def poll_load(url: str, job_id: int, clients: int, seconds: float) -> str:
    host, port = httpx.URL(url).host, httpx.URL(url).port
    assert port is not None
    request = f"GET /api/jobs/{job_id} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    latencies: list[float] = []
    pollers = [_Poller((host, port), request) for _ in range(clients)]
    for poller in pollers:
        assert await poller.get() == 200  # warm up
    deadline = time.perf_counter() + seconds

    async def one_client(poller: _Poller) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status = await poller.get()
            assert status == 200, status
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for poller in pollers:
            nursery.start_soon(one_client, poller)
    elapsed = time.perf_counter() - started
    for poller in pollers:
        await poller.close()
    return (
        f"{clients:>3} clients: {len(latencies) / elapsed:7.0f} req/s, "
        f"p50 {percentile(latencies, 0.5) * 1000:6.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:6.1f} ms ({len(latencies)} requests)"
    )


#: The short jobs a worker runs while the poll endpoint is measured: a claim, a stage, a
#: few progress writes and a completion each, about 20 jobs a second.
BUSY_JOB = {"seconds": 0.05, "steps": 5}


async def _poll_store(
    store: JobStore, env: dict[str, str], folder: Path, server: str, seconds: float
) -> tuple[int, dict[str, str], list[str]]:
    """A pending job no worker takes (type ``idle``, 20 ahead of it: its queue position is
    computed), and for ``worker`` enough ``sleep`` jobs behind it to keep one busy."""
    for _ in range(20):
        await store.create("idle")
    job = await store.create("idle")
    if server == "serve":
        return job.id, env, ["serve", "--port", "0"]
    await store.create_many("sleep", [BUSY_JOB] * int(40 * (seconds * 2 + 10)))
    env = {**env, "SUPERVISOR_STORAGE_URL": f"file://{folder}/files"}
    return job.id, env, ["run", "--http", "127.0.0.1:0"]


async def poll_endpoint(
    tmp: Path, seconds: float, names: list[str], servers: list[str], baseline: Path | None
) -> None:
    print("1. poll endpoint, GET /api/jobs/{id} of a pending job (queue position computed):")
    codes = [("this", REPO)] + ([("base", baseline)] if baseline else [])
    for name in names:
        for server in servers:
            for code_name, code in codes:
                folder = tmp / f"{name}-{server}-{code_name}"
                folder.mkdir()
                with ExitStack() as stack:
                    store: JobStore
                    if name == "local":
                        store = LocalJobStore(folder / "poll.db")
                        env = clean_env(JOBS_DB_PATH=str(folder / "poll.db"))
                    else:  # a server of its own: each measurement starts from an empty one
                        sqld = stack.enter_context(SqldServer(folder / "sqld"))
                        store = TursoJobStore(sqld.url)
                        env = clean_env(TURSO_DATABASE_URL=sqld.url)
                    job_id, env, args = await _poll_store(store, env, folder, server, seconds)
                    store.close()
                    url = stack.enter_context(serving(env, args, folder / "serve.log", code))
                    if server == "worker":
                        await trio.sleep(2)  # the worker is up and running jobs
                    for clients in (1, 50):
                        figures = await poll_load(url, job_id, clients, seconds)
                        print(f"   {name:<5} {server:<6} {code_name} {figures}", flush=True)


def browser_latency(url: str, writes: list[tuple[int, float]], done: threading.Event) -> None:
    """Headless Chromium with an EventSource: records when each progress value arrives."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        page = context.new_page()
        page.goto(url + "/healthz")
        page.evaluate(
            """() => { window.arrivals = [];
            const es = new EventSource('/api/events');
            es.addEventListener('job', (e) => { const v = JSON.parse(e.data);
              if (v.progress !== null) window.arrivals.push([v.progress, Date.now() / 1000]); });
            }"""
        )
        done.wait()
        time.sleep(2)
        arrivals = {round(p, 3): t for p, t in page.evaluate("window.arrivals")}
        context.close()
    lags = [arrivals[round(p, 3)] - t for p, t in writes if round(p, 3) in arrivals]
    print(
        f"   {len(lags)} of {len(writes)} writes seen: p50 {percentile(lags, 0.5) * 1000:.0f} "
        f"ms, p99 {percentile(lags, 0.99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms"
    )


async def sse_latency(tmp: Path, count: int = 40) -> None:
    print("2. SSE: a progress write returning -> the event in Chromium (tick 0.5 s, local store):")
    db = tmp / "sse.db"
    store = LocalJobStore(db)
    await store.create("tone")
    claimed = await store.claim("bench-writer")
    assert claimed is not None
    await store.update(claimed.lease, stage="encoding", progress=0)
    with serving(clean_env(JOBS_DB_PATH=str(db)), ["serve", "--port", "0"], tmp / "sse.log") as url:
        writes: list[tuple[int, float]] = []
        done = threading.Event()
        browser = threading.Thread(target=browser_latency, args=(url, writes, done))
        browser.start()
        await trio.sleep(8)  # the browser is up and its stream open
        for n in range(1, count + 1):
            await store.update(claimed.lease, stage="encoding", progress=n)
            writes.append((n, time.time()))
            await trio.sleep(0.37)  # not a multiple of the tick: writes land all over it
        done.set()
        await trio.to_thread.run_sync(browser.join)
    store.close()


async def watchers(url: str, job_id: int, count: int, task_status: trio.TaskStatus[None]) -> None:
    limits = httpx.Limits(max_connections=count + 5)
    async with httpx.AsyncClient(base_url=url, timeout=None, limits=limits) as client:
        opened = trio.Semaphore(0)

        async def watch(path: str) -> None:
            async with client.stream("GET", path) as response:
                opened.release()
                async for _ in sse(response):
                    pass

        async with trio.open_nursery() as nursery:
            for n in range(count):
                # Half the dashboard's stream (the first), half the job's own stream.
                path = "/api/events" if n % 2 == 0 else f"/api/jobs/{job_id}/events"
                nursery.start_soon(watch, path)
            for _ in range(count):
                await opened.acquire()
            task_status.started()


async def measure_rows(
    server: SqldServer, url: str, job_id: int, counts: tuple[int, ...], window: float
) -> None:
    for count in counts:
        async with trio.open_nursery() as nursery:
            if count:
                await nursery.start(watchers, url, job_id, count)
            await trio.sleep(3)
            before = server.rows_read()
            await trio.sleep(window)
            read = server.rows_read() - before
            nursery.cancel_scope.cancel()
        print(f"   {count:>3} watchers: {read * 60 / window:6.0f} rows read per minute")
        await trio.sleep(2)


async def rows_per_minute(tmp: Path, window: float) -> None:
    print(f"3. rows read on sqld per minute (`run --http`), each measured over {window:.0f} s:")
    with SqldServer(tmp / "sqld-rows") as server:
        env = clean_env(TURSO_DATABASE_URL=server.url, SUPERVISOR_STORAGE_URL=f"file://{tmp}/files")
        store = TursoJobStore(server.url)
        done = await store.create("tone", {"seconds": 0.5})
        with serving(env, ["run", "--http", "127.0.0.1:0"], tmp / "rows.log") as url:
            await trio.sleep(15)  # the job is done, the idle worker has backed off
            print("   nothing running (an idle worker):")
            await measure_rows(server, url, done.id, (0, 1), window)
            job = await store.create("tone", {"seconds": 1200, "realtime": True})
            await trio.sleep(5)
            print("   one job running (progress every 0.5 s, heartbeats):")
            await measure_rows(server, url, job.id, (0, 1, 100), window)
        store.close()


async def main(args: argparse.Namespace) -> None:
    parts, seconds, window = set(args.parts.split(",")), args.seconds, args.window
    with tempfile.TemporaryDirectory() as tmp:
        if "poll" in parts:
            names, servers = args.stores.split(","), args.servers.split(",")
            await poll_endpoint(Path(tmp), seconds, names, servers, args.baseline)
        if "sse" in parts:
            await sse_latency(Path(tmp))
        if "rows" in parts:
            await rows_per_minute(Path(tmp), window)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10, help="per poll-load run")
    parser.add_argument("--window", type=float, default=60, help="per rows-read measurement")
    parser.add_argument("--parts", default="poll,sse,rows", help="which figures, comma-separated")
    parser.add_argument("--stores", default="local,sqld", help="poll: local, sqld or both")
    parser.add_argument("--servers", default="serve,worker", help="poll: serve, worker or both")
    parser.add_argument("--baseline", type=Path, help="poll: also measure the code in this folder")
    trio.run(main, parser.parse_args())
