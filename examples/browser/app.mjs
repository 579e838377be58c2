// The redaction page: load an exported tagger in a Web Worker (worker.mjs), redact pasted text, restore the LLM's
// answer. Tagging runs in the worker, so the page answers input while a long text is tagged, with a progress bar for
// texts of many sentences. ?device=webgpu (or the page's device choice) runs the model on WebGPU where the browser
// offers it, else on WASM with the reason shown.
// Which model: the server lists its exports and their model files at /models.json (serve.py); the page shows them
// with their download sizes (choice.mjs) and loads nothing before one is chosen, unless the address names one
// (?model=/path/ and/or ?dtype=) or the default is already in this browser. Without a listing (another static
// server) it loads ?model= (default ./model/) with ?dtype= (default fp32) at once.
// The span map lives in this module's memory only (a restore hands it to the worker's memory for that call): never in
// storage, the URL or a request. Only the model's and vendor files go to Cache Storage (worker.mjs).
import { cachedFiles, choices, defaultChoice, downloadNote, DTYPE_NAMES, fetchListing, findChoice, isCached, mib,
  renderChoices } from "./choice.mjs";
import { TaggerWorker } from "./client.mjs";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const DEVICES = { wasm: "WASM", webgpu: "WebGPU" };

/** What to load: an export's path and a Transformers.js dtype (the address's, else the listing's default). */
let choice = { model: params.get("model") ?? "./model/", dtype: params.get("dtype") ?? "fp32" };
/** The server's listing of exports (null without one), and what of it Cache Storage holds. */
let listing = null;
let cached = new Set();

/** The last redaction ({text, spans}): what Restore puts back. Only this module holds it. */
let spanMap = null;
/** The worker that runs the model, and what it loaded. */
let worker = null;
let loaded = null;

const status = (text, state = "ready") => {
  $("status").textContent = text;
  $("status").dataset.state = state;
};

/** The import map of this page, its addresses made absolute: the worker resolves tagger.mjs's imports with it. */
function importMap() {
  const map = JSON.parse(document.querySelector('script[type="importmap"]')?.textContent ?? "{}");
  return Object.fromEntries(Object.entries(map.imports ?? {}).map(([name, url]) => [name, new URL(url, document.baseURI).href]));
}

/** Show how far the worker has got with a long text (hidden for texts of one chunk). */
function progress(done, total) {
  $("progress").max = total;
  $("progress").value = done;
  $("progress-text").textContent = `${done.toLocaleString("en")} of ${total.toLocaleString("en")} sentences`;
  $("progress-line").hidden = false;
}

/** One checkbox per type, all on (a type that was there before keeps its state: the model was loaded again). */
function checkboxes(container, kinds) {
  const before = new Map([...container.querySelectorAll("input")].map((box) => [box.value, box.checked]));
  container.replaceChildren(...kinds.map((kind) => {
    const label = document.createElement("label");
    const box = Object.assign(document.createElement("input"), { type: "checkbox", value: kind, checked: before.get(kind) ?? true });
    label.append(box, " ", kind);
    return label;
  }));
  container.closest(".group").hidden = !kinds.length;
}

function highlight(text, spans, replaced) {
  // spans in code points; walk the text by code points to place the marks
  const chars = Array.from(text);
  const out = document.createDocumentFragment();
  let cursor = 0;
  for (const span of spans) {
    if (span.start < cursor) continue;
    out.append(chars.slice(cursor, span.start).join(""));
    const mark = document.createElement("mark");
    mark.textContent = chars.slice(span.start, span.end).join("");
    mark.title = `${span.type} (${span.score})`;
    if (!replaced(span)) mark.dataset.kept = "";
    const label = document.createElement("small");
    label.textContent = span.type;
    mark.append(label);
    out.append(mark);
    cursor = span.end;
  }
  out.append(chars.slice(cursor).join(""));
  return out;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) tr.append(Object.assign(document.createElement("td"), { textContent: String(cell) }));
  return tr;
}

/** Copy `node`'s text; without clipboard access, select it so that Ctrl+C copies it. */
async function copy(node, note) {
  try {
    await navigator.clipboard.writeText(node.textContent);
    note.textContent = "Copied.";
  } catch {
    const range = document.createRange();
    range.selectNodeContents(node);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    note.textContent = "Selected: press Ctrl+C to copy.";
  }
}

/** An option of the listing (from choices()) in words: "student (int8 (q8))". */
const title = (option) => `${option.model.name} (${DTYPE_NAMES[option.dtype] ?? option.dtype})`;

/** Load the model on `device` in a fresh worker (a previous one is stopped) and publish window.flairPage. */
async function load(device) {
  worker?.terminate();
  delete window.flairPage;
  loaded = null;
  $("redact").disabled = true;
  $("restore").disabled = true;
  $("device").value = device;
  $("device-note").textContent = "";
  delete $("device-note").dataset.fallback;
  const wanted = { ...choice };
  const option = listing && findChoice(choices(listing), wanted, location.href);
  const what = option ? `${title(option)}, ${mib(option.entry.bytes)}` : "the model";
  status(`Loading ${what} on ${DEVICES[device] ?? device}…`, "loading");
  $("load").disabled = true;
  const model = new URL(wanted.model, location.href).href;
  const own = new TaggerWorker();
  worker = own;
  let info;
  try {
    info = await own.call("load", { model, dtype: wanted.dtype, device, imports: importMap() });
  } finally {
    // another model or device was chosen meanwhile: that load reports (an error of this one is moot)
    if (worker !== own) return;
    $("load").disabled = false;
  }
  if (listing) await showChoices(option); // now in Cache Storage: marked as cached
  if (worker !== own) return;
  loaded = { ...info, ...wanted };
  checkboxes($("model-types"), info.types);
  checkboxes($("pattern-types"), info.patternTypes.filter((kind) => !info.types.includes(kind)));
  const name = DEVICES[info.device] ?? info.device;
  $("device-note").textContent = info.fallback ? `${info.fallback}; running on ${name}.` : `Running on ${name}.`;
  if (info.fallback) $("device-note").dataset.fallback = "";
  // for scripts and benchmarks: the same answers as the tagger's, computed in the worker
  window.flairPage = Object.freeze({
    model: new URL(wanted.model, location.href).pathname,
    name: option?.model.name ?? null,
    device: info.device,
    dtype: info.dtype,
    fallback: info.fallback,
    /** tagger.predict(texts, options) */
    predict: (texts, options = {}) => own.call("predict", { texts, options }),
    /** tags per word of pre-split sentences of one document (string[][] -> string[][]) */
    tags: (sentences) => own.call("tags", { sentences }),
  });
  const patterns = info.patternTypes.filter((kind) => !info.types.includes(kind));
  status(`${option ? title(option) : "Model"} loaded in ${info.seconds.toFixed(1)} s on ${name}: ${info.types.join(", ")}` +
    (patterns.length ? `; patterns: ${patterns.join(", ")}.` : "."));
  $("redact").disabled = false;
  $("restore").disabled = !spanMap;
}

function start(device) {
  const { model, dtype } = choice;
  load(device).catch((error) => status(`Could not load the model from ${model} (${dtype}) on ` +
    `${DEVICES[device] ?? device}: ${error.message}`, "error"));
}

/** The listing's table with `selected` checked, cached files marked, and what loading it downloads. */
async function showChoices(selected) {
  cached = await cachedFiles(listing, location.href);
  renderChoices($("models"), listing, cached, location.href, selected);
  $("download").textContent = selected ? downloadNote(selected, listing, cached, location.href) : "";
  $("choose").hidden = false;
}

/** The option whose radio button is checked (from choices()), or undefined. */
function checkedOption() {
  const radio = $("models").querySelector("input[name=choice]:checked");
  return radio && choices(listing).find((option) => option.model.path === radio.dataset.model &&
    option.dtype === radio.dataset.dtype);
}

/**
 * Keep the device, and the model and dtype once one is loaded, in the address (no text ever goes there), so that a
 * reload keeps them (a model named there is loaded at once: not before someone chose it).
 */
function remember(device, model = true) {
  const url = new URL(location.href);
  url.searchParams.set("device", device);
  if (listing && model) {
    // the first export is the page's default model: named only when another one is chosen
    if (new URL(choice.model, location.href).pathname === listing.models[0]?.path) url.searchParams.delete("model");
    else url.searchParams.set("model", new URL(choice.model, location.href).pathname);
    url.searchParams.set("dtype", choice.dtype);
  }
  history.replaceState(null, "", url);
}

/** Offer the listing's choices; load at once what the address names or what this browser already holds. */
async function offer(device) {
  const offered = choices(listing);
  cached = await cachedFiles(listing, location.href);
  const named = params.has("model") || params.has("dtype");
  const selected = named ? findChoice(offered, choice, location.href) : defaultChoice(offered, cached, location.href);
  if (selected) choice = { model: selected.model.path, dtype: selected.dtype };
  await showChoices(selected);
  if (named || (selected && isCached(selected.entry.files, cached, location.href))) {
    start(device);
    return;
  }
  status(offered.length ? "Choose a model and press Load: nothing is downloaded before that."
    : "The server lists no model file to load.", "choose");
}

async function main() {
  const requested = params.get("device") ?? "wasm";
  $("device").value = requested;
  $("device").addEventListener("change", () => {
    // nothing loaded or loading yet: the device applies to the next load
    remember($("device").value, Boolean(worker));
    if (worker) start($("device").value);
  });
  $("models").addEventListener("change", () => {
    const option = checkedOption();
    if (option) $("download").textContent = downloadNote(option, listing, cached, location.href);
  });
  $("load").addEventListener("click", () => {
    const option = checkedOption();
    if (!option) {
      status("Choose a model first.", "error");
      return;
    }
    choice = { model: option.model.path, dtype: option.dtype };
    remember($("device").value);
    start($("device").value);
  });

  $("redact").addEventListener("click", async () => {
    const chosen = [...$("types").querySelectorAll("input:checked")].map((box) => box.value);
    if (!chosen.length) {
      status("Choose at least one type to replace.", "error");
      return;
    }
    $("redact").disabled = true;
    $("device").disabled = true;
    $("load").disabled = true;
    $("progress-line").hidden = true;
    status("Redacting…", "busy");
    try {
      const text = $("input").value;
      const t0 = performance.now();
      const all = chosen.length === $("types").querySelectorAll("input").length;
      const { doc, result } = await worker.call("redact", { text, types: chosen, all }, progress);
      if (!$("progress-line").hidden) progress($("progress").max, $("progress").max);
      spanMap = result;
      const placeholderOf = (span) =>
        result.spans.find((record) => record.start <= span.start && span.end <= record.end)?.placeholder;
      $("redacted").textContent = result.text;
      $("copied").textContent = "";
      $("highlighted").replaceChildren(highlight(text, doc.spans, placeholderOf));
      $("spans").tBodies[0].replaceChildren(
        ...doc.spans.map((span) => row([span.text, span.type, span.score, `${span.start}–${span.end}`,
          placeholderOf(span) ?? "(kept)"])),
      );
      $("result").hidden = false;
      $("answer-step").hidden = false;
      $("restore").disabled = false;
      $("restored-section").hidden = true;
      const entities = new Set(result.spans.map((record) => record.placeholder)).size;
      status(`${doc.spans.length} spans found, ${result.spans.length} replaced (${entities} entities) in ` +
        `${Math.round(performance.now() - t0)} ms.`);
    } catch (error) {
      status(`Error: ${error.message}`, "error");
    } finally {
      $("redact").disabled = !loaded;
      $("device").disabled = false;
      $("load").disabled = false;
    }
  });

  $("restore").addEventListener("click", async () => {
    if (!spanMap) return;
    try {
      const { text, unknown } = await worker.call("restore", { text: $("answer").value, mapping: spanMap });
      $("restored").textContent = text;
      $("copied-restored").textContent = "";
      $("unknown").replaceChildren(...unknown.map((name) => Object.assign(document.createElement("li"), { textContent: name })));
      $("unknown-section").hidden = !unknown.length;
      $("restored-section").hidden = false;
      status(unknown.length ? `Restored; ${unknown.length} unknown placeholder${unknown.length > 1 ? "s" : ""} left as they are.`
        : "Restored.");
    } catch (error) {
      status(`Error: ${error.message}`, "error");
    }
  });

  $("copy").addEventListener("click", () => copy($("redacted"), $("copied")));
  $("copy-restored").addEventListener("click", () => copy($("restored"), $("copied-restored")));
  listing = await fetchListing(new URL("models.json", location.href).href);
  // a device this page does not list is tried too: the tagger says why it falls back
  if (listing) await offer(requested);
  else start(requested);
}

main().catch((error) => status(`Error: ${error.message}`, "error"));
