// @ts-check
// media jobs dashboard: plain JavaScript modules, no build step, no dependencies.
//
// Data: GET /api/jobs once (and on filter changes), then one EventSource on /api/events.
// The browser reconnects by itself and sends Last-Event-ID; the server replays what was
// missed. When the stream keeps failing, the page polls /api/jobs with ETags instead and
// tries the stream again later. The open job's detail follows the same events (its log
// tail arrives with each progress report); its payload comes once, from
// GET /api/jobs/{id}/payload (it never changes, and the views every event repeats leave it out).
//
// The URL holds the filters (?status=&type=) and the open job (#job-N): a reload, or a link
// sent to someone, shows the same. Pure rules (ETA, samples, upserts, the URL) live in
// lib.js, unit-tested with node --test.
//
// Job payloads, errors, log tails and names are untrusted text: everything reaches the page
// through textContent and attributes, never as HTML.
//
// A button sends once: while its request is in flight it is disabled (a double-click makes
// one request), and a new job's form carries an Idempotency-Key that changes only once the
// server answered, so even a request sent twice makes one job.

import {
  addSample,
  ago,
  bytes,
  duration,
  eta,
  failureSummary,
  formatUrl,
  parseJobId,
  parseUrl,
  pickType,
  section,
  sections,
  upsert as upsertInto,
} from "./lib.js";

/** @typedef {import("./lib.js").JobView} JobView */
/** @typedef {import("./lib.js").Sample} Sample */
/** @typedef {{name: string, stages: string[], example?: any}} TypeInfo */
/**
 * @typedef {object} Info
 * @property {TypeInfo[]} types
 * @property {boolean} auth
 * @property {number} heartbeat_interval
 * @property {number} stale_after
 * @property {number} heartbeat_late_after
 * @property {number} tick
 * @property {number} now
 */
/**
 * @typedef {object} WorkerRow
 * @property {string} id
 * @property {string} host
 * @property {string} version
 * @property {string[]} types
 * @property {number | null} job_id
 * @property {number} last_beat
 * @property {number} started_at
 * @property {boolean} live
 */
/** @typedef {{status: number, data: any, headers: Headers}} Answer */

const POLL_MS = 2000;
const WORKERS_MS = 15000; // a read of the registry (a few rows) per open, visible page
const SSE_RETRY_MS = 30000;
const PAGE = 100;

const state = {
  // the timings and rules arrive from /api/info, read before anything is drawn
  info: /** @type {Info} */ (/** @type {unknown} */ ({ types: [], auth: false })),
  /** @type {Map<number, JobView>} id -> latest view */
  jobs: new Map(),
  /** @type {Map<number, any>} the payloads of jobs whose detail was opened */
  payloads: new Map(),
  /** @type {Map<number, Sample[]>} progress samples of each running job's current stage */
  samples: new Map(),
  /** @type {Set<number>} ids whose output <details> is open */
  openDetails: new Set(),
  offset: 0, // server clock minus ours, seconds
  /** @type {string | null} cursor of the next older page */
  next: null,
  filters: { status: "", type: "" },
  /** @type {EventSource | null} */
  source: null,
  failures: 0,
  /** @type {{poll: number, retry: number} | null} */
  polling: null,
  /** @type {string | null} */
  etag: null,
  /** @type {number | null} */
  detailId: null,
  /** @type {Set<string>} "cancel:7", "resubmit:7": actions waiting for their answer */
  inFlight: new Set(),
  /** @type {string | null} the Idempotency-Key of the next job the form creates */
  createKey: null,
  /** @type {WorkerRow[]} */
  workers: [],
};

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function $(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found;
}

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} kind
 * @returns {T}
 */
function typed(id, kind) {
  const found = $(id);
  if (!(found instanceof kind)) throw new Error(`#${id} is not a ${kind.name}`);
  return found;
}

const input = (/** @type {string} */ id) => typed(id, HTMLInputElement);
const select = (/** @type {string} */ id) => typed(id, HTMLSelectElement);
const now = () => Date.now() / 1000 + state.offset;

/**
 * An element with attributes (text, className, on* listeners, the rest as attributes) and
 * children; null, undefined and false are left out.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
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

/**
 * @param {string} method
 * @param {string} path
 * @param {any} [body]
 * @param {Record<string, string>} [headers]
 * @returns {Promise<Answer>}
 */
async function api(method, path, body, headers = {}) {
  /** @type {Record<string, string>} */
  const sent = { Accept: "application/json", ...headers };
  /** @type {RequestInit} */
  const options = { method, headers: sent, cache: "no-store" };
  if (body !== undefined) {
    sent["Content-Type"] = "application/json";
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

/**
 * @param {Record<string, string>} [extra]
 * @returns {string}
 */
function listPath(extra = {}) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (state.filters.status) params.set("status", state.filters.status);
  if (state.filters.type) params.set("type", state.filters.type);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return "/api/jobs?" + params;
}

/** @returns {Promise<number>} the store's clock at the read (the stream starts there) */
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

/**
 * @param {string} name
 * @param {string} text
 */
function setConn(name, text) {
  const conn = $("conn");
  conn.dataset.state = name;
  conn.textContent = text;
}

/** @param {number} since */
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
    /** @type {Record<string, string>} */
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
    poll: window.setInterval(poll, POLL_MS),
    retry: window.setInterval(() => {
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

/** @param {JobView} view */
function upsert(view) {
  const old = state.jobs.get(view.id);
  if (!upsertInto(state.jobs, view)) return;
  const samples = addSample(state.samples.get(view.id) || [], view);
  if (samples) state.samples.set(view.id, samples);
  else if (view.status !== "running") state.samples.delete(view.id);
  if (state.detailId === view.id) renderDetail(!old || old.status !== view.status);
}

/** @param {{pending: number[]}} queue */
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

// -- rendering ---------------------------------------------------------------------------

/** @param {JobView} view */
function visible(view) {
  const { status, type } = state.filters;
  return (!status || view.status === status) && (!type || view.type === type);
}

// Cards are kept per job and rebuilt only when the job changed, so a button is never
// replaced under the pointer; the clock-driven texts (heartbeat age, ETA) update in place.
/** @type {Map<number, {view: JobView, links: string, li: HTMLElement}>} */
const nodes = new Map();

function render() {
  /** @type {Record<"running" | "queue" | "finished", JobView[]>} */
  const groups = { running: [], queue: [], finished: [] };
  /** @type {Map<number, number[]>} */
  const retriedAs = new Map();
  for (const view of state.jobs.values()) {
    if (view.retry_of) retriedAs.set(view.retry_of, [...(retriedAs.get(view.retry_of) || []), view.id]);
  }
  for (const view of state.jobs.values()) {
    if (visible(view)) groups[section(view)].push(view);
  }
  groups.running.sort((a, b) => a.id - b.id);
  groups.queue.sort((a, b) => (a.queue_position || 1e9) - (b.queue_position || 1e9) || a.id - b.id);
  groups.finished.sort((a, b) => (b.finished_at || b.updated_at) - (a.finished_at || a.updated_at) || b.id - a.id);
  const shown = sections(state.filters.status);
  for (const name of /** @type {const} */ (["running", "queue", "finished"])) {
    const views = groups[name];
    // A section the status filter rules out is hidden whole: "Nothing running" under a
    // filter on failed jobs would say something the page does not know.
    $(`${name}-section`).hidden = !shown[name];
    const list = $(name);
    const wanted = views.map((view) => node(view, retriedAs.get(view.id) || []));
    const same = wanted.length === list.children.length && wanted.every((li, i) => list.children[i] === li);
    if (!same) list.replaceChildren(...wanted);
    $(name + "-count").textContent = views.length ? `(${views.length})` : "";
    $(name + "-empty").hidden = views.length > 0;
  }
  $("more").hidden = !state.next;
}

/**
 * @param {JobView} view
 * @param {number[]} retried
 * @returns {HTMLElement}
 */
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

/** @param {JobView} view */
function cancelling(view) {
  return view.status === "running" && view.cancel_requested;
}

/**
 * @param {JobView} view
 * @param {number[]} retried
 * @returns {HTMLElement}
 */
function card(view, retried) {
  const state_ = cancelling(view) ? "cancelling" : view.status;
  const li = el("li", { className: "job", id: `job-${view.id}`, "data-id": view.id, "data-status": view.status });
  const head = el(
    "div",
    { className: "head" },
    el("a", { className: "title", href: `#job-${view.id}` }, `#${view.id} ${view.type}`),
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

/** @param {JobView} view */
function actions(view) {
  const box = el("span", { className: "actions" });
  if (view.status === "pending" || view.status === "running") {
    const busy = cancelling(view) || state.inFlight.has(`cancel:${view.id}`);
    box.append(el("button", { type: "button", className: "cancel quiet", disabled: busy, text: busy ? "cancelling…" : "Cancel", onclick: (/** @type {Event} */ e) => once(e, "cancel", view.id, cancel) }));
  }
  if (view.status === "failed" || view.status === "cancelled") {
    const busy = state.inFlight.has(`resubmit:${view.id}`);
    box.append(el("button", { type: "button", className: "resubmit quiet", disabled: busy, text: busy ? "resubmitting…" : "Resubmit", onclick: (/** @type {Event} */ e) => once(e, "resubmit", view.id, resubmit) }));
  }
  return box;
}

// One request per action at a time: the button is disabled at once (before any await, so
// the second click of a double-click finds it disabled) and while the answer is awaited;
// a card rebuilt meanwhile reads the same set.
/**
 * @param {Event} event
 * @param {string} action
 * @param {number} id
 * @param {(id: number) => Promise<void>} send
 */
async function once(event, action, id, send) {
  const key = `${action}:${id}`;
  if (state.inFlight.has(key)) return;
  state.inFlight.add(key);
  const button = event.currentTarget;
  if (button instanceof HTMLButtonElement) button.disabled = true;
  try {
    await send(id);
  } finally {
    state.inFlight.delete(key);
    nodes.delete(id); // rebuilt with its buttons as the job's state says
    render();
  }
}

/**
 * @param {JobView} view
 * @param {HTMLElement} li
 * @returns {HTMLElement[]}
 */
function runningParts(view, li) {
  const parts = [];
  const stages = view.stages && view.stages.length ? view.stages : view.stage ? [view.stage] : [];
  if (stages.length) {
    const current = view.stage === null ? -1 : stages.indexOf(view.stage);
    parts.push(el("ol", { className: "stepper", "aria-label": "stages" }, ...stages.map((name, i) =>
      el("li", { className: i < current ? "done" : i === current ? "current" : "", "aria-current": i === current ? "step" : null, text: name }))));
  }
  const bar = /** @type {HTMLProgressElement} */ (el("progress", { max: 100, "aria-label": `${view.stage || "starting"} progress` }));
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

/**
 * @param {JobView} view
 * @param {HTMLElement} li
 * @returns {HTMLElement}
 */
function metaLine(view, li) {
  const remaining = view.progress === null ? null : eta(state.samples.get(view.id) || [], now());
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

/**
 * A failure: the line that says most (from the API's `failure`, never parsed out of the
 * message), and the job's last output folded away.
 * @param {JobView} view
 * @returns {HTMLElement[]}
 */
function failureParts(view) {
  const parts = [el("p", { className: "reason failure", text: failureSummary(view) })];
  const shown = view.log_tail || (view.failure && view.failure.detail ? view.failure.message : null);
  if (shown) {
    const details = /** @type {HTMLDetailsElement} */ (el("details", { className: "stderr", open: state.openDetails.has(view.id) },
      el("summary", { text: view.log_tail ? "last output" : "the whole error" }),
      el("pre", { text: shown })));
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
/**
 * @param {JobView} view
 * @returns {HTMLElement[]}
 */
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

/**
 * @param {JobView} view
 * @param {number[]} retried
 * @returns {HTMLElement | null}
 */
function linkParts(view, retried) {
  const links = [];
  if (view.retry_of) links.push(jobLink(view.retry_of, `resubmit of #${view.retry_of}`, "retry-of"));
  for (const id of retried) links.push(jobLink(id, `resubmitted as #${id}`, "retried-as"));
  return links.length ? el("p", { className: "links" }, ...links) : null;
}

/**
 * A link that opens job `id` (its detail): the hash, so it is a link people can share.
 * @param {number} id
 * @param {string} text
 * @param {string} className
 */
function jobLink(id, text, className) {
  return el("a", { href: `#job-${id}`, className, text });
}

// -- actions -----------------------------------------------------------------------------

/**
 * @param {number} id
 * @param {string} message
 */
function cardError(id, message) {
  const node = document.getElementById(`job-${id}`);
  if (node) node.append(el("p", { className: "error", role: "alert", text: message }));
}

/** @param {number} id */
async function cancel(id) {
  const { status, data } = await api("POST", `/api/jobs/${id}/cancel`);
  if (status === 200 || status === 202) {
    upsert(data);
    render();
  } else {
    cardError(id, data.error || `cancel failed (${status})`);
  }
}

/** @param {number} id */
async function resubmit(id) {
  const { status, data } = await api("POST", `/api/jobs/${id}/resubmit`);
  if (status === 201) {
    upsert(data);
    render();
  } else {
    cardError(id, data.error || `resubmit failed (${status})`);
  }
}

/** @param {Event} event */
async function create(event) {
  event.preventDefault();
  const error = $("create-error");
  error.textContent = "";
  let payload;
  try {
    payload = JSON.parse(typed("create-payload", HTMLTextAreaElement).value || "{}");
  } catch (err) {
    error.textContent = `The payload is not valid JSON: ${err instanceof Error ? err.message : err}`;
    return;
  }
  const button = typed("create-submit", HTMLButtonElement);
  if (button.disabled) return;
  button.disabled = true;
  state.createKey ||= newKey();
  try {
    const files = input("create-file").files;
    const file = files && files[0];
    if (file) {
      if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
        error.textContent = "With a file, the payload must be a JSON object (the file's key becomes its input).";
        return;
      }
      payload.input = await upload(file);
      state.createKey = newKey(); // a new upload makes another request
    }
    const body = { type: select("create-type").value, payload };
    const { status, data } = await api("POST", "/api/jobs", body, { "Idempotency-Key": state.createKey });
    if (status === 201) {
      state.createKey = null; // the next job is another job
      upsert(data);
      render();
      input("create-file").value = "";
    } else {
      if (status !== 503) state.createKey = null; // refused: nothing was made with this key
      error.textContent = data.error || `the job was refused (${status})`;
    }
  } catch (err) {
    error.textContent = err instanceof Error ? err.message : String(err);
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
  /** @type {WorkerRow[]} */
  const workers = data.workers;
  state.workers = workers;
  renderWorkers();
  const served = [...new Set(workers.filter((w) => w.live).flatMap((w) => w.types))].sort();
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
    el("td", { className: "beat", text: beatText(w) }),
    el("td", { className: "up", title: when(w.started_at), text: duration(Math.max(0, now() - w.started_at)) })));
  $("workers-rows").replaceChildren(...rows);
  const live = state.workers.filter((w) => w.live).length;
  $("workers").hidden = rows.length === 0;
  $("workers-empty").hidden = live > 0;
  $("workers-count").textContent = rows.length ? `(${live} live)` : "";
}

/** @param {WorkerRow} w */
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
/**
 * @param {File} file
 * @returns {Promise<string>}
 */
async function upload(file) {
  /** @type {{name: string, size: number, content_type?: string}} */
  const body = { name: file.name, size: file.size };
  if (/^[\w.+-]+\/[\w.+-]+$/.test(file.type)) body.content_type = file.type;
  const { status, data } = await api("POST", "/api/uploads", body);
  if (status !== 201) throw new Error(data.error || `the upload was refused (${status})`);
  const bar = typed("upload-progress", HTMLProgressElement);
  bar.value = 0;
  bar.hidden = false;
  await new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(data.upload.method, data.upload.url);
    for (const [name, value] of Object.entries(data.upload.headers)) request.setRequestHeader(name, String(value));
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total;
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) resolve(undefined);
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
    const dropped = e.dataTransfer && e.dataTransfer.files;
    if (dropped && dropped.length) input("create-file").files = dropped;
  });
}

// -- one job's detail: fields, payload, result, live log tail, history -------------------

/**
 * @param {number | null | undefined} at
 * @returns {string}
 */
function when(at) {
  return typeof at === "number" ? new Date(at * 1000).toLocaleString() : "—";
}

/**
 * Open job `id` (from the hash): what the list knows at once, then its view as it is now
 * (a job the list has not loaded, too), its payload and its history.
 * @param {number} id
 */
async function openDetail(id) {
  state.detailId = id;
  $("detail-missing").hidden = true;
  renderDetail(false);
  const [{ status, data }, payload] = await Promise.all([
    api("GET", `/api/jobs/${id}`),
    state.payloads.has(id) ? null : api("GET", `/api/jobs/${id}/payload`),
  ]);
  if (payload && payload.status === 200) state.payloads.set(id, payload.data.payload);
  if (state.detailId !== id) return;
  if (status !== 200) {
    $("detail").hidden = false;
    $("detail-title").textContent = `#${id}`;
    $("detail-body").hidden = true;
    $("detail-missing").hidden = false;
    $("detail-missing").textContent = data && data.error ? data.error : `no job #${id}`;
    return;
  }
  upsert(data);
  renderDetail(true);
}

/**
 * The open job's detail from what the page knows of it now; its history again when
 * `history` (it changed status, or was just opened).
 * @param {boolean} history
 */
function renderDetail(history) {
  const id = state.detailId;
  const view = id === null ? undefined : state.jobs.get(id);
  if (id === null || !view) return;
  $("detail").hidden = false;
  $("detail-body").hidden = false;
  $("detail-title").textContent = `#${view.id} ${view.type}`;
  const started = view.started_at;
  const ended = view.finished_at || (view.status === "running" ? now() : null);
  /** @type {[string, string][]} */
  const fields = [
    ["status", cancelling(view) ? "cancelling…" : view.status],
    ["reason", view.status === "failed" ? failureSummary(view) : view.reason],
    ["attempt", `${view.attempt} of ${view.max_attempts}`],
    ["worker", view.worker_id || "—"],
    ["created", when(view.created_at)],
    ["started", when(started)],
    ["finished", when(view.finished_at)],
  ];
  if (typeof started === "number") fields.push(["waited", duration(Math.max(0, started - view.created_at))]);
  if (typeof started === "number" && ended) fields.push(["ran", duration(Math.max(0, ended - started))]);
  if (view.failure) fields.push(["error", view.failure.message]);
  $("detail-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { "data-field": k, text: v })]));
  const payload = state.payloads.get(view.id);
  $("detail-payload").textContent = payload === undefined ? "…" : JSON.stringify(payload, null, 2);
  const hasResult = view.result !== null && view.result !== undefined;
  $("detail-result-section").hidden = !hasResult;
  $("detail-result").textContent = hasResult ? JSON.stringify(view.result, null, 2) : "";
  $("detail-tail-section").hidden = !view.log_tail;
  $("detail-tail").textContent = view.log_tail || "";
  $("detail-tail-live").hidden = view.status !== "running";
  if (history) loadHistory(view.id).catch(() => {});
}

/** @param {number} id */
async function loadHistory(id) {
  const { status, data } = await api("GET", `/api/jobs/${id}/history`);
  if (status !== 200 || state.detailId !== id) return;
  /** @type {{at: string, from_status: string | null, to_status: string, reason: string | null, worker_id: string | null, lease: number}[]} */
  const entries = data.history;
  $("timeline").replaceChildren(...entries.map((h) => el("li", {},
    el("time", { datetime: h.at, title: h.at, text: new Date(h.at).toLocaleString() }),
    el("strong", { text: `${h.from_status || "new"} → ${h.to_status}` }),
    h.reason ? el("div", { text: h.reason }) : null,
    h.worker_id ? el("div", { className: "meta", text: `worker ${h.worker_id}, lease ${h.lease}` }) : null)));
}

function closeDetail() {
  state.detailId = null;
  $("detail").hidden = true;
  writeUrl();
}

// -- the URL: filters and the open job ----------------------------------------------------

function writeUrl() {
  const url = formatUrl({ ...state.filters, job: state.detailId });
  history.replaceState(null, "", url || location.pathname);
}

function followHash() {
  const { job } = parseUrl(location.search, location.hash);
  if (job !== null && job !== state.detailId) openDetail(job).catch(showLoadError);
  else if (job === null && state.detailId !== null) closeDetail();
}

/** @param {Event} event */
function search(event) {
  event.preventDefault();
  const id = parseJobId(input("search-id").value);
  $("search-error").textContent = id === null ? "A job id is a number, e.g. 42." : "";
  if (id !== null) location.hash = `#job-${id}`;
}

// -- start -------------------------------------------------------------------------------

/** @param {unknown} err */
function showLoadError(err) {
  setConn("polling", `cannot load jobs: ${err instanceof Error ? err.message : err}`);
}

// The types live workers serve (again whenever that set changes); a choice already made
// and a payload being written are kept while their type is still served.
function fillTypes() {
  const names = state.info.types.map((t) => t.name);
  const [chosen, filtered] = [select("create-type").value, select("filter-type").value || state.filters.type];
  select("create-type").replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
  select("filter-type").replaceChildren(el("option", { value: "", text: "all" }), ...names.map((n) => el("option", { value: n, text: n })));
  if (names.includes(filtered)) select("filter-type").value = filtered;
  if (names.includes(chosen)) {
    select("create-type").value = chosen;
    return;
  }
  select("create-type").value = pickType(state.info.types, "");
  showExample();
}

// The payload the chosen type declares as its example (JobType(example=...)), if any.
function showExample() {
  const type = state.info.types.find((t) => t.name === select("create-type").value);
  const example = type && type.example !== null && type.example !== undefined ? type.example : {};
  typed("create-payload", HTMLTextAreaElement).value = JSON.stringify(example);
  state.createKey = null;
}

async function start() {
  const { data } = await api("GET", "/api/info");
  state.info = data;
  state.offset = data.now - Date.now() / 1000;
  const asked = parseUrl(location.search, location.hash);
  state.filters = { status: asked.status, type: asked.type };
  select("filter-status").value = asked.status;
  $("logout").hidden = !data.auth;
  fillTypes();
  select("create-type").addEventListener("change", showExample);
  $("create-payload").addEventListener("input", () => { state.createKey = null; });
  $("create").addEventListener("submit", create);
  $("search").addEventListener("submit", search);
  dropZone();
  $("more").addEventListener("click", loadOlder);
  $("detail-close").addEventListener("click", closeDetail);
  window.addEventListener("hashchange", followHash);
  for (const name of /** @type {const} */ (["status", "type"])) {
    select(`filter-${name}`).addEventListener("change", (e) => {
      state.filters[name] = /** @type {HTMLSelectElement} */ (e.target).value;
      writeUrl();
      render();
      loadList().catch(showLoadError); // older matches the first page did not include
    });
  }
  // Ages and ETAs move with the clock, not only with events.
  setInterval(() => { refreshClock(); refreshBeats(); }, 1000);
  loadWorkers().catch(() => {});
  setInterval(() => { if (!document.hidden) loadWorkers().catch(() => {}); }, WORKERS_MS);
  const since = await loadList();
  followHash();
  connect(since);
}

start().catch(showLoadError);
