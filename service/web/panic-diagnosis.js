/**
 * <panic-diagnosis>: the panicdx console widget, one framework-free ES module.
 *
 * Embed it in any console:
 *
 *   <script type="module" src="https://panicdx.example/widget/panic-diagnosis.js"></script>
 *   <panic-diagnosis api-base="https://panicdx.example" view="diagnose"></panic-diagnosis>
 *   document.querySelector("panic-diagnosis").key = "<API key>";
 *
 * Attributes: `api-base` (default: this page's origin), `api-key` (or the `key` property),
 * `view` = `diagnose` (upload, live job state, result card, feedback) or `fleet` (stats chart),
 * `diagnosis-id` (open an existing diagnosis in the diagnose view).
 * Events (bubbling, composed): `diagnosis-done` and `diagnosis-failed` (detail: the job JSON),
 * `feedback-sent` (detail: the feedback item), `api-error` (detail: {status, code, message}).
 * Theming: CSS custom properties `--pdx-*` on the element (see STYLE below); follows
 * `prefers-color-scheme`.
 *
 * Everything that comes from the API (the log is customer data) is put on the page with
 * textContent / text nodes, never parsed as HTML.
 */

const CONTEXT_LINES = 3; // lines shown around each evidence line
const LOG_READ_LIMIT = 32 * 1024 * 1024; // stop reading the extracted log after this many chars
const POLL_FIRST_MS = 800;
const POLL_MAX_MS = 5000;
const JOB_STEPS = [
  ["queued", "Queued"],
  ["extracting", "Extracting"],
  ["diagnosing", "Diagnosing"],
  ["done", "Done"],
];
const CHART_SERIES = 10; // distinct chart colours (--pdx-s0..9); further categories are "other"

/** Plain-words explanations of the API's stable error codes. */
const PLAIN_ERRORS = {
  no_key: "Enter an API key first: every request to the panicdx service needs one.",
  unauthorized: "The API key was not accepted. Check that it is complete and has not been revoked.",
  forbidden:
    "This API key is not allowed to do that. Uploads and feedback need a key with the submitter or admin role.",
  not_found: "That diagnosis was not found. It may have been deleted.",
  invalid_request: "The service rejected the request as invalid.",
  payload_too_large: "The file is larger than this service accepts.",
  empty_input: "The file is empty: there is nothing to diagnose.",
  unsupported_format:
    "This file is not a kernel log or crash dump format panicdx can read.",
  conflict: "That conflicts with the current state of the diagnosis.",
  internal_error:
    "The service failed while handling this request. Try again; if it keeps happening, tell the service operators.",
  network: "Could not reach the panicdx service. Check the network connection, the service address, and that the service allows this page's origin (PANICDX_CORS_ORIGINS).",
  bad_response: "The service sent an answer the console could not understand.",
  aborted: "The upload was cancelled.",
};

/** An error answered by the API (`{code, message}`) or met on the way to it. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when no HTTP answer was received
   * @param {string} code a stable code (the API's, or no_key / network / bad_response / aborted)
   * @param {string} message the server's own message, may be empty
   */
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.serverMessage = message || "";
  }
}

/** Turn any error into {title, detail} plain words for people. */
export function describeError(error) {
  if (error instanceof ApiError) {
    const title = PLAIN_ERRORS[error.code] || `The service answered with an error (${error.code}).`;
    const detail = error.serverMessage && error.serverMessage !== error.code ? error.serverMessage : "";
    return { title, detail, code: error.code, status: error.status };
  }
  return { title: PLAIN_ERRORS.bad_response, detail: String(error?.message || error), code: "bad_response", status: 0 };
}

/** Build an element: props set attributes (text -> textContent, on* -> listeners). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  applyProps(node, props);
  appendChildren(node, children);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Build an SVG element with attributes and children. */
function svgEl(tag, props = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  applyProps(node, props);
  appendChildren(node, children);
  return node;
}

function applyProps(node, props) {
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "class") node.setAttribute("class", value);
    else if (name === "style" && typeof value === "object") Object.assign(node.style, value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "value" && "value" in node) node.value = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

function appendChildren(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    // Strings become text nodes: never HTML.
    node.append(child instanceof Node ? child : String(child));
  }
}

/** "1.5 MiB" style sizes. */
export function formatBytes(bytes) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} ${units[0]}` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A probability as a percentage; ">99%" at the top like the CLI (never a certain "100%"). */
export function formatPercent(probability) {
  const p = Number(probability) || 0;
  if (p >= 0.995) return ">99%";
  if (p > 0 && p < 0.005) return "<1%";
  return `${Math.round(p * 100)}%`;
}

function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** Only http(s) links are made clickable: a reference URL is data, not trusted markup. */
function safeHttpUrl(url) {
  try {
    const parsed = new URL(String(url));
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function randomToken() {
  // crypto.randomUUID needs a secure context; getRandomValues works everywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new ApiError(0, "aborted", ""));
    }, { once: true });
  });
}

/**
 * Parse a text/event-stream body into {event, data} objects (the WHATWG SSE framing:
 * blank-line separated blocks, `event:` / `data:` fields, `:` comments).
 */
export async function* readServerSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // Normalise CRLF / CR, keeping a trailing CR that may pair with the next chunk's LF.
      const keep = buffer.endsWith("\r") ? "\r" : "";
      buffer = buffer.slice(0, buffer.length - keep.length).replace(/\r\n?/g, "\n") + keep;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEventBlock(block);
        if (event) yield event;
      }
    }
    const tail = parseEventBlock(buffer.replace(/\r\n?/g, "\n"));
    if (tail) yield tail;
  } finally {
    reader.cancel().catch(() => {});
  }
}

function parseEventBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { event, data: data.join("\n") } : null;
}

/** Merge [line-CONTEXT, line+CONTEXT] windows around evidence lines into sorted hunks. */
export function contextHunks(lineNumbers, totalLines, context = CONTEXT_LINES) {
  const sorted = [...new Set(lineNumbers)].filter((n) => n >= 1).sort((a, b) => a - b);
  const hunks = [];
  for (const line of sorted) {
    const start = Math.max(1, line - context);
    const end = Math.min(totalLines, line + context);
    const last = hunks[hunks.length - 1];
    if (last && start <= last.end + 1) last.end = Math.max(last.end, end);
    else hunks.push({ start, end });
  }
  return hunks.filter((h) => h.start <= h.end);
}

const STYLE = `
:host {
  --pdx-bg: #ffffff;
  --pdx-surface: #f6f8fa;
  --pdx-fg: #1f2328;
  --pdx-muted: #57606a;
  --pdx-border: #d0d7de;
  --pdx-accent: #0a58ca;
  --pdx-accent-fg: #ffffff;
  --pdx-focus: #0a58ca;
  --pdx-mark-bg: #fff3b0;
  --pdx-mark-border: #9a6700;
  --pdx-ok: #116329;
  --pdx-ok-bg: #dafbe1;
  --pdx-danger: #a40e26;
  --pdx-danger-bg: #ffebe9;
  --pdx-code-bg: #f6f8fa;
  --pdx-radius: 8px;
  --pdx-s0: #0a58ca; --pdx-s1: #b35900; --pdx-s2: #1a7f37; --pdx-s3: #8250df;
  --pdx-s4: #cf222e; --pdx-s5: #0a7e8c; --pdx-s6: #9a6700; --pdx-s7: #bf3989;
  --pdx-s8: #3d5a80; --pdx-s9: #24292f; --pdx-s-other: #8c959f;
  display: block;
  color: var(--pdx-fg);
  background: var(--pdx-bg);
  font-family: var(--pdx-font, system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif);
  font-size: 1rem;
  line-height: 1.5;
  min-width: 0;
}
@media (prefers-color-scheme: dark) {
  :host {
    --pdx-bg: #0d1117;
    --pdx-surface: #161b22;
    --pdx-fg: #e6edf3;
    --pdx-muted: #9ea7b3;
    --pdx-border: #3d444d;
    --pdx-accent: #4493f8;
    --pdx-accent-fg: #0d1117;
    --pdx-focus: #79c0ff;
    --pdx-mark-bg: #3b2e00;
    --pdx-mark-border: #d29922;
    --pdx-ok: #56d364;
    --pdx-ok-bg: #0f2a18;
    --pdx-danger: #ff9492;
    --pdx-danger-bg: #3c0d12;
    --pdx-code-bg: #161b22;
    --pdx-s0: #58a6ff; --pdx-s1: #f0883e; --pdx-s2: #3fb950; --pdx-s3: #bc8cff;
    --pdx-s4: #ff7b72; --pdx-s5: #39c5cf; --pdx-s6: #d29922; --pdx-s7: #f778ba;
    --pdx-s8: #a5d6ff; --pdx-s9: #f0f6fc; --pdx-s-other: #6e7681;
  }
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
h2, h3, h4 { line-height: 1.25; margin: 0 0 .5rem; }
h2 { font-size: 1.25rem; }
h3 { font-size: 1.125rem; }
h4 { font-size: 1rem; margin-top: 1.25rem; }
p { margin: 0 0 .75rem; }
a { color: var(--pdx-accent); }
code, pre, .mono { font-family: var(--pdx-mono, ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", "Liberation Mono", Menlo, monospace); font-size: .875rem; }
.muted { color: var(--pdx-muted); }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.panel { display: grid; gap: 1rem; min-width: 0; }
.panel > * { min-width: 0; }
button, input, select, textarea, summary { font: inherit; color: inherit; }
button {
  cursor: pointer; border: 1px solid var(--pdx-border); background: var(--pdx-surface);
  border-radius: 6px; padding: .45rem .9rem; min-height: 2.5rem; line-height: 1.2;
}
button:hover { border-color: var(--pdx-muted); }
button.primary { background: var(--pdx-accent); color: var(--pdx-accent-fg); border-color: var(--pdx-accent); font-weight: 600; }
button:disabled { cursor: not-allowed; opacity: .6; }
input[type=text], input[type=date], select, textarea {
  background: var(--pdx-bg); border: 1px solid var(--pdx-muted); border-radius: 6px;
  padding: .45rem .6rem; min-height: 2.5rem; max-width: 100%;
}
textarea { width: 100%; min-height: 4rem; }
input[type=file] { width: 100%; max-width: 100%; }
:focus-visible, .drop:focus-visible, summary:focus-visible {
  outline: 3px solid var(--pdx-focus); outline-offset: 2px; border-radius: 4px;
}
.field { display: grid; gap: .25rem; min-width: 0; }
.field > * { min-width: 0; }
.field label, .label { font-weight: 600; font-size: .9375rem; }
.row { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; }
.row > .field { flex: 1 1 12rem; }
.drop {
  border: 2px dashed var(--pdx-muted); border-radius: var(--pdx-radius); background: var(--pdx-surface);
  padding: 1.5rem 1rem; text-align: center; cursor: pointer; display: grid; gap: .25rem; justify-items: center;
}
.drop.over { border-color: var(--pdx-accent); border-style: solid; background: var(--pdx-bg); }
.drop svg { width: 2rem; height: 2rem; color: var(--pdx-accent); }
.drop strong { font-size: 1.0625rem; }
details.meta > summary { cursor: pointer; font-weight: 600; padding: .25rem 0; }
details.meta[open] > summary { margin-bottom: .5rem; }
.box { border: 1px solid var(--pdx-border); border-radius: var(--pdx-radius); padding: 1rem; background: var(--pdx-bg); min-width: 0; }
.upload-head { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .5rem; align-items: center; }
.filename { font-weight: 600; overflow-wrap: anywhere; }
progress { width: 100%; height: .9rem; accent-color: var(--pdx-accent); }
.steps { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem .5rem; padding: 0; margin: 0 0 .5rem; }
.steps li { display: flex; align-items: center; gap: .35rem; color: var(--pdx-muted); font-size: .9375rem; }
.steps li::before {
  content: ""; width: .8rem; height: .8rem; border-radius: 50%; border: 2px solid currentColor; flex: none;
}
.steps li + li::after { content: none; }
.steps li.done { color: var(--pdx-ok); }
.steps li.done::before { background: currentColor; }
.steps li.current { color: var(--pdx-fg); font-weight: 600; }
.steps li.current::before { border-color: var(--pdx-accent); background: var(--pdx-accent); }
.steps li.failed { color: var(--pdx-danger); font-weight: 600; }
.steps li.failed::before { background: currentColor; }
.error {
  border: 1px solid var(--pdx-danger); background: var(--pdx-danger-bg); color: var(--pdx-fg);
  border-radius: var(--pdx-radius); padding: .75rem 1rem;
}
.error:empty { display: none; }
.error strong { color: var(--pdx-danger); display: block; }
.error p { margin: .25rem 0 0; overflow-wrap: anywhere; }
.notice { border-left: 4px solid var(--pdx-accent); background: var(--pdx-surface); padding: .5rem .75rem; border-radius: 4px; }
.card { border: 1px solid var(--pdx-border); border-radius: var(--pdx-radius); padding: 1rem 1.25rem; min-width: 0; }
.card > header { border-bottom: 1px solid var(--pdx-border); padding-bottom: .75rem; margin-bottom: .75rem; }
.eyebrow { text-transform: uppercase; letter-spacing: .06em; font-size: .75rem; font-weight: 700; color: var(--pdx-muted); margin: 0 0 .25rem; }
.card h3 { font-size: 1.3rem; overflow-wrap: anywhere; }
.rcid { margin: 0 0 .5rem; color: var(--pdx-muted); overflow-wrap: anywhere; }
.facts { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center; margin: 0; padding: 0; }
.facts > div { display: flex; gap: .35rem; align-items: baseline; }
.facts dt { color: var(--pdx-muted); font-size: .875rem; }
.facts dd { margin: 0; font-weight: 600; }
.badge {
  display: inline-flex; align-items: center; gap: .35rem; border: 1px solid var(--pdx-border);
  border-radius: 999px; padding: .1rem .6rem; font-size: .875rem; font-weight: 600; background: var(--pdx-surface);
}
.swatch { width: .7rem; height: .7rem; border-radius: 2px; display: inline-block; flex: none; }
.confbar { width: 6rem; height: .5rem; border-radius: 4px; background: var(--pdx-border); overflow: hidden; display: inline-block; vertical-align: middle; }
.confbar > span { display: block; height: 100%; background: var(--pdx-accent); }
.log {
  border: 1px solid var(--pdx-border); border-radius: 6px; background: var(--pdx-code-bg);
  overflow-x: auto; max-width: 100%; padding: .25rem 0;
}
.log .ln { display: flex; white-space: pre; min-width: max-content; }
.log .no { flex: none; width: 4.5rem; text-align: right; padding: 0 .75rem 0 .5rem; color: var(--pdx-muted); user-select: none; }
.log .tx { padding-right: 1rem; }
.log .ln.ev { background: var(--pdx-mark-bg); box-shadow: inset 4px 0 0 var(--pdx-mark-border); font-weight: 600; }
.log .why { display: block; white-space: normal; padding: .1rem 1rem .35rem 5rem; color: var(--pdx-muted); font-size: .8125rem; font-family: inherit; background: var(--pdx-mark-bg); min-width: 0; position: sticky; left: 0; width: 100%; }
.log .gap { color: var(--pdx-muted); padding: 0 .5rem 0 2.2rem; }
ol.fix { padding-left: 1.5rem; margin: 0; }
ol.fix > li { min-width: 0; }
ol.fix > li + li { margin-top: .75rem; }
ol.fix p { margin: 0 0 .35rem; }
.cmd { display: flex; gap: .5rem; align-items: stretch; min-width: 0; }
.cmd pre { flex: 1 1 auto; min-width: 0; margin: 0; overflow-x: auto; background: var(--pdx-code-bg); border: 1px solid var(--pdx-border); border-radius: 6px; padding: .5rem .75rem; }
.cmd button { flex: none; }
ul.plain { padding-left: 1.25rem; margin: 0; }
ul.plain li { margin-bottom: .25rem; overflow-wrap: anywhere; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.details dt { color: var(--pdx-muted); }
dl.details dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
@media (max-width: 480px) {
  dl.details { grid-template-columns: 1fr; }
  dl.details dd { margin-bottom: .4rem; }
  .cmd { flex-direction: column; }
  .card { padding: .75rem; }
  .log .no { width: 3.25rem; }
  .log .why { padding-left: 1rem; }
}
.warn { border-left: 4px solid var(--pdx-mark-border); background: var(--pdx-surface); padding: .5rem .75rem; border-radius: 4px; }
fieldset { border: 1px solid var(--pdx-border); border-radius: 6px; padding: .5rem .75rem; margin: 0; }
legend { font-weight: 600; padding: 0 .25rem; }
.choice { display: flex; gap: .5rem; align-items: center; min-height: 2rem; }
.choice input { width: 1.1rem; height: 1.1rem; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
.fbform { display: grid; gap: .75rem; margin-top: .75rem; }
.fbform select, .fbform input[type=text] { width: 100%; }
.ok { color: var(--pdx-ok); font-weight: 600; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem; }
.tile { border: 1px solid var(--pdx-border); border-radius: var(--pdx-radius); padding: .75rem 1rem; background: var(--pdx-surface); }
.tile .num { font-size: 1.75rem; font-weight: 700; line-height: 1.1; display: block; }
.tile .what { color: var(--pdx-muted); font-size: .875rem; }
figure { margin: 0; min-width: 0; }
figcaption { font-weight: 600; margin-bottom: .5rem; }
.chart { width: 100%; min-height: 240px; }
.chart svg { display: block; width: 100%; height: 240px; }
.chart text { fill: var(--pdx-muted); font-size: 12px; font-family: inherit; }
.chart .grid { stroke: var(--pdx-border); stroke-width: 1; }
.chart .axis { stroke: var(--pdx-muted); stroke-width: 1; }
.chart rect.seg { stroke: var(--pdx-bg); stroke-width: 1; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .35rem 1rem; padding: 0; margin: .5rem 0 0; font-size: .875rem; }
.legend li { display: flex; align-items: center; gap: .35rem; }
.table-wrap { overflow-x: auto; max-width: 100%; border: 1px solid var(--pdx-border); border-radius: var(--pdx-radius); }
table { border-collapse: collapse; width: 100%; font-size: .9375rem; }
th, td { text-align: left; padding: .45rem .75rem; border-bottom: 1px solid var(--pdx-border); vertical-align: top; }
th { background: var(--pdx-surface); font-weight: 600; }
tbody tr:last-child td { border-bottom: 0; }
td.nowrap { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td .sub { display: block; color: var(--pdx-muted); font-size: .8125rem; overflow-wrap: anywhere; }
.range { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; }
.recent ul { list-style: none; padding: 0; margin: .5rem 0 0; display: grid; gap: .35rem; }
.recent li button { width: 100%; text-align: left; display: flex; flex-wrap: wrap; justify-content: space-between; gap: .25rem .75rem; }
.recent li button span { overflow-wrap: anywhere; }
`;

const UPLOAD_ICON = () =>
  svgEl("svg", { viewBox: "0 0 24 24", fill: "none", stroke: "currentColor", "stroke-width": "2", "aria-hidden": "true", focusable: "false" },
    svgEl("path", { d: "M12 16V4m0 0-5 5m5-5 5 5M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3", "stroke-linecap": "round", "stroke-linejoin": "round" }));

/** The custom element. */
export class PanicDiagnosis extends HTMLElement {
  static get observedAttributes() {
    return ["api-base", "api-key", "view", "diagnosis-id"];
  }

  #key = null;
  #root;
  #ui = {}; // named nodes of the current view
  #job = null; // the job shown in the diagnose view
  #xhr = null;
  #follow = null; // AbortController of the live job stream / polling
  #rootCauses = null; // cached GET /v1/root-causes items
  #categories = null; // cached category ids (+ names when the API has them)
  #resize = null;
  #stats = null;
  #statsRange = null;
  #renderedView = null;
  #lastAnnounced = null; // the job state last announced to screen readers

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: "open" });
  }

  /** The API key sent as a Bearer token (property wins over the attribute once set). */
  get key() {
    return this.#key ?? this.getAttribute("api-key") ?? "";
  }

  set key(value) {
    this.#key = value ? String(value).trim() : null;
    this.#onKeyChanged();
  }

  /** The API origin/prefix, without a trailing slash ("" = this page's origin). */
  get apiBase() {
    return (this.getAttribute("api-base") || "").replace(/\/+$/, "");
  }

  set apiBase(value) {
    this.setAttribute("api-base", value || "");
  }

  /** `diagnose` or `fleet`. */
  get view() {
    return this.getAttribute("view") === "fleet" ? "fleet" : "diagnose";
  }

  set view(value) {
    this.setAttribute("view", value);
  }

  /** The job JSON currently shown (null: none yet). */
  get job() {
    return this.#job;
  }

  connectedCallback() {
    if (this.#renderedView !== this.view) this.#render();
    else if (this.#job && this.#job.state !== "done" && this.#job.state !== "failed") {
      // Moved in the page: disconnecting stopped following the job, pick it up again.
      this.#followJob(this.#job.id);
    }
  }

  disconnectedCallback() {
    this.#follow?.abort();
    this.#resize?.disconnect();
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this.isConnected) return;
    if (name === "view") this.#render();
    else if (name === "api-key") {
      this.#key = null;
      this.#onKeyChanged();
    } else if (name === "api-base") {
      this.#rootCauses = null;
      this.#categories = null;
      this.#onKeyChanged();
    } else if (name === "diagnosis-id" && newValue && this.view === "diagnose") {
      this.openDiagnosis(newValue);
    }
  }

  /** Reload what the current view shows (fleet stats, or the recent diagnoses list). */
  refresh() {
    if (this.view === "fleet") return this.#loadStats();
    return this.#loadRecent();
  }

  /** Show an existing diagnosis by id, following it live until it finishes. */
  async openDiagnosis(id) {
    if (this.view !== "diagnose") return;
    this.#resetDiagnose();
    try {
      const job = await this.#api("GET", `/v1/diagnoses/${encodeURIComponent(id)}`);
      this.#showJob(job);
    } catch (error) {
      this.#showError(error);
    }
  }

  // ---------------------------------------------------------------- plumbing

  #url(path) {
    return `${this.apiBase}${path}`;
  }

  #headers(extra = {}) {
    const headers = { Accept: "application/json", ...extra };
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    return headers;
  }

  /**
   * fetch + JSON, turning every failure into an ApiError. With `stream` (a media type such as
   * text/event-stream) the response itself is returned for the caller to read.
   */
  async #api(method, path, { body, signal, stream } = {}) {
    if (!this.key) throw new ApiError(0, "no_key", "");
    let response;
    try {
      response = await fetch(this.#url(path), {
        method,
        headers: this.#headers({
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...(stream ? { Accept: stream } : {}),
        }),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: "no-store",
      });
    } catch (error) {
      if (signal?.aborted) throw new ApiError(0, "aborted", "");
      throw new ApiError(0, "network", String(error?.message || ""));
    }
    if (!response.ok) throw await errorFromResponse(response);
    if (stream) return response;
    if (response.status === 204) return null;
    try {
      return await response.json();
    } catch {
      throw new ApiError(response.status, "bad_response", "");
    }
  }

  #emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  #announce(text) {
    const region = this.#ui.announce;
    if (!region) return;
    // Clear first so the same words are announced again.
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 30);
  }

  #showError(error) {
    const box = this.#ui.error;
    if (!box) return;
    const info = describeError(error);
    box.replaceChildren(el("strong", { text: info.title }));
    if (info.detail) box.append(el("p", { text: `The service said: ${info.detail}` }));
    box.dataset.code = info.code;
    this.#emit("api-error", { status: info.status, code: info.code, message: info.detail });
  }

  #clearError() {
    if (this.#ui.error) {
      this.#ui.error.replaceChildren();
      delete this.#ui.error.dataset.code;
    }
  }

  #onKeyChanged() {
    if (!this.isConnected) return;
    this.#clearError();
    // A fleet view inside a hidden tab loads when it is shown (the host calls refresh()).
    if (this.view === "fleet") {
      if (this.#isShown()) this.#loadStats();
    } else this.#loadRecent();
  }

  #isShown() {
    return this.getClientRects().length > 0;
  }

  #render() {
    this.#follow?.abort();
    this.#resize?.disconnect();
    this.#ui = {};
    this.#renderedView = this.view;
    const style = el("style", { text: STYLE });
    const body = this.view === "fleet" ? this.#buildFleet() : this.#buildDiagnose();
    this.#root.replaceChildren(style, body);
    if (this.view === "fleet") {
      if (this.#isShown()) this.#loadStats();
    }
    else {
      this.#loadRecent();
      const id = this.getAttribute("diagnosis-id");
      if (id) this.openDiagnosis(id);
    }
  }

  // ---------------------------------------------------------------- diagnose view

  #buildDiagnose() {
    const ui = this.#ui;
    ui.file = el("input", { type: "file", id: "file", "aria-describedby": "drop-help" });
    ui.file.addEventListener("change", () => {
      const file = ui.file.files?.[0];
      if (file) this.#upload(file);
    });
    ui.drop = el("div", {
      class: "drop", role: "button", tabindex: "0", id: "drop",
      "aria-label": "Upload a kernel log or crash dump: drop a file here, or press Enter to choose one",
      "aria-describedby": "drop-help",
    },
    UPLOAD_ICON(),
    el("strong", { text: "Drop a kernel log or crash dump here" }),
    el("span", { class: "muted", id: "drop-help", text: "or press Enter to choose a file: dmesg, journalctl -k, console or netconsole capture, vmcore-dmesg.txt, vmcore (compressed is fine)." }));
    ui.drop.addEventListener("click", () => ui.file.click());
    ui.drop.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        ui.file.click();
      }
    });
    ui.drop.addEventListener("dragover", (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      ui.drop.classList.add("over");
    });
    ui.drop.addEventListener("dragleave", () => ui.drop.classList.remove("over"));
    ui.drop.addEventListener("drop", (event) => {
      event.preventDefault();
      ui.drop.classList.remove("over");
      const files = event.dataTransfer?.files;
      if (files?.length) this.#upload(files[0]);
    });

    ui.host = el("input", { type: "text", id: "meta-host", autocomplete: "off", spellcheck: "false" });
    ui.instance = el("input", { type: "text", id: "meta-instance", autocomplete: "off", spellcheck: "false" });
    ui.tags = el("input", { type: "text", id: "meta-tags", autocomplete: "off", "aria-describedby": "meta-tags-help" });
    const meta = el("details", { class: "meta" },
      el("summary", { text: "Optional details: host, instance, tags" }),
      el("div", { class: "row" },
        el("div", { class: "field" }, el("label", { for: "meta-host", text: "Host name" }), ui.host),
        el("div", { class: "field" }, el("label", { for: "meta-instance", text: "Instance id" }), ui.instance),
        el("div", { class: "field" }, el("label", { for: "meta-tags", text: "Tags" }), ui.tags,
          el("span", { class: "muted", id: "meta-tags-help", text: "comma-separated, e.g. prod,db" }))));

    ui.uploadName = el("span", { class: "filename" });
    ui.uploadProgress = el("progress", { id: "upload-progress", max: "1", value: "0", "aria-labelledby": "upload-label" });
    ui.uploadText = el("span", { id: "upload-text", class: "muted" });
    ui.cancel = el("button", { type: "button", id: "upload-cancel", text: "Cancel upload", onclick: () => this.#xhr?.abort() });
    ui.upload = el("div", { class: "box upload", hidden: true, "aria-labelledby": "upload-label", role: "group" },
      el("div", { class: "upload-head" },
        el("span", {}, el("span", { id: "upload-label", class: "label", text: "Upload " }), ui.uploadName),
        ui.cancel),
      ui.uploadProgress,
      ui.uploadText);

    ui.steps = el("ol", { class: "steps", "aria-label": "Job progress" },
      JOB_STEPS.map(([state, label]) => el("li", { "data-step": state, text: label })));
    ui.jobProgress = el("progress", { id: "job-progress", max: "1", value: "0", "aria-labelledby": "job-label" });
    ui.jobText = el("p", { id: "job-text", class: "muted" });
    ui.jobSection = el("div", { class: "box job", hidden: true, role: "group", "aria-labelledby": "job-label" },
      el("p", { class: "label", id: "job-label", text: "Diagnosis job" }),
      ui.steps, ui.jobProgress, ui.jobText);

    ui.error = el("div", { class: "error", role: "alert", id: "error" });
    ui.announce = el("div", { class: "sr-only", role: "status", "aria-live": "polite", id: "announce" });
    ui.result = el("div", { id: "result", hidden: true });
    ui.again = el("button", { type: "button", id: "again", hidden: true, text: "Diagnose another file", onclick: () => {
      this.#resetDiagnose();
      ui.drop.focus();
    } });

    ui.recentList = el("ul", {});
    ui.recent = el("details", { class: "meta recent", id: "recent" },
      el("summary", { text: "Recent diagnoses" }),
      el("p", { class: "muted", id: "recent-empty", text: "None yet." }),
      ui.recentList);
    ui.recent.addEventListener("toggle", () => { if (ui.recent.open) this.#loadRecent(); });

    ui.intro = el("p", { class: "muted", text: "panicdx finds why the machine panicked, shows the log lines that prove it, and what to do about it." });
    return el("section", { class: "panel", "aria-labelledby": "diagnose-heading" },
      el("h2", { id: "diagnose-heading", text: "Diagnose a kernel panic" }),
      ui.intro,
      ui.drop,
      el("div", { class: "field" }, el("label", { for: "file", text: "Or choose a file" }), ui.file),
      meta,
      ui.error,
      ui.upload,
      ui.jobSection,
      ui.result,
      ui.again,
      ui.recent,
      ui.announce);
  }

  #resetDiagnose() {
    this.#follow?.abort();
    this.#xhr?.abort();
    this.#job = null;
    const ui = this.#ui;
    if (!ui.result) return;
    this.#clearError();
    ui.upload.hidden = true;
    ui.jobSection.hidden = true;
    ui.result.hidden = true;
    ui.result.replaceChildren();
    ui.again.hidden = true;
    ui.file.value = "";
  }

  /** Send one file with XMLHttpRequest: fetch cannot report upload progress. */
  async #upload(file) {
    const ui = this.#ui;
    this.#resetDiagnose();
    if (!this.key) {
      this.#showError(new ApiError(0, "no_key", ""));
      return;
    }
    ui.upload.hidden = false;
    ui.uploadName.textContent = `${file.name} (${formatBytes(file.size)})`;
    ui.uploadProgress.max = file.size || 1;
    ui.uploadProgress.value = 0;
    ui.uploadProgress.removeAttribute("data-complete");
    ui.uploadText.textContent = "Starting upload…";
    ui.cancel.hidden = false;
    this.#announce(`Uploading ${file.name}`);

    const params = new URLSearchParams({ filename: file.name });
    if (ui.host.value.trim()) params.set("host", ui.host.value.trim());
    if (ui.instance.value.trim()) params.set("instance_id", ui.instance.value.trim());
    if (ui.tags.value.trim()) params.set("tags", ui.tags.value.trim());

    let job;
    try {
      job = await new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        this.#xhr = xhr;
        xhr.open("POST", this.#url(`/v1/diagnoses?${params}`));
        xhr.setRequestHeader("Authorization", `Bearer ${this.key}`);
        xhr.setRequestHeader("Accept", "application/json");
        // The raw body form streams the file as it is (no multipart framing to buffer).
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
        // A retry of this very upload must not create a second job.
        xhr.setRequestHeader("Idempotency-Key", randomToken());
        xhr.upload.addEventListener("progress", (event) => {
          const total = event.lengthComputable ? event.total : file.size;
          this.#uploadProgress(event.loaded, total);
        });
        xhr.upload.addEventListener("load", () => {
          this.#uploadProgress(file.size, file.size);
          ui.uploadText.textContent = `Uploaded ${formatBytes(file.size)}. Waiting for the service…`;
          ui.cancel.hidden = true;
        });
        xhr.addEventListener("load", () => {
          let body = null;
          try {
            body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
          } catch {
            body = null;
          }
          if (xhr.status >= 200 && xhr.status < 300 && body && body.id) resolve(body);
          else if (body && body.code) reject(new ApiError(xhr.status, body.code, body.message || ""));
          else reject(new ApiError(xhr.status, xhr.status >= 500 ? "internal_error" : "bad_response", `HTTP ${xhr.status}`));
        });
        xhr.addEventListener("error", () => reject(new ApiError(0, "network", "")));
        xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "")));
        xhr.send(file);
      });
    } catch (error) {
      ui.cancel.hidden = true;
      ui.uploadText.textContent = error.code === "aborted" ? "Upload cancelled." : "Upload failed.";
      this.#showError(error);
      ui.again.hidden = false;
      return;
    } finally {
      this.#xhr = null;
    }
    ui.cancel.hidden = true;
    ui.uploadText.textContent = `Uploaded ${formatBytes(file.size)}.`;
    this.#showJob(job);
  }

  #uploadProgress(loaded, total) {
    const ui = this.#ui;
    ui.uploadProgress.max = total || 1;
    ui.uploadProgress.value = Math.min(loaded, total || 1);
    const percent = total ? Math.floor((loaded / total) * 100) : 100;
    ui.uploadProgress.dataset.percent = String(percent);
    if (total && loaded >= total) ui.uploadProgress.dataset.complete = "true";
    ui.uploadText.textContent = `${formatBytes(loaded)} of ${formatBytes(total)} sent (${percent}%)`;
  }

  /** Show a job: the result when finished, else its live state until it finishes. */
  #showJob(job) {
    this.#job = job;
    this.#updateJobState(job);
    if (job.state === "done" || job.state === "failed") this.#finish(job);
    else this.#followJob(job.id);
  }

  #updateJobState(job) {
    const ui = this.#ui;
    ui.jobSection.hidden = false;
    ui.jobSection.dataset.state = job.state;
    const order = JOB_STEPS.map(([state]) => state);
    const failed = job.state === "failed";
    // A failed job stopped at the step it had reached; its stage_message says which.
    const reached = failed ? Math.max(0, order.indexOf(guessFailedStep(job))) : order.indexOf(job.state);
    for (const item of ui.steps.children) {
      const index = order.indexOf(item.dataset.step);
      item.className = "";
      item.removeAttribute("aria-current");
      if (failed && index === reached) item.className = "failed";
      else if (index < reached || job.state === "done") item.className = "done";
      else if (index === reached) {
        item.className = "current";
        item.setAttribute("aria-current", "step");
      }
      const label = JOB_STEPS[index][1];
      const suffix = item.className === "done" ? " (complete)" : item.className === "current" ? " (in progress)" : item.className === "failed" ? " (failed)" : "";
      item.setAttribute("aria-label", `${label}${suffix}`);
    }
    const progress = job.state === "done" ? 1 : Math.max(0, Math.min(1, Number(job.progress) || 0));
    ui.jobProgress.value = progress;
    const stateWord = failed ? "Failed" : JOB_STEPS.find(([s]) => s === job.state)?.[1] || job.state;
    const stage = String(job.stage_message || "").trim();
    const message = stage && stage.toLowerCase() !== job.state ? `: ${stage}` : "";
    ui.jobText.textContent = `${stateWord}${message} (${Math.round(progress * 100)}%)`;
    if (this.#lastAnnounced !== job.state) {
      this.#lastAnnounced = job.state;
      this.#announce(`Diagnosis ${stateWord.toLowerCase()}`);
    }
  }

  async #followJob(id) {
    this.#follow?.abort();
    const controller = new AbortController();
    this.#follow = controller;
    const { signal } = controller;
    let final = null;
    try {
      final = await this.#followStream(id, signal);
    } catch (error) {
      if (signal.aborted) return;
      // The event stream is an optimisation: polling below gives the same answer.
    }
    try {
      if (!final) final = await this.#pollJob(id, signal);
    } catch (error) {
      if (signal.aborted) return;
      this.#showError(error);
      return;
    }
    if (!signal.aborted) this.#finish(final);
  }

  /** Read GET /v1/diagnoses/{id}/events with fetch (EventSource cannot send the key). */
  async #followStream(id, signal) {
    const response = await this.#api("GET", `/v1/diagnoses/${encodeURIComponent(id)}/events`, { signal, stream: "text/event-stream" });
    if (!response.body || !(response.headers.get("content-type") || "").includes("text/event-stream")) return null;
    for await (const { event, data } of readServerSentEvents(response.body)) {
      if (signal.aborted) return null;
      let job;
      try {
        job = JSON.parse(data);
      } catch {
        continue;
      }
      if (event === "state") {
        this.#job = { ...this.#job, ...job };
        this.#updateJobState(this.#job);
      } else if (event === "done" || event === "failed") {
        return job;
      }
    }
    return null;
  }

  async #pollJob(id, signal) {
    let delay = POLL_FIRST_MS;
    for (;;) {
      const job = await this.#api("GET", `/v1/diagnoses/${encodeURIComponent(id)}`, { signal });
      this.#job = job;
      this.#updateJobState(job);
      if (job.state === "done" || job.state === "failed") return job;
      await sleep(delay, signal);
      delay = Math.min(POLL_MAX_MS, delay * 1.5);
    }
  }

  #finish(job) {
    this.#job = job;
    this.#updateJobState(job);
    const ui = this.#ui;
    ui.again.hidden = false;
    if (job.state === "failed") {
      const error = job.error || {};
      this.#showError(new ApiError(0, error.code || "internal_error", error.message || ""));
      this.#announce("The diagnosis failed");
      this.#emit("diagnosis-failed", job);
      return;
    }
    if (!job.result) {
      this.#showError(new ApiError(0, "bad_response", "the finished job has no result"));
      return;
    }
    this.#renderResult(job);
    this.#emit("diagnosis-done", job);
    if (ui.recent.open) this.#loadRecent();
  }

  // ---------------------------------------------------------------- result card

  #renderResult(job) {
    const ui = this.#ui;
    const dx = job.result;
    const rc = dx.root_cause;
    const report = dx.report || {};
    const title = rc ? rc.title : dx.category === "unknown"
      ? "No root cause: the log does not support an answer"
      : `No specific known issue; category ${dx.category}`;
    const source = dx.source || {};
    const confidence = Number(dx.confidence) || 0;

    const header = el("header", {},
      el("p", { class: "eyebrow", text: rc ? "Root cause" : "Result" }),
      el("h3", { id: "rc-title", text: title }),
      rc ? el("p", { class: "rcid" }, el("code", { id: "rc-id", text: rc.id })) : null,
      report.title ? el("p", { class: "muted", id: "crash-title" }, "Crash: ", el("span", { class: "mono", text: report.title })) : null,
      el("dl", { class: "facts" },
        el("div", {}, el("dt", { text: "Category" }),
          el("dd", {}, el("span", { class: "badge", id: "category", "data-category": dx.category, text: dx.category }))),
        el("div", {}, el("dt", { text: "Confidence" }),
          el("dd", { id: "confidence" }, el("span", { class: "confbar", "aria-hidden": "true" }, el("span", { style: { width: `${Math.round(confidence * 100)}%` } })), " ", formatPercent(confidence))),
        el("div", {}, el("dt", { text: "Decided by" }), el("dd", { id: "decided-by", text: dx.decided_by })),
        el("div", {}, el("dt", { text: "Source" }),
          el("dd", { id: "source", text: source.format && source.format !== source.kind ? `${source.kind} (${source.format})` : source.kind || "" })),
        el("div", {}, el("dt", { text: "Evidence tier" }), el("dd", { id: "tier", text: source.tier || "" }))));

    const sections = [];
    if (dx.summary) sections.push(el("p", { id: "summary", text: dx.summary.trim() }));
    if (dx.applicability && dx.applicability.status !== "unknown") {
      // "affected" is a call to action (upgrade), the other statuses are information.
      const tone = dx.applicability.status === "affected" ? "warn" : "notice";
      sections.push(el("p", { class: tone, id: "applicability", "data-status": dx.applicability.status }, el("strong", { text: "Your kernel: " }), dx.applicability.message));
    }

    const evidenceBox = el("div", { id: "evidence" });
    sections.push(el("section", { "aria-labelledby": "h-evidence" },
      el("h4", { id: "h-evidence", text: "Evidence in the log" }), evidenceBox));
    this.#renderEvidence(evidenceBox, dx.evidence || [], null, true);
    if ((dx.evidence || []).length) this.#loadLogContext(job.id, dx.evidence, evidenceBox);

    if ((dx.remediation || []).length) {
      sections.push(el("section", { "aria-labelledby": "h-fix" },
        el("h4", { id: "h-fix", text: "What to do" }),
        el("ol", { class: "fix", id: "remediation" }, dx.remediation.map((step, i) => this.#remediationStep(step, i + 1)))));
    }
    if ((dx.verify || []).length) {
      sections.push(el("section", { "aria-labelledby": "h-verify" },
        el("h4", { id: "h-verify", text: "How to verify" }),
        el("ul", { class: "plain", id: "verify" }, dx.verify.map((v) => el("li", { text: v.trim() })))));
    }
    if ((dx.fixed_in || []).length) {
      sections.push(el("section", { "aria-labelledby": "h-fixed" },
        el("h4", { id: "h-fixed", text: "Fixed in" }),
        el("ul", { class: "plain", id: "fixed-in" }, dx.fixed_in.map((f) => el("li", {}, el("span", { text: `${f.stream}: ` }), el("strong", { class: "mono", text: f.version }))))));
    }
    if ((dx.references || []).length) {
      sections.push(el("section", { "aria-labelledby": "h-refs" },
        el("h4", { id: "h-refs", text: "References" }),
        el("ul", { class: "plain", id: "references" }, dx.references.map((ref) => {
          const href = safeHttpUrl(ref.url);
          const label = ref.title || ref.url;
          return el("li", {},
            href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: label }) : el("span", { text: `${label} (${ref.url})` }),
            ref.kind ? el("span", { class: "muted", text: ` (${ref.kind})` }) : null);
        }))));
    }
    if ((dx.alternatives || []).length) {
      sections.push(el("section", { "aria-labelledby": "h-alt" },
        el("h4", { id: "h-alt", text: "Also possible" }),
        el("ul", { class: "plain", id: "alternatives" }, dx.alternatives.map((alt) => el("li", {},
          el("span", { text: alt.title }), " ",
          el("span", { class: "muted" }, "(", el("code", { text: alt.id }), `, ${alt.category}) `),
          el("strong", { text: formatPercent(alt.confidence) }))))));
    }
    if ((dx.warnings || []).length) {
      sections.push(el("section", { "aria-labelledby": "h-warn" },
        el("h4", { id: "h-warn", text: "Warnings" }),
        el("ul", { class: "plain warn", id: "warnings" }, dx.warnings.map((w) => el("li", { text: w })))));
    }
    const details = [
      ["Kernel", report.kernel_release],
      ["Guilty function", report.guilty_frame],
      ["Hardware", report.hardware],
      ["Taint", report.taint],
      ["Signature", dx.signature],
      ["Model", dx.model?.version ?? "none"],
      ["Knowledge base", dx.model?.kb_version],
      ["File", job.upload ? `${job.upload.filename} (${formatBytes(job.upload.size)})` : null],
      ["Host", job.host],
      ["Diagnosis id", job.id],
      ["Finished", formatTime(job.finished_at)],
    ].filter(([, value]) => value !== null && value !== undefined && value !== "");
    sections.push(el("section", { "aria-labelledby": "h-details" },
      el("h4", { id: "h-details", text: "Details" }),
      el("dl", { class: "details", id: "details" }, details.map(([k, v]) => [el("dt", { text: k }), el("dd", { class: k === "Signature" || k === "Diagnosis id" ? "mono" : null, text: String(v) })]))));
    sections.push(this.#buildFeedback(job));

    const card = el("article", { class: "card", "aria-labelledby": "rc-title", "data-root-cause": rc ? rc.id : "", "data-category": dx.category }, header, sections);
    ui.result.replaceChildren(card);
    ui.result.hidden = false;
    this.#announce(`Diagnosis ready: ${title}, confidence ${formatPercent(confidence)}`);
  }

  #remediationStep(step, number) {
    const children = [el("p", { text: step.text.trim() })];
    if (step.command) {
      const code = el("code", { text: step.command });
      const pre = el("pre", { tabindex: "0", "aria-label": `Command for step ${number}` }, code);
      const button = el("button", { type: "button", class: "copy", "aria-label": `Copy the command of step ${number}`, text: "Copy" });
      button.addEventListener("click", async () => {
        const ok = await copyText(step.command);
        if (ok) {
          button.textContent = "Copied";
          this.#announce(`Command of step ${number} copied`);
        } else {
          selectNode(code);
          button.textContent = "Press Ctrl+C";
          this.#announce("Copying is blocked here: the command is selected, press Control C to copy it");
        }
        setTimeout(() => { button.textContent = "Copy"; }, 2500);
      });
      children.push(el("div", { class: "cmd" }, pre, button));
    }
    return el("li", {}, children);
  }

  /** Evidence lines, with the surrounding log when `lines` (the log's first lines) is known. */
  #renderEvidence(box, evidence, lines, loading) {
    if (!evidence.length) {
      box.replaceChildren(el("p", { class: "muted", text: "No log lines support this answer." }));
      return;
    }
    const byLine = new Map();
    for (const item of evidence) {
      if (!byLine.has(item.line)) byLine.set(item.line, []);
      byLine.get(item.line).push(item);
    }
    const rows = [];
    const evidenceRow = (number, text) => {
      const items = byLine.get(number);
      rows.push(el("div", { class: "ln ev", "data-line": number },
        el("span", { class: "no", text: String(number) }),
        el("span", { class: "tx" }, el("span", { class: "sr-only", text: "Evidence: " }), text)));
      for (const item of items) rows.push(el("span", { class: "why", text: `↑ ${item.why}` }));
    };
    if (lines) {
      const hunks = contextHunks([...byLine.keys()], lines.length);
      hunks.forEach((hunk, i) => {
        if (i > 0 || hunk.start > 1) rows.push(el("div", { class: "gap", "aria-hidden": "true", text: "⋯" }));
        for (let n = hunk.start; n <= hunk.end; n += 1) {
          const text = lines[n - 1];
          if (byLine.has(n)) evidenceRow(n, text);
          else rows.push(el("div", { class: "ln", "data-line": n }, el("span", { class: "no", text: String(n) }), el("span", { class: "tx", text })));
        }
      });
      // Evidence past the end of the log text we have (should not happen): still show it.
      for (const number of [...byLine.keys()].filter((n) => n > lines.length).sort((a, b) => a - b)) {
        rows.push(el("div", { class: "gap", "aria-hidden": "true", text: "⋯" }));
        evidenceRow(number, byLine.get(number)[0].text);
      }
    } else {
      for (const number of [...byLine.keys()].sort((a, b) => a - b)) evidenceRow(number, byLine.get(number)[0].text);
    }
    const log = el("div", { class: "log mono", role: "region", tabindex: "0", "aria-label": "Log excerpt, evidence lines highlighted", "data-context": lines ? "true" : "false" }, rows);
    const note = lines
      ? el("p", { class: "muted", text: `Highlighted: ${byLine.size === 1 ? "the line that supports" : `the ${byLine.size} lines that support`} the answer, with ${CONTEXT_LINES} lines of context around each.` })
      : el("p", { class: "muted", text: loading ? "Loading the surrounding log lines…" : "The service did not provide the log text, so only the evidence lines are shown." });
    box.replaceChildren(note, log);
  }

  /** Read the extracted log only up to the last evidence line (+context), then stop. */
  async #loadLogContext(id, evidence, box) {
    const lastWanted = Math.max(...evidence.map((e) => e.line)) + CONTEXT_LINES;
    let lines = null;
    try {
      const response = await this.#api("GET", `/v1/diagnoses/${encodeURIComponent(id)}/log`, { stream: "text/plain" });
      lines = await readLines(response.body, lastWanted);
    } catch {
      lines = null; // older servers have no log endpoint: evidence lines alone are still right
    }
    if (box.isConnected) this.#renderEvidence(box, evidence, lines, false);
  }

  // ---------------------------------------------------------------- feedback

  #buildFeedback(job) {
    const status = el("p", { role: "status", id: "fb-status", class: "ok" });
    const history = el("ul", { class: "plain", id: "fb-history" });
    const renderHistory = (items) => {
      history.replaceChildren(...items.map((item) => el("li", { text: describeFeedback(item) })));
    };
    renderHistory(job.feedback || []);

    const confirm = el("button", { type: "button", class: "primary", id: "fb-confirm", text: "Yes, this is right" });
    const toggle = el("button", { type: "button", id: "fb-correct", "aria-expanded": "false", "aria-controls": "fb-form", text: "No, correct it" });

    const rcSelect = el("select", { id: "fb-rc" }, el("option", { value: "", text: "Loading root causes…" }));
    const newCause = el("input", { type: "text", id: "fb-new", maxlength: "300", autocomplete: "off" });
    const catSelect = el("select", { id: "fb-cat" }, el("option", { value: "", text: "Choose a category" }));
    const note = el("textarea", { id: "fb-note", maxlength: "2000", rows: "2" });
    const kindKnown = el("input", { type: "radio", name: "fb-kind", id: "fb-kind-known", value: "known", checked: true });
    const kindNew = el("input", { type: "radio", name: "fb-kind", id: "fb-kind-new", value: "new" });
    const knownField = el("div", { class: "field" }, el("label", { for: "fb-rc", text: "Root cause" }), rcSelect);
    const newFields = el("div", { class: "row", hidden: true },
      el("div", { class: "field" }, el("label", { for: "fb-new", text: "Describe the cause" }), newCause),
      el("div", { class: "field" }, el("label", { for: "fb-cat", text: "Category" }), catSelect));
    const syncKind = () => {
      knownField.hidden = !kindKnown.checked;
      newFields.hidden = kindKnown.checked;
    };
    kindKnown.addEventListener("change", syncKind);
    kindNew.addEventListener("change", syncKind);
    const submit = el("button", { type: "submit", class: "primary", id: "fb-send", text: "Send correction" });
    const form = el("form", { class: "fbform", id: "fb-form", hidden: true, novalidate: true },
      el("fieldset", {}, el("legend", { text: "The real cause is" }),
        el("div", { class: "choice" }, kindKnown, el("label", { for: "fb-kind-known", text: "a known root cause" })),
        el("div", { class: "choice" }, kindNew, el("label", { for: "fb-kind-new", text: "a new cause, not in the knowledge base" }))),
      knownField, newFields,
      el("div", { class: "field" }, el("label", { for: "fb-note", text: "Note (optional)" }), note),
      el("div", { class: "actions" }, submit));

    const send = async (body, button) => {
      this.#clearError();
      status.textContent = "";
      button.disabled = true;
      try {
        const item = await this.#api("POST", `/v1/diagnoses/${encodeURIComponent(job.id)}/feedback`, { body });
        job.feedback = [...(job.feedback || []), item];
        renderHistory(job.feedback);
        status.textContent = body.verdict === "confirm" ? "Thank you: your confirmation was recorded." : "Thank you: your correction was recorded.";
        this.#emit("feedback-sent", item);
        return true;
      } catch (error) {
        this.#showError(error);
        return false;
      } finally {
        button.disabled = false;
      }
    };
    confirm.addEventListener("click", () => send({ verdict: "confirm" }, confirm));
    toggle.addEventListener("click", async () => {
      const open = form.hidden;
      form.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      if (open) {
        await this.#fillFeedbackChoices(rcSelect, catSelect, job.result);
        (kindKnown.checked ? rcSelect : newCause).focus();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { verdict: "correct" };
      if (kindKnown.checked) {
        if (!rcSelect.value) {
          this.#showError(new ApiError(0, "invalid_request", "Choose the root cause it really was."));
          rcSelect.focus();
          return;
        }
        body.root_cause = rcSelect.value;
      } else {
        if (!newCause.value.trim() || !catSelect.value) {
          this.#showError(new ApiError(0, "invalid_request", "Describe the new cause and choose its category."));
          (newCause.value.trim() ? catSelect : newCause).focus();
          return;
        }
        body.new_cause = newCause.value.trim();
        body.category = catSelect.value;
      }
      if (note.value.trim()) body.note = note.value.trim();
      if (await send(body, submit)) {
        form.hidden = true;
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });

    return el("section", { class: "feedback", "aria-labelledby": "h-feedback" },
      el("h4", { id: "h-feedback", text: "Is this diagnosis right?" }),
      el("p", { class: "muted", text: "Your answer is stored as a labelled example and teaches the next model." }),
      el("div", { class: "actions" }, confirm, toggle),
      form, status, history);
  }

  async #fillFeedbackChoices(rcSelect, catSelect, dx) {
    try {
      if (!this.#rootCauses) this.#rootCauses = (await this.#api("GET", "/v1/root-causes")).items || [];
      if (!this.#categories) this.#categories = await this.#loadCategories(this.#rootCauses);
    } catch (error) {
      this.#showError(error);
      return;
    }
    const current = dx.root_cause?.id;
    const groups = new Map();
    for (const item of [...this.#rootCauses].sort((a, b) => a.category.localeCompare(b.category) || a.title.localeCompare(b.title))) {
      if (!groups.has(item.category)) groups.set(item.category, []);
      groups.get(item.category).push(item);
    }
    rcSelect.replaceChildren(
      el("option", { value: "", text: "Choose the root cause" }),
      ...[...groups].map(([category, items]) => el("optgroup", { label: categoryName(category, this.#categories) },
        items.map((item) => el("option", { value: item.id, text: item.id === current ? `${item.title} (the current answer)` : item.title })))));
    catSelect.replaceChildren(
      el("option", { value: "", text: "Choose a category" }),
      ...this.#categories.map((c) => el("option", { value: c.id, text: c.name && c.name !== c.id ? `${c.name} (${c.id})` : c.id })));
    if (dx.category) catSelect.value = dx.category;
  }

  async #loadCategories(rootCauses) {
    try {
      const answer = await this.#api("GET", "/v1/categories");
      if (Array.isArray(answer?.items) && answer.items.length) return answer.items;
    } catch {
      // Optional endpoint: fall back to the categories the knowledge base uses.
    }
    const ids = [...new Set([...rootCauses.map((r) => r.category), "unknown"])].sort();
    return ids.map((id) => ({ id, name: id }));
  }

  // ---------------------------------------------------------------- recent diagnoses

  async #loadRecent() {
    const ui = this.#ui;
    if (!ui.recent || !ui.recent.open || !this.key) return;
    try {
      const page = await this.#api("GET", "/v1/diagnoses?limit=10");
      const items = page.items || [];
      ui.recent.querySelector("#recent-empty").hidden = items.length > 0;
      ui.recentList.replaceChildren(...items.map((job) => {
        const summary = job.summary || {};
        const what = summary.title || summary.root_cause?.title || (job.state === "done" ? summary.category || "unknown" : job.state);
        return el("li", {}, el("button", { type: "button", onclick: () => this.openDiagnosis(job.id) },
          el("span", { text: `${job.upload?.filename || job.id}: ${what}` }),
          el("span", { class: "muted", text: formatTime(job.created_at) })));
      }));
    } catch (error) {
      this.#showError(error);
    }
  }

  // ---------------------------------------------------------------- fleet view

  #buildFleet() {
    const ui = this.#ui;
    ui.range = el("select", { id: "range" },
      el("option", { value: "24h", text: "Last 24 hours (hourly)" }),
      el("option", { value: "7d", text: "Last 7 days" }),
      el("option", { value: "30d", text: "Last 30 days", selected: true }),
      el("option", { value: "90d", text: "Last 90 days" }),
      el("option", { value: "custom", text: "Custom dates" }));
    ui.since = el("input", { type: "date", id: "since" });
    ui.until = el("input", { type: "date", id: "until" });
    ui.custom = el("div", { class: "range", hidden: true },
      el("div", { class: "field" }, el("label", { for: "since", text: "From (first day)" }), ui.since),
      el("div", { class: "field" }, el("label", { for: "until", text: "To (last day)" }), ui.until));
    ui.range.addEventListener("change", () => {
      ui.custom.hidden = ui.range.value !== "custom";
      if (ui.range.value !== "custom") this.#loadStats();
      else if (!ui.since.value) {
        const today = new Date();
        ui.until.value = isoDate(today);
        ui.since.value = isoDate(new Date(today.getTime() - 6 * 86400000));
      }
    });
    const form = el("form", { class: "range", id: "range-form" },
      el("div", { class: "field" }, el("label", { for: "range", text: "Time range" }), ui.range),
      ui.custom,
      el("button", { type: "submit", id: "range-apply", text: "Show" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#loadStats();
    });

    ui.total = el("span", { class: "num", id: "stat-total", text: "–" });
    ui.hosts = el("span", { class: "num", id: "stat-hosts", text: "–" });
    ui.ncats = el("span", { class: "num", id: "stat-categories", text: "–" });
    ui.chartCaption = el("figcaption", { id: "chart-caption", text: "Diagnoses over time, by category" });
    ui.chart = el("div", { class: "chart", id: "chart" });
    ui.legend = el("ul", { class: "legend", id: "legend", "aria-label": "Categories" });
    ui.topCauses = el("tbody", {});
    ui.topSignatures = el("tbody", {});
    ui.error = el("div", { class: "error", role: "alert", id: "error" });
    ui.announce = el("div", { class: "sr-only", role: "status", "aria-live": "polite", id: "announce" });

    const table = (id, caption, heads, body) => el("div", { class: "table-wrap", role: "region", tabindex: "0", "aria-labelledby": `${id}-cap` },
      el("table", { id },
        el("caption", { class: "sr-only", id: `${id}-cap`, text: caption }),
        el("thead", {}, el("tr", {}, heads.map(([text, cls]) => el("th", { scope: "col", class: cls, text })))),
        body));

    this.#resize = new ResizeObserver(() => {
      if (this.#stats) this.#drawChart(this.#stats, this.#statsRange);
    });
    this.#resize.observe(ui.chart);

    return el("section", { class: "panel", "aria-labelledby": "fleet-heading" },
      el("h2", { id: "fleet-heading", text: "Fleet overview" }),
      form,
      ui.error,
      el("div", { class: "tiles" },
        el("div", { class: "tile" }, ui.total, el("span", { class: "what", text: "diagnoses" })),
        el("div", { class: "tile" }, ui.hosts, el("span", { class: "what", text: "hosts affected" })),
        el("div", { class: "tile" }, ui.ncats, el("span", { class: "what", text: "categories" }))),
      el("figure", { "aria-labelledby": "chart-caption" }, ui.chartCaption, ui.chart, ui.legend),
      el("h3", { id: "h-top-causes", text: "Top root causes" }),
      table("top-causes", "Top root causes", [["Root cause"], ["Category"], ["Count", "num"]], ui.topCauses),
      el("h3", { id: "h-top-signatures", text: "Top crash signatures" }),
      table("top-signatures", "Top crash signatures", [["Crash"], ["Count", "num"], ["Hosts", "num"]], ui.topSignatures),
      ui.announce);
  }

  /** The since/until/bucket of the selected range. */
  #selectedRange() {
    const ui = this.#ui;
    const now = new Date();
    const choice = ui.range.value;
    if (choice === "custom") {
      const since = ui.since.value ? new Date(`${ui.since.value}T00:00:00`) : null;
      const untilDay = ui.until.value ? new Date(`${ui.until.value}T00:00:00`) : null;
      const until = untilDay ? new Date(untilDay.getTime() + 86400000) : now;
      if (!since || Number.isNaN(since.getTime()) || Number.isNaN(until.getTime()) || since >= until) return null;
      return { since, until, bucket: until - since <= 2 * 86400000 ? "hour" : "day" };
    }
    const hours = { "24h": 24, "7d": 168, "30d": 720, "90d": 2160 }[choice] || 720;
    return { since: new Date(now.getTime() - hours * 3600000), until: now, bucket: choice === "24h" ? "hour" : "day" };
  }

  async #loadStats() {
    const ui = this.#ui;
    if (!ui.range) return;
    this.#clearError();
    const range = this.#selectedRange();
    if (!range) {
      this.#showError(new ApiError(0, "invalid_request", "Choose a first day that is before the last day."));
      return;
    }
    if (!this.key) {
      this.#showError(new ApiError(0, "no_key", ""));
      return;
    }
    const params = new URLSearchParams({ since: range.since.toISOString(), until: range.until.toISOString(), bucket: range.bucket });
    ui.chart.setAttribute("aria-busy", "true");
    try {
      const stats = await this.#api("GET", `/v1/stats?${params}`);
      this.#stats = stats;
      this.#statsRange = range;
      this.#renderStats(stats, range);
      this.#announce(`Fleet overview updated: ${stats.total} diagnoses`);
    } catch (error) {
      this.#showError(error);
    } finally {
      ui.chart.removeAttribute("aria-busy");
    }
  }

  #renderStats(stats, range) {
    const ui = this.#ui;
    ui.total.textContent = String(stats.total ?? 0);
    ui.hosts.textContent = String(stats.hosts_affected ?? 0);
    ui.ncats.textContent = String((stats.by_category || []).filter((c) => c.count > 0).length);
    ui.chartCaption.textContent = `Diagnoses per ${range.bucket} (UTC), by category`;
    this.#drawChart(stats, range);

    const causes = stats.by_root_cause || [];
    ui.topCauses.replaceChildren(...(causes.length ? causes.slice(0, 10).map((rc) => el("tr", {},
      el("td", {}, el("span", { text: rc.title || rc.id }), el("span", { class: "sub mono", text: rc.id })),
      el("td", { class: "nowrap", text: rc.category }),
      el("td", { class: "num", text: String(rc.count) }))) : [emptyRow(3, "No diagnoses with a known root cause in this range.")]));
    const signatures = stats.top_signatures || [];
    ui.topSignatures.replaceChildren(...(signatures.length ? signatures.slice(0, 10).map((sig) => el("tr", {},
      el("td", {}, el("span", { text: sig.title || "(no title)" }), el("span", { class: "sub mono", text: sig.signature })),
      el("td", { class: "num", text: String(sig.count) }),
      el("td", { class: "num", text: String(sig.hosts ?? 0) }))) : [emptyRow(3, "No crash signatures in this range.")]));
  }

  /** Inline SVG stacked bars: one bar per bucket, one segment per category. */
  #drawChart(stats, range) {
    const ui = this.#ui;
    const width = Math.max(280, Math.floor(ui.chart.clientWidth || 600));
    const height = 240;
    const margin = { top: 12, right: 8, bottom: 28, left: 36 };
    const plotW = width - margin.left - margin.right;
    const plotH = height - margin.top - margin.bottom;

    // Series: the most frequent categories get their own colour, the rest are "other".
    const byCategory = [...(stats.by_category || [])].filter((c) => c.count > 0).sort((a, b) => b.count - a.count || a.category.localeCompare(b.category));
    // Colours go by rank, so the categories on screen never share one.
    const ranked = byCategory.slice(0, byCategory.length > CHART_SERIES ? CHART_SERIES - 1 : CHART_SERIES).map((c) => c.category);
    const own = new Set(ranked);
    const seriesOf = (category) => (own.has(category) ? category : "other");
    const series = [...ranked];
    if (byCategory.some((c) => !own.has(c.category))) series.push("other");
    const colour = (name) => (own.has(name) ? `var(--pdx-s${ranked.indexOf(name)})` : "var(--pdx-s-other)");

    // Buckets: every bucket of the range (zeros included) plus whatever the server sent.
    const step = range.bucket === "hour" ? 3600000 : 86400000;
    const keys = new Set();
    for (let t = floorTo(range.since.getTime(), step); t < range.until.getTime(); t += step) keys.add(t);
    const counts = new Map(); // bucket ms -> Map(series -> count)
    for (const point of stats.over_time || []) {
      const t = parseBucket(point.bucket);
      if (t === null) continue;
      keys.add(t);
      if (!counts.has(t)) counts.set(t, new Map());
      const row = counts.get(t);
      const name = seriesOf(point.category);
      row.set(name, (row.get(name) || 0) + point.count);
    }
    if (!series.includes("other") && [...counts.values()].some((row) => row.has("other"))) series.push("other");
    const buckets = [...keys].sort((a, b) => a - b);
    const totals = buckets.map((t) => [...(counts.get(t)?.values() || [])].reduce((a, b) => a + b, 0));
    const maxTotal = Math.max(1, ...totals);
    const tick = niceStep(maxTotal);
    const yMax = Math.ceil(maxTotal / tick) * tick;
    const y = (v) => margin.top + plotH - (v / yMax) * plotH;
    const band = plotW / Math.max(1, buckets.length);
    const barW = Math.max(1, band * 0.78);

    const label = (t) => {
      const d = new Date(t);
      return range.bucket === "hour"
        ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: "UTC" })
        : d.toLocaleDateString([], { month: "short", day: "numeric", timeZone: "UTC" });
    };

    const total = stats.total ?? totals.reduce((a, b) => a + b, 0);
    const top = byCategory[0];
    const description = total
      ? `Stacked bar chart of ${total} diagnoses per ${range.bucket} from ${label(buckets[0])} to ${label(buckets[buckets.length - 1])}` +
        (top ? `; most frequent category ${top.category} with ${top.count}.` : ".")
      : "No diagnoses in this range.";
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": description, preserveAspectRatio: "none", "data-total": String(total) });
    for (let v = 0; v <= yMax; v += tick) {
      svg.append(svgEl("line", { class: "grid", x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v) }));
      svg.append(svgEl("text", { x: margin.left - 6, y: y(v) + 4, "text-anchor": "end", text: String(v) }));
    }
    svg.append(svgEl("line", { class: "axis", x1: margin.left, x2: width - margin.right, y1: y(0), y2: y(0) }));
    const labelEvery = Math.max(1, Math.ceil(buckets.length / Math.max(1, Math.floor(plotW / 64))));
    buckets.forEach((t, i) => {
      const x = margin.left + i * band + (band - barW) / 2;
      let base = 0;
      const row = counts.get(t);
      for (const name of series) {
        const count = row?.get(name) || 0;
        if (!count) continue;
        const rect = svgEl("rect", { class: "seg", x, width: barW, y: y(base + count), height: Math.max(0, y(base) - y(base + count)), "data-category": name, "data-count": count },
          svgEl("title", { text: `${label(t)}: ${name} ${count}` }));
        rect.style.fill = colour(name);
        svg.append(rect);
        base += count;
      }
      if (i % labelEvery === 0) {
        svg.append(svgEl("text", { x: margin.left + i * band + band / 2, y: height - 8, "text-anchor": "middle", text: label(t) }));
      }
    });
    if (!total) {
      svg.append(svgEl("text", { x: margin.left + plotW / 2, y: margin.top + plotH / 2, "text-anchor": "middle", text: "No diagnoses in this range" }));
    }
    ui.chart.replaceChildren(svg);

    const legendCounts = new Map();
    for (const c of byCategory) legendCounts.set(seriesOf(c.category), (legendCounts.get(seriesOf(c.category)) || 0) + c.count);
    ui.legend.replaceChildren(...series.map((name) => el("li", { "data-category": name },
      el("span", { class: "swatch", "aria-hidden": "true", style: { background: colour(name) } }),
      el("span", { text: `${name}: ${legendCounts.get(name) || 0}` }))));
  }

}

/** Guess which step a failed job stopped at from its stage message (default: extracting). */
function guessFailedStep(job) {
  const message = String(job.stage_message || "").toLowerCase();
  if (message.includes("diagnos")) return "diagnosing";
  if (message.includes("queue")) return "queued";
  return "extracting";
}

function describeFeedback(item) {
  const who = item.author ? ` by ${item.author}` : "";
  const when = item.created_at ? ` on ${formatTime(item.created_at)}` : "";
  if (item.verdict === "confirm") return `Confirmed${who}${when}`;
  const what = item.root_cause || (item.new_cause ? `new cause "${item.new_cause}" (${item.category || "no category"})` : "another cause");
  return `Corrected to ${what}${who}${when}`;
}

function categoryName(id, categories) {
  const found = (categories || []).find((c) => c.id === id);
  return found && found.name && found.name !== id ? `${found.name} (${id})` : id;
}

function emptyRow(columns, text) {
  return el("tr", {}, el("td", { colspan: String(columns), class: "muted", text }));
}

function isoDate(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function floorTo(ms, step) {
  return Math.floor(ms / step) * step;
}

function parseBucket(value) {
  if (value === null || value === undefined) return null;
  const text = String(value);
  // A bare date or a naive timestamp is UTC (the server buckets in UTC).
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z`
    : /[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text}Z`;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

function niceStep(max) {
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(Math.max(1, rough)));
  for (const m of [1, 2, 5, 10]) if (m * power >= rough) return Math.max(1, m * power);
  return Math.max(1, 10 * power);
}

async function errorFromResponse(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body && typeof body.code === "string") return new ApiError(response.status, body.code, body.message || "");
  const fallback = { 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 413: "payload_too_large", 422: "invalid_request" }[response.status];
  return new ApiError(response.status, fallback || (response.status >= 500 ? "internal_error" : "invalid_request"), `HTTP ${response.status}`);
}

/** The first `wanted` lines of a text body; stops reading (and cancels) once it has them. */
async function readLines(body, wanted) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const lines = [];
  let partial = "";
  let read = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      read += value.length;
      const parts = (partial + value).split("\n");
      partial = parts.pop();
      for (const line of parts) lines.push(line.replace(/\r$/, ""));
      if (lines.length >= wanted || read > LOG_READ_LIMIT) break;
    }
    if (lines.length < wanted && partial) lines.push(partial.replace(/\r$/, ""));
  } finally {
    reader.cancel().catch(() => {});
  }
  return lines.slice(0, wanted);
}

/** Copy with the async Clipboard API, falling back to a selected textarea + execCommand. */
async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Permission denied or unfocused document: try the old way.
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  Object.assign(area.style, { position: "fixed", top: "0", left: "0", opacity: "0" });
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

function selectNode(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}

if (!customElements.get("panic-diagnosis")) customElements.define("panic-diagnosis", PanicDiagnosis);
