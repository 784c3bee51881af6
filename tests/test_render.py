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

import httpx
import pytest
import trio
import yaml

from media_jobs_testing.helpers import REPO, wait_for_status
from media_jobs_testing.sqld import SqldServer, free_port
from media_jobs_testing.web_client import live_worker
from stores import JobStatus, JobTypeInfo, TursoJobStore
from supervisor import WorkerConfig

BLUEPRINT = yaml.safe_load((REPO / "render.yaml").read_text())
# From Render's Blueprint specification (render.com/docs/blueprint-spec).
ROOT_KEYS = {"services", "databases", "envVarGroups", "projects", "ungrouped", "previews"}
SERVICE_TYPES = {"web", "worker", "pserv", "cron", "keyvalue", "redis"}
RUNTIMES = {"node", "python", "elixir", "go", "ruby", "rust", "docker", "image", "static"}
WORKER_PLANS = {"starter", "standard", "pro", "pro plus", "pro max", "pro ultra"}
WEB_PLANS = {"free", *WORKER_PLANS}
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
    "healthCheckPath",
    "repo",
    "dockerfilePath",
    "dockerContext",
    "dockerCommand",
    "image",
    "previews",
}
ENV_SOURCES = {"value", "generateValue", "sync", "fromDatabase", "fromService", "fromGroup"}


#: Ports a Render service may not use on its private network (render.com/docs/private-network).
RESERVED_PORTS = {10000, 18012, 18013, 19099}


def worker() -> dict[str, Any]:
    """The service that runs ``python -m supervisor`` (a private service, see below)."""
    (service,) = [s for s in BLUEPRINT["services"] if s["name"] == "media-jobs-worker"]
    return service  # type: ignore[no-any-return]


def env_vars() -> dict[str, dict[str, Any]]:
    return {e["key"]: e for e in worker()["envVars"]}


def web() -> dict[str, Any]:
    (service,) = [s for s in BLUEPRINT["services"] if s["type"] == "web"]
    return service  # type: ignore[no-any-return]


def web_env() -> dict[str, dict[str, Any]]:
    return {e["key"]: e for e in web()["envVars"]}


def test_blueprint_structure_follows_the_specification() -> None:
    """Root keys, service keys and their values are ones the specification allows."""
    assert set(BLUEPRINT) <= ROOT_KEYS
    for service in BLUEPRINT["services"]:
        assert set(service) <= SERVICE_KEYS, set(service) - SERVICE_KEYS
        assert service["type"] in SERVICE_TYPES
        assert service["name"]
    w = worker()
    assert w["type"] == "pserv"
    assert w["runtime"] in RUNTIMES
    assert w["runtime"] == "python"
    assert w["plan"] == "starter"
    assert w["plan"] in WORKER_PLANS  # workers have no free plan
    assert w.get("region", "oregon") in REGIONS
    for key in ("name", "runtime", "buildCommand", "startCommand"):  # required for native runtimes
        assert isinstance(w[key], str)
        assert w[key].strip()
    assert w["startCommand"] == "python -m supervisor"
    assert isinstance(w["maxShutdownDelaySeconds"], int)
    assert 1 <= w["maxShutdownDelaySeconds"] <= 300
    for entry in w["envVars"]:
        sources = set(entry) & ENV_SOURCES
        assert set(entry) - ENV_SOURCES == {"key"}, entry
        assert len(sources) == 1, entry


def test_the_worker_is_reachable_for_its_metrics_on_the_private_network() -> None:
    """Render's background workers cannot receive private-network traffic, so the worker
    is a private service (no public URL) whose metrics listener binds every interface on a
    port Render allows; the Prometheus example scrapes that port."""
    assert worker()["type"] == "pserv"
    assert "healthCheckPath" not in worker()  # Render health-checks web services only
    listen = env_vars()["SUPERVISOR_METRICS_LISTEN"]["value"]
    host, _, port = listen.rpartition(":")
    assert host == "0.0.0.0"
    assert 1024 <= int(port) <= 65535
    assert int(port) not in RESERVED_PORTS
    example = yaml.safe_load((REPO / "docs" / "prometheus" / "prometheus.yml").read_text())
    (target,) = example["scrape_configs"][0]["static_configs"][0]["targets"]
    assert target == f"{worker()['name']}:{port}"


def test_secrets_are_not_synced_from_the_file() -> None:
    """The Turso URL and token are prompted for (sync: false), never written in the file."""
    for key in ("TURSO_DATABASE_URL", "TURSO_AUTH_TOKEN"):
        assert env_vars()[key] == {"key": key, "sync": False}


STORAGE_SECRETS = (
    "SUPERVISOR_STORAGE_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)


def test_both_services_share_one_bucket_whose_secrets_are_prompted_for() -> None:
    """The worker and the web service share no disk: both get the same storage variables,
    the credentials and URL prompted for (sync: false), never written in the file."""
    for variables in (env_vars(), web_env()):
        for key in STORAGE_SECRETS:
            assert variables[key] == {"key": key, "sync": False}
    assert env_vars()["AWS_REGION"] == web_env()["AWS_REGION"]


def test_the_worker_asks_for_its_handlers_module() -> None:
    """A deployment names its own job types: asked for at deploy, no default in the file."""
    assert env_vars()["SUPERVISOR_HANDLERS"] == {"key": "SUPERVISOR_HANDLERS", "sync": False}
    assert "MUST set it to its own" in (REPO / "render.yaml").read_text()


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
    values = {k: str(v["value"]) for k, v in env_vars().items() if "value" in v}
    config = WorkerConfig.from_env(values)
    assert config.shutdown_timeout < worker()["maxShutdownDelaySeconds"]


def test_the_build_installs_the_project_and_its_ffmpeg() -> None:
    """The build installs the package (imageio-ffmpeg carries ffmpeg)."""
    assert "pip install ." in worker()["buildCommand"]
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("imageio-ffmpeg") for d in deps)


@pytest.mark.sqld
@pytest.mark.slow
async def test_the_start_command_starts_the_worker_with_only_those_variables(
    sqld: SqldServer, tmp_path: Path
) -> None:
    """Only render.yaml's values plus the two secrets (and PATH): the worker starts on Turso,
    runs a job, serves its metrics and health on the listener, and exits 0 on SIGTERM,
    never printing the token. (The listener's port is a free one here, its host the file's.)"""
    token = "tok-render-SECRET-77"
    env = {"PATH": os.environ["PATH"], "TURSO_DATABASE_URL": sqld.url, "TURSO_AUTH_TOKEN": token}
    env.update({k: str(v["value"]) for k, v in env_vars().items() if "value" in v})
    port = free_port()
    host = env["SUPERVISOR_METRICS_LISTEN"].rpartition(":")[0]
    env["SUPERVISOR_METRICS_LISTEN"] = f"{host}:{port}"
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
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            scraped = (await client.get("/metrics")).text
            assert 'media_jobs_runs_total{outcome="completed",type="tone"} 1.0' in scraped
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()
    text = log.read_text()
    assert "worker started" in text
    assert "TursoJobStore" in text
    assert token not in text
    assert "timings=" in text
    assert "types=" in text


def test_the_web_service_serves_the_api_with_a_secret_token() -> None:
    """A web service runs `serve` on all interfaces (Render's $PORT), is health-checked on
    /healthz, and takes its API token and the Turso secrets from Render, not the file."""
    w = web()
    assert w["runtime"] == "python"
    assert w["plan"] in WEB_PLANS
    assert w.get("region", "oregon") == worker().get("region", "oregon")  # near its worker
    assert w["buildCommand"] == worker()["buildCommand"]
    assert w["startCommand"] == "python -m supervisor serve --host 0.0.0.0"
    assert w["healthCheckPath"] == "/healthz"
    for key in ("TURSO_DATABASE_URL", "TURSO_AUTH_TOKEN", "SUPERVISOR_API_TOKEN"):
        assert web_env()[key] == {"key": key, "sync": False}
    assert web_env()["PYTHON_VERSION"] == env_vars()["PYTHON_VERSION"]
    for entry in w["envVars"]:
        assert len(set(entry) & ENV_SOURCES) == 1, entry


@pytest.mark.sqld
@pytest.mark.slow
async def test_the_web_start_command_serves_with_only_those_variables(
    sqld: SqldServer, tmp_path: Path
) -> None:
    """Only the web service's values, its three secrets, PATH and Render's PORT: health
    answers, the API needs the token and reaches Turso; SIGTERM exits 0; no secret printed."""
    token, api_token = "tok-render-SECRET-88", "tok-api-SECRET-0123456789"
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "PORT": str(port),
        "TURSO_DATABASE_URL": sqld.url,
        "TURSO_AUTH_TOKEN": token,
        "SUPERVISOR_API_TOKEN": api_token,
    }
    env.update({k: str(v["value"]) for k, v in web_env().items() if "value" in v})
    argv = web()["startCommand"].split()
    argv[0] = sys.executable
    log = tmp_path / "web.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        with trio.fail_after(60):
            while "serving the API" not in log.read_text():
                assert proc.poll() is None, log.read_text()
                await trio.sleep(0.1)
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            assert (await client.post("/api/jobs", json={"type": "tone"})).status_code == 401
            headers = {"Authorization": f"Bearer {api_token}"}
            store = TursoJobStore(sqld.url)
            try:
                # The API accepts the types live workers serve: one (the background
                # worker service) registers.
                await live_worker(store, [JobTypeInfo("tone")])
                made = await client.post("/api/jobs", json={"type": "tone"}, headers=headers)
                assert made.status_code == 201
                assert (await store.get(made.json()["id"])) is not None
            finally:
                store.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert token not in text
    assert api_token not in text
    assert "TursoJobStore" in text
