"""HTTP layer figures, measured here against real processes:

1. the poll endpoint (``GET /api/jobs/{id}``): requests per second and p50/p99 latency with
   1 and 50 concurrent clients, on the local store and on sqld;
2. SSE latency: from a progress write returning to the event arriving in headless Chromium
   (an ``EventSource`` on ``/api/events``), at the default tick (0.5 s);
3. rows read per minute on sqld (its own statistics: what Turso bills) with a running job and
   0, 1 and 100 open watchers.

    python benchmarks/http_api.py [--seconds 10] [--window 60] [--parts poll,sse,rows]

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
from contextlib import contextmanager
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
def serving(env: dict[str, str], args: list[str], log: Path) -> Iterator[str]:
    """A `python -m supervisor` process serving HTTP; yields its URL; SIGTERM at the end."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "supervisor", *args], cwd=REPO, env=env, stderr=out
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


async def poll_load(url: str, job_id: int, clients: int, seconds: float) -> str:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await client.get(f"/api/jobs/{job_id}")  # warm up
        deadline = time.perf_counter() + seconds

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(f"/api/jobs/{job_id}")
                assert response.status_code == 200, response.text
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(clients):
                nursery.start_soon(one_client)
        elapsed = time.perf_counter() - started
    return (
        f"{clients:>3} clients: {len(latencies) / elapsed:7.0f} req/s, "
        f"p50 {percentile(latencies, 0.5) * 1000:6.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:6.1f} ms ({len(latencies)} requests)"
    )


async def poll_endpoint(tmp: Path, seconds: float) -> None:
    print("1. poll endpoint, GET /api/jobs/{id} of a pending job (queue position computed):")
    with SqldServer(tmp / "sqld-poll") as server:
        stores: dict[str, tuple[JobStore, dict[str, str]]] = {
            "local": (
                LocalJobStore(tmp / "poll.db"),
                clean_env(JOBS_DB_PATH=str(tmp / "poll.db")),
            ),
            "sqld": (TursoJobStore(server.url), clean_env(TURSO_DATABASE_URL=server.url)),
        }
        for name, (store, env) in stores.items():
            for _ in range(20):
                await store.create("tone")
            job = await store.create("tone")
            store.close()
            with serving(env, ["serve", "--port", "0"], tmp / f"serve-{name}.log") as url:
                for clients in (1, 50):
                    print(f"   {name:<5} " + await poll_load(url, job.id, clients, seconds))


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


async def main(seconds: float, window: float, parts: set[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if "poll" in parts:
            await poll_endpoint(Path(tmp), seconds)
        if "sse" in parts:
            await sse_latency(Path(tmp))
        if "rows" in parts:
            await rows_per_minute(Path(tmp), window)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10, help="per poll-load run")
    parser.add_argument("--window", type=float, default=60, help="per rows-read measurement")
    parser.add_argument("--parts", default="poll,sse,rows", help="which figures, comma-separated")
    args = parser.parse_args()
    trio.run(main, args.seconds, args.window, set(args.parts.split(",")))
