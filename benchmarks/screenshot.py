"""Takes docs/dashboard.png: the dashboard with a running, a queued, a failed (ffmpeg's output
open) and a cancelled job, served by a real `run --http` worker, in headless Chromium.

    python benchmarks/screenshot.py [--out docs/dashboard.png] [--width 1100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright

from media_jobs_testing.web_client import LISTENING

REPO = Path(__file__).resolve().parent.parent
# The reference types plus one whose ffmpeg fails for real (a filter graph it cannot parse).
HANDLERS = """
from supervisor import JobType, run_ffmpeg
from supervisor.reference import JOB_TYPES as REFERENCE


async def master(ctx, payload):
    args = ["-f", "lavfi", "-i", "aloudnorm=I=-99", "-f", "null", "-"]
    await run_ffmpeg(ctx, args, stage="mastering")


JOB_TYPES = [*REFERENCE, JobType("master", master, stages=("mastering",))]
"""
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


def post(url: str, path: str, body: object = None) -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        result: dict[str, object] = json.load(response)
        return result


def wait_status(url: str, job_id: object, status: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/jobs/{job_id}") as response:
            if json.load(response)["status"] == status:
                return
        time.sleep(0.2)
    raise RuntimeError(f"job {job_id} never became {status}")


def main(out: Path, width: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "shot_handlers.py").write_text(HANDLERS)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))}
        env.update(JOBS_DB_PATH=f"{tmp}/jobs.db", SUPERVISOR_STORAGE_URL=f"file://{tmp}/files")
        env.update(SUPERVISOR_HANDLERS="shot_handlers", PYTHONPATH=tmp)
        log = Path(tmp) / "server.log"
        argv = [sys.executable, "-m", "supervisor", "run", "--http", "127.0.0.1:0"]
        argv += ["--poll-interval", "0.2", "--heartbeat-interval", "1", "--stale-after", "10"]
        with open(log, "wb") as sink:
            proc = subprocess.Popen(argv, cwd=tmp, env=env, stderr=sink)
        try:
            while not (found := LISTENING.search(log.read_text())):
                time.sleep(0.1)
            url = found.group(1)
            broken = post(url, "/api/jobs", {"type": "master", "payload": {}})
            wait_status(url, broken["id"], "failed")
            failed = post(url, "/api/jobs", {"type": "fail", "payload": {"message": "bad input"}})
            wait_status(url, failed["id"], "failed")
            cancelled = post(url, "/api/jobs", {"type": "child", "payload": {"seconds": 60}})
            wait_status(url, cancelled["id"], "running")
            post(url, f"/api/jobs/{cancelled['id']}/cancel")
            wait_status(url, cancelled["id"], "cancelled")
            again = post(url, f"/api/jobs/{failed['id']}/resubmit")
            wait_status(url, again["id"], "failed")
            running = post(
                url, "/api/jobs", {"type": "tone", "payload": {"seconds": 40, "realtime": True}}
            )
            post(url, "/api/jobs", {"type": "prep", "payload": {"input": "interview.wav"}})
            wait_status(url, running["id"], "running")
            with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
                context = p.chromium.launch_persistent_context(
                    profile,
                    executable_path="/usr/bin/chromium",
                    args=ARGS,
                    viewport={"width": width, "height": 900},
                )
                page = context.new_page()
                page.goto(url)
                page.wait_for_selector(f'li.job[data-id="{running["id"]}"] .eta', timeout=30_000)
                page.locator(f'li.job[data-id="{broken["id"]}"] details summary').click()
                page.wait_for_timeout(500)
                page.screenshot(path=str(out), full_page=True)
                context.close()
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"wrote {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "dashboard.png")
    parser.add_argument("--width", type=int, default=1100)
    args = parser.parse_args()
    main(args.out, args.width)
