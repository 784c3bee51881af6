"""Turso (a real sqld on loopback): what a statement costs through ``TursoJobStore`` against
raw ``libsql``, and how many HTTP requests each operation and a whole job cycle take.

    python benchmarks/turso.py [--samples 400] [--cycles 20]

Per-statement time, side by side in one run (the median of SAMPLES calls each, raw and
store blocks alternating in rounds):

* one-row ``SELECT * FROM jobs WHERE id = ?``  vs ``store.get(id)``
* ``UPDATE … RETURNING`` (the heartbeat's statement) vs ``store.heartbeat(lease)`` on a
  claimed job
* ``INSERT … RETURNING *`` (the create statement) vs ``store.create(type, payload)``
* a job cycle: claim, 3 progress writes, complete: 5 raw statements vs ``store.claim``,
  3 × ``store.update``, ``store.complete``

The raw statements are written out by hand with the same shape as the store's (same
table, same triggers, same RETURNING lists), through one ``libsql.connect(url,
isolation_level=None)`` connection in this process.

HTTP requests: counted by ``benchmarks/countproxy.py``, a loopback proxy in a separate
process (libsql holds the GIL while it waits on the network, so a proxy thread in a
process that calls libsql would deadlock it). Raw libsql and a second store both connect
through it; the table shows requests per operation by method and path, and how many new
TCP connections the driver opened. Each phase is counted 0.5 s after its last call, since
libsql sends some requests in the background after a call returned. The last two rows
are one call each after IDLE_GAP seconds without any (sqld expires idle streams).
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import libsql
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import PYTHON, TursoJobStore, load_line, median, percentile, table
from media_jobs_testing.sqld import SqldServer
from stores import Claimed

HERE = Path(__file__).resolve().parent
#: libsql sends some requests after the call that caused them has returned (it closes
#: streams in the background): the proxy waits this long before each reset and count.
SETTLE_S = 0.5
NOW = "((julianday('now') - 2440587.5) * 86400.0)"
RAW_GET = "SELECT * FROM jobs WHERE id = ?"
RAW_INSERT = (
    "INSERT INTO jobs (type, payload, status, attempt, max_attempts, lease, cancel_requested, "
    "created_at, updated_at, note, noted_at) VALUES (?, ?, 'pending', 0, "
    "coalesce((SELECT max_attempts FROM job_types WHERE name = ?), 2), 0, 0, "
    f"{NOW}, {NOW}, 'created', {NOW}) RETURNING *"
)
RAW_CLAIM = (
    "UPDATE jobs SET status = 'running', claim_token = ?, attempt = attempt + 1, "
    f"lease = lease + 1, worker_id = ?, started_at = {NOW}, updated_at = {NOW}, "
    "stage = NULL, progress = NULL, child_pid = NULL, child_host = NULL, "
    "child_started = NULL, note = 'claimed, attempt ' || CAST(attempt + 1 AS TEXT), "
    f"noted_at = {NOW} WHERE id = (SELECT id FROM jobs WHERE status = 'pending' "
    "ORDER BY created_at, id LIMIT 1) AND status = 'pending' RETURNING *"
)
RAW_HEARTBEAT = (
    f"UPDATE jobs SET updated_at = {NOW} WHERE id = ? AND lease = ? AND status = 'running' "
    "RETURNING cancel_requested"
)
RAW_PROGRESS = (
    f"UPDATE jobs SET stage = ?, progress = ?, updated_at = {NOW} "
    "WHERE id = ? AND lease = ? AND status = 'running' RETURNING cancel_requested"
)
RAW_COMPLETE = (
    "UPDATE jobs SET status = 'completed', result = ?, error = NULL, error_kind = NULL, "
    f"finished_at = {NOW}, updated_at = {NOW}, note = 'completed', noted_at = {NOW} "
    "WHERE id = ? AND lease = ? AND status = 'running' RETURNING *"
)


class Proxy:
    """The counting proxy process (benchmarks/countproxy.py)."""

    def __init__(self, target: int, latency_ms: float = 0.0) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, str(HERE / "countproxy.py"), str(target), f"--latency-ms={latency_ms}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def reset(self) -> None:
        time.sleep(SETTLE_S)  # late requests of the previous phase land before the reset
        self._ask("reset")

    def count(self) -> dict[str, Any]:
        time.sleep(SETTLE_S)  # and this phase's late ones before the count
        result: dict[str, Any] = json.loads(self._ask("count"))
        return result

    def close(self) -> None:
        self._ask("quit")
        self.proc.wait(5)


class Raw:
    """The same operations as the store's, through one raw libsql connection."""

    def __init__(self, url: str) -> None:
        self.conn = libsql.connect(url, isolation_level=None)

    def get(self, id: int) -> Any:
        return self.conn.execute(RAW_GET, (id,)).fetchall()[0]

    def create(self, n: int) -> int:
        row = self.conn.execute(RAW_INSERT, ("bench", json.dumps({"n": n}), "bench")).fetchall()[0]
        return int(row[0])

    def claim_fast(self, lease_column: int) -> tuple[int, int]:
        row = self.conn.execute(RAW_CLAIM, (secrets.token_hex(8), "raw-bench")).fetchall()[0]
        return int(row[0]), int(row[lease_column])

    def heartbeat(self, id: int, lease: int) -> Any:
        return self.conn.execute(RAW_HEARTBEAT, (id, lease)).fetchall()[0]

    def progress(self, id: int, lease: int, percent: float) -> Any:
        return self.conn.execute(RAW_PROGRESS, ("working", percent, id, lease)).fetchall()[0]

    def complete(self, id: int, lease: int) -> Any:
        return self.conn.execute(RAW_COMPLETE, ("null", id, lease)).fetchall()[0]

    def cycle(self, lease_column: int) -> None:
        id, lease = self.claim_fast(lease_column)
        for percent in (25.0, 50.0, 75.0):
            self.progress(id, lease, percent)
        self.complete(id, lease)

    def close(self) -> None:
        self.conn.close()


async def store_cycle(store: TursoJobStore) -> None:
    claimed = await store.claim("store-bench")
    assert claimed is not None
    for percent in (25.0, 50.0, 75.0):
        await store.update(claimed.lease, stage="working", progress=percent)
    await store.complete(claimed.lease, None)


def time_sync(fn: Callable[[], object], samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


async def time_async(fn: Callable[[], Awaitable[object]], samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - start)
    return out


def _lease_column(raw: Raw) -> int:
    names = [d[0] for d in raw.conn.execute(RAW_GET, (1,)).description]
    return names.index("lease")


async def timings(url: str, samples: int, rounds: int) -> list[list[str]]:
    raw = Raw(url)
    store = TursoJobStore(url)
    try:
        await store.get(1)  # schema, helper process started and connected
        lease_column = _lease_column(raw)
        job_id = raw.create(0)
        raw_id, raw_lease = raw.claim_fast(lease_column)
        await store.create("bench", {"n": 0})
        claimed: Claimed | None = await store.claim("store-bench")
        assert claimed is not None
        lease = claimed.lease
        counter = [0]

        def next_n() -> int:
            counter[0] += 1
            return counter[0]

        raw_ops: dict[str, Callable[[], object]] = {
            "get": lambda: raw.get(job_id),
            "heartbeat": lambda: raw.heartbeat(raw_id, raw_lease),
            "create": lambda: raw.create(next_n()),
        }
        store_ops: dict[str, Callable[[], Awaitable[object]]] = {
            "get": lambda: store.get(job_id),
            "heartbeat": lambda: store.heartbeat(lease),
            "create": lambda: store.create("bench", {"n": next_n()}),
        }
        raw_samples: dict[str, list[float]] = {name: [] for name in [*raw_ops, "cycle"]}
        store_samples: dict[str, list[float]] = {name: [] for name in [*raw_ops, "cycle"]}
        per_round = max(1, samples // rounds)
        cycles_per_round = max(1, per_round // 5)
        # warm-up
        time_sync(raw_ops["get"], 20)
        await time_async(store_ops["get"], 20)
        for _ in range(rounds):
            for name in raw_ops:
                raw_samples[name] += time_sync(raw_ops[name], per_round)
                store_samples[name] += await time_async(store_ops[name], per_round)
            # job cycles: enough pending jobs first (outside the timing)
            for _ in range(cycles_per_round):
                raw.create(next_n())
            raw_samples["cycle"] += time_sync(lambda: raw.cycle(lease_column), cycles_per_round)
            for _ in range(cycles_per_round):
                # raw.cycle claims the oldest pending job, so the store's come after
                await store.create("bench", {"n": next_n()})
            store_samples["cycle"] += await time_async(lambda: store_cycle(store), cycles_per_round)
        labels = {
            "get": ("SELECT one row by id", "store.get"),
            "heartbeat": ("UPDATE … RETURNING (heartbeat)", "store.heartbeat"),
            "create": ("INSERT … RETURNING *", "store.create"),
            "cycle": ("5 statements: claim, 3 progress, complete", "claim, 3 × update, complete"),
        }
        rows = []
        for name, (raw_label, store_label) in labels.items():
            r, s = raw_samples[name], store_samples[name]
            rows.append(
                [
                    f"{name}: {raw_label} | {store_label}",
                    f"{median(r) * 1000:.2f}",
                    f"{percentile(r, 90) * 1000:.2f}",
                    f"{median(s) * 1000:.2f}",
                    f"{percentile(s, 90) * 1000:.2f}",
                    f"{median(s) / median(r):.2f}x",
                    str(len(r)),
                ]
            )
        return rows
    finally:
        raw.close()
        await store.aclose()


def _requests(snapshot: dict[str, Any], per: int) -> tuple[str, str, str]:
    requests: dict[str, int] = snapshot["requests"]
    total = sum(requests.values())
    detail = ", ".join(
        f"{path.split(' ', 1)[1]} {n / per:g}" for path, n in sorted(requests.items())
    )
    return f"{total / per:g}", detail or "-", f"{snapshot['connections'] / per:g}"


async def request_counts(
    server_url: str, proxy: Proxy, cycles: int, idle_gap: float
) -> list[list[str]]:
    direct = TursoJobStore(server_url)
    store = TursoJobStore(proxy.url)
    raw = Raw(proxy.url)
    rows = []
    try:
        await direct.get(1)
        await store.get(1)  # helper started and connected through the proxy
        lease_column = _lease_column(raw)
        job_id = raw.create(0)
        raw_id, raw_lease = raw.claim_fast(lease_column)
        n = cycles

        def measure_sync(label: str, fn: Callable[[], object]) -> None:
            proxy.reset()
            for _ in range(n):
                fn()
            rows.append([label, *_requests(proxy.count(), n)])

        async def measure_async(label: str, fn: Callable[[], Awaitable[object]]) -> None:
            proxy.reset()
            for _ in range(n):
                await fn()
            rows.append([label, *_requests(proxy.count(), n)])

        measure_sync("raw libsql: SELECT one row", lambda: raw.get(job_id))
        measure_sync("raw libsql: UPDATE … RETURNING", lambda: raw.heartbeat(raw_id, raw_lease))
        measure_sync("raw libsql: INSERT … RETURNING", lambda: raw.create(1))
        proxy.reset()
        for _ in range(n):
            raw.conn.execute("UPDATE jobs SET updated_at = updated_at WHERE id = ?", (job_id,))
        rows.append(["raw libsql: UPDATE, no RETURNING", *_requests(proxy.count(), n)])
        await direct.create("bench", {})
        claimed = await direct.claim("store-bench")  # claimed directly; beats go via proxy
        assert claimed is not None
        lease = claimed.lease
        await measure_async("store.get", lambda: store.get(job_id))
        await measure_async("store.heartbeat", lambda: store.heartbeat(lease))
        await measure_async("store.create", lambda: store.create("bench", {}))
        # job cycles: the queue holds only the jobs made for them
        while (leftover := await direct.claim("cleanup")) is not None:
            await direct.complete(leftover.lease, None)
        for _ in range(n):
            raw.create(2)
        # The cleanup may have left the proxied connections idle long enough for sqld to
        # expire their streams: one call each first, so the cycles below are counted warm.
        raw.get(job_id)
        await store.get(job_id)
        proxy.reset()
        for _ in range(n):
            raw.cycle(lease_column)
        rows.append(["raw libsql: job cycle (5 statements)", *_requests(proxy.count(), n)])
        for _ in range(n):
            await direct.create("bench", {})
        await measure_async(
            "store: job cycle (claim, 3 × update, complete)", lambda: store_cycle(store)
        )
        if hasattr(store, "complete_and_claim"):
            for _ in range(n + 1):
                await direct.create("bench", {})
            head = await store.claim("store-bench")
            proxy.reset()
            for _ in range(n):
                assert head is not None
                for percent in (25.0, 50.0, 75.0):
                    await store.update(head.lease, stage="working", progress=percent)
                _, head = await store.complete_and_claim(head.lease, None, "store-bench")
            rows.append(
                [
                    "store: job cycle, 3 × update + complete_and_claim",
                    *_requests(proxy.count(), n),
                ]
            )
            assert head is not None
            await store.complete(head.lease, None)
        proxy.reset()
        for _ in range(n):
            assert await store.claim("idle") is None
        rows.append(["store.claim on an empty queue", *_requests(proxy.count(), n)])
        if idle_gap:
            # sqld expires an idle stream; the next call pays for it (measured once each).
            await trio.sleep(idle_gap)
            proxy.reset()
            await store.get(job_id)
            rows.append([f"store.get after {idle_gap:g} s idle", *_requests(proxy.count(), 1)])
            await trio.sleep(idle_gap)
            proxy.reset()
            label = f"raw libsql: SELECT after {idle_gap:g} s idle"
            try:
                raw.get(job_id)
            except ValueError as exc:  # libsql's errors: STREAM_EXPIRED here
                code = "STREAM_EXPIRED" if "STREAM_EXPIRED" in str(exc) else str(exc)[:40]
                label += f" (raised {code}; then a new connection)"
                raw.close()  # the connection stays broken: a new one is the only way
                raw.conn = libsql.connect(proxy.url, isolation_level=None)
                raw.get(job_id)
            rows.append([label, *_requests(proxy.count(), 1)])
    finally:
        raw.close()
        await store.aclose()
        await direct.aclose()
    return rows


async def main(samples: int, rounds: int, cycles: int, idle_gap: float) -> None:
    print(f"turso: sqld on loopback; {load_line()}")
    with tempfile.TemporaryDirectory() as tmp, SqldServer(Path(tmp) / "sqld") as server:
        rows = await timings(server.url, samples, rounds)
        print()
        print(
            f"per operation, median and p90 of {samples} calls each "
            f"({rounds} alternating rounds), ms:"
        )
        print(
            table(
                [
                    "operation: raw | store",
                    "raw p50",
                    "raw p90",
                    "store p50",
                    "store p90",
                    "store/raw",
                    "n",
                ],
                rows,
            )
        )
        proxy = Proxy(server.port)
        try:
            counts = await request_counts(server.url, proxy, cycles, idle_gap)
        finally:
            proxy.close()
        print()
        print(f"HTTP requests per operation (mean of {cycles}), counted by a proxy process:")
        print(table(["operation", "requests", "by path", "new TCP conns"], counts))
    print(f"\nend: {load_line()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=400, help="calls per operation")
    parser.add_argument("--rounds", type=int, default=4, help="alternating raw/store rounds")
    parser.add_argument("--cycles", type=int, default=20, help="operations per request count")
    parser.add_argument(
        "--idle-gap",
        type=float,
        default=12,
        help="seconds idle before the last two counts (sqld expires idle streams); 0: skip",
    )
    args = parser.parse_args()
    trio.run(main, args.samples, args.rounds, args.cycles, args.idle_gap)
