"""Moving media through the storage adapter, on a real SeaweedFS (signatures enforced).

    python benchmarks/storage.py [--size-mib 256] [--big-mib 1024] [--minutes 10] [--runs 4]

Side by side in one run, on one SeaweedFS on loopback:

1. Throughput: the adapter's upload and download against raw httpx on the same presigned
   URLs (one streamed PUT with Content-Length; one streamed GET), ``--size-mib`` each, the
   median of ``--runs``; the adapter both as configured (multipart, 16 MiB parts) and with
   one part (the same single PUT as raw httpx).
2. Memory: a fresh process's RSS (VmRSS, sampled every 20 ms) while it uploads and then
   downloads ``--big-mib``, against the same process idle with the adapter loaded.
3. Cancellation: a worker in-process fetching (then storing) ``--big-mib``, cancelled at
   10 %: seconds from the cancel request to ``cancelled``, and what is left (objects,
   unfinished multipart uploads, scratch files).
4. One ``prep`` of a ``--minutes`` recording end to end: upload, the job's stages
   (downloading, analyzing, normalizing, encoding, uploading) and the download.
5. The local folder's upload through the API: a ``serve`` process's RSS while it receives
   ``--big-mib`` on ``PUT /api/uploads/…`` (streamed to disk, never held whole).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import PYTHON, load_line, table
from files import S3Storage, reset_storage
from media_jobs_testing.seaweed import SeaweedServer

MIB = 1 << 20


def s3(server: SeaweedServer, prefix: str, **kw: Any) -> S3Storage:
    return S3Storage(
        server.bucket,
        prefix,
        endpoint_url=server.endpoint,
        region="us-east-1",
        access_key_id=server.access_key,
        secret_access_key=server.secret_key,
        **kw,
    )


def make_file(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        for _ in range(size // MIB):
            f.write(os.urandom(MIB))
    return path


async def raw_put(url: str, path: Path) -> None:
    size = path.stat().st_size

    async def body() -> AsyncIterator[bytes]:
        async with await trio.open_file(path, "rb") as f:
            while chunk := await f.read(MIB):
                yield chunk

    async with httpx.AsyncClient(timeout=120) as http:
        r = await http.put(url, content=body(), headers={"Content-Length": str(size)})
        r.raise_for_status()


async def raw_get(url: str, path: Path) -> None:
    async with httpx.AsyncClient(timeout=120) as http, http.stream("GET", url) as r:
        r.raise_for_status()
        with open(path, "wb") as f:
            async for chunk in r.aiter_bytes(MIB):
                await trio.to_thread.run_sync(f.write, chunk)


async def timed(call: Awaitable[Any]) -> float:
    """Seconds ``call`` takes (a coroutine does nothing until awaited)."""
    start = time.perf_counter()
    await call
    return time.perf_counter() - start


async def throughput(server: SeaweedServer, tmp: Path, size_mib: int, runs: int) -> None:
    source = make_file(tmp / "source.bin", size_mib * MIB)
    multi = s3(server, f"bench-{uuid.uuid4().hex[:6]}")
    single = s3(server, multi.prefix, part_size=size_mib * MIB + 1)
    times: dict[str, list[float]] = {k: [] for k in ("am", "a1", "ru", "ad", "rd")}
    out = tmp / "out.bin"

    def steps() -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
        put, get = multi._url("put_object", "r.bin"), multi._url("get_object", "r.bin")
        return [
            ("am", lambda: multi.upload_file("m.bin", source)),
            ("a1", lambda: single.upload_file("s.bin", source)),
            ("ru", lambda: raw_put(put, source)),
            ("ad", lambda: multi.download_file("r.bin", out)),
            ("rd", lambda: raw_get(get, out)),
        ]

    await raw_put(multi._url("put_object", "r.bin"), source)  # warm: volumes allocated
    # Uploads first, then downloads (right after an upload the server is still busy with
    # it), each run in another order, so that no client always goes first.
    uploads, downloads = steps()[:3], steps()[3:]
    for run in range(runs):
        for name, step in uploads[run % 3 :] + uploads[: run % 3]:
            times[name].append(await timed(step()))
    await raw_get(multi._url("get_object", "r.bin"), out)  # warm
    for run in range(runs):
        for name, step in downloads[:: (-1) ** run]:
            out.unlink(missing_ok=True)
            times[name].append(await timed(step()))
    out.unlink(missing_ok=True)

    def rate(key: str) -> float:
        return size_mib / statistics.median(times[key])

    rows = [
        (
            "upload",
            "adapter, multipart 16 MiB",
            f"{rate('am'):.0f}",
            f"{rate('am') / rate('ru'):.2f}",
        ),
        ("upload", "adapter, one PUT", f"{rate('a1'):.0f}", f"{rate('a1') / rate('ru'):.2f}"),
        ("upload", "raw httpx, one PUT", f"{rate('ru'):.0f}", "1.00"),
        ("download", "adapter", f"{rate('ad'):.0f}", f"{rate('ad') / rate('rd'):.2f}"),
        ("download", "raw httpx", f"{rate('rd'):.0f}", "1.00"),
    ]
    print(f"\n1. throughput, {size_mib} MiB, median of {runs} (MiB/s; × raw httpx)")
    print(table(["direction", "client", "MiB/s", "× raw"], rows))
    source.unlink()


def rss_child(size_mib: int) -> None:
    """(In a fresh process.) RSS idle, then peaks while uploading and downloading."""
    env = json.loads(os.environ["BENCH_S3"])
    storage = S3Storage(env["bucket"], env["prefix"], **env["kw"])
    tmp = Path(env["tmp"])

    def rss() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.02)

    async def main() -> dict[str, int]:
        small = make_file(tmp / "small.bin", MIB)
        await storage.upload_file("warm.bin", small)  # imports, client, thread pool warm
        await storage.download_file("warm.bin", tmp / "warm.out")
        idle = rss()
        big = tmp / "big.bin"
        threading.Thread(target=sample, daemon=True).start()
        await storage.upload_file("big.bin", big)
        up = peak[0]
        peak[0] = 0
        await storage.download_file("big.bin", tmp / "big.out")
        stop.set()
        return {"idle": idle, "upload": up, "download": peak[0]}

    print(json.dumps(trio.run(main)))


def memory(server: SeaweedServer, tmp: Path, size_mib: int) -> None:
    make_file(tmp / "big.bin", size_mib * MIB)
    env = {
        "bucket": server.bucket,
        "prefix": f"rss-{uuid.uuid4().hex[:6]}",
        "tmp": str(tmp),
        "kw": {
            "endpoint_url": server.endpoint,
            "region": "us-east-1",
            "access_key_id": server.access_key,
            "secret_access_key": server.secret_key,
        },
    }
    out = subprocess.run(
        [PYTHON, __file__, "--rss-child", str(size_mib)],
        env={**os.environ, "BENCH_S3": json.dumps(env)},
        capture_output=True,
        text=True,
        check=True,
    )
    kib = json.loads(out.stdout.strip().splitlines()[-1])
    rows = [
        ("idle (adapter loaded)", f"{kib['idle'] / 1024:.1f}", ""),
        (
            f"uploading {size_mib} MiB (peak)",
            f"{kib['upload'] / 1024:.1f}",
            f"+{(kib['upload'] - kib['idle']) / 1024:.1f}",
        ),
        (
            f"downloading {size_mib} MiB (peak)",
            f"{kib['download'] / 1024:.1f}",
            f"+{(kib['download'] - kib['idle']) / 1024:.1f}",
        ),
    ]
    print(f"\n2. memory of one process moving {size_mib} MiB (VmRSS, MiB)")
    print(table(["moment", "RSS", "above idle"], rows))
    for name in ("big.bin", "big.out", "small.bin", "warm.out"):
        (tmp / name).unlink(missing_ok=True)


async def cancellation(server: SeaweedServer, tmp: Path, size_mib: int) -> None:
    from stores import InvalidTransition, JobStatus, LocalJobStore
    from supervisor import (
        JobType,
        WorkerConfig,
        fetch_input,
        open_scratch,
        open_supervisor,
        store_output,
    )

    prefix = f"cancel-{uuid.uuid4().hex[:6]}"
    os.environ.update(server.env(prefix))
    os.environ["SUPERVISOR_SCRATCH_DIR"] = str(tmp / "scratch")
    os.environ["SUPERVISOR_MAX_UPLOAD_BYTES"] = str(size_mib * MIB + 1)
    reset_storage()
    storage = s3(server, prefix)
    big = make_file(tmp / "big.bin", size_mib * MIB)
    await storage.upload_file("uploads/big.bin", big)

    async def fetch(ctx: Any, payload: Any) -> None:
        async with open_scratch(ctx) as scratch:
            await fetch_input(ctx, "uploads/big.bin", scratch)

    async def store(ctx: Any, payload: Any) -> None:
        await store_output(ctx, big, name="big.bin")

    types = [
        JobType("fetch", fetch, stages=("downloading",)),
        JobType("store", store, stages=("uploading",)),
    ]
    config = WorkerConfig(poll_interval=0.1, heartbeat_interval=0.2, stale_after=10)
    jobs = LocalJobStore(tmp / "jobs.db")
    rows = []
    async with open_supervisor(jobs, types, config):
        for kind, stage in (("fetch", "downloading"), ("store", "uploading")):
            job = await jobs.create(kind)
            while not (
                (r := await jobs.get(job.id)) and r.stage == stage and (r.progress or 0) >= 10
            ):
                await trio.sleep(0.005)
            at = r.progress
            start = time.perf_counter()
            try:
                await jobs.cancel(job.id)
            except InvalidTransition:
                rows.append((f"{kind}: finished before the cancel", "-", "-", "-", "-"))
                continue
            while (await jobs.get(job.id)).status is not JobStatus.CANCELLED:  # type: ignore[union-attr]
                await trio.sleep(0.005)
            took = time.perf_counter() - start
            objects = [o.key for o in await storage.list() if o.key != "uploads/big.bin"]
            scratch = list((tmp / "scratch").rglob("*"))
            rows.append(
                (
                    f"{'download' if kind == 'fetch' else 'multipart upload'} at {at:.0f} %",
                    f"{took:.2f}",
                    str(len(objects)),
                    str(len(await storage.pending_uploads())),
                    str(len(scratch)),
                )
            )
    jobs.close()
    big.unlink()
    reset_storage()
    print(f"\n3. cancel while moving {size_mib} MiB (heartbeat 0.2 s)")
    print(
        table(
            ["cancelled during", "s to cancelled", "objects left", "uploads open", "scratch files"],
            rows,
        )
    )


async def prep_end_to_end(server: SeaweedServer, tmp: Path, minutes: float) -> None:
    from actors._ffmpeg import ffmpeg_binary
    from stores import JobStatus, LocalJobStore
    from supervisor import WorkerConfig, open_supervisor
    from supervisor.reference import JOB_TYPES

    prefix = f"prep-{uuid.uuid4().hex[:6]}"
    os.environ.update(server.env(prefix))
    os.environ["SUPERVISOR_SCRATCH_DIR"] = str(tmp / "scratch")
    os.environ.pop("SUPERVISOR_MAX_UPLOAD_BYTES", None)
    reset_storage()
    storage = s3(server, prefix)
    recording = tmp / "recording.wav"
    seconds = minutes * 60
    subprocess.run(
        [
            ffmpeg_binary(),
            "-hide_banner",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=220:duration={seconds}:sample_rate=48000",
            "-af",
            "volume=-28dB,aformat=channel_layouts=stereo",
            "-y",
            str(recording),
        ],
        check=True,
        capture_output=True,
    )
    marks: list[tuple[str, float]] = []
    start = time.perf_counter()
    await storage.upload_file("uploads/rec/recording.wav", recording, content_type="audio/wav")
    marks.append(("upload (client → bucket)", time.perf_counter() - start))
    jobs = LocalJobStore(tmp / "prep.db")
    config = WorkerConfig(poll_interval=0.05, heartbeat_interval=1, stale_after=30)
    async with open_supervisor(jobs, JOB_TYPES, config):
        job = await jobs.create("prep", {"input": "uploads/rec/recording.wav"})
        stage, since = None, time.perf_counter()
        while (row := await jobs.get(job.id)) and not row.status.terminal:
            if row.stage != stage:
                if stage is not None:
                    marks.append((stage, time.perf_counter() - since))
                stage, since = row.stage, time.perf_counter()
            await trio.sleep(0.01)
        marks.append((str(stage), time.perf_counter() - since))
    assert row is not None, row
    assert row.status is JobStatus.COMPLETED, row
    jobs.close()
    start = time.perf_counter()
    (output,) = row.result["outputs"]
    await storage.download_file(output["key"], tmp / "clean.mp3")
    marks.append(("download (bucket → client)", time.perf_counter() - start))
    size = recording.stat().st_size / MIB
    print(f"\n4. prep of a {minutes:g}-minute recording ({size:.0f} MiB wav), end to end")
    print(table(["step", "seconds"], [(name, f"{s:.2f}") for name, s in marks]))
    total = sum(s for _, s in marks)
    print(
        f"total {total:.1f} s; loudness {row.result['input_lufs']:.1f} → "
        f"{row.result['output_lufs']:.1f} LUFS (target -16); output {output['size'] / MIB:.1f} MiB"
    )
    reset_storage()


def local_upload(tmp: Path, size_mib: int) -> None:
    from benchmarks._common import rss_kib, worker_env
    from media_jobs_testing.sqld import free_port

    port = free_port()
    env = worker_env(JOBS_DB_PATH=str(tmp / "web.db"), SUPERVISOR_STORAGE_URL=f"file://{tmp}/web")
    with open(tmp / "serve.log", "wb") as log:
        web = subprocess.Popen(
            [PYTHON, "-m", "supervisor", "serve", "--port", str(port)],
            env=env,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            time.sleep(0.05)
        size = size_mib * MIB
        ticket = httpx.post(f"{base}/api/uploads", json={"name": "big.wav", "size": size}).json()
        idle = rss_kib(web.pid)
        peak = [idle]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kib(web.pid))
                time.sleep(0.02)

        def body() -> Iterator[bytes]:
            chunk = os.urandom(MIB)
            for _ in range(size_mib):
                yield chunk

        threading.Thread(target=sample, daemon=True).start()
        start = time.perf_counter()
        sent = httpx.put(
            base + ticket["upload"]["url"],
            content=body(),
            headers={"Content-Length": str(size)},
            timeout=600,
        )
        took = time.perf_counter() - start
        stop.set()
        sent.raise_for_status()
    finally:
        web.terminate()
        web.wait(30)
    print(f"\n5. `serve` receiving {size_mib} MiB on the local folder's upload URL")
    rows = [(f"{size_mib / took:.0f}", f"{idle / 1024:.1f}", f"{peak[0] / 1024:.1f}")]
    print(table(["MiB/s", "RSS idle (MiB)", "RSS peak (MiB)"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    print(f"storage: SeaweedFS on loopback; {load_line()}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with SeaweedServer(tmp / "seaweed") as server:
            trio.run(throughput, server, tmp, args.size_mib, args.runs)
            memory(server, tmp, args.big_mib)
            trio.run(cancellation, server, tmp, args.big_mib)
            trio.run(prep_end_to_end, server, tmp, args.minutes)
        local_upload(tmp, args.big_mib)


if __name__ == "__main__":
    main()
