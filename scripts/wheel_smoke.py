"""CI's check of what users install (issue 18 #2): build the wheel, install it into a clean
venv, and run it from outside the work tree. Without it the tests prove only the work tree.

    .venv/bin/python scripts/wheel_smoke.py

Checks: ``media-jobs --help`` and ``--version`` (pyproject's), the installed packages are
the ones imported, submit/status on a temporary local database, a worker that completes a
job, the dashboard's page and static files served by ``serve``, and the Turso helper process
started from the installed path against a real sqld (media_jobs_testing/sqld.py fetches and
starts it), and the installed HTTP client; the wheel ships no test code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from media_jobs_testing.sqld import SqldServer  # noqa: E402 -- importable once REPO is on sys.path

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
LISTENING = re.compile(r"serving the API and dashboard on (http://\S+)")


class Smoke:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")
        } | {"JOBS_DB_PATH": str(root / "jobs.db")}
        self.checks = 0

    def sh(self, *argv: str | Path, **env: str) -> str:
        """Run ``argv`` from the temporary folder (never the work tree); its stdout."""
        done = subprocess.run(
            [str(a) for a in argv],
            cwd=self.root,
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            sys.exit(f"wheel smoke: {argv} exited {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            sys.exit(f"wheel smoke: failed: {what}")
        self.checks += 1

    def source(self) -> Path:
        """A copy of what the wheel is built from: pyproject's files and packages only, so
        neither a stale build/ folder nor a module left outside the list slips in."""
        source = self.root / "source"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(REPO / name, source / name)
        skip = shutil.ignore_patterns("__pycache__", "*.pyc")
        # Sub-packages are listed too (setuptools takes only what is listed): copied with
        # their parent.
        packages = PYPROJECT["tool"]["setuptools"]["packages"]
        for package in sorted({name.split(".")[0] for name in packages}):
            shutil.copytree(REPO / package, source / package, ignore=skip)
        return source

    def install(self) -> None:
        dist = self.root / "dist"
        self.sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, self.source())
        (wheel,) = dist.glob("media_jobs-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            tops = {name.split("/")[0] for name in archive.namelist()}
        shipped = tops & {"tests", "media_jobs_testing", "benchmarks"}
        self.check(not shipped, f"the wheel ships test code: {sorted(shipped)}")
        self.sh(sys.executable, "-m", "venv", self.venv)
        self.sh(self.venv / "bin" / "pip", "install", "-q", wheel)

    def python(self, code: str, **env: str) -> str:
        return self.sh(self.venv / "bin" / "python", "-c", code, **env).strip()

    def cli(self) -> None:
        tool = self.venv / "bin" / "media-jobs"
        self.check(self.sh(tool, "--help").startswith("usage: media-jobs"), "--help")
        self.check(self.sh(tool, "--version").split() == ["media-jobs", VERSION], "--version")
        where = self.python("import stores, supervisor, web; print(stores.__file__, web.__file__)")
        site = str(self.venv / "lib")
        self.check(all(p.startswith(site) for p in where.split()), f"imported from {where}")
        job = self.sh(tool, "submit", "sleep", "--payload", '{"seconds": 0}').strip()
        view = json.loads(self.sh(tool, "status", job, "--json"))
        self.check(view["status"] == "pending", f"status after submit: {view}")
        self.worker_completes(tool, job)

    def worker_completes(self, tool: Path, job: str) -> None:
        worker = subprocess.Popen([tool, "run"], cwd=self.root, env=self.env)
        try:
            deadline = time.monotonic() + 30
            while json.loads(self.sh(tool, "status", job, "--json"))["status"] != "completed":
                self.check(time.monotonic() < deadline, "a worker completes the job in 30 s")
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        self.check(worker.returncode == 0, f"the worker stopped with {worker.returncode}")

    def dashboard(self) -> None:
        tool = self.venv / "bin" / "media-jobs"
        server = subprocess.Popen(
            [tool, "serve", "--port", "0"],
            cwd=self.root,
            env=self.env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stderr is not None
            url = next(m[1] for line in server.stderr if (m := LISTENING.search(line)))
            pages = (("/", "<html"), ("/static/app.js", "function"), ("/static/lib.js", "export"))
            for path, mark in pages:
                with urllib.request.urlopen(url + path, timeout=10) as reply:
                    self.check(mark in reply.read().decode(), f"GET {path}")
            with urllib.request.urlopen(url + "/api/info", timeout=10) as reply:
                self.check(json.load(reply)["version"] == VERSION, "/api/info version")
            code = f"from media_jobs_client import Client; print(Client({url!r}).get(1).status)"
            self.check(self.python(code) == "completed", "the installed client reads job 1")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)

    def turso(self) -> None:
        """The helper process runs from the installed path (``python -I _helper.py``)."""
        with SqldServer(self.root / "sqld.db") as sqld:
            env = {"TURSO_DATABASE_URL": sqld.url}
            helper = self.python("import stores._turso as t; print(t._HELPER)")
            self.check(helper.startswith(str(self.venv)), f"the helper is {helper}")
            tool = self.venv / "bin" / "media-jobs"
            job = self.sh(tool, "submit", "sleep", **env).strip()
            view = json.loads(self.sh(tool, "status", job, "--json", **env))
            self.check(view["status"] == "pending", f"Turso status after submit: {view}")


def main() -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wheel-smoke-") as tmp:
        smoke = Smoke(Path(tmp))
        smoke.install()
        installed = time.monotonic() - started
        smoke.cli()
        smoke.dashboard()
        smoke.turso()
    took = time.monotonic() - started
    print(
        f"wheel smoke: {smoke.checks} passed, 0 failed in {took:.1f} s "
        f"(build and install {installed:.1f} s)"
    )


if __name__ == "__main__":
    main()
