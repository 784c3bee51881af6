"""Shared fixtures: a controllable wall clock, a real sqld, and stores on both adapters."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio.testing

from files import Storage, get_storage, reset_storage
from media_jobs_testing.helpers import StoreFactory, WallClock, trio_wall
from media_jobs_testing.seaweed import SeaweedServer
from media_jobs_testing.sqld import SqldServer
from stores import JobStore, LocalJobStore, TursoJobStore, reset_job_store


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


#: The adapters a test taking ``backend`` (or ``store``) runs on, unless its marker says.
BACKENDS = ("local", "turso")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Runs each test that takes ``backend`` (the ``store`` fixture does) once per adapter
    its ``store`` marker allows; the Turso case carries the ``sqld`` marker."""
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("store")
    names = marker.kwargs.get("backends", BACKENDS) if marker else BACKENDS
    metafunc.parametrize(
        "backend",
        [pytest.param(name, marks=[pytest.mark.sqld] if name == "turso" else []) for name in names],
    )


def _store_options(request: pytest.FixtureRequest, wall: WallClock) -> dict[str, Any]:
    """The keyword arguments of the stores a test gets, from its ``store`` marker:
    ``clock="wall"`` (the default: the ``wall`` fixture), ``"trio"`` (Trio's virtual time from
    WALL0, for tests under a MockClock) or ``"real"`` (the system clock, for servers that
    compare the store's times with their own); ``timeout`` for Turso (default 5 s)."""
    marker = request.node.get_closest_marker("store")
    kwargs = marker.kwargs if marker else {}
    clock = {"wall": wall, "trio": trio_wall, "real": None}[kwargs.get("clock", "wall")]
    return {"clock": clock, "timeout": kwargs.get("timeout", 5.0)}


@pytest.fixture
def store_factory(
    backend: str, tmp_path: Path, wall: WallClock, request: pytest.FixtureRequest
) -> Iterator[StoreFactory]:
    """Makes stores on one fresh database of the parametrised adapter, closed at teardown."""
    made: list[JobStore] = []
    options = _store_options(request, wall)
    if backend == "turso":
        server: SqldServer = request.getfixturevalue("sqld")

        def make() -> JobStore:
            made.append(TursoJobStore(server.url, **options))
            return made[-1]
    else:
        db = tmp_path / "jobs.db"

        def make() -> JobStore:
            made.append(LocalJobStore(db, clock=options["clock"]))
            return made[-1]

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> JobStore:
    """A store on a fresh database (``tmp_path / "jobs.db"``, or the test's own sqld), once
    per adapter. ``@pytest.mark.store(backends=("local",), clock="real", timeout=10)`` on the
    test or its module picks the adapters, the clock it writes and the Turso call timeout."""
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
