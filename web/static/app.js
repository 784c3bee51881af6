// media jobs dashboard: plain JavaScript, no build step, no dependencies.
//
// Data: GET /api/jobs once (and on filter changes), then one EventSource on /api/events.
// The browser reconnects by itself and sends Last-Event-ID; the server replays what was
// missed. When the stream keeps failing, the page polls /api/jobs with ETags instead and
// tries the stream again later.
//
// Job payloads, errors and names are untrusted text: everything reaches the page through
// textContent and attributes, never as HTML.
//
// A button sends once: while its request is in flight it is disabled (a double-click makes
// one request), and a new job's form carries an Idempotency-Key that changes only once the
// server answered, so even a request sent twice makes one job.
"use strict";

const EXAMPLES = {
  tone: { seconds: 8, realtime: true },
  sleep: { seconds: 5, steps: 10 },
  child: { seconds: 10 },
  fail: { kind: "permanent", message: "bad input: demo" },
  prep: {}, // pick a file: it is uploaded and becomes the input
};
const POLL_MS = 2000;
const WORKERS_MS = 15000; // a read of the registry (a few rows) per open, visible page
const SSE_RETRY_MS = 30000;
const PAGE = 100;

const state = {
  info: { types: [], auth: false }, // the rest (timings, rules) from /api/info, read first
  jobs: new Map(), // id -> latest view
  samples: new Map(), // id -> [{t, stage, p}] progress samples of the current stage
  openDetails: new Set(), // ids whose stderr <details> is open
  offset: 0, // server clock minus ours, seconds
  next: null, // cursor of the next older page
  filters: { status: "", type: "" },
  source: null,
  failures: 0,
  polling: null,
  etag: null,
  detailId: null,
  inFlight: new Set(), // "cancel:7", "resubmit:7": actions waiting for their answer
  createKey: null, // the Idempotency-Key of the next job the form creates
  workers: [],
};

const $ = (id) => document.getElementById(id);
const now = () => Date.now() / 1000 + state.offset;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

// -- talking to the API ------------------------------------------------------------------

async function api(method, path, body, headers = {}) {
  const options = { method, headers: { Accept: "application/json", ...headers }, cache: "no-store" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401) {
    location.reload(); // the session ended: the server shows the login form
    throw new Error("not logged in");
  }
  const data = response.status === 304 ? null : await response.json().catch(() => ({}));
  return { status: response.status, data, headers: response.headers };
}

function listPath(extra = {}) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (state.filters.status) params.set("status", state.filters.status);
  if (state.filters.type) params.set("type", state.filters.type);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return "/api/jobs?" + params;
}

async function loadList() {
  const { status, data, headers } = await api("GET", listPath());
  if (status !== 200) throw new Error(data.error || "cannot load the jobs");
  state.offset = data.now - Date.now() / 1000;
  state.etag = headers.get("ETag");
  state.next = data.next;
  for (const view of data.jobs) upsert(view);
  render();
  return data.now;
}

async function loadOlder() {
  if (!state.next) return;
  const { data } = await api("GET", listPath({ before: state.next }));
  state.next = data.next;
  for (const view of data.jobs) upsert(view);
  render();
}

// -- live updates ------------------------------------------------------------------------

function setConn(name, text) {
  const conn = $("conn");
  conn.dataset.state = name;
  conn.textContent = text;
}

function connect(since) {
  if (!("EventSource" in window)) return startPolling();
  const source = new EventSource("/api/events?since=" + encodeURIComponent(since));
  state.source = source;
  source.addEventListener("open", () => {
    state.failures = 0;
    stopPolling();
    setConn("live", "live");
  });
  source.addEventListener("hello", (e) => {
    state.offset = JSON.parse(e.data).now - Date.now() / 1000;
  });
  source.addEventListener("job", (e) => {
    upsert(JSON.parse(e.data));
    render();
  });
  source.addEventListener("queue", (e) => applyQueue(JSON.parse(e.data)));
  source.addEventListener("reset", () => loadList().catch(showLoadError));
  source.addEventListener("error", () => {
    state.failures += 1;
    if (source.readyState === EventSource.CLOSED || state.failures >= 3) {
      source.close();
      state.source = null;
      startPolling();
    } else {
      setConn("reconnecting", "reconnecting…");
    }
  });
}

function startPolling() {
  if (state.polling) return;
  setConn("polling", "polling");
  const poll = async () => {
    const headers = state.etag ? { "If-None-Match": state.etag } : {};
    try {
      const response = await fetch(listPath(), { headers, cache: "no-store" });
      if (response.status === 401) return location.reload();
      if (response.status === 200) {
        const data = await response.json();
        state.etag = response.headers.get("ETag");
        state.offset = data.now - Date.now() / 1000;
        for (const view of data.jobs) upsert(view);
        render();
      }
    } catch (err) {
      setConn("polling", "offline, retrying…");
    }
  };
  state.polling = {
    poll: setInterval(poll, POLL_MS),
    retry: setInterval(() => {
      if (!state.source) connect(now() - 5);
    }, SSE_RETRY_MS),
  };
  poll();
}

function stopPolling() {
  if (!state.polling) return;
  clearInterval(state.polling.poll);
  clearInterval(state.polling.retry);
  state.polling = null;
}

function upsert(view) {
  const old = state.jobs.get(view.id);
  if (old && old.updated_at > view.updated_at) return; // an older copy arrived late
  if (old && old.status === "cancelled" && view.status !== "cancelled") return;
  state.jobs.set(view.id, view);
  sample(view);
  if (state.detailId === view.id && (!old || old.status !== view.status)) showDetail(view.id);
}

function applyQueue(queue) {
  const positions = new Map(queue.pending.map((id, i) => [id, i + 1]));
  for (const view of [...state.jobs.values()]) {
    const position = positions.get(view.id);
    if (view.status === "pending" && position && position !== view.queue_position) {
      state.jobs.set(view.id, { ...view, queue_position: position, reason: `pending, ${position - 1} ahead` });
    }
  }
  render();
}

// Progress samples of the current stage, for a rate and so an ETA.
function sample(view) {
  if (view.status !== "running" || view.progress === null) {
    if (view.status !== "running") state.samples.delete(view.id);
    return;
  }
  let list = state.samples.get(view.id) || [];
  if (list.length && list[list.length - 1].stage !== view.stage) list = [];
  const last = list[list.length - 1];
  if (!last || view.progress !== last.p) list.push({ t: view.updated_at, stage: view.stage, p: view.progress });
  state.samples.set(view.id, list.slice(-30));
}

function eta(view) {
  const list = (state.samples.get(view.id) || []).filter((s) => s.t >= now() - 20);
  if (list.length < 2) return null;
  const first = list[0];
  const last = list[list.length - 1];
  const rate = (last.p - first.p) / (last.t - first.t); // percent per second
  if (!(rate > 0)) return null;
  return Math.max(0, (100 - last.p) / rate - (now() - last.t));
}

// -- rendering ---------------------------------------------------------------------------

function visible(view) {
  const { status, type } = state.filters;
  return (!status || view.status === status) && (!type || view.type === type);
}

// Cards are kept per job and rebuilt only when the job changed, so a button is never
// replaced under the pointer; the clock-driven texts (heartbeat age, ETA) update in place.
const nodes = new Map(); // id -> {view, links, li}

function render() {
  const groups = { running: [], queue: [], finished: [] };
  const retriedAs = new Map();
  for (const view of state.jobs.values()) {
    if (view.retry_of) retriedAs.set(view.retry_of, [...(retriedAs.get(view.retry_of) || []), view.id]);
  }
  for (const view of state.jobs.values()) {
    if (!visible(view)) continue;
    if (view.status === "running") groups.running.push(view);
    else if (view.status === "pending") groups.queue.push(view);
    else groups.finished.push(view);
  }
  groups.running.sort((a, b) => a.id - b.id);
  groups.queue.sort((a, b) => (a.queue_position || 1e9) - (b.queue_position || 1e9) || a.id - b.id);
  groups.finished.sort((a, b) => (b.finished_at || b.updated_at) - (a.finished_at || a.updated_at) || b.id - a.id);
  for (const [name, views] of Object.entries(groups)) {
    const list = $(name);
    const wanted = views.map((view) => node(view, retriedAs.get(view.id) || []));
    const same = wanted.length === list.children.length && wanted.every((li, i) => list.children[i] === li);
    if (!same) list.replaceChildren(...wanted);
    $(name + "-count").textContent = views.length ? `(${views.length})` : "";
    $(name + "-empty").hidden = views.length > 0;
  }
  $("more").hidden = !state.next;
}

function node(view, retried) {
  const links = retried.join(",");
  const known = nodes.get(view.id);
  if (known && known.view === view && known.links === links) return known.li;
  const li = card(view, retried);
  if (known && known.li.isConnected) known.li.replaceWith(li);
  nodes.set(view.id, { view, links, li });
  return li;
}

function refreshClock() {
  for (const { view, li } of nodes.values()) {
    if (view.status !== "running" || !li.isConnected) continue;
    const meta = li.querySelector(".meta");
    if (meta) meta.replaceWith(metaLine(view, li));
  }
}

function ago(seconds) {
  if (seconds < 1) return "just now";
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  return `${Math.round(seconds / 60)} min ago`;
}

function duration(seconds) {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function cancelling(view) {
  return view.status === "running" && view.cancel_requested;
}

function card(view, retried) {
  const state_ = cancelling(view) ? "cancelling" : view.status;
  const li = el("li", { className: "job", id: `job-${view.id}`, "data-id": view.id, "data-status": view.status });
  const head = el(
    "div",
    { className: "head" },
    el("a", { className: "title", href: `#job-${view.id}`, onclick: (e) => { e.preventDefault(); showDetail(view.id); } }, `#${view.id} ${view.type}`),
    el("span", { className: "state", "data-state": state_, text: cancelling(view) ? "cancelling…" : view.status }),
    view.status === "pending" && view.queue_position ? el("span", { className: "position", text: `#${view.queue_position} in queue` }) : null,
    actions(view),
  );
  li.append(head);
  if (view.status === "running") li.append(...runningParts(view, li));
  if (view.status === "failed") li.append(...failureParts(view));
  else if (view.status !== "running") li.append(el("p", { className: "reason", text: view.reason }));
  if (view.status === "completed") li.append(...resultParts(view));
  const links = linkParts(view, retried);
  if (links) li.append(links);
  return li;
}

function actions(view) {
  const box = el("span", { className: "actions" });
  if (view.status === "pending" || view.status === "running") {
    const busy = cancelling(view) || state.inFlight.has(`cancel:${view.id}`);
    box.append(el("button", { type: "button", className: "cancel quiet", disabled: busy, text: busy ? "cancelling…" : "Cancel", onclick: (e) => once(e, "cancel", view.id, cancel) }));
  }
  if (view.status === "failed" || view.status === "cancelled") {
    const busy = state.inFlight.has(`resubmit:${view.id}`);
    box.append(el("button", { type: "button", className: "resubmit quiet", disabled: busy, text: busy ? "resubmitting…" : "Resubmit", onclick: (e) => once(e, "resubmit", view.id, resubmit) }));
  }
  return box;
}

// One request per action at a time: the button is disabled at once (before any await, so
// the second click of a double-click finds it disabled) and while the answer is awaited;
// a card rebuilt meanwhile reads the same set.
async function once(event, action, id, send) {
  const key = `${action}:${id}`;
  if (state.inFlight.has(key)) return;
  state.inFlight.add(key);
  event.currentTarget.disabled = true;
  try {
    await send(id);
  } finally {
    state.inFlight.delete(key);
    nodes.delete(id); // rebuilt with its buttons as the job's state says
    render();
  }
}

function runningParts(view, li) {
  const parts = [];
  const stages = view.stages && view.stages.length ? view.stages : view.stage ? [view.stage] : [];
  if (stages.length) {
    const current = stages.indexOf(view.stage);
    parts.push(el("ol", { className: "stepper", "aria-label": "stages" }, ...stages.map((name, i) =>
      el("li", { className: i < current ? "done" : i === current ? "current" : "", "aria-current": i === current ? "step" : null, text: name }))));
  }
  const bar = el("progress", { max: 100, "aria-label": `${view.stage || "starting"} progress` });
  let label;
  if (view.progress === null) {
    label = `${view.stage || "starting"}: working (no measure)`;
  } else {
    bar.value = view.progress;
    label = `${view.stage}: ${view.progress.toFixed(1)}%`;
  }
  parts.push(el("div", { className: "bar" }, bar, el("span", { className: "progress-label", "data-progress": view.progress === null ? "" : view.progress, text: label })));
  parts.push(metaLine(view, li));
  if (cancelling(view)) parts.push(el("p", { className: "reason", text: "cancelling…: waiting for the worker to stop the job and confirm its process is dead" }));
  return parts;
}

function metaLine(view, li) {
  const remaining = view.progress === null ? null : eta(view);
  const age = Math.max(0, now() - view.updated_at);
  const late = age > state.info.heartbeat_late_after;
  const stale = age > state.info.stale_after;
  li.classList.toggle("stale", stale);
  const meta = el("p", { className: "meta" });
  if (remaining !== null) meta.append(el("span", { className: "eta", text: `≈ ${duration(remaining)} left in ${view.stage}` }), " · ");
  let beat = `heartbeat ${ago(age)}`;
  if (stale) beat = `no heartbeat for ${duration(age)}: the worker looks dead; another worker will retry the job`;
  else if (late) beat = `no heartbeat for ${duration(age)}: the worker may be stuck (retried after ${state.info.stale_after} s)`;
  meta.append(el("span", { className: late ? "heartbeat warn" : "heartbeat", text: beat }));
  meta.append(` · attempt ${view.attempt} of ${view.max_attempts}`);
  return meta;
}

function failureParts(view) {
  const error = view.error || "";
  const match = /^ffmpeg failed \(exit (-?\d+)\): (.*)$/s.exec(error);
  // An ffmpeg failure: its last line as the reason, the rest of its output folded away.
  const lines = match ? match[2].split(" | ") : [];
  const reason = match ? `failed: ffmpeg exited with ${match[1]}: ${lines[lines.length - 1]} (${view.error_kind})` : view.reason;
  const parts = [el("p", { className: "reason failure", text: reason })];
  if (match) {
    const details = el("details", { className: "stderr", open: state.openDetails.has(view.id) },
      el("summary", { text: `ffmpeg's last output (exit ${match[1]})` }),
      el("pre", { text: lines.join("\n") }));
    details.addEventListener("toggle", () => {
      if (details.open) state.openDetails.add(view.id);
      else state.openDetails.delete(view.id);
    });
    parts.push(details);
  }
  return parts;
}

// A completed job's files: a player, the download link, size and duration; for a job that
// measured loudness (prep), before → after. The URL is the API's, never a presigned one.
function resultParts(view) {
  const parts = [];
  const result = view.result || {};
  if (typeof result.input_lufs === "number" && typeof result.output_lufs === "number") {
    parts.push(el("p", { className: "loudness", text: `loudness ${result.input_lufs.toFixed(1)} → ${result.output_lufs.toFixed(1)} LUFS` }));
  }
  for (const output of view.outputs || []) {
    const href = `/api/jobs/${view.id}/outputs/${encodeURIComponent(output.name)}`;
    const kind = String(output.content_type || "").split("/")[0];
    const facts = [bytes(output.size), typeof output.duration === "number" ? duration(output.duration) : null];
    parts.push(el("div", { className: "output" },
      kind === "audio" || kind === "video" ? el(kind, { controls: true, preload: "none", src: href }) : null,
      el("a", { className: "download", href, download: output.name, text: output.name }),
      el("span", { className: "meta", text: facts.filter(Boolean).join(" · ") })));
  }
  return parts;
}

function bytes(n) {
  if (typeof n !== "number") return null;
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function linkParts(view, retried) {
  const links = [];
  if (view.retry_of) links.push(jobLink(view.retry_of, `resubmit of #${view.retry_of}`, "retry-of"));
  for (const id of retried) links.push(jobLink(id, `resubmitted as #${id}`, "retried-as"));
  return links.length ? el("p", { className: "links" }, ...links) : null;
}

function jobLink(id, text, className) {
  return el("a", { href: `#job-${id}`, className, text, onclick: (e) => { e.preventDefault(); showDetail(id); } });
}

// -- actions -----------------------------------------------------------------------------

function cardError(id, message) {
  const node = document.getElementById(`job-${id}`);
  if (node) node.append(el("p", { className: "error", role: "alert", text: message }));
}

async function cancel(id) {
  const { status, data } = await api("POST", `/api/jobs/${id}/cancel`);
  if (status === 200 || status === 202) {
    upsert(data);
    render();
  } else {
    cardError(id, data.error || `cancel failed (${status})`);
  }
}

async function resubmit(id) {
  const { status, data } = await api("POST", `/api/jobs/${id}/resubmit`);
  if (status === 201) {
    upsert(data);
    render();
  } else {
    cardError(id, data.error || `resubmit failed (${status})`);
  }
}

async function create(event) {
  event.preventDefault();
  const error = $("create-error");
  error.textContent = "";
  let payload;
  try {
    payload = JSON.parse($("create-payload").value || "{}");
  } catch (err) {
    error.textContent = `The payload is not valid JSON: ${err.message}`;
    return;
  }
  const button = $("create-submit");
  if (button.disabled) return;
  button.disabled = true;
  state.createKey ||= newKey();
  try {
    const file = $("create-file").files[0];
    if (file) {
      if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
        error.textContent = "With a file, the payload must be a JSON object (the file's key becomes its input).";
        return;
      }
      payload.input = await upload(file);
      state.createKey = newKey(); // a new upload makes another request
    }
    const body = { type: $("create-type").value, payload };
    const { status, data } = await api("POST", "/api/jobs", body, { "Idempotency-Key": state.createKey });
    if (status === 201) {
      state.createKey = null; // the next job is another job
      upsert(data);
      render();
      $("create-file").value = "";
    } else {
      if (status !== 503) state.createKey = null; // refused: nothing was made with this key
      error.textContent = data.error || `the job was refused (${status})`;
    }
  } catch (err) {
    error.textContent = err.message;
  } finally {
    button.disabled = false;
    $("upload-progress").hidden = true;
  }
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// -- the live workers --------------------------------------------------------------------

async function loadWorkers() {
  const { status, data } = await api("GET", "/api/workers");
  if (status !== 200) return;
  state.workers = data.workers;
  renderWorkers();
  const served = [...new Set(data.workers.filter((w) => w.live).flatMap((w) => w.types))].sort();
  if (served.join(",") !== state.info.types.map((t) => t.name).join(",")) {
    state.info = (await api("GET", "/api/info")).data; // the picker offers only served types
    fillTypes();
  }
}

function renderWorkers() {
  const rows = state.workers.map((w) => el("tr", { "data-id": w.id, "data-live": String(w.live) },
    el("td", { text: w.id }),
    el("td", { text: w.host }),
    el("td", { text: w.version }),
    el("td", { text: w.types.join(", ") }),
    el("td", {}, w.job_id ? jobLink(w.job_id, `#${w.job_id}`, "worker-job") : "idle"),
    el("td", { className: "beat", text: beatText(w) })));
  $("workers-rows").replaceChildren(...rows);
  const live = state.workers.filter((w) => w.live).length;
  $("workers").hidden = rows.length === 0;
  $("workers-empty").hidden = live > 0;
  $("workers-count").textContent = rows.length ? `(${live} live)` : "";
}

function beatText(w) {
  const age = Math.max(0, now() - w.last_beat);
  return w.live ? ago(age) : `${ago(age)} (dead)`;
}

function refreshBeats() {
  const cells = document.querySelectorAll("#workers-rows td.beat");
  state.workers.forEach((w, i) => { if (cells[i]) cells[i].textContent = beatText(w); });
}

// -- uploads -------------------------------------------------------------------------------

// Ask for an upload URL, then send the file there (the bucket itself on S3, this API for
// the local folder) with a progress bar; returns the new key.
async function upload(file) {
  const body = { name: file.name, size: file.size };
  if (/^[\w.+-]+\/[\w.+-]+$/.test(file.type)) body.content_type = file.type;
  const { status, data } = await api("POST", "/api/uploads", body);
  if (status !== 201) throw new Error(data.error || `the upload was refused (${status})`);
  const bar = $("upload-progress");
  bar.value = 0;
  bar.hidden = false;
  await new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(data.upload.method, data.upload.url);
    for (const [name, value] of Object.entries(data.upload.headers)) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total;
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) resolve();
      else reject(new Error(`the upload of ${file.name} failed (${request.status})`));
    });
    request.addEventListener("error", () => reject(new Error(`the upload of ${file.name} failed: network error`)));
    request.send(file);
  });
  return data.key;
}

function dropZone() {
  const zone = $("drop");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) $("create-file").files = e.dataTransfer.files;
  });
}

// -- one job's details and history -------------------------------------------------------

async function showDetail(id) {
  state.detailId = id;
  const panel = $("detail");
  const view = state.jobs.get(id) || (await api("GET", `/api/jobs/${id}`)).data;
  if (!view || view.error && !view.id) return;
  if (!state.jobs.has(id)) state.jobs.set(id, view);
  $("detail-title").textContent = `#${view.id} ${view.type}`;
  const fields = [
    ["status", cancelling(view) ? "cancelling…" : view.status],
    ["reason", view.reason],
    ["attempt", `${view.attempt} of ${view.max_attempts}`],
    ["created", new Date(view.created_at * 1000).toLocaleString()],
    ["finished", view.finished_at ? new Date(view.finished_at * 1000).toLocaleString() : "—"],
  ];
  if (view.error) fields.push(["error", view.error]);
  if (view.result !== null && view.result !== undefined) fields.push(["result", JSON.stringify(view.result, null, 2)]);
  $("detail-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  panel.hidden = false;
  const { status, data } = await api("GET", `/api/jobs/${id}/history`);
  if (status !== 200 || state.detailId !== id) return;
  $("timeline").replaceChildren(...data.history.map((h) => el("li", {},
    el("time", { datetime: h.at, title: h.at, text: new Date(h.at).toLocaleString() }),
    el("strong", { text: `${h.from_status || "new"} → ${h.to_status}` }),
    h.reason ? el("div", { text: h.reason }) : null,
    h.worker_id ? el("div", { className: "meta", text: `worker ${h.worker_id}, lease ${h.lease}` }) : null)));
}

function closeDetail() {
  state.detailId = null;
  $("detail").hidden = true;
}

// -- start -------------------------------------------------------------------------------

function showLoadError(err) {
  setConn("polling", `cannot load jobs: ${err.message}`);
}

// The types live workers serve (again whenever that set changes); a choice already made
// and a payload being written are kept while their type is still served.
function fillTypes() {
  const names = state.info.types.map((t) => t.name);
  const [chosen, filtered] = [$("create-type").value, $("filter-type").value];
  $("create-type").replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
  $("filter-type").replaceChildren(el("option", { value: "", text: "all" }), ...names.map((n) => el("option", { value: n, text: n })));
  if (names.includes(filtered)) $("filter-type").value = filtered;
  if (names.includes(chosen)) {
    $("create-type").value = chosen;
    return;
  }
  if (names.includes("tone")) $("create-type").value = "tone";
  showExample();
}

function showExample() {
  $("create-payload").value = JSON.stringify(EXAMPLES[$("create-type").value] || {});
  state.createKey = null;
}

async function start() {
  const { data } = await api("GET", "/api/info");
  state.info = data;
  state.offset = data.now - Date.now() / 1000;
  $("logout").hidden = !data.auth;
  fillTypes();
  $("create-type").addEventListener("change", showExample);
  $("create-payload").addEventListener("input", () => { state.createKey = null; });
  $("create").addEventListener("submit", create);
  dropZone();
  $("more").addEventListener("click", loadOlder);
  $("detail-close").addEventListener("click", closeDetail);
  for (const name of ["status", "type"]) {
    $(`filter-${name}`).addEventListener("change", (e) => {
      state.filters[name] = e.target.value;
      render();
      loadList().catch(showLoadError); // older matches the first page did not include
    });
  }
  // Ages and ETAs move with the clock, not only with events.
  setInterval(() => { refreshClock(); refreshBeats(); }, 1000);
  loadWorkers().catch(() => {});
  setInterval(() => { if (!document.hidden) loadWorkers().catch(() => {}); }, WORKERS_MS);
  const since = await loadList();
  connect(since);
}

start().catch(showLoadError);
