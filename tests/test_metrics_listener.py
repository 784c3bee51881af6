"""A worker's metrics and health listener (issue 18 #8): `run --metrics-listen HOST:PORT` (or
`SUPERVISOR_METRICS_LISTEN`) serves `/metrics` and `/healthz` only, never the API, so a
Prometheus on Render's private network can scrape a worker; the alert rules of
docs/prometheus are checked by promtool and loaded by a real Prometheus scraping a real
worker."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from media_jobs_testing.helpers import REPO
from media_jobs_testing.sqld import free_port
from media_jobs_testing.workers import TIMINGS, worker_env

PROMETHEUS_DIR = REPO / "docs" / "prometheus"
METRICS_LISTENING = re.compile(r"serving metrics and health on (http://\S+)")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A local store in ``tmp_path``; no Turso, no worker settings from this process."""
    return worker_env(JOBS_DB_PATH=str(tmp_path / "jobs.db"))


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supervisor", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


class Worker:
    """`python -m supervisor run ARGS`, its listener's URL read from its log."""

    def __init__(self, env: dict[str, str], args: list[str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "supervisor", "run", *TIMINGS, *args],
                cwd=REPO,
                env=env,
                stderr=out,
            )
        deadline = time.monotonic() + 60
        while not (found := METRICS_LISTENING.search(log.read_text())):
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        self.url = found.group(1)

    def get(self, path: str) -> tuple[int, str, str]:
        """Status, content type and body of ``GET path``."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, response.headers["Content-Type"], response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read().decode()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[Worker]:
    running = Worker(env, ["--metrics-listen", "127.0.0.1:0"], tmp_path / "worker.log")
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.stop()


def scraped_after_a_job(worker: Worker, env: dict[str, str]) -> str:
    job = cli(env, "submit", "sleep").stdout.strip()
    assert cli(env, "watch", job).returncode == 0
    status, kind, text = worker.get("/metrics")
    assert status == 200
    assert kind.startswith("text/plain")
    return text


def test_the_listener_serves_the_workers_metrics(worker: Worker, env: dict[str, str]) -> None:
    """A job run by the worker shows in its own scrape: the run, the queue wait, the job
    counts and the heartbeat age."""
    text = scraped_after_a_job(worker, env)
    assert 'media_jobs_runs_total{outcome="completed",type="sleep"} 1.0' in text
    assert 'media_jobs_queue_wait_seconds_count{type="sleep"} 1.0' in text
    assert 'media_jobs_jobs{status="completed"} 1.0' in text
    assert "media_jobs_heartbeat_age_seconds 0.0" in text  # idle again
    assert "media_jobs_actor_restarts_total" in text


def test_the_listener_answers_health_and_nothing_of_the_api(worker: Worker) -> None:
    """/healthz says ok while the worker runs; the API, the dashboard and the login form
    are not there (404), so the listener has no authentication surface to protect."""
    status, _, body = worker.get("/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    for path in ("/api/jobs", "/api/info", "/", "/login", "/static/app.js"):
        assert worker.get(path)[0] == 404, path


def test_it_shows_the_drain_and_stops_with_the_worker(worker: Worker, env: dict[str, str]) -> None:
    """After SIGTERM, while the running job has its shutdown grace, the listener still
    serves the metrics and /healthz says "stopping" (503); then the worker stops (exit 0)
    and its listener with it."""
    job = cli(env, "submit", "sleep", "--payload", '{"seconds": 30}').stdout.strip()
    deadline = time.monotonic() + 30
    while json.loads(cli(env, "status", job, "--json").stdout)["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    worker.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    while (health := worker.get("/healthz"))[0] == 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (health[0], json.loads(health[2])["status"]) == (503, "stopping")
    assert worker.get("/metrics")[0] == 200
    assert worker.proc.wait(30) == 0
    assert "worker stopped" in worker.log.read_text()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(worker.url + "/healthz", timeout=5)


def test_the_variable_sets_it_and_all_interfaces_need_no_token(
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    """`SUPERVISOR_METRICS_LISTEN=0.0.0.0:PORT` (Render's private network) serves without
    `SUPERVISOR_API_TOKEN`: metrics and health carry no job data and need none."""
    port = free_port()
    env = {**env, "SUPERVISOR_METRICS_LISTEN": f"0.0.0.0:{port}"}
    env.pop("SUPERVISOR_API_TOKEN", None)
    worker = Worker(env, [], tmp_path / "worker.log")
    try:
        assert worker.url == f"http://0.0.0.0:{port}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as answer:
            assert answer.status == 200
    finally:
        assert worker.stop() == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--metrics-listen", "9100"], "--metrics-listen takes HOST:PORT"),
        (["--metrics-listen", "localhost:http"], "--metrics-listen takes HOST:PORT"),
    ],
)
def test_a_bad_address_is_one_line(env: dict[str, str], args: list[str], message: str) -> None:
    result = cli(env, "run", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


def test_a_taken_port_is_one_line(worker: Worker, env: dict[str, str]) -> None:
    """A second worker on the same listener port says it cannot listen, exit 2."""
    address = worker.url.removeprefix("http://")
    result = cli(env, "run", *TIMINGS, "--metrics-listen", address)
    assert result.returncode == 2, result.stderr
    assert f"cannot serve metrics on {address}" in result.stderr.strip().splitlines()[-1]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool is not None, "promtool is installed by scripts/test (Debian's prometheus)"
    return subprocess.run(
        [tool, *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60
    )


def test_the_alert_rules_are_valid_and_fire_as_documented() -> None:
    """`promtool check rules` accepts the rules; their unit tests (each alert fires on the
    series that should fire it, with its summary) pass; the example scrape config is valid."""
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_every_alert_of_operations_is_a_rule() -> None:
    """OPERATIONS §8 names the three signals the issue asks for; each has a rule."""
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"][0]["rules"]
    exprs = " ".join(rule["expr"] for rule in rules)
    for metric in (
        "media_jobs_heartbeat_age_seconds",
        "media_jobs_actor_restarts_total",
        "media_jobs_queue_wait_seconds_bucket",
    ):
        assert metric in exprs


class Prometheus:
    """Debian's Prometheus on a free loopback port, scraping ``target`` every second with
    the job name and rules of docs/prometheus."""

    def __init__(self, target: str, folder: Path) -> None:
        example = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
        (job,) = example["scrape_configs"]
        job["static_configs"] = [{"targets": [target]}]
        job["scrape_interval"] = "1s"
        example["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        example["rule_files"] = [str(PROMETHEUS_DIR / "alerts.yml")]
        config = folder / "prometheus.yml"
        config.write_text(yaml.safe_dump(example))
        self.port = free_port()
        binary = shutil.which("prometheus")
        assert binary is not None, "prometheus is installed by scripts/test (Debian's)"
        self.log = folder / "prometheus.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={folder / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=out,
                stderr=out,
            )

    def api(self, path: str, **query: str) -> dict:  # type: ignore[type-arg]
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)["data"]  # type: ignore[no-any-return]

    def wait_for(self, query: str, timeout: float = 60) -> list[dict]:  # type: ignore[type-arg]
        """The result of ``query``, once it has one."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                found = self.api("query", query=query)["result"]
            except (urllib.error.URLError, ConnectionError):
                found = []  # not listening yet
            if found:
                return found  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"{query}: no result\n{self.log.read_text()}"
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.mark.slow
def test_a_real_prometheus_scrapes_the_worker_and_evaluates_the_alerts(
    worker: Worker,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    """Prometheus, configured from the example, scrapes the worker (`up` is 1), sees the
    run of a job, and evaluates every alert rule without an error, none firing."""
    prometheus = Prometheus(worker.url.removeprefix("http://"), tmp_path)
    try:
        (up,) = prometheus.wait_for('up{job="media-jobs-worker"} == 1')
        assert up["value"][1] == "1"
        scraped_after_a_job(worker, env)
        (runs,) = prometheus.wait_for('media_jobs_runs_total{outcome="completed"} > 0')
        assert runs["metric"]["type"] == "sleep"
        prometheus.wait_for("media_jobs_queue_wait_seconds_count > 0")
        deadline = time.monotonic() + 30
        while True:
            (group,) = prometheus.api("rules")["groups"]
            evaluated = [r for r in group["rules"] if r.get("lastEvaluation", "").startswith("2")]
            if len(evaluated) == len(group["rules"]) == 6:
                break
            assert time.monotonic() < deadline, group
            time.sleep(0.2)
        assert {r["name"]: r["health"] for r in group["rules"]} == {
            r["name"]: "ok" for r in group["rules"]
        }
        assert [r["name"] for r in group["rules"] if r["state"] != "inactive"] == []
    finally:
        prometheus.stop()
