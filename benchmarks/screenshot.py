"""Screenshots of each dashboard view, at a desktop's and a phone's width, from a real
`run --http` worker (with a token, so the login page is one of them) in headless Chromium:
the login card, the job list (a running, a queued, a failed job with ffmpeg's output open, a
cancelled and a resubmitted one), a running job's detail with ffmpeg's live output, the
workers panel, and an upload played back (prep's result with its player).

    python benchmarks/screenshot.py [--out-dir /tmp/shots] [--docs]

``--docs`` also writes docs/dashboard.png (the desktop list).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Page, sync_playwright

from actors._ffmpeg import ffmpeg_binary
from media_jobs_testing.web_client import CHROMIUM, CHROMIUM_ARGS, LISTENING

REPO = Path(__file__).resolve().parent.parent
TOKEN = "tok-screenshot-0123456789abcdef"
WIDTHS = {"desktop": 1280, "phone": 375}
# The reference types plus one whose ffmpeg fails for real (a frame size it cannot parse).
HANDLERS = """
from supervisor import JobType, run_ffmpeg
from supervisor.reference import JOB_TYPES as REFERENCE


async def master(ctx, payload):
    args = ["-f", "lavfi", "-i", "testsrc=d=1", "-s", "nonsense", "-f", "null", "-"]
    await run_ffmpeg(ctx, args, stage="mastering")


JOB_TYPES = [*REFERENCE, JobType("master", master, stages=("mastering",))]
"""


def call(url: str, path: str, body: object = None, method: str = "POST") -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request) as response:
        result: dict[str, object] = json.load(response)
        return result


def wait_status(url: str, job_id: object, status: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if call(url, f"/api/jobs/{job_id}", method="GET")["status"] == status:
            return
        time.sleep(0.2)
    raise RuntimeError(f"job {job_id} never became {status}")


def recording(path: Path) -> Path:
    """Three seconds of quiet speech-like tone, for prep to bring to -16 LUFS."""
    source = "sine=frequency=220:duration=3,volume=-30dB"
    argv = [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", source]
    subprocess.run([*argv, "-y", str(path)], check=True)
    return path


def log_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("#conn[data-state=live]", timeout=60_000)


def shoot(page: Page, url: str, ids: dict[str, object], out: Path, width: str) -> list[Path]:
    """Every view at this width; returns the files written."""
    written: list[Path] = []

    def save(name: str, target: object = None, *, full: bool = True) -> None:
        path = out / f"{name}-{width}.png"
        page.wait_for_timeout(400)
        if target is None:  # the detail is a panel over the page: the screen, not the page
            page.screenshot(path=str(path), full_page=full)
        else:
            page.locator(str(target)).screenshot(path=str(path))
        written.append(path)

    page.goto(url)
    page.wait_for_selector("#token")
    save("login")
    log_in(page, url)
    page.wait_for_selector(f'li.job[data-id="{ids["running"]}"] .eta', timeout=60_000)
    page.locator(f'li.job[data-id="{ids["broken"]}"] details summary').click()
    save("list")
    save("workers", "#workers-section")
    page.locator(f'li.job[data-id="{ids["prep"]}"]').scroll_into_view_if_needed()
    save("upload-player", f'li.job[data-id="{ids["prep"]}"]')
    page.goto(f"{url}/#job-{ids['running']}")
    page.wait_for_selector("#detail-tail-section:not([hidden])", timeout=60_000)
    save("detail", full=False)
    page.goto(f"{url}/?status=failed#job-{ids['broken']}")
    page.wait_for_selector("#detail-tail-section:not([hidden])", timeout=60_000)
    save("detail-failed", full=False)
    return written


def main(out: Path, docs: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "shot_handlers.py").write_text(HANDLERS)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))}
        env.update(JOBS_DB_PATH=f"{tmp}/jobs.db", SUPERVISOR_STORAGE_URL=f"file://{tmp}/files")
        env.update(SUPERVISOR_HANDLERS="shot_handlers", PYTHONPATH=tmp, SUPERVISOR_API_TOKEN=TOKEN)
        log = Path(tmp) / "server.log"
        argv = [sys.executable, "-m", "supervisor", "run", "--http", "127.0.0.1:0"]
        argv += ["--poll-interval", "0.2", "--heartbeat-interval", "1", "--stale-after", "10"]
        with open(log, "wb") as sink:
            proc = subprocess.Popen(argv, cwd=tmp, env=env, stderr=sink)
        try:
            while not (found := LISTENING.search(log.read_text())):
                time.sleep(0.1)
            url = found.group(1)
            ids = make_jobs(url, Path(tmp))
            written: list[Path] = []
            with sync_playwright() as p:
                for width, pixels in WIDTHS.items():
                    with tempfile.TemporaryDirectory() as profile:
                        context = p.chromium.launch_persistent_context(
                            profile,
                            executable_path=CHROMIUM,
                            args=CHROMIUM_ARGS,
                            viewport={"width": pixels, "height": 900},
                        )
                        written += shoot(context.new_page(), url, ids, out, width)
                        context.close()
        finally:
            proc.terminate()
            proc.wait(30)
    if docs:
        shutil.copyfile(out / "list-desktop.png", REPO / "docs" / "dashboard.png")
        written.append(REPO / "docs" / "dashboard.png")
    for path in written:
        print(f"wrote {path}")


def make_jobs(url: str, tmp: Path) -> dict[str, object]:
    """A failed ffmpeg job, a failed and resubmitted one, a cancelled one, a played-back
    upload, then a long running job and one queued behind it."""
    broken = call(url, "/api/jobs", {"type": "master", "payload": {}})
    wait_status(url, broken["id"], "failed")
    failed = call(url, "/api/jobs", {"type": "fail", "payload": {"message": "bad input"}})
    wait_status(url, failed["id"], "failed")
    cancelled = call(url, "/api/jobs", {"type": "child", "payload": {"seconds": 60}})
    wait_status(url, cancelled["id"], "running")
    call(url, f"/api/jobs/{cancelled['id']}/cancel")
    wait_status(url, cancelled["id"], "cancelled")
    again = call(url, f"/api/jobs/{failed['id']}/resubmit")
    wait_status(url, again["id"], "failed")
    take = recording(tmp / "interview.wav")
    upload = call(url, "/api/uploads", {"name": take.name, "size": take.stat().st_size})
    ticket: dict[str, object] = upload["upload"]  # type: ignore[assignment]
    given: dict[str, str] = ticket["headers"]  # type: ignore[assignment]
    headers = {**given, "Authorization": f"Bearer {TOKEN}"}
    # A local folder's ticket is a path on this server (see web/_files.py).
    put = urllib.request.Request(
        url + str(ticket["url"]),
        data=take.read_bytes(),
        method=str(ticket["method"]),
        headers=headers,
    )
    urllib.request.urlopen(put).close()
    prep = call(url, "/api/jobs", {"type": "prep", "payload": {"input": upload["key"]}})
    wait_status(url, prep["id"], "completed")
    running = call(url, "/api/jobs", {"type": "tone", "payload": {"seconds": 90, "realtime": True}})
    call(url, "/api/jobs", {"type": "sleep", "payload": {"seconds": 5}})
    wait_status(url, running["id"], "running")
    return {"broken": broken["id"], "running": running["id"], "prep": prep["id"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/shots"))
    parser.add_argument("--docs", action="store_true", help="also write docs/dashboard.png")
    args = parser.parse_args()
    main(args.out_dir, args.docs)
