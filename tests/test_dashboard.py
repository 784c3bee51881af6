"""The dashboard in a real headless Chromium (Debian's package), driven by Playwright, against
`python -m supervisor run --http` (a real worker with real ffmpeg, serving the page)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from media_jobs_testing.web_client import CHROMIUM, CHROMIUM_ARGS, LISTENING
from media_jobs_testing.workers import timings

TOKEN = "tok-dashboard-SECRET-42424242"
WAIT_MS = 60_000

# Records every state each job card shows (a MutationObserver sees every render, so a
# "cancelling…" that lasts a few milliseconds is seen too).
RECORD_STATES = """
window.__states = {};
new MutationObserver(() => {
  for (const li of document.querySelectorAll("li.job")) {
    const seen = (window.__states[li.dataset.id] ||= []);
    const text = li.querySelector(".state").textContent;
    if (seen[seen.length - 1] !== text) seen.push(text);
  }
}).observe(document.body, { childList: true, subtree: true, characterData: true });
"""


# The reference types, plus one whose real ffmpeg fails on its arguments (the reference types
# refuse bad payloads before ffmpeg runs): the page shows ffmpeg's own diagnostics. It
# declares no example payload (the form starts on a type that does).
HANDLERS = """
from supervisor import JobType, run_ffmpeg
from supervisor.reference import JOB_TYPES as REFERENCE


async def broken(ctx, payload):
    args = ["-f", "lavfi", "-i", "testsrc=d=1", "-s", "nonsense", "-f", "null", "-"]
    await run_ffmpeg(ctx, args, stage="encoding")


JOB_TYPES = [*REFERENCE, JobType("broken", broken, stages=("encoding",))]
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`run --http` on a free port with a token, in its own folder; yields its URL."""
    (tmp_path / "dashboard_handlers.py").write_text(HANDLERS)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TURSO_", "SUPERVISOR_"))},
        "JOBS_DB_PATH": str(tmp_path / "jobs.db"),
        "SUPERVISOR_STORAGE_URL": f"file://{tmp_path / 'files'}",
        "SUPERVISOR_API_TOKEN": TOKEN,
        "SUPERVISOR_EVENTS_INTERVAL": "0.25",
        "SUPERVISOR_HANDLERS": "dashboard_handlers",
        "PYTHONPATH": str(tmp_path),
    }
    log_path = tmp_path / "server.log"
    argv = [sys.executable, "-m", "supervisor", "run", "--http", "127.0.0.1:0"]
    argv += timings(heartbeat_interval=1, stale_after=10, kill_grace=1)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while not (found := LISTENING.search(log_path.read_text())):
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield found.group(1)
    finally:
        proc.terminate()
        assert proc.wait(30) == 0, log_path.read_text()
    assert TOKEN not in log_path.read_text()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1100, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def log_in(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_label("API token")).to_be_visible()
    page.get_by_label("API token").fill("wrong-token-0000000000")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".message")).to_contain_text("Wrong token")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#conn")).to_have_text("live", timeout=WAIT_MS)


def submit(page: Page, type_: str, payload: str) -> int:
    """Create a job with the page's form; returns its id."""
    with page.expect_response(re.compile(r"/api/jobs$")) as created:
        page.locator("#create-type").select_option(type_)
        page.locator("#create-payload").fill(payload)
        page.locator("#create-submit").click()
    assert created.value.status == 201, created.value.text()
    job_id: int = created.value.json()["id"]
    return job_id


def card(page: Page, job_id: int) -> Any:
    return page.locator(f'li.job[data-id="{job_id}"]')


def test_a_person_follows_cancels_and_resubmits_jobs(served: str, browser: BrowserContext) -> None:
    """Log in; create a tone job and watch its bar move; cancel a queued-then-running job and
    see "cancelling…" then "cancelled"; resubmit a failed job, linked both ways; read a
    failure's ffmpeg output and a job's history; filter; untrusted text stays text."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, served)
    page.evaluate(RECORD_STATES)

    tone = submit(page, "tone", '{"seconds": 6, "realtime": true}')
    later = submit(page, "child", '{"seconds": 60}')
    expect(card(page, later).locator(".position")).to_have_text("#1 in queue")
    label = card(page, tone).locator(".progress-label")
    expect(label).to_have_attribute("data-progress", re.compile(r"\d"), timeout=WAIT_MS)
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while len(seen) < 2 and time.monotonic() < deadline:
        value = label.get_attribute("data-progress") if label.count() else None
        if value:
            seen.add(value)
        time.sleep(0.1)
    assert len(seen) >= 2, seen
    expect(card(page, tone).locator(".stepper li.current")).to_have_text("encoding")
    expect(card(page, tone).locator(".heartbeat")).to_contain_text("heartbeat")
    expect(card(page, tone)).to_have_attribute("data-status", "completed", timeout=WAIT_MS)

    expect(card(page, later)).to_have_attribute("data-status", "running", timeout=WAIT_MS)
    expect(card(page, later).locator("progress")).not_to_have_attribute("value", re.compile("."))
    card(page, later).get_by_role("button", name="Cancel").click()
    expect(card(page, later)).to_have_attribute("data-status", "cancelled", timeout=WAIT_MS)
    states = page.evaluate(f"window.__states[{later}]")
    assert states[-2:] == ["cancelling…", "cancelled"], states

    failing = submit(page, "fail", '{"message": "<img src=x onerror=\\"window.__pwned=1\\">"}')
    expect(card(page, failing)).to_have_attribute("data-status", "failed", timeout=WAIT_MS)
    expect(card(page, failing).locator(".reason")).to_contain_text('<img src=x onerror="')
    assert page.evaluate("window.__pwned") is None
    assert page.locator("li.job img").count() == 0
    with page.expect_response(re.compile(r"/resubmit$")) as resubmitted:
        card(page, failing).get_by_role("button", name="Resubmit").click()
    again = resubmitted.value.json()["id"]
    expect(card(page, again).locator("a.retry-of")).to_have_text(f"resubmit of #{failing}")
    expect(card(page, failing).locator("a.retried-as")).to_have_text(f"resubmitted as #{again}")

    broken = submit(page, "broken", "{}")
    expect(card(page, broken)).to_have_attribute("data-status", "failed", timeout=WAIT_MS)
    # ffmpeg's telling line, from the API's failure fields, not parsed out of the message.
    expect(card(page, broken).locator(".reason")).to_have_text(
        "failed: Invalid frame size: nonsense. (permanent)"
    )
    card(page, broken).locator("details.stderr summary").click()
    expect(card(page, broken).locator("details.stderr pre")).to_contain_text(
        "Error opening output files"
    )

    card(page, later).locator("a.title").click()
    expect(page.locator("#detail-title")).to_have_text(f"#{later} child")
    # created, claimed, cancel requested, cancelled
    expect(page.locator("#timeline li")).to_have_count(4, timeout=WAIT_MS)
    expect(page.locator("#timeline li").last).to_contain_text("running → cancelled")
    expect(page.locator("#timeline time").first).to_have_attribute("datetime", re.compile("Z$"))
    page.locator("#detail-close").click()

    page.locator("#filter-status").select_option("failed")
    expect(page.locator("#finished li.job")).not_to_have_count(0)
    for status in page.locator("li.job").evaluate_all("els => els.map(e => e.dataset.status)"):
        assert status == "failed"
    # Under a filter that hides running jobs, the page does not claim that nothing runs.
    expect(page.get_by_text("Nothing running.")).to_be_hidden()
    expect(page.locator("#running-section")).to_be_hidden()
    page.reload()  # the filter is in the URL
    expect(page.locator("#filter-status")).to_have_value("failed", timeout=WAIT_MS)
    expect(page.locator("#finished li.job").first).to_have_attribute("data-status", "failed")
    assert errors == []


def test_a_double_click_sends_once_and_the_live_worker_is_shown(
    served: str, browser: BrowserContext
) -> None:
    """A double-click on Resubmit, and on Submit, sends one request and makes one job; the
    workers panel shows the live worker, its version, types and the job it runs."""
    page = browser.new_page()
    log_in(page, served)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    row = page.locator("#workers-rows tr")
    expect(row).to_have_count(1, timeout=WAIT_MS)
    expect(row).to_have_attribute("data-live", "true")
    expect(row.locator("td").nth(2)).to_have_text("0.1.0")
    expect(row.locator("td").nth(3)).to_contain_text("tone")
    expect(row.locator("td.beat")).to_have_text(re.compile(r"ago|just now"))
    expect(row.locator("td.up")).to_have_text(re.compile(r"^\d+ (s|min)"))

    failing = submit(page, "fail", '{"message": "no"}')
    expect(card(page, failing)).to_have_attribute("data-status", "failed", timeout=WAIT_MS)
    posts.clear()
    card(page, failing).get_by_role("button", name="Resubmit").dblclick()
    expect(card(page, failing).locator("a.retried-as")).to_have_count(1, timeout=WAIT_MS)
    page.wait_for_timeout(1000)  # a second request, had one been sent, has landed by now
    assert [u for u in posts if u.endswith("/resubmit")] == [
        f"{served}/api/jobs/{failing}/resubmit"
    ]
    jobs = page.evaluate("fetch('/api/jobs').then(r => r.json())")["jobs"]
    assert [j["retry_of"] for j in jobs].count(failing) == 1

    posts.clear()
    page.locator("#create-type").select_option("child")
    page.locator("#create-payload").fill('{"seconds": 30}')
    page.locator("#create-submit").dblclick()
    expect(page.locator('li.job[data-status="running"]')).to_have_count(1, timeout=WAIT_MS)
    page.wait_for_timeout(1000)
    assert posts == [f"{served}/api/jobs"]
    (running,) = page.locator('li.job[data-status="running"]').evaluate_all(
        "els => els.map(e => Number(e.dataset.id))"
    )
    expect(row.locator("td").nth(4)).to_have_text(f"#{running}", timeout=WAIT_MS)


def test_it_fits_a_phone_and_falls_back_to_polling(served: str, browser: BrowserContext) -> None:
    """At a phone's width nothing overflows sideways; with the event stream refused the page
    polls (with ETags) and still shows new jobs."""
    page = browser.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    page.route("**/api/events*", lambda route: route.fulfill(status=503, body="{}"))
    log_in_polling(page, served)
    expect(page.locator("#conn")).to_have_text("polling", timeout=WAIT_MS)
    job = submit(page, "sleep", '{"seconds": 2, "steps": 4}')
    expect(card(page, job)).to_have_attribute("data-status", "completed", timeout=WAIT_MS)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    box = card(page, job).bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 360


def log_in_polling(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#create-type")).not_to_have_value("", timeout=WAIT_MS)


def test_a_person_uploads_a_recording_and_plays_and_downloads_the_result(
    served: str, browser: BrowserContext, tmp_path: Path
) -> None:
    """Pick a file in the form: it is uploaded (with a progress bar) and prep runs on its
    key; the completed card shows the loudness before → after, a player, the size and
    duration, and a download link that gives the file."""
    from media_jobs_testing.media import make_audio

    take = make_audio(tmp_path / "take.wav", seconds=3, volume_db=-30)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, served)
    page.locator("#create-type").select_option("prep")
    page.locator("#create-file").set_input_files(str(take))
    with page.expect_response(re.compile(r"/api/jobs$")) as created:
        page.locator("#create-submit").click()
    assert created.value.status == 201, created.value.text()
    job_id = created.value.json()["id"]
    assert created.value.json()["type"] == "prep"
    done = card(page, job_id)
    expect(done.locator(".state")).to_have_text("completed", timeout=WAIT_MS)
    expect(done.locator(".loudness")).to_contain_text("→ -16", timeout=WAIT_MS)
    expect(done.locator("audio")).to_have_attribute(
        "src", f"/api/jobs/{job_id}/outputs/prep-{job_id}.mp3"
    )
    expect(done.locator(".output .meta")).to_contain_text("KiB · 3 s")
    with page.expect_download() as download:
        done.locator("a.download").click()
    saved = download.value.path()
    assert saved is not None
    assert Path(saved).read_bytes()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    assert errors == []


def test_a_job_link_opens_its_detail_with_payload_worker_timings_and_live_output(
    served: str, browser: BrowserContext
) -> None:
    """`/?status=running#job-N` opens job N with the running filter: its payload, worker,
    attempt and timings, and ffmpeg's output moving while it encodes; then its result. A
    reload keeps both; closing the detail takes the job out of the URL."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, served)
    tone = submit(page, "tone", '{"seconds": 6, "realtime": true}')
    linked = browser.new_page()
    linked.on("pageerror", lambda exc: errors.append(str(exc)))
    linked.goto(f"{served}/?status=running#job-{tone}")
    expect(linked.locator("#detail-title")).to_have_text(f"#{tone} tone", timeout=WAIT_MS)
    expect(linked.locator("#filter-status")).to_have_value("running")
    expect(linked.locator("#finished-section")).to_be_hidden()
    expect(linked.locator("#detail-payload")).to_contain_text('"realtime": true')
    expect(linked.locator('[data-field="attempt"]')).to_have_text("1 of 2", timeout=WAIT_MS)
    (worker,) = linked.evaluate("fetch('/api/workers').then(r => r.json())")["workers"]
    expect(linked.locator('[data-field="worker"]')).to_have_text(worker["id"])
    tail = linked.locator("#detail-tail")
    expect(tail).to_contain_text("time=", timeout=WAIT_MS)
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while len(seen) < 2 and time.monotonic() < deadline:
        text = tail.text_content() or ""
        if "time=" in text:
            seen.add(text)
        time.sleep(0.2)
    assert len(seen) >= 2, seen  # live: the output moved while the page stayed open
    expect(linked.locator('[data-field="status"]')).to_have_text("completed", timeout=WAIT_MS)
    expect(linked.locator("#detail-result")).to_contain_text('"outputs"')
    expect(linked.locator('[data-field="ran"]')).to_have_text(re.compile(r"\d+ s"))
    linked.reload()
    expect(linked.locator("#detail-title")).to_have_text(f"#{tone} tone", timeout=WAIT_MS)
    expect(linked.locator("#filter-status")).to_have_value("running")
    linked.locator("#detail-close").click()
    expect(linked.locator("#detail")).to_be_hidden()
    assert linked.url == f"{served}/?status=running"
    assert errors == []


def test_a_search_by_id_opens_the_job_or_says_there_is_none(
    served: str, browser: BrowserContext
) -> None:
    """Typing an id opens that job's detail (even one the list has not loaded); an id that
    does not exist says so."""
    page = browser.new_page()
    log_in(page, served)
    job = submit(page, "fail", '{"message": "searched"}')
    expect(card(page, job)).to_have_attribute("data-status", "failed", timeout=WAIT_MS)
    page.locator("#search-id").fill(f"#{job}")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#detail-title")).to_have_text(f"#{job} fail")
    expect(page.locator("#detail-payload")).to_contain_text('"message": "searched"')
    assert page.url.endswith(f"#job-{job}")
    page.locator("#search-id").fill("987654")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#detail-missing")).to_contain_text("987654")
    page.locator("#search-id").fill("nope")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#search-error")).to_contain_text("a number")


def test_the_form_starts_on_a_served_type_with_the_example_it_declares(
    served: str, browser: BrowserContext
) -> None:
    """The type picker starts on the first served type that declares an example payload,
    filled in; choosing another type shows that type's example."""
    page = browser.new_page()
    log_in(page, served)
    info = page.evaluate("fetch('/api/info').then(r => r.json())")
    first = next(t for t in info["types"] if t["example"] is not None)
    assert info["types"][0]["name"] == "broken" and first["name"] != "broken"
    expect(page.locator("#create-type")).to_have_value(first["name"])
    payload = page.locator("#create-payload").input_value()
    assert json.loads(payload) == first["example"]
    page.locator("#create-type").select_option("tone")
    assert json.loads(page.locator("#create-payload").input_value()) == {
        "seconds": 8,
        "realtime": True,
    }


def test_the_login_card_fits_a_375_px_phone(served: str, browser: BrowserContext) -> None:
    """At 375 px wide the login card is entirely on screen: no sideways scroll."""
    page = browser.new_page()
    page.set_viewport_size({"width": 375, "height": 700})
    page.goto(served)
    expect(page.get_by_label("API token")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    box = page.locator("form").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 375
