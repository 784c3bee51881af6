"""Shared fixtures: a controllable wall clock, a real sqld, and stores on both adapters."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trio.testing

from files import Storage, get_storage, reset_storage
from stores import JobStore, LocalJobStore, TursoJobStore, reset_job_store

from .seaweed import SeaweedServer
from .sqld import SqldServer

REPO = Path(__file__).resolve().parent.parent


class WallClock:
    """The wall clock the store writes, under the test's control."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def sqld(tmp_path: Path) -> Iterator[SqldServer]:
    server = SqldServer(tmp_path / "sqld-data")
    server.start()
    try:
        yield server
    finally:
        server.stop()


StoreFactory = Callable[[], JobStore]


@pytest.fixture(params=["local", pytest.param("turso", marks=pytest.mark.sqld)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_factory(
    backend: str, tmp_path: Path, wall: WallClock, request: pytest.FixtureRequest
) -> Iterator[StoreFactory]:
    """Makes stores on one fresh database of the parametrised adapter, closed at teardown."""
    made: list[JobStore] = []
    if backend == "turso":
        server: SqldServer = request.getfixturevalue("sqld")

        def make() -> JobStore:
            made.append(TursoJobStore(server.url, clock=wall, timeout=5.0))
            return made[-1]
    else:
        db = tmp_path / "jobs.db"

        def make() -> JobStore:
            made.append(LocalJobStore(db, clock=wall))
            return made[-1]

    yield make
    for store in made:
        store.close()


@pytest.fixture
def live_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[JobStore]:
    """A store on the real clock (the server's live updates compare it with its own)."""
    if backend == "turso":
        server: SqldServer = request.getfixturevalue("sqld")
        store: JobStore = TursoJobStore(server.url, timeout=10)
    else:
        store = LocalJobStore(tmp_path / "jobs.db")
    yield store
    store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> JobStore:
    return store_factory()


@pytest.fixture(autouse=True)
def _sqld_marked(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that starts sqld carries the ``sqld`` marker (so ``-m "not sqld"`` and
    ``make test-fast`` leave it out): else it fails, naming the marker to add."""
    before = SqldServer.started
    yield
    if SqldServer.started != before and request.node.get_closest_marker("sqld") is None:
        pytest.fail(f"{request.node.nodeid} starts sqld: mark it @pytest.mark.sqld")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("TURSO_", "SUPERVISOR_", "AWS_")) or name == "JOBS_DB_PATH":
            monkeypatch.delenv(name)
    monkeypatch.setenv("JOBS_DB_PATH", str(tmp_path / "env-jobs.db"))
    monkeypatch.setenv("SUPERVISOR_STORAGE_URL", f"file://{tmp_path / 'env-files'}")
    yield
    reset_job_store()
    reset_storage()


@pytest.fixture(params=["local", "s3"])
def env_storage(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Storage]:
    """The process-wide storage (``get_storage``, as the environment says) on the
    parametrised backend: a folder, or a prefix of its own on the session's SeaweedFS. Jobs'
    scratch folders go under ``tmp_path / "scratch"``."""
    monkeypatch.setenv("SUPERVISOR_SCRATCH_DIR", str(tmp_path / "scratch"))
    if request.param == "s3":
        server: SeaweedServer = request.getfixturevalue("seaweed")
        for name, value in server.env(f"t-{uuid.uuid4().hex[:10]}").items():
            monkeypatch.setenv(name, value)
    else:
        monkeypatch.setenv("SUPERVISOR_STORAGE_URL", f"file://{tmp_path / 'files'}")
    reset_storage()
    yield get_storage()
    reset_storage()


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One real S3 server (SeaweedFS, signatures enforced) for the whole session; tests
    keep apart by using prefixes of their own."""
    with SeaweedServer(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture
def fast_clock() -> trio.testing.MockClock:
    """Virtual time that jumps only after 20 ms of real idleness.

    Why not plain ``autojump_clock``: a task waiting on a database thread counts as blocked,
    so with a zero threshold virtual time races ahead while a write is in flight (a worker's
    heartbeat would look minutes old). Database calls take about a millisecond, so a small
    threshold keeps them instant in virtual time and tests deterministic."""
    return trio.testing.MockClock(autojump_threshold=0.02)
