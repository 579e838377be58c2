// Which model the page loads: the exports the server lists at /models.json (serve.py), each with the model files it
// holds (fp32, fp16, q8 = int8, q4) and the bytes the page downloads to load one, shown before anything is loaded.
// What Transformers.js already keeps in Cache Storage (with the ETag the server gives the file now) is marked as
// cached: loading it again downloads no model file.

/** Transformers.js dtypes as the page names them (q8 is what `flair-modernbert export --quantize int8` writes). */
export const DTYPE_NAMES = { fp32: "fp32", fp16: "fp16", q8: "int8 (q8)", q4: "q4" };

/** The listing's format (serve.py's LISTING_FORMAT) and the versions this page reads. */
const FORMAT = "flair-modernbert-page-models";
const VERSIONS = [1];

/**
 * The server's listing, or null where there is none (another static server): the page then loads ./model/ (or
 * ?model=) at once, as it did before there was a choice.
 * @param {string} url
 * @returns {Promise<Object|null>} {models: [{name, path, layers, vocab_size, vocabulary, types, dtypes, missing}], runtime}
 */
export async function fetchListing(url) {
  try {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) return null;
    const listing = await response.json();
    return listing?.format === FORMAT && VERSIONS.includes(listing.version) ? listing : null;
  } catch {
    return null;
  }
}

/** Bytes as MiB: two decimals below 10 MiB (tiny and quantized files), one above. */
export function mib(bytes) {
  return `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 2 : 1)} MiB`;
}

/**
 * Every (export, dtype) the listing offers, in its order: exports as the server was given them, dtypes fp32, fp16,
 * q8, q4.
 * @returns {Array<{model: Object, dtype: string, entry: {file: string, bytes: number, files: Object[]}}>}
 */
export function choices(listing) {
  return listing.models.flatMap((model) => Object.entries(model.dtypes).map(([dtype, entry]) => ({ model, dtype, entry })));
}

/**
 * The URLs (absolute) of listed files that Cache Storage holds as the server has them now (same ETag).
 * @param {Object} listing
 * @param {string} base the page's URL
 * @returns {Promise<Set<string>>}
 */
export async function cachedFiles(listing, base) {
  const found = new Set();
  // Cache Storage exists in secure contexts only (https, localhost, 127.0.0.1)
  if (!globalThis.caches) return found;
  const files = [...listing.runtime.files, ...choices(listing).flatMap(({ entry }) => entry.files)]
    .filter((file) => file.cache_storage);
  await Promise.all(files.map(async (file) => {
    const url = new URL(file.url, base).href;
    const stored = await caches.match(url);
    if (stored && stored.headers.get("etag") === file.etag) found.add(url);
  }));
  return found;
}

/** Whether every file of `files` that Transformers.js keeps in Cache Storage is there, unchanged. */
export function isCached(files, cached, base) {
  return files.filter((file) => file.cache_storage).every((file) => cached.has(new URL(file.url, base).href));
}

/**
 * The choice the address names (?model= a listed export's path, ?dtype=), or undefined.
 * @param {Array} offered from choices()
 * @param {{model: string, dtype: string}} wanted
 * @param {string} base the page's URL
 */
export function findChoice(offered, wanted, base) {
  const path = (location) => new URL(location, base).pathname.replace(/\/?$/, "/");
  return offered.find((option) => path(option.model.path) === path(wanted.model) && option.dtype === wanted.dtype);
}

/**
 * The choice the page makes when the address names none: the first one this browser already holds (nothing to
 * download: a returning visitor gets a model they loaded before), else the first export's q8 where it was exported
 * with int8 (docs/export.md's pick for a page: a quarter of fp32's size, the fastest on WASM, F1 within ~0.003),
 * else its fp32. The first export is the one the server was given first: the model its operator trusts most.
 * @returns {Object|undefined} an option from choices()
 */
export function defaultChoice(offered, cached, base) {
  const held = offered.find((option) => isCached(option.entry.files, cached, base));
  if (held) return held;
  const first = offered.filter((option) => option.model === offered[0]?.model);
  return first.find((option) => option.dtype === "q8") ?? first.find((option) => option.dtype === "fp32") ?? first[0];
}

/**
 * Fill the table of choices: a row per export (name, layers, vocabulary), a column per dtype any export holds, a
 * radio button with the download size per model file.
 * @param {HTMLTableElement} table
 * @param {Object} listing
 * @param {Set<string>} cached from cachedFiles()
 * @param {string} base the page's URL
 * @param {Object} [selected] the option to check (from choices())
 */
export function renderChoices(table, listing, cached, base, selected) {
  const dtypes = Object.keys(DTYPE_NAMES)
    .filter((dtype) => listing.models.some((model) => model.dtypes[dtype] || model.missing.includes(dtype)));
  const count = (n) => (n == null ? "?" : n.toLocaleString("en"));
  const head = document.createElement("tr");
  for (const title of ["model", "layers", "vocabulary", ...dtypes.map((dtype) => DTYPE_NAMES[dtype])]) {
    head.append(Object.assign(document.createElement("th"), { textContent: title, scope: "col" }));
  }
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...listing.models.map((model) => {
    const row = document.createElement("tr");
    row.dataset.model = model.path;
    row.title = model.types.length ? `types: ${model.types.join(", ")}` : "";
    const vocabulary = model.vocabulary
      ? `${count(model.vocab_size)} of ${count(model.vocabulary.rows_total)} (trimmed)` : count(model.vocab_size);
    row.append(Object.assign(document.createElement("th"), { textContent: model.name, scope: "row" }));
    row.append(Object.assign(document.createElement("td"), { textContent: count(model.layers) }));
    row.append(Object.assign(document.createElement("td"), { textContent: vocabulary }));
    for (const dtype of dtypes) {
      const cell = document.createElement("td");
      const entry = model.dtypes[dtype];
      if (!entry) {
        cell.textContent = model.missing.includes(dtype) ? "file missing" : "—";
      } else {
        const radio = Object.assign(document.createElement("input"), {
          type: "radio", name: "choice", value: `${model.path}|${dtype}`,
          checked: selected?.model === model && selected?.dtype === dtype,
        });
        Object.assign(radio.dataset, { model: model.path, dtype, bytes: String(entry.bytes) });
        radio.setAttribute("aria-label", `${model.name}, ${DTYPE_NAMES[dtype]}, ${mib(entry.bytes)}`);
        const label = document.createElement("label");
        label.append(radio, ` ${mib(entry.bytes)}`);
        cell.append(label);
        if (isCached(entry.files, cached, base)) {
          radio.dataset.cached = "";
          const note = Object.assign(document.createElement("small"), { className: "cached", textContent: "cached" });
          cell.append(" ", note);
        }
      }
      row.append(cell);
    }
    return row;
  }));
}

/**
 * What loading `option` downloads, in words.
 * @returns {string}
 */
export function downloadNote(option, listing, cached, base) {
  const { model, dtype, entry } = option;
  const graph = entry.files.find((file) => file.url === model.path + entry.file)?.bytes ?? 0;
  const what = `${model.name}, ${DTYPE_NAMES[dtype] ?? dtype}`;
  const size = `${mib(entry.bytes)}: the graph ${mib(graph)}, tokenizer, config and code ${mib(entry.bytes - graph)}`;
  const runtime = isCached(listing.runtime.files, cached, base)
    ? "the runtime (Transformers.js and ONNX Runtime's WASM) is in this browser"
    : `plus the runtime (Transformers.js and ONNX Runtime's WASM), ${mib(listing.runtime.bytes)} once for all models`;
  if (isCached(entry.files, cached, base)) return `${what} is in this browser (${size}): loading only checks it is unchanged; ${runtime}.`;
  return `${what}: download ${size}; ${runtime}.`;
}
