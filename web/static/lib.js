// @ts-check
// The dashboard's pure functions: no DOM, no network, no clock of their own (the time is an
// argument), so `node --test` runs them as they run in the page (tests/js/*.test.mjs).

/**
 * A job as the API's poll view gives it (GET /api/jobs, the event streams).
 * @typedef {object} JobView
 * @property {number} id
 * @property {string} type
 * @property {"pending"|"running"|"completed"|"failed"|"cancelled"} status
 * @property {string | null} stage
 * @property {string[] | null} stages
 * @property {number | null} progress
 * @property {number | null} queue_position
 * @property {number} attempt
 * @property {number} max_attempts
 * @property {string | null} error
 * @property {string | null} error_kind
 * @property {Failure | null} [failure]
 * @property {boolean} cancel_requested
 * @property {number} created_at
 * @property {number} updated_at
 * @property {number | null} finished_at
 * @property {number | null} [started_at]
 * @property {number | null} retry_of
 * @property {string} reason
 * @property {string | null} [worker_id]
 * @property {string | null} [log_tail]
 * @property {any} [result]
 * @property {Output[]} [outputs]
 */

/**
 * A failed run's error as fields (the API's `failure`): never parsed out of the message.
 * @typedef {object} Failure
 * @property {string | null} kind
 * @property {string} message
 * @property {string | null} detail  the one line that says most (ffmpeg's first error)
 */

/**
 * @typedef {object} Output
 * @property {string} name
 * @property {number | null} size
 * @property {string | null} content_type
 * @property {number | null} duration
 */

/**
 * One progress sample of a running stage: when (store clock), which stage, how far.
 * @typedef {{t: number, stage: string | null, p: number}} Sample
 */

/**
 * What the page keeps in its URL: the list's filters (query string) and the open job (hash).
 * @typedef {{status: string, type: string, job: number | null}} UrlState
 */

export const STATUSES = ["pending", "running", "completed", "failed", "cancelled"];
/** Samples older than this (seconds) no longer say how fast the stage goes now. */
export const RATE_WINDOW = 20;
const MAX_SAMPLES = 30;

/**
 * The samples of `view`'s current stage after this report: a new stage starts afresh, a
 * repeated percentage adds nothing, at most MAX_SAMPLES are kept. Null: keep none (the job
 * is not running, or its stage cannot measure itself).
 * @param {Sample[]} samples
 * @param {JobView} view
 * @returns {Sample[] | null}
 */
export function addSample(samples, view) {
  if (view.status !== "running" || view.progress === null) return null;
  let list = samples;
  if (list.length && list[list.length - 1].stage !== view.stage) list = [];
  const last = list[list.length - 1];
  if (last && last.p === view.progress) return list;
  return [...list, { t: view.updated_at, stage: view.stage, p: view.progress }].slice(-MAX_SAMPLES);
}

/**
 * Percent per second over the samples of the last RATE_WINDOW seconds, or null when they
 * cannot say (fewer than two, or no forward movement).
 * @param {Sample[]} samples
 * @param {number} now  seconds, on the store's clock
 * @returns {number | null}
 */
export function rate(samples, now) {
  const recent = samples.filter((s) => s.t >= now - RATE_WINDOW);
  if (recent.length < 2) return null;
  const first = recent[0];
  const last = recent[recent.length - 1];
  if (!(last.t > first.t)) return null;
  const perSecond = (last.p - first.p) / (last.t - first.t);
  return perSecond > 0 ? perSecond : null;
}

/**
 * Seconds left in the stage at `now`, from the recent rate; null when unknown.
 * @param {Sample[]} samples
 * @param {number} now
 * @returns {number | null}
 */
export function eta(samples, now) {
  const perSecond = rate(samples, now);
  if (perSecond === null) return null;
  const last = samples[samples.length - 1];
  return Math.max(0, (100 - last.p) / perSecond - (now - last.t));
}

/**
 * Whether `incoming` should replace `known` in the page's list: a copy older than the one
 * shown arrived late (an event and a page load crossing), or a cancelled job would come back
 * to life (a terminal state never changes).
 * @param {JobView | undefined} known
 * @param {JobView} incoming
 * @returns {boolean}
 */
export function supersedes(known, incoming) {
  if (!known) return true;
  if (known.updated_at > incoming.updated_at) return false;
  if (known.status === "cancelled" && incoming.status !== "cancelled") return false;
  return true;
}

/**
 * Put `view` into `jobs` unless it is stale (see `supersedes`); returns whether it did.
 * @param {Map<number, JobView>} jobs
 * @param {JobView} view
 * @returns {boolean}
 */
export function upsert(jobs, view) {
  if (!supersedes(jobs.get(view.id), view)) return false;
  jobs.set(view.id, view);
  return true;
}

/**
 * The URL's state: `?status=failed&type=tone#job-12`. Unknown values are dropped.
 * @param {string} search  location.search
 * @param {string} hash  location.hash
 * @returns {UrlState}
 */
export function parseUrl(search, hash) {
  const params = new URLSearchParams(search);
  const status = params.get("status") || "";
  const found = /^#job-(\d{1,18})$/.exec(hash);
  return {
    status: STATUSES.includes(status) ? status : "",
    type: /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(params.get("type") || "") ? String(params.get("type")) : "",
    job: found ? Number(found[1]) : null,
  };
}

/**
 * The query string and hash of `state` (empty parts left out), for history.replaceState.
 * @param {UrlState} state
 * @returns {string}
 */
export function formatUrl(state) {
  const params = new URLSearchParams();
  if (state.status) params.set("status", state.status);
  if (state.type) params.set("type", state.type);
  const query = params.toString();
  return (query ? `?${query}` : "") + (state.job !== null ? `#job-${state.job}` : "");
}

/**
 * A job id typed into the search box ("12", "#12", "job-12"), or null.
 * @param {string} text
 * @returns {number | null}
 */
export function parseJobId(text) {
  const found = /^\s*(?:#|job-)?(\d{1,18})\s*$/i.exec(text);
  const id = found ? Number(found[1]) : 0;
  return id >= 1 && Number.isSafeInteger(id) ? id : null;
}

/**
 * Which of the page's sections the status filter leaves: a filter on "failed" hides the
 * running and queued sections (their "Nothing running" would say nothing true).
 * @param {string} status  the filter ("" for all)
 * @returns {{running: boolean, queue: boolean, finished: boolean}}
 */
export function sections(status) {
  if (!status) return { running: true, queue: true, finished: true };
  return { running: status === "running", queue: status === "pending", finished: !["running", "pending"].includes(status) };
}

/**
 * The section a job is listed in.
 * @param {JobView} view
 * @returns {"running" | "queue" | "finished"}
 */
export function section(view) {
  if (view.status === "running") return "running";
  return view.status === "pending" ? "queue" : "finished";
}

/**
 * A failed job's one-line summary, from the API's fields: the telling line when the
 * handler named one (ffmpeg's first error), else the message, and the kind.
 * @param {JobView} view
 * @returns {string}
 */
export function failureSummary(view) {
  const failure = view.failure;
  if (!failure) return view.reason;
  return `failed: ${failure.detail || failure.message} (${failure.kind || "permanent"})`;
}

/**
 * The type the form starts on: the one asked for if served, else the first served type that
 * declares an example payload, else the first served type; "" when none is served.
 * @param {{name: string, example?: any}[]} types
 * @param {string} wanted
 * @returns {string}
 */
export function pickType(types, wanted) {
  if (types.some((t) => t.name === wanted)) return wanted;
  const withExample = types.find((t) => t.example !== null && t.example !== undefined);
  return (withExample || types[0] || { name: "" }).name;
}

/**
 * @param {number} seconds
 * @returns {string}
 */
export function ago(seconds) {
  if (seconds < 1) return "just now";
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  return `${Math.round(seconds / 60)} min ago`;
}

/**
 * @param {number} seconds
 * @returns {string}
 */
export function duration(seconds) {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/**
 * @param {number | null | undefined} n
 * @returns {string | null}
 */
export function bytes(n) {
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
