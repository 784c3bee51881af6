"""Round trips on Turso: the worker's calls and a one-shot ``status`` over a network of
LATENCY ms per round trip, in HTTP requests and milliseconds, beside raw one-shots.

    python benchmarks/round_trips.py [--latency-ms 20] [--samples 20]

A real sqld on loopback behind ``benchmarks/countproxy.py``, which counts the HTTP requests
and holds each one (and each new connection) LATENCY ms, as a network would. Side by side
in one run, each operation as:

* the store: ``claim`` (a pending job waiting), ``heartbeat``, ``complete_and_claim`` (a
  completion and the next claim in one call), and ``python -m supervisor status ID --json``
  as a fresh process (``TURSO_DATABASE_URL`` pointing at the proxy);
* raw libsql: the same statements through one ``libsql.connect(url)`` connection (the
  completion and the claim as two statements), and for ``status`` a fresh
  ``python -c "import libsql; …"`` that reads the job's row;
* one POST: the same statements in one Hrana pipeline request each, straight from
  ``http.client`` (for ``status``, a fresh ``python -c`` doing that): the floor.

Milliseconds are the median of SAMPLES calls (processes, for ``status``); requests are
counted over all of them, 0.5 s after the last (libsql closes streams in the background).
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import PYTHON, REPO, TursoJobStore, load_line, median, table, worker_env
from benchmarks.turso import RAW_CLAIM, RAW_COMPLETE, RAW_GET, RAW_HEARTBEAT, Proxy, Raw
from media_jobs_testing.sqld import SqldServer
from stores import Claimed

LIBSQL_ONE_SHOT = (
    "import libsql, sys; c = libsql.connect(sys.argv[1], isolation_level=None); "
    "print(c.execute('SELECT * FROM jobs WHERE id = ?', (int(sys.argv[2]),)).fetchall())"
)
POST_ONE_SHOT = (
    "import http.client, json, sys, urllib.parse; u = urllib.parse.urlsplit(sys.argv[1]); "
    "c = http.client.HTTPConnection(u.hostname, u.port); "
    "body = json.dumps({'requests': [{'type': 'execute', 'stmt': {'sql': "
    "'SELECT * FROM jobs WHERE id = ?', 'args': [{'type': 'integer', 'value': sys.argv[2]}]}}, "
    "{'type': 'close'}]}); c.request('POST', '/v3/pipeline', body, "
    "{'Content-Type': 'application/json'}); print(json.loads(c.getresponse().read()))"
)


class OnePost:
    """Statements sent as one Hrana pipeline request per call, on one kept connection."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port)

    def run(self, *stmts: tuple[str, list[Any]]) -> list[Any]:
        requests: list[dict[str, Any]] = [
            {"type": "execute", "stmt": {"sql": sql, "args": [_arg(a) for a in args]}}
            for sql, args in stmts
        ]
        body = json.dumps({"requests": [*requests, {"type": "close"}]})
        self.conn.request("POST", "/v3/pipeline", body, {"Content-Type": "application/json"})
        answer = json.loads(self.conn.getresponse().read())
        return [r["response"]["result"]["rows"] for r in answer["results"][:-1]]

    def close(self) -> None:
        self.conn.close()


def _arg(value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"type": "integer", "value": str(value)}
    return {"type": "text", "value": str(value)}


class Side:
    """One way of doing the operations (a column of the table): its timings and counts."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.ms: dict[str, float] = {}
        self.requests: dict[str, float] = {}

    async def measure(self, name: str, samples: int, call: Callable[[], Awaitable[Any]]) -> None:
        self.proxy.reset()
        times = []
        for _ in range(samples):
            began = time.perf_counter()
            await call()
            times.append(time.perf_counter() - began)
        counted = self.proxy.count()
        self.ms[name] = median(times) * 1000
        self.requests[name] = sum(counted["requests"].values()) / samples


def _sync(fn: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def call() -> Any:
        return fn()

    return call


def _process(argv: list[str], env: dict[str, str]) -> Callable[[], Awaitable[Any]]:
    async def call() -> Any:
        subprocess.run(argv, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)

    return call


async def run(latency_ms: float, samples: int) -> list[list[str]]:
    with tempfile.TemporaryDirectory() as tmp, SqldServer(Path(tmp) / "sqld") as server:
        direct = TursoJobStore(server.url)
        proxy = Proxy(server.port, latency_ms)
        store = TursoJobStore(proxy.url)
        raw, post = Raw(proxy.url), OnePost(proxy.url)
        sides = {name: Side(proxy) for name in ("store", "raw libsql", "one POST")}
        try:
            for _ in range(8 * samples + 4):
                await direct.create("bench", {})
            await store.get(1)  # the schema check, once per store
            names = [d[0] for d in raw.conn.execute(RAW_GET, (1,)).description]
            lease_at = names.index("lease")
            await _worker_calls(sides, store, raw, post, lease_at, samples)
            job_id = (await direct.create("bench", {})).id
            env = worker_env(TURSO_DATABASE_URL=proxy.url)
            status = [PYTHON, "-m", "supervisor", "status", str(job_id), "--json"]
            await sides["store"].measure(
                "status (one-shot process)", samples, _process(status, env)
            )
            for side, code in (("raw libsql", LIBSQL_ONE_SHOT), ("one POST", POST_ONE_SHOT)):
                argv = [PYTHON, "-c", code, proxy.url, str(job_id)]
                await sides[side].measure("status (one-shot process)", samples, _process(argv, env))
        finally:
            raw.close()
            post.close()
            await store.aclose()
            await direct.aclose()
            proxy.close()
    rows = []
    for name, ms in sides["store"].ms.items():
        cells = [name]
        for column in sides.values():
            cells += [f"{column.requests[name]:g}", f"{column.ms[name]:.1f}"]
        cells += [
            f"{ms / sides['raw libsql'].ms[name]:.2f}x",
            f"{ms / sides['one POST'].ms[name]:.2f}x",
        ]
        rows.append(cells)
    return rows


async def _worker_calls(
    sides: dict[str, Side], store: TursoJobStore, raw: Raw, post: OnePost, lease_at: int, n: int
) -> None:
    s, r, p = sides["store"], sides["raw libsql"], sides["one POST"]
    token = "0123456789abcdef"
    await s.measure("claim", n, lambda: store.claim("bench-store"))
    await r.measure("claim", n, _sync(lambda: raw.claim_fast(lease_at)))
    await p.measure("claim", n, _sync(lambda: post.run((RAW_CLAIM, [token, "bench-post"]))))
    held: Claimed | None = await store.claim("bench-store")
    assert held is not None
    lease = held.lease
    raw_id, raw_lease = raw.claim_fast(lease_at)
    (rows,) = post.run((RAW_CLAIM, [token, "bench-post"]))
    post_id, post_lease = int(rows[0][0]["value"]), int(rows[0][lease_at]["value"])
    await s.measure("heartbeat", n, lambda: store.heartbeat(lease))
    await r.measure("heartbeat", n, _sync(lambda: raw.heartbeat(raw_id, raw_lease)))
    await p.measure("heartbeat", n, _sync(lambda: post.run((RAW_HEARTBEAT, [post_id, post_lease]))))
    heads: dict[str, Any] = {
        "store": held,
        "raw": (raw_id, raw_lease),
        "post": (post_id, post_lease),
    }

    async def store_next() -> None:
        _, heads["store"] = await store.complete_and_claim(heads["store"].lease, None, "b")

    def raw_next() -> None:
        job, job_lease = heads["raw"]
        raw.conn.execute(RAW_COMPLETE, ("null", job, job_lease)).fetchall()
        heads["raw"] = raw.claim_fast(lease_at)

    def post_next() -> None:
        job, job_lease = heads["post"]
        rows = post.run((RAW_COMPLETE, ["null", job, job_lease]), (RAW_CLAIM, [token, "p"]))
        claimed = rows[1][0]
        heads["post"] = (int(claimed[0]["value"]), int(claimed[lease_at]["value"]))

    await s.measure("complete_and_claim", n, store_next)
    await r.measure("complete_and_claim", n, _sync(raw_next))
    await p.measure("complete_and_claim", n, _sync(post_next))


async def main(latency_ms: float, samples: int) -> None:
    print(f"round trips: sqld on loopback, {latency_ms:g} ms per round trip; {load_line()}")
    rows = await run(latency_ms, samples)
    print()
    print(f"HTTP requests per operation and median ms of {samples}:")
    headers = ["operation", "store req", "store ms", "libsql req", "libsql ms"]
    headers += ["POST req", "POST ms", "store/libsql", "store/POST"]
    print(table(headers, rows))
    print(f"\nend: {load_line()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added per round trip")
    parser.add_argument("--samples", type=int, default=20, help="calls per operation")
    args = parser.parse_args()
    trio.run(main, args.latency_ms, args.samples)
