"""Soak: worker processes under random faults, then a strict check of what they did.

    python benchmarks/soak.py                      # 10 minutes on each store
    python benchmarks/soak.py --duration 60        # the CI variant (both stores)
    python benchmarks/soak.py --store sqld --seed 1234 --keep

For each store (``--store sqld|local|both``; ``both`` runs sqld, then local) it starts
``--workers`` (3) real worker processes, ``python -m supervisor --handlers soak_jobs run``,
on one real ``sqld`` (from ``media_jobs_testing/sqld.py``, reached through
``benchmarks/faultproxy.py``)
or on one SQLite file, and for ``--duration`` seconds:

* submits jobs whose handler runs real child processes (``benchmarks/soak_jobs.py``,
  ``benchmarks/soak_child.py``): 1 or 2 children each, of 0.05-0.3 s (75 %), 0.3-2 s
  (18 %) or 2-6 s (7 %), reporting progress; ``max_attempts`` 1, 2 or 3; some fail
  transiently on purpose (once or always), some permanently, some outlive their job
  type's timeout. A backlog of ``--backlog`` (8) pending jobs is kept: a few hundred jobs
  in 60 s on an idle 2-core machine, fewer under load;
* injects faults at random intervals, from a seeded generator (the seed is printed; it
  fixes every random draw, while what the draws hit depends on timing):
  - workers: SIGKILL; SIGSTOP then SIGCONT after a pause of 0.2 s to 2.5 x stale_after,
    or SIGKILL while stopped (frozen for good); SIGTERM (a deploy). A worker that ended is
    replaced by a new one (a new worker id) after a short random delay;
  - sqld: restart (SIGTERM, by pid, then started again on the same data and port) or
    SIGKILL and start; the proxy: ``stall`` (nothing flows), ``hold`` (answers swallowed,
    statements still commit), ``refuse`` (connections reset) for a while, or one ``cut``
    (every connection reset). Outages last 0.3 s to 2 x stale_after (``--max-outage``);
  - the local store: a write lock held on the file for a while (``BEGIN IMMEDIATE``): the
    outage of a local database;
  - cancels of random pending or running jobs, through the CLI (``python -m supervisor
    cancel ID``) or the store API.

Then it stops injecting, heals everything (database up, proxy passing, stopped workers
continued, dead ones replaced), lets the workers drain (every job must end within
``--drain-timeout``), stops them with SIGTERM (each must exit 0 within shutdown_timeout
plus 1.5 s of slack), looks for any process left behind, reads the job table and history
with plain SQL, and checks them against the children's log and its own record of faults
(``benchmarks/soak_check.py`` says what and how). It prints the figures and every
violation, writes ``report.json`` and ``data.json`` into the run's folder (kept when
anything was violated, or with ``--keep``), and exits 1 if anything was violated (2 if the
soak itself could not run). ``--recheck RUN_DIR`` runs the checker again on a kept run.

Processes left behind: every process a worker starts (children, its sentinel, the Turso
helper) inherits a random ``SOAK_TAG`` in its environment. Every second during the run,
any such process still alive 3 s after its worker exited (SIGKILL, SIGTERM, crash) is
reported; after the final stop, any tagged process at all, and any child's job lock still
held. Workers the soak itself started also die with it (parent-death signal).

Timings (seconds, ``soak_check.Timings``): poll 0.2, heartbeat 0.5, stale_after 5, reaper
0.5, kill_grace 1, shutdown_grace 2, shutdown_timeout 5. With them a worker fences itself
after 3 s of unconfirmed lease, its sentinel kills the child at 4.5 s and another worker
may reap at 5 s: faults of a few seconds cross every one of those lines, while a loaded
2-core machine still has a heartbeat interval of margin between a child's death and the
earliest reap (the test timings of media_jobs_testing/workers.py, 0.3/3, leave 0.3 s).

``--repo PATH`` runs the workers (and the soak's own store calls) from another checkout of
the project, e.g. a ``git archive`` of one commit, while this checkout's benchmarks drive.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import fcntl
import functools
import json
import logging
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from soak_check import (  # noqa: E402 -- importable once BENCH is on sys.path
    KINDS,
    CheckResult,
    RunData,
    StoreFault,
    Timings,
    Violation,
    WorkerTimeline,
    check,
)

if TYPE_CHECKING:
    from faultproxy import ProxyProcess

    from stores import JobStore

STORES = ("sqld", "local")
WORKER_FAULTS = ("worker_sigkill", "worker_sigstop", "worker_sigterm")
SQLD_FAULTS = (
    "sqld_restart",
    "sqld_kill",
    "proxy_stall",
    "proxy_hold",
    "proxy_refuse",
    "proxy_cut",
)
SQLD_WEIGHTS = (2, 1, 3, 3, 2, 2)
LOCAL_FAULTS = ("db_lock",)
#: Beyond shutdown_timeout, for the interpreter's own exit on a loaded machine.
SHUTDOWN_SLACK = 1.5
#: How long a worker's child, sentinel or helper may outlive the worker (they act at once:
#: parent-death signal, end of the sentinel's input).
ORPHAN_GRACE = 3.0
_PR_SET_PDEATHSIG = 1


@dataclass
class Settings:
    duration: float = 600.0
    workers: int = 3
    seed: int = 0
    timings: Timings = field(default_factory=Timings)
    backlog: int = 8
    worker_fault_every: float = 3.0
    store_fault_every: float = 4.0
    cancel_every: float = 2.0
    max_outage: float = 10.0
    drain_timeout: float = 120.0
    repo: Path = BENCH.parent
    keep: bool = False
    workdir: Path | None = None


@dataclass
class Worker:
    slot: int
    worker_id: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    timeline: WorkerTimeline
    state: str = "running"  # running | stopped | terminating | killed | exited
    ready: bool = False

    def is_ready(self) -> bool:
        """True once the worker logged "worker started" (its signal handling is in place)."""
        if not self.ready:
            with contextlib.suppress(OSError):
                self.ready = b"worker started" in self.log_path.read_bytes()
        return self.ready

    def log_tail(self, lines: int = 4) -> str:
        """The end of the log; for a traceback, where it was raised and what."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        frames = [
            m.group(1) + ":" + m.group(2) + " " + m.group(3)
            for line in text
            if (m := _FRAME.search(line)) and "site-packages" not in line and "<frozen" not in line
        ]
        errors = [line.strip(" |+-") for line in text if _RAISED.search(line)]
        if errors:
            # The caller outside the stores package, the store call it made, where it raised.
            outside = [i for i, f in enumerate(frames) if not f.startswith("stores/")]
            first = outside[-1] if outside else 0
            path = list(dict.fromkeys(frames[first : first + 2] + frames[-1:]))
            return f"{errors[-1]} (at {' > '.join(path)})"
        return " | ".join(line.strip() for line in text[-lines:])


_FRAME = re.compile(r'File "(?:.*/)?([^/"]+/[^/"]+\.py)", line (\d+), in (\S+)')
_RAISED = re.compile(r"^[\s|+-]*[\w.]+(Error|Exception|Unavailable|Lost|Exceeded|Group)\b.*:")
_NUMBERS = re.compile(r"\d+(\.\d+)?")


def error_digest(log_dir: Path) -> Counter[str]:
    """ERROR lines of every worker log, numbers blanked, counted (what went wrong, how often)."""
    digest: Counter[str] = Counter()
    for path in log_dir.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split(" ", 3)
            if len(parts) == 4 and parts[1] == "ERROR":
                text = parts[3].split(" | ")[0]
                text = " ".join(w for w in text.split() if not w.startswith(("job_id=", "worker=")))
                digest[_NUMBERS.sub("N", f"{parts[2]}: {text}")[:160]] += 1
    return digest


class SoakError(Exception):
    """The soak itself could not run (not a finding about the code under test)."""


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _base_env() -> dict[str, str]:
    prefixes = ("TURSO_", "SUPERVISOR_", "SOAK_")
    return {
        k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k != "JOBS_DB_PATH"
    }


def tagged_processes(tag: str) -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of the live processes (not zombies) whose
    environment holds ``SOAK_TAG=tag``."""
    needle = f"SOAK_TAG={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] != "Z":
            found.append((int(entry.name), int(fields[1]), cmdline.strip()))
    return found


class Soak:
    """One soak run on one store."""

    def __init__(self, store_kind: str, settings: Settings, run_dir: Path) -> None:
        self.kind = store_kind
        self.s = settings
        self.t = settings.timings
        self.dir = run_dir
        seed = settings.seed
        self.rng_jobs = random.Random(f"{seed}:jobs")
        self.rng_workers = random.Random(f"{seed}:workers")
        self.rng_store = random.Random(f"{seed}:store")
        self.rng_cancel = random.Random(f"{seed}:cancel")
        self.tag = f"{store_kind}-{os.getpid()}-{random.SystemRandom().getrandbits(48):012x}"
        self.phase = "setup"
        self.slots: dict[int, Worker | None] = dict.fromkeys(range(settings.workers))
        self.generations: Counter[int] = Counter()
        self.workers: list[Worker] = []
        self.faults: Counter[str] = Counter()
        self.store_faults: list[StoreFault] = []
        self.events: Counter[str] = Counter()
        self.process_violations: list[Violation] = []
        self.submitted: list[int] = []
        self.seq = 0
        self.sqld: Any = None
        self.proxy: ProxyProcess | None = None
        self.db_path = run_dir / "jobs.db"
        self.stores: list[JobStore] = []
        self.figures: dict[str, Any] = {}
        # Processes of workers: parent at first sight, when first seen, already reported.
        self.owners: dict[int, int] = {}
        self.first_seen: dict[int, float] = {}
        self.reported: set[int] = set()

    # -- set-up ----------------------------------------------------------------------------

    def _store(self) -> JobStore:
        import stores

        store: JobStore
        if self.kind == "sqld":
            turso: Any = stores.TursoJobStore  # loaded on first use (module __getattr__)
            store = turso(self.sqld.url, timeout=5.0)
        else:
            store = stores.LocalJobStore(self.db_path)
        self.stores.append(store)
        return store

    def _direct_env(self) -> dict[str, str]:
        """The environment of a CLI call straight to the database (not through the proxy)."""
        env = _base_env()
        if self.kind == "sqld":
            env["TURSO_DATABASE_URL"] = self.sqld.url
        else:
            env["JOBS_DB_PATH"] = str(self.db_path)
        return env

    def _worker_env(self) -> dict[str, str]:
        env = _base_env()
        # Only the handlers module on the path (not every benchmark script).
        handlers = self.dir / "handlers"
        handlers.mkdir(exist_ok=True)
        (handlers / "soak_jobs.py").symlink_to(BENCH / "soak_jobs.py")
        env["PYTHONPATH"] = os.pathsep.join([str(handlers), str(self.s.repo)])
        env["SOAK_DIR"] = str(self.dir)
        env["SOAK_TAG"] = self.tag
        if self.kind == "sqld":
            assert self.proxy is not None
            env["TURSO_DATABASE_URL"] = self.proxy.url
        else:
            env["JOBS_DB_PATH"] = str(self.db_path)
        return env

    async def _setup(self) -> None:
        (self.dir / "locks").mkdir(parents=True)
        (self.dir / "workers").mkdir()
        (self.dir / "children.log").touch()
        if self.kind == "sqld":
            from faultproxy import ProxyProcess

            from media_jobs_testing.sqld import SqldServer

            self.sqld = SqldServer(self.dir / "sqld-data")
            await trio.to_thread.run_sync(self.sqld.start)
            self.proxy = ProxyProcess(self.sqld.port, self.dir / "proxy.log")
        self.submit_store = self._store()
        self.cancel_store = self._store()
        self.watch_store = self._store()
        await self.submit_store.list(limit=1)  # creates the schema
        self.worker_env = self._worker_env()

    # -- workers ---------------------------------------------------------------------------

    def _start_worker(self, slot: int) -> Worker:
        self.generations[slot] += 1
        worker_id = f"{self.kind}-w{slot}-{self.generations[slot]}"
        log_path = self.dir / "workers" / f"{worker_id}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "supervisor",
                    "--handlers",
                    "soak_jobs",
                    "run",
                    "--worker-id",
                    worker_id,
                    *self.t.flags(),
                ],
                cwd=self.s.repo,
                env=self.worker_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent,
            )
        worker = Worker(slot, worker_id, proc, log_path, WorkerTimeline(worker_id, time.time()))
        self.slots[slot] = worker
        self.workers.append(worker)
        self.events["worker_starts"] += 1
        return worker

    def _running_workers(self) -> list[Worker]:
        return [w for w in self.slots.values() if w is not None and w.state == "running"]

    def _orphans(self) -> None:
        """Every process a worker started (child, sentinel, helper) must die with it: one
        still alive ``ORPHAN_GRACE`` seconds after its worker exited is left behind."""
        now = time.time()
        by_pid = {w.proc.pid: w for w in self.workers}
        for pid, ppid, cmdline in tagged_processes(self.tag):
            if pid in by_pid or pid in self.reported:
                continue
            owner = by_pid.get(self.owners.setdefault(pid, ppid))
            since = owner.timeline.exited if owner else self.first_seen.setdefault(pid, now)
            if since is not None and now - since > ORPHAN_GRACE:
                self.reported.add(pid)
                whose = owner.worker_id if owner else f"pid {self.owners[pid]} (not a worker)"
                self.process_violations.append(
                    Violation(
                        "leftover_process",
                        f"pid {pid} alive {now - since:.1f} s after its worker {whose} "
                        f"exited: {cmdline[:160]}",
                    )
                )

    async def _monitor(self, nursery: trio.Nursery) -> None:
        """Notices exits, judges the unexpected ones, and replaces ended workers; looks for
        processes left behind by ended workers every second."""
        ticks = 0
        while True:
            ticks += 1
            if ticks % 10 == 0:
                self._orphans()
            for worker in list(self.workers):
                if worker.timeline.exited is not None:
                    continue
                code = worker.proc.poll()
                if code is None:
                    continue
                worker.timeline.exited, worker.timeline.exit_code = time.time(), code
                if worker.state not in ("killed", "terminating"):
                    text = worker.log_tail(20)
                    if code == 2 and "unreachable after" in text:
                        self.events["worker_refused_to_start"] += 1  # by design, during outages
                    else:
                        self.process_violations.append(
                            Violation(
                                "worker_died",
                                f"{worker.worker_id} exited {code} unasked (state "
                                f"{worker.state}): {worker.log_tail()}",
                            )
                        )
                if worker.state != "terminating":
                    worker.state = "exited" if worker.state != "killed" else "killed"
                if self.slots.get(worker.slot) is worker and worker.state != "terminating":
                    nursery.start_soon(self._replace, worker)
            await trio.sleep(0.1)

    async def _replace(self, worker: Worker) -> None:
        if self.phase == "inject":
            await trio.sleep(self.rng_workers.uniform(0.2, 2.0))
        if self.phase in ("inject", "drain") and self.slots.get(worker.slot) is worker:
            self._start_worker(worker.slot)

    def _signal(self, worker: Worker, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.proc.pid, signum)

    async def _terminate(self, worker: Worker, *, final: bool = False) -> None:
        """SIGTERM, then the bound: exit 0 within shutdown_timeout + slack."""
        worker.state = "terminating"
        worker.timeline.terms.append(time.time())
        was_ready = worker.is_ready()
        self._signal(worker, signal.SIGTERM)
        bound = self.t.shutdown_timeout + SHUTDOWN_SLACK
        began = trio.current_time()
        with trio.move_on_after(bound):
            while worker.proc.poll() is None:
                await trio.sleep(0.05)
        took = trio.current_time() - began
        if worker.proc.poll() is None:
            self.process_violations.append(
                Violation(
                    "shutdown_overran",
                    f"{worker.worker_id} still running {bound:g} s after SIGTERM: "
                    f"{worker.log_tail()}",
                )
            )
            worker.state = "killed"
            worker.timeline.kills.append(time.time())
            self._signal(worker, signal.SIGKILL)
            await trio.to_thread.run_sync(worker.proc.wait)
        code = worker.proc.wait()
        worker.timeline.exited = worker.timeline.exited or time.time()
        worker.timeline.exit_code = code
        self.figures.setdefault("shutdown_seconds", []).append(round(took, 2))
        if code != 0 and was_ready and worker.state == "terminating":
            self.process_violations.append(
                Violation(
                    "shutdown_exit",
                    f"{worker.worker_id} exited {code} after SIGTERM: {worker.log_tail()}",
                )
            )
        worker.state = "exited" if worker.state == "terminating" else worker.state
        if not final and self.slots.get(worker.slot) is worker and self.phase != "stop":
            await self._replace(worker)

    # -- faults ----------------------------------------------------------------------------

    def _outage(self, rng: random.Random) -> float:
        """An outage's length: short (below the fence), middling (fence to stale_after) or
        long (past stale_after), capped by --max-outage."""
        t, x = self.t, rng.random()
        if x < 0.55:
            length = rng.uniform(0.3, t.fence_after)
        elif x < 0.85:
            length = rng.uniform(t.fence_after, t.stale_after)
        else:
            length = rng.uniform(t.stale_after, 2 * t.stale_after)
        return min(length, self.s.max_outage)

    async def _worker_faults(self, nursery: trio.Nursery, outer: trio.Nursery) -> None:
        """SIGKILL, SIGSTOP (continued later, or killed) and SIGTERM of random workers.
        ``nursery`` ends with the injection (a pause is then cut short); ``outer`` outlives
        it (a shutdown in progress is still timed and judged)."""
        rng = self.rng_workers
        while True:
            await trio.sleep(rng.expovariate(1 / self.s.worker_fault_every))
            kind = rng.choices(WORKER_FAULTS, weights=(3, 3, 2))[0]
            pause = rng.uniform(0.2, 2.5 * self.t.stale_after)
            for_good = rng.random() < 0.2
            pick = rng.random()
            running = self._running_workers()
            if len(running) < 2:
                continue  # keep one worker untouched
            worker = running[int(pick * len(running))]
            if kind == "worker_sigterm" and not worker.is_ready():
                kind = "worker_sigkill"
            self.faults[kind] += 1
            if kind == "worker_sigkill":
                worker.state = "killed"
                worker.timeline.kills.append(time.time())
                self._signal(worker, signal.SIGKILL)
            elif kind == "worker_sigstop":
                worker.state = "stopped"
                worker.timeline.stops.append([time.time(), None])
                self._signal(worker, signal.SIGSTOP)
                if pause > self.t.stale_after:
                    self.faults["worker_sigstop_past_stale_after"] += 1
                nursery.start_soon(self._resume, worker, pause, for_good)
            else:
                outer.start_soon(self._terminate, worker)

    async def _resume(self, worker: Worker, pause: float, for_good: bool) -> None:
        try:
            await trio.sleep(pause)
        finally:  # no checkpoint below: runs whole, even when cancelled
            now = time.time()
            worker.timeline.stops[-1][1] = now
            if for_good and self.phase == "inject":
                self.faults["worker_stopped_for_good"] += 1
                worker.state = "killed"
                worker.timeline.kills.append(now)
                self._signal(worker, signal.SIGKILL)
            else:
                if worker.state == "stopped":
                    worker.state = "running"
                self._signal(worker, signal.SIGCONT)

    async def _store_faults(self) -> None:
        rng = self.rng_store
        while True:
            await trio.sleep(rng.expovariate(1 / self.s.store_fault_every))
            if self.kind == "sqld":
                kind = rng.choices(SQLD_FAULTS, weights=SQLD_WEIGHTS)[0]
            else:
                kind = rng.choice(LOCAL_FAULTS)
            length = self._outage(rng)
            self.faults[kind] += 1
            start = time.time()
            detail = ""
            try:
                detail = await self._store_fault(kind, length)
            finally:
                self.store_faults.append(StoreFault(kind, start, time.time(), detail))

    async def _store_fault(self, kind: str, length: float) -> str:
        assert self.kind == "local" or self.proxy is not None
        if kind in ("sqld_restart", "sqld_kill"):
            try:
                if kind == "sqld_kill" and self.sqld.proc is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self.sqld.proc.pid, signal.SIGKILL)
                await trio.to_thread.run_sync(self.sqld.stop)
                await trio.sleep(min(length, 3.0))
            finally:
                with trio.CancelScope(shield=True):
                    await self._start_sqld()
            return f"down {min(length, 3.0):.1f}s"
        if kind == "proxy_cut":
            assert self.proxy is not None
            return (await trio.to_thread.run_sync(self.proxy.command, "cut")).split(" ", 2)[2]
        if kind.startswith("proxy_"):
            assert self.proxy is not None
            try:
                await trio.to_thread.run_sync(self.proxy.command, kind.removeprefix("proxy_"))
                await trio.sleep(length)
            finally:
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(self.proxy.command, "pass")
            return ""
        if kind == "db_lock":
            return await self._hold_lock(length)
        raise AssertionError(kind)

    async def _start_sqld(self) -> None:
        for attempt in range(5):
            try:
                await trio.to_thread.run_sync(self.sqld.start)
                return
            except RuntimeError:
                if attempt == 4:
                    raise SoakError(f"sqld did not start again: see {self.sqld.log_path}") from None
                await trio.sleep(1)

    async def _hold_lock(self, length: float) -> str:
        """Hold the SQLite file's write lock for ``length`` seconds (writers wait, then fail)."""
        release = threading.Event()
        got = threading.Event()

        def hold() -> None:
            conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                got.set()
                release.wait(length)
                conn.execute("ROLLBACK")
            finally:
                conn.close()

        try:
            # On cancellation the thread is let go; the finally releases its lock at once.
            await trio.to_thread.run_sync(hold, abandon_on_cancel=True)
        finally:
            release.set()
        return "" if got.is_set() else "lock not taken"

    async def _canceller(self) -> None:
        from stores import JobStatus, JobStoreError

        rng = self.rng_cancel
        while True:
            await trio.sleep(rng.expovariate(1 / self.s.cancel_every))
            running_first = rng.random() < 0.6
            via_cli = rng.random() < 0.3
            pick = rng.random()
            try:
                order = (JobStatus.RUNNING, JobStatus.PENDING)
                for status in order if running_first else order[::-1]:
                    candidates = await self.cancel_store.list(status=status, limit=20)
                    if candidates:
                        break
            except JobStoreError:
                continue
            if not candidates:
                continue
            job = candidates[int(pick * len(candidates))]
            self.faults[f"cancel_{job.status.value}_{'cli' if via_cli else 'api'}"] += 1
            if via_cli:
                result = await trio.run_process(
                    [sys.executable, "-m", "supervisor", "cancel", str(job.id)],
                    cwd=self.s.repo,
                    env=self._direct_env(),
                    capture_stdout=True,
                    capture_stderr=True,
                    check=False,
                )
                outcome = "ok" if result.returncode == 0 else f"exit_{result.returncode}"
            else:
                try:
                    await self.cancel_store.cancel(job.id)
                    outcome = "ok"
                except JobStoreError as exc:
                    outcome = type(exc).__name__
            self.events[f"cancel_{outcome}"] += 1

    # -- jobs ------------------------------------------------------------------------------

    def _new_job(self) -> tuple[str, dict[str, Any], int]:
        r = self.rng_jobs
        self.seq += 1
        runs = []
        for _ in range(1 if r.random() < 0.75 else 2):
            x = r.random()
            if x < 0.75:
                seconds = r.uniform(0.05, 0.3)
            elif x < 0.93:
                seconds = r.uniform(0.3, 2.0)
            else:
                seconds = r.uniform(2.0, 6.0)  # spans heartbeats, fences and faults
            runs.append([round(seconds, 3), max(1, round(seconds / 0.1))])
        y = r.random()
        fail = (
            "none"
            if y < 0.72
            else "transient_once"
            if y < 0.87
            else "transient"
            if y < 0.94
            else "permanent"
        )
        job_type = "soak"
        if r.random() < 0.04:
            job_type, runs = "soak_timeout", [[3.0, 30]]
        max_attempts = r.choice((1, 1, 2, 2, 3))
        return job_type, {"seq": self.seq, "runs": runs, "fail": fail}, max_attempts

    async def _submitter(self) -> None:
        from stores import JobStatus, JobStoreError, StoreUnavailable

        while True:
            try:
                pending = await self.submit_store.list(status=JobStatus.PENDING, limit=100)
            except JobStoreError:
                await trio.sleep(0.5)
                continue
            for _ in range(self.s.backlog - len(pending)):
                job_type, payload, max_attempts = self._new_job()
                try:
                    job = await self.submit_store.create(
                        job_type, payload, max_attempts=max_attempts
                    )
                except StoreUnavailable as exc:
                    # Not sent: nothing was created. Otherwise the outcome is unknown: the
                    # job may exist (the check covers every row of the table anyway).
                    self.events["submit_failed" if exc.not_sent else "submit_unknown"] += 1
                    break
                self.submitted.append(job.id)
            await trio.sleep(0.5)

    # -- phases ----------------------------------------------------------------------------

    async def _open_jobs(self) -> int:
        # One statement, one snapshot: two separate lists would miss a job moving from
        # running back to pending (a retry) between them.
        counts = await self.watch_store.counts()
        return counts["pending"] + counts["running"]

    async def _drain(self) -> float | None:
        from stores import JobStoreError

        began = trio.current_time()
        quiet = 0
        while trio.current_time() - began < self.s.drain_timeout:
            try:
                quiet = quiet + 1 if await self._open_jobs() == 0 else 0
            except JobStoreError:
                quiet = 0
            if quiet >= 2:  # nothing open in two readings half a second apart
                return trio.current_time() - began
            await trio.sleep(0.5)
        return None

    async def _stop_workers(self) -> None:
        async with trio.open_nursery() as nursery:
            for worker in self.workers:
                # (A worker SIGKILLed a moment ago may not be reaped yet: not this one's.)
                if worker.timeline.exited is None and worker.state in ("running", "stopped"):
                    if worker.state == "stopped":
                        self._signal(worker, signal.SIGCONT)
                    nursery.start_soon(functools.partial(self._terminate, worker, final=True))
        # Anything still running (a terminate in progress from the injection phase).
        for worker in self.workers:
            if worker.proc.poll() is None:
                with trio.move_on_after(self.t.shutdown_timeout + SHUTDOWN_SLACK):
                    while worker.proc.poll() is None:
                        await trio.sleep(0.05)
                if worker.proc.poll() is None:
                    self._signal(worker, signal.SIGKILL)
                    worker.proc.wait()

    def _leftovers(self) -> None:
        for pid, _, cmdline in tagged_processes(self.tag):
            if pid not in self.reported:
                self.process_violations.append(
                    Violation(
                        "leftover_process",
                        f"pid {pid} still running after every worker stopped: {cmdline[:160]}",
                    )
                )
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # clean up after reporting it
        for lock in sorted((self.dir / "locks").glob("job-*.lock")):
            with open(lock, "r+b") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = f.read(64).decode(errors="replace")
                    self.process_violations.append(
                        Violation(
                            "leftover_lock",
                            f"{lock.name} held by [pid, lease, attempt] = {holder.split()}",
                        )
                    )

    def _dump(self) -> tuple[dict[int, dict[str, Any]], dict[int, list[dict[str, Any]]]]:
        """The job table and its history, with plain SQL."""
        queries = ["SELECT * FROM jobs ORDER BY id", "SELECT * FROM job_history ORDER BY seq"]
        tables: list[list[dict[str, Any]]] = []
        if self.kind == "sqld":
            body = json.dumps({"statements": queries}).encode()
            request = urllib.request.Request(
                self.sqld.url, data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                answers = json.load(response)
            for answer in answers:
                if "results" not in answer:
                    raise SoakError(f"sqld refused the dump: {answer}")
                columns = answer["results"]["columns"]
                tables.append(
                    [dict(zip(columns, row, strict=True)) for row in answer["results"]["rows"]]
                )
        else:
            conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
            conn.row_factory = sqlite3.Row
            try:
                tables = [[dict(r) for r in conn.execute(q)] for q in queries]
            finally:
                conn.close()
        jobs = {}
        for row in tables[0]:
            with contextlib.suppress(TypeError, ValueError):
                row["payload"] = json.loads(row["payload"])
            jobs[int(row["id"])] = row
        history: dict[int, list[dict[str, Any]]] = {}
        for entry in tables[1]:
            history.setdefault(int(entry["job_id"]), []).append(entry)
        return jobs, history

    def _children(self) -> list[dict[str, Any]]:
        events = []
        for line in (self.dir / "children.log").read_text(errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                self.events["children_log_torn_lines"] += 1
        return events

    async def run(self) -> tuple[CheckResult, dict[str, Any]]:
        began = time.monotonic()
        load_before = os.getloadavg()[0]
        try:
            await self._setup()
            for slot in self.slots:
                self._start_worker(slot)
            async with trio.open_nursery() as outer:
                outer.start_soon(self._monitor, outer)
                self.phase = "inject"
                inject_began = time.monotonic()
                async with trio.open_nursery() as faults:
                    faults.start_soon(self._submitter)
                    faults.start_soon(self._worker_faults, faults, outer)
                    faults.start_soon(self._store_faults)
                    faults.start_soon(self._canceller)
                    await trio.sleep(self.s.duration)
                    faults.cancel_scope.cancel()
                injected = time.monotonic() - inject_began
                # Heal: faults were undone as they were cancelled; replace ended workers.
                self.phase = "drain"
                for slot, worker in self.slots.items():
                    if worker is None or worker.timeline.exited is not None:
                        self._start_worker(slot)
                drain = await self._drain()
                self.phase = "stop"
                await self._stop_workers()
                outer.cancel_scope.cancel()
            await trio.sleep(1.5)  # the sentinels of killed workers act at once, EOF-driven
            self._leftovers()
            jobs, history = await trio.to_thread.run_sync(self._dump)
        finally:
            with trio.CancelScope(shield=True):
                await self._cleanup()
        data = RunData(
            jobs=jobs,
            history=history,
            children=self._children(),
            submitted=self.submitted,
            workers={w.worker_id: w.timeline for w in self.workers},
            store_faults=self.store_faults,
        )
        (self.dir / "data.json").write_text(json.dumps(asdict(data)))  # for --recheck
        result = check(data, self.t)
        workers_dir = self.dir / "workers"
        result.violations[:] = [
            *self.process_violations,
            *(explain(v, workers_dir) for v in result.violations),
        ]
        figures = {
            "store": self.kind,
            "seed": self.s.seed,
            "run_seconds": round(time.monotonic() - began, 1),
            "inject_seconds": round(injected, 1),
            "drain_seconds": None if drain is None else round(drain, 1),
            "jobs_submitted": len(self.submitted),
            "jobs_in_table": len(jobs),
            "final_status": dict(Counter(row["status"] for row in jobs.values())),
            "faults": dict(sorted(self.faults.items())),
            "events": dict(sorted(self.events.items())),
            "check": dict(sorted(result.figures.items())),
            "shutdown_seconds_max": max(self.figures.get("shutdown_seconds", [0])),
            "load_average": f"{load_before:.1f} at start, {os.getloadavg()[0]:.1f} at the end "
            f"({os.cpu_count()} CPUs)",
            "worker_log_errors": dict(error_digest(self.dir / "workers").most_common()),
        }
        return result, figures

    async def _cleanup(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is None:
                self._signal(worker, signal.SIGCONT)
                self._signal(worker, signal.SIGKILL)
                worker.proc.wait()
        for pid, _, _ in tagged_processes(self.tag):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for store in self.stores:
            with contextlib.suppress(Exception):
                store.close()
        if self.proxy is not None:
            self.proxy.stop()
        if self.sqld is not None:
            await trio.to_thread.run_sync(self.sqld.stop)


def explain(violation: Violation, workers_dir: Path) -> Violation:
    """Add what the worker concerned logged about that job and attempt (its warnings)."""
    if violation.worker is None or violation.job is None:
        return violation
    said = []
    with contextlib.suppress(OSError):
        text = (workers_dir / f"{violation.worker}.log").read_text(errors="replace")
        for line in text.splitlines():
            parts = line.split(" ", 3)
            if (
                len(parts) == 4
                and parts[1] in ("WARNING", "ERROR")
                and f"job_id={violation.job} " in line + " "
                and f"attempt={violation.attempt}" in line
            ):
                said.append(f"{parts[0][11:23]} {parts[3].split(' job_id=')[0][:90]}")
    if not said:
        return violation
    detail = f"{violation.detail}; {violation.worker} logged: " + " / ".join(said[-4:])
    return dataclasses.replace(violation, detail=detail)


def recheck(run_dir: Path) -> int:
    """Run the checker again on a kept run's data (``data.json``), e.g. after changing it."""
    raw = json.loads((run_dir / "data.json").read_text())
    report = json.loads((run_dir / "report.json").read_text())
    data = RunData(
        jobs={int(k): v for k, v in raw["jobs"].items()},
        history={int(k): v for k, v in raw["history"].items()},
        children=raw["children"],
        submitted=raw["submitted"],
        workers={k: WorkerTimeline(**v) for k, v in raw["workers"].items()},
        store_faults=[StoreFault(**f) for f in raw["store_faults"]],
    )
    result = check(data, Timings(**report["timings"]))
    kept = [Violation(**v) for v in report["violations"] if v["kind"] not in _TABLE_KINDS]
    result.violations[:] = [*kept, *(explain(v, run_dir / "workers") for v in result.violations)]
    figures = {**report["figures"], "check": dict(sorted(result.figures.items()))}
    print_report(result, figures, run_dir)
    return 1 if result.violations else 0


#: Kinds the soak finds itself, not from the table (kept as they were by ``recheck``).
_PROCESS_KINDS = frozenset(
    {"worker_died", "shutdown_overran", "shutdown_exit", "leftover_process", "leftover_lock"}
)
_TABLE_KINDS = frozenset(KINDS) - _PROCESS_KINDS


def print_report(result: CheckResult, figures: dict[str, Any], run_dir: Path) -> None:
    out = sys.stdout
    print(f"== soak on {figures['store']}: seed {figures['seed']}, run dir {run_dir}", file=out)
    drain = figures["drain_seconds"]
    print(
        f"run time {figures['run_seconds']} s: faults injected for {figures['inject_seconds']} s, "
        f"drained in {'NOT DRAINED' if drain is None else f'{drain} s'}, slowest SIGTERM "
        f"shutdown {figures['shutdown_seconds_max']} s; load average {figures['load_average']}",
        file=out,
    )
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(figures["final_status"].items()))
    print(
        f"jobs: {figures['jobs_submitted']} submitted, {figures['jobs_in_table']} in the table; "
        f"final status: {statuses}",
        file=out,
    )
    print(
        "faults: " + ", ".join(f"{k} {v}" for k, v in figures["faults"].items()),
        file=out,
    )
    print("events: " + ", ".join(f"{k} {v}" for k, v in figures["events"].items()), file=out)
    print("checked: " + ", ".join(f"{k} {v}" for k, v in figures["check"].items()), file=out)
    for line, count in list(figures["worker_log_errors"].items())[:10]:
        print(f"worker log ERROR x{count}: {line}", file=out)
    for note in result.notes[:10]:
        print(f"note: {note}", file=out)
    by_kind = Counter(v.kind for v in result.violations)
    print(f"violations: {len(result.violations)}", file=out)
    for kind, count in sorted(by_kind.items()):
        print(f"  {kind}: {count} ({KINDS[kind]})", file=out)
        for v in [v for v in result.violations if v.kind == kind][:8]:
            print(f"    - {v.detail}", file=out)
        if count > 8:
            print(f"    ... {count - 8} more in report.json", file=out)
    out.flush()


async def _soak_one(store_kind: str, settings: Settings) -> int:
    base = settings.workdir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"soak-{store_kind}-", dir=base))
    print(
        f"soak {store_kind}: seed {settings.seed}, {settings.duration:g} s, "
        f"{settings.workers} workers, code under test {settings.repo}, run dir {run_dir}",
        flush=True,
    )
    print(f"timings: {settings.timings.describe()}", flush=True)
    result, figures = await Soak(store_kind, settings, run_dir).run()
    report = {
        "figures": figures,
        "violations": [asdict(v) for v in result.violations],
        "notes": result.notes,
        "timings": asdict(settings.timings),
    }
    (run_dir / "report.json").write_text(json.dumps(report, indent=2))
    print_report(result, figures, run_dir)
    if result.violations or settings.keep:
        print(f"kept {run_dir} (worker logs, children.log, report.json)", flush=True)
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 1 if result.violations else 0


def parse_args(argv: list[str] | None = None) -> tuple[list[str], Settings]:
    parser = argparse.ArgumentParser(
        description="Soak: worker processes under random faults, then a strict check."
    )
    parser.add_argument("--store", choices=(*STORES, "both"), default="both")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of faults")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed", type=int, help="default: a random one (printed)")
    parser.add_argument("--backlog", type=int, default=8, help="pending jobs kept queued")
    parser.add_argument("--worker-fault-every", type=float, default=3.0, help="mean seconds")
    parser.add_argument("--store-fault-every", type=float, default=4.0, help="mean seconds")
    parser.add_argument("--cancel-every", type=float, default=2.0, help="mean seconds")
    parser.add_argument(
        "--max-outage", type=float, default=10.0, help="longest database/network outage (s)"
    )
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--repo", type=Path, default=BENCH.parent, help="the code under test")
    parser.add_argument("--workdir", type=Path, help="where run folders go (default: /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder")
    parser.add_argument(
        "--recheck", type=Path, metavar="RUN_DIR", help="check a kept run's data again, only"
    )
    args = parser.parse_args(argv)
    if args.recheck:
        return [], Settings(workdir=args.recheck)
    if args.workers < 1 or not (math.isfinite(args.duration) and args.duration > 0):
        parser.error("--workers must be at least 1 and --duration positive")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**9)
    settings = Settings(
        duration=args.duration,
        workers=args.workers,
        seed=seed,
        backlog=args.backlog,
        worker_fault_every=args.worker_fault_every,
        store_fault_every=args.store_fault_every,
        cancel_every=args.cancel_every,
        max_outage=args.max_outage,
        drain_timeout=args.drain_timeout,
        repo=args.repo.resolve(),
        keep=args.keep,
        workdir=args.workdir,
    )
    stores = list(STORES) if args.store == "both" else [args.store]
    return stores, settings


def _leaves(group: BaseExceptionGroup[SoakError]) -> list[str]:
    out: list[str] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [str(exc)])
    return out


def main(argv: list[str] | None = None) -> int:
    stores, settings = parse_args(argv)
    if not stores:
        assert settings.workdir is not None
        return recheck(settings.workdir)
    # The soak's own store calls ride out the injected outages; their warnings are noise.
    logging.getLogger("stores").setLevel(logging.ERROR)
    # The code under test: its stores (the soak's own calls) and its
    # media_jobs_testing/sqld.py. From its folder, so the processes our stores start
    # (``python -m stores._helper``) run it.
    sys.path.insert(1, str(settings.repo))
    os.chdir(settings.repo)
    codes = []
    broken: list[str] = []
    try:
        for store_kind in stores:
            codes.append(trio.run(_soak_one, store_kind, settings))
    except* SoakError as group:
        broken = _leaves(group)
    if broken:
        print(f"soak: could not run: {'; '.join(broken)}", file=sys.stderr)
        return 2
    print(f"soak: seed {settings.seed}: " + ("VIOLATIONS" if any(codes) else "0 violations"))
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
