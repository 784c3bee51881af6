// The dashboard's pure functions (web/static/lib.js), as the page imports them.
// Run: node --test tests/js/ (tests/test_javascript.py runs it in pytest, so CI does).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addSample,
  eta,
  failureSummary,
  formatUrl,
  parseJobId,
  parseUrl,
  pickType,
  rate,
  sections,
  upsert,
} from "../../web/static/lib.js";

/** A running job's view at `t`, `p` percent into `stage`. */
function running(id, t, p, stage = "encoding", extra = {}) {
  return {
    id, type: "tone", status: "running", stage, stages: null, progress: p, queue_position: null,
    attempt: 1, max_attempts: 2, error: null, error_kind: null, cancel_requested: false,
    created_at: 0, updated_at: t, finished_at: null, retry_of: null, reason: "", ...extra,
  };
}

test("samples restart with a new stage and skip a repeated percentage", () => {
  let s = addSample([], running(1, 10, 10));
  s = addSample(s, running(1, 11, 10));
  s = addSample(s, running(1, 12, 20));
  assert.deepEqual(s.map((x) => x.p), [10, 20]);
  s = addSample(s, running(1, 13, 5, "uploading"));
  assert.deepEqual(s, [{ t: 13, stage: "uploading", p: 5 }]);
  assert.equal(addSample(s, { ...running(1, 14, 50), status: "completed" }), null);
});

test("at most thirty samples are kept, the newest", () => {
  let s = [];
  for (let i = 1; i <= 40; i += 1) s = addSample(s, running(1, i, i));
  assert.equal(s.length, 30);
  assert.equal(s[0].p, 11);
});

test("the rate is over the last twenty seconds only", () => {
  const samples = [{ t: 0, stage: "e", p: 0 }, { t: 100, stage: "e", p: 10 }, { t: 110, stage: "e", p: 30 }];
  assert.equal(rate(samples, 110), 2); // the sample at t=0 is too old to count
  assert.equal(rate(samples.slice(0, 1), 110), null);
});

test("the ETA is what is left at the recent rate, minus the time since the last sample", () => {
  const samples = [{ t: 100, stage: "e", p: 10 }, { t: 110, stage: "e", p: 30 }];
  assert.equal(eta(samples, 110), 35); // 70 % left at 2 %/s
  assert.equal(eta(samples, 115), 30);
  assert.equal(eta([{ t: 100, stage: "e", p: 10 }, { t: 110, stage: "e", p: 10 }], 110), null);
});

test("a late, older copy of a job never replaces a newer one", () => {
  const jobs = new Map();
  assert.equal(upsert(jobs, running(7, 20, 50)), true);
  assert.equal(upsert(jobs, running(7, 10, 40)), false);
  assert.equal(jobs.get(7).progress, 50);
});

test("a cancelled job never comes back to life", () => {
  const jobs = new Map();
  upsert(jobs, { ...running(7, 20, 50), status: "cancelled" });
  assert.equal(upsert(jobs, running(7, 30, 60)), false);
  assert.equal(jobs.get(7).status, "cancelled");
});

test("a newer copy replaces the one shown", () => {
  const jobs = new Map();
  upsert(jobs, running(7, 10, 10));
  assert.equal(upsert(jobs, running(7, 11, 20)), true);
  assert.equal(jobs.get(7).progress, 20);
});

test("the URL keeps the filters and the open job, and drops what it does not know", () => {
  assert.deepEqual(parseUrl("?status=failed&type=tone", "#job-12"), { status: "failed", type: "tone", job: 12 });
  assert.deepEqual(parseUrl("?status=bogus&type=<b>", "#nope"), { status: "", type: "", job: null });
  assert.equal(formatUrl({ status: "failed", type: "", job: 3 }), "?status=failed#job-3");
  assert.equal(formatUrl({ status: "", type: "", job: null }), "");
  const state = { status: "completed", type: "prep", job: 41 };
  const url = formatUrl(state);
  assert.deepEqual(parseUrl(url.slice(0, url.indexOf("#")), url.slice(url.indexOf("#"))), state);
});

test("a job id is found in what people type", () => {
  assert.equal(parseJobId(" 12 "), 12);
  assert.equal(parseJobId("#12"), 12);
  assert.equal(parseJobId("job-12"), 12);
  assert.equal(parseJobId("0"), null);
  assert.equal(parseJobId("12a"), null);
  assert.equal(parseJobId("99999999999999999999"), null);
});

test("a status filter hides the sections it leaves empty", () => {
  assert.deepEqual(sections(""), { running: true, queue: true, finished: true });
  assert.deepEqual(sections("failed"), { running: false, queue: false, finished: true });
  assert.deepEqual(sections("running"), { running: true, queue: false, finished: false });
  assert.deepEqual(sections("pending"), { running: false, queue: true, finished: false });
});

test("the failure summary is the telling line the API names, else the message", () => {
  const failed = { ...running(3, 1, 0), status: "failed", reason: "failed: long message (permanent)" };
  const detail = { kind: "permanent", message: "ffmpeg failed (exit 234): a | b", detail: "Invalid frame size: x." };
  assert.equal(failureSummary({ ...failed, failure: detail }), "failed: Invalid frame size: x. (permanent)");
  assert.equal(failureSummary({ ...failed, failure: { ...detail, detail: null } }), "failed: ffmpeg failed (exit 234): a | b (permanent)");
  assert.equal(failureSummary({ ...failed, failure: null }), "failed: long message (permanent)");
});

test("the form starts on the type asked for, else the first that declares an example", () => {
  const types = [{ name: "child", example: null }, { name: "tone", example: { seconds: 8 } }];
  assert.equal(pickType(types, ""), "tone");
  assert.equal(pickType(types, "child"), "child");
  assert.equal(pickType([{ name: "bare" }], "gone"), "bare");
  assert.equal(pickType([], "tone"), "");
});
