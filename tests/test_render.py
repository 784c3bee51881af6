"""render.yaml follows the Blueprint rules for a worker service, and its start command
really starts the worker with only the variables the file and the secrets provide."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import trio
import yaml

from stores import JobStatus, TursoJobStore
from supervisor import WorkerConfig

from .conftest import REPO
from .helpers import wait_for_status
from .sqld import SqldServer

BLUEPRINT = yaml.safe_load((REPO / "render.yaml").read_text())
# From Render's Blueprint specification (render.com/docs/blueprint-spec).
ROOT_KEYS = {"services", "databases", "envVarGroups", "projects", "ungrouped", "previews"}
SERVICE_TYPES = {"web", "worker", "pserv", "cron", "keyvalue", "redis"}
RUNTIMES = {"node", "python", "elixir", "go", "ruby", "rust", "docker", "image", "static"}
WORKER_PLANS = {"starter", "standard", "pro", "pro plus", "pro max", "pro ultra"}
REGIONS = {"oregon", "ohio", "virginia", "frankfurt", "singapore"}
SERVICE_KEYS = {
    "type",
    "name",
    "runtime",
    "plan",
    "region",
    "buildCommand",
    "startCommand",
    "preDeployCommand",
    "envVars",
    "autoDeploy",
    "autoDeployTrigger",
    "branch",
    "rootDir",
    "buildFilter",
    "numInstances",
    "scaling",
    "maxShutdownDelaySeconds",
    "disk",
    "repo",
    "dockerfilePath",
    "dockerContext",
    "dockerCommand",
    "image",
    "previews",
}
ENV_SOURCES = {"value", "generateValue", "sync", "fromDatabase", "fromService", "fromGroup"}


def worker() -> dict[str, Any]:
    (service,) = [s for s in BLUEPRINT["services"] if s["type"] == "worker"]
    return service  # type: ignore[no-any-return]


def env_vars() -> dict[str, dict[str, Any]]:
    return {e["key"]: e for e in worker()["envVars"]}


def test_blueprint_structure_follows_the_specification() -> None:
    """Root keys, service keys and their values are ones the specification allows."""
    assert set(BLUEPRINT) <= ROOT_KEYS
    for service in BLUEPRINT["services"]:
        assert set(service) <= SERVICE_KEYS, set(service) - SERVICE_KEYS
        assert service["type"] in SERVICE_TYPES and service["name"]
    w = worker()
    assert w["runtime"] in RUNTIMES and w["runtime"] == "python"
    assert w["plan"] == "starter" and w["plan"] in WORKER_PLANS  # workers have no free plan
    assert w.get("region", "oregon") in REGIONS
    for key in ("name", "runtime", "buildCommand", "startCommand"):  # required for native runtimes
        assert isinstance(w[key], str) and w[key].strip()
    assert w["startCommand"] == "python -m supervisor"
    assert (
        isinstance(w["maxShutdownDelaySeconds"], int) and 1 <= w["maxShutdownDelaySeconds"] <= 300
    )
    for entry in w["envVars"]:
        sources = set(entry) & ENV_SOURCES
        assert set(entry) - ENV_SOURCES == {"key"} and len(sources) == 1, entry


def test_secrets_are_not_synced_from_the_file() -> None:
    """The Turso URL and token are prompted for (sync: false), never written in the file."""
    for key in ("TURSO_DATABASE_URL", "TURSO_AUTH_TOKEN"):
        assert env_vars()[key] == {"key": key, "sync": False}


def test_python_is_pinned_to_a_version_the_project_supports() -> None:
    """PYTHON_VERSION is an exact version inside the project's requires-python."""
    version = env_vars()["PYTHON_VERSION"]["value"]
    assert re.fullmatch(r"3\.\d+\.\d+", version)
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = tuple(int(x) for x in requires.removeprefix(">=").split("."))
    assert tuple(int(x) for x in version.split("."))[:2] >= minimum


def test_shutdown_delay_covers_the_worker_shutdown() -> None:
    """Render's SIGKILL comes after the worker's whole bounded shutdown (grace, kill grace
    and the release), and the worker accepts those timings."""
    values = {
        k: float(v["value"])
        for k, v in env_vars().items()
        if k.startswith("SUPERVISOR_") and "value" in v
    }
    config = WorkerConfig.from_env({k: str(v) for k, v in values.items()})
    assert config.shutdown_timeout < worker()["maxShutdownDelaySeconds"]


def test_the_build_installs_the_project_and_its_ffmpeg() -> None:
    """The build installs the package (imageio-ffmpeg carries ffmpeg)."""
    assert "pip install ." in worker()["buildCommand"]
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("imageio-ffmpeg") for d in deps)


@pytest.mark.slow
async def test_the_start_command_starts_the_worker_with_only_those_variables(
    sqld: SqldServer, tmp_path: Path
) -> None:
    """Only render.yaml's values plus the two secrets (and PATH): the worker starts on Turso,
    runs a job, and exits 0 on SIGTERM, never printing the token."""
    token = "tok-render-SECRET-77"
    env = {"PATH": os.environ["PATH"], "TURSO_DATABASE_URL": sqld.url, "TURSO_AUTH_TOKEN": token}
    env.update({k: str(v["value"]) for k, v in env_vars().items() if "value" in v})
    argv = worker()["startCommand"].split()
    argv[0] = sys.executable  # the project's interpreter stands in for Render's `python`
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=out, stderr=out)
    store = TursoJobStore(sqld.url)
    try:
        job = await store.create("tone", {"seconds": 1})
        with trio.fail_after(60):
            await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()
    text = log.read_text()
    assert "worker started" in text and "TursoJobStore" in text and token not in text
    assert "timings=" in text and "types=" in text
