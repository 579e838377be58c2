// A flair-modernbert tagger exported with `flair-modernbert export`, run with Transformers.js (Node or browser).
//
//   import { loadTagger } from "./tagger.mjs";
//   const tagger = await loadTagger("/path/to/export");          // Node: a folder; browser: a URL path ("/model/")
//   const [doc] = await tagger.predict(["Jane Doe moved to Berlin ."]);   // {text, spans: [{start, end, type, text, score}]}
//   const { text, spans } = await tagger.redact("Jane Doe moved to Berlin .");   // "[PERSON_1] moved to [LOCATION_1] ."
//   const { text: answer } = tagger.restore("Ask [person_1] in <LOCATION-1>", spans);   // "Ask Jane Doe in Berlin"
//   await tagger.predict(texts, { recallBias: 2 });   // the recall knob: O's score lowered by 2, hides more
//
// Text is split into sentences and words by the rule Python's predict uses (segmentation.mjs), each word is
// tokenized on its own with the exported tokenizer.json, the ONNX graph gives emission scores per subtoken,
// words are pooled, and the CRF (Viterbi) or softmax decodes them (decode.mjs). Offsets count code points,
// like Python's. Structured PII (e-mail, phone, ...), placeholders and restore follow rules.json (redaction.mjs).
// See README.md for the options, long texts and the browser setup.

import { AutoModelForTokenClassification, AutoTokenizer, Tensor, env } from "@huggingface/transformers";

import { checkRecallBias, lowerOutside, round4, softmaxDecode, spansFromTags, viterbi } from "./decode.mjs";
import { dumps, floatRepr, stringRepr } from "./pyjson.mjs";
import {
  DEFAULT_PLACEHOLDER,
  Pseudonyms,
  checkRules,
  findPii,
  mergeSpans,
  patternTypes,
  redactSpans,
  restore,
  selectTypes,
} from "./redaction.mjs";
import { sentences as splitSentences, words as splitWords } from "./segmentation.mjs";
import { planSentence, poolEmissions } from "./sequences.mjs";

export { sentences, words } from "./segmentation.mjs";
export { checkRecallBias } from "./decode.mjs";
export {
  DEFAULT_PLACEHOLDER,
  Pseudonyms,
  SpanMap,
  checkPlaceholder,
  findPii,
  mergeSpans,
  numbersEntities,
  redactSpans,
  restore,
  selectTypes,
} from "./redaction.mjs";

/** crf.json's format and the versions this module reads. */
export const FORMAT = "flair-modernbert-tagger";
export const VERSIONS = [1];

/** Transformers.js dtype -> the `flair-modernbert export --quantize` value that writes its file. */
export const DTYPES = { fp32: null, fp16: "fp16", q8: "int8", q4: "q4" };

/** Default window for browsers: attention memory grows with its square. */
export const BROWSER_MAX_LENGTH = 512;

const IS_NODE = typeof process !== "undefined" && process.versions?.node !== undefined && typeof window === "undefined";

async function readJson(location, name) {
  if (IS_NODE) {
    const { readFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const file = join(location, name);
    try {
      return JSON.parse(await readFile(file, "utf-8"));
    } catch (error) {
      throw new Error(`${file}: ${error.code === "ENOENT" ? "missing; is this an export folder?" : error.message}`);
    }
  }
  const url = location.replace(/\/?$/, "/") + name;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}; is this an export folder?`);
  return response.json();
}

async function resolveLocation(location) {
  if (IS_NODE) {
    const { resolve } = await import("node:path");
    const { fileURLToPath } = await import("node:url");
    const text = String(location);
    return resolve(text.startsWith("file:") ? fileURLToPath(text) : text);
  }
  // a path on the page's origin (Transformers.js loads local models by path, never by full URL)
  const url = new URL(String(location), globalThis.document?.baseURI ?? globalThis.location?.href);
  if (globalThis.location && url.origin !== globalThis.location.origin) {
    throw new Error(`${url}: the model must be served from the page's origin (${globalThis.location.origin})`);
  }
  return url.pathname.replace(/\/$/, "");
}

/**
 * Load an exported tagger: crf.json, rules.json (the redaction rules), the tokenizer and the ONNX graph.
 * @param {string|URL} location the export folder (Node: a path or file: URL; browser: a path or URL on the page's origin)
 * @param {Object} [options]
 * @param {string} [options.dtype="fp32"] "fp32" (onnx/model.onnx), "fp16" (onnx/model_fp16.onnx, from --quantize fp16),
 *   "q8" (onnx/model_quantized.onnx, --quantize int8) or "q4" (onnx/model_q4.onnx, --quantize q4)
 * @param {string} [options.device] Transformers.js device: "cpu" in Node, "wasm" in browsers (the defaults), or another
 *   one such as "webgpu" (browsers that offer a WebGPU adapter) or "cuda" (Node). A device that is not there (no
 *   navigator.gpu, no adapter, a session that cannot be created or cannot run the graph) falls back to the default
 *   one with a console.warn naming the reason; `tagger.device` and `tagger.fallback` say what happened
 * @param {number} [options.maxLength] window in subtokens: the model's own in Node (exactly Python's results),
 *   BROWSER_MAX_LENGTH in browsers; longer sentences run in Flair's strided windows of this size
 * @param {number} [options.batchSize=32] windows per forward pass
 * @param {number} [options.batchCost=2097152] at most batch x length^2 per forward pass (bounds attention memory)
 * @param {boolean} [options.browserCache=false] let Transformers.js keep the model in the browser's Cache Storage
 * @param {number} [options.recallBias] the recall knob (docs/recall.md): the O tag's score is lowered by this much
 *   before decoding, so higher values hide more, 0 is the model's own decoding; default: crf.json's recall_bias (the
 *   model's default when it was exported), else 0. predict() and redact() take it per call too
 * @returns {Promise<Tagger>} with `device` (the device the graph runs on) and `fallback` (why the requested
 *   device was not used, or null)
 */
export async function loadTagger(location, options = {}) {
  const folder = await resolveLocation(location);
  const config = await readJson(folder, "crf.json");
  if (config.format !== FORMAT || !VERSIONS.includes(config.version)) {
    throw new Error(`${folder}/crf.json: not a ${FORMAT} file of version ${VERSIONS.join(" or ")}`);
  }
  const rules = checkRules(await readJson(folder, "rules.json"), `${folder}/rules.json`);
  const dtype = options.dtype ?? "fp32";
  if (!Object.hasOwn(DTYPES, dtype)) throw new Error(`dtype ${dtype}: use one of ${Object.keys(DTYPES).join(", ")}`);
  if (dtype !== "fp32" && !config.model_files?.[dtype]) {
    const present = Object.keys(config.model_files ?? { fp32: 1 }).join(", ");
    throw new Error(
      `${folder}: no model for dtype ${dtype} (this export has ${present}; export with --quantize ${DTYPES[dtype]} to add it)`,
    );
  }
  const maxLength = options.maxLength ?? (IS_NODE ? config.tokens.max_length : Math.min(BROWSER_MAX_LENGTH, config.tokens.max_length));
  const special = config.tokens.prefix.length + config.tokens.suffix.length;
  if (!Number.isInteger(maxLength) || maxLength < 8 + special || maxLength > config.tokens.max_length) {
    throw new Error(`maxLength ${maxLength}: use a whole number from ${8 + special} to the model's ${config.tokens.max_length}`);
  }
  // local files only: text and model never leave the machine, nothing is fetched from the Hugging Face hub
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  if (!IS_NODE) env.useBrowserCache = Boolean(options.browserCache);
  const tokenizer = await AutoTokenizer.from_pretrained(folder);
  const { model, device, fallback } = await loadGraph(folder, dtype, options.device, config);
  return new Tagger(model, tokenizer, config, { ...options, maxLength, rules, device, fallback });
}

/** Why this browser cannot run WebGPU, or null when it offers an adapter. */
async function webgpuMissing() {
  if (!globalThis.navigator?.gpu) return "this browser offers no WebGPU (navigator.gpu is missing)";
  try {
    if (!(await navigator.gpu.requestAdapter())) return "no WebGPU adapter (navigator.gpu.requestAdapter() gave none)";
  } catch (error) {
    return `no WebGPU adapter (${error.message})`;
  }
  return null;
}

/**
 * The ONNX graph on the requested device, else on the default one ("cpu" in Node, "wasm" in browsers): a device
 * that is missing, whose session cannot be created, or that fails a first forward pass falls back with a warning.
 * @returns {Promise<{model: any, device: string, fallback: string|null}>}
 */
async function loadGraph(folder, dtype, requested, config) {
  const standard = IS_NODE ? "cpu" : "wasm";
  const device = requested ?? standard;
  let reason = !IS_NODE && device === "webgpu" ? await webgpuMissing() : null;
  if (!reason) {
    try {
      const model = await AutoModelForTokenClassification.from_pretrained(folder, { dtype, device });
      // a session can be created and still fail on its first run (shaders are compiled then): try one now
      if (device !== standard) await probe(model, config);
      return { model, device, fallback: null };
    } catch (error) {
      if (device === standard) throw error;
      reason = `device ${device} failed: ${String(error.message ?? error).trim().replace(/\.$/, "")}`;
    }
  }
  console.warn(`flair-modernbert: ${reason}; running on ${standard === "wasm" ? "WASM" : "the CPU"} instead`);
  const model = await AutoModelForTokenClassification.from_pretrained(folder, { dtype, device: standard });
  return { model, device: standard, fallback: reason };
}

/** One forward pass over the special tokens alone (or the pad token, for a tokenizer without any). */
async function probe(model, config) {
  const special = [...config.tokens.prefix, ...config.tokens.suffix];
  const ids = special.length ? special : [config.tokens.pad ?? 0];
  const output = await model({
    input_ids: new Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
    attention_mask: new Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
  });
  if (!output.logits?.data?.length) throw new Error("the graph gave no scores");
}

/**
 * @typedef {Object} Span
 * @property {number} start code point offset into the document
 * @property {number} end
 * @property {string} type
 * @property {string} text
 * @property {number} score rounded to 4 decimals as Python's round()
 */

/**
 * @typedef {Object} Document
 * @property {string} text
 * @property {Span[]} spans
 * @property {Map<string, any>|undefined} extra other fields of a JSON input line (see pyjson.mjs)
 */

export class Tagger {
  /**
   * Use loadTagger().
   * @param {any} model Transformers.js model (logits per subtoken)
   * @param {any} tokenizer Transformers.js tokenizer
   * @param {Object} config crf.json
   * @param {Object} options see loadTagger; `rules`: the parsed rules.json
   */
  constructor(model, tokenizer, config, options = {}) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.config = config;
    this.rules = options.rules;
    /** @type {string} the Transformers.js device the graph runs on ("wasm", "webgpu", "cpu", ...) */
    this.device = options.device ?? null;
    /** @type {string|null} why the requested device was not used (loadTagger fell back), else null */
    this.fallback = options.fallback ?? null;
    this.maxLength = options.maxLength ?? config.tokens.max_length;
    this.batchSize = options.batchSize ?? 32;
    this.batchCost = options.batchCost ?? 2 ** 21;
    this.width = config.tags.length * (config.logits_parts ?? 1);
    /** @type {number} index of the O tag (-1: none) */
    this.outside = config.tags.indexOf("O");
    /** @type {number} the recall bias of calls that set none (loadTagger's recallBias, else crf.json's, else 0) */
    this.recallBias = this._bias(options.recallBias ?? config.recall_bias ?? 0, "recallBias");
    this._ids = new Map();
  }

  /** A recall bias checked, or this tagger's default when it is undefined or null. */
  _bias(value, what = "recallBias") {
    if (value === undefined || value === null) return this.recallBias;
    const bias = checkRecallBias(value, what);
    if (bias !== 0 && this.outside < 0) throw new Error(`${what}: the tagger has no O tag (its tags: ${this.config.tags.join(", ")})`);
    return bias;
  }

  /** The entity types the model predicts, in its dictionary's order (inference.model_types). */
  get types() {
    const found = [];
    for (const tag of this.config.tags) {
      if (["O", "<unk>", "<START>", "<STOP>"].includes(tag)) continue;
      const kind = ["B-", "I-", "E-", "S-"].includes(tag.slice(0, 2)) ? tag.slice(2) : tag;
      if (!found.includes(kind)) found.push(kind);
    }
    return found;
  }

  /** The structured-PII types of rules.json (url, email, iban, credit_card, ip, ssn, phone), in its order. */
  get patternTypes() {
    return patternTypes(this.rules);
  }

  /**
   * The model's types and the pattern types that `names` ask for (inference.resolve_types): case-insensitive, with
   * the aliases of rules.json's type_groups (`PER` finds a model's `person`, `card` finds `credit_card`); "all" is
   * every type.
   * @param {string[]|string|null|undefined} names (a string is split at commas)
   * @param {string} [defaultTypes="model"] what no names mean: "model" (the model's types only) or "all"
   * @returns {{model: Set<string>|null, patterns: Set<string>}} model null for all of the model's types
   */
  resolveTypes(names, defaultTypes = "model") {
    return selectTypes(this.types, names instanceof Set ? [...names] : names, this.rules, defaultTypes);
  }

  /** A type selection as given, or resolved from names. */
  _selection(types, defaultTypes) {
    if (types && typeof types === "object" && !Array.isArray(types) && types.patterns instanceof Set) return types;
    return this.resolveTypes(types, defaultTypes);
  }

  /** Subtoken ids of one word, as Python's tokenizer gives them with is_split_into_words (cached). */
  wordIds(word) {
    let ids = this._ids.get(word);
    if (ids === undefined) {
      if (this._lowersSigma === undefined) {
        // Python's (Rust) tokenizers lower-case character by character, Σ -> σ; JavaScript's toLowerCase writes ς
        // for a word-final Σ. A tokenizer that reads Σ as σ lower-cases: give it σ, so both read the same word.
        const encode = (text) => Array.from(this.tokenizer.encode(text, { add_special_tokens: false })).join(",");
        this._lowersSigma = encode("\u03A3") === encode("\u03C3");
      }
      const text = this._lowersSigma ? word.replaceAll("\u03A3", "\u03C3") : word;
      ids = this.tokenizer.encode(text, { add_special_tokens: false });
      if (this._ids.size > 200000) this._ids.clear();
      this._ids.set(word, ids);
    }
    return ids;
  }

  /**
   * Emission scores of every word of every sentence, computed in as few forward passes as fit.
   * @param {Array<Array<{text: string}>>[]} documents per document its sentences' words
   * @returns {Promise<Float32Array[][][]>} per document, per sentence, per word: T scores
   */
  async emissions(documents) {
    const plans = documents.map((sentences) => {
      const tokens = sentences.map((sentence) => sentence.map((word) => ({ text: word.text, ids: this.wordIds(word.text) })));
      return tokens.map((_, index) => planSentence(tokens, index, this.config, this.maxLength));
    });
    const windows = [];
    plans.forEach((sentencePlans) =>
      sentencePlans.forEach((plan) => plan.windows.forEach((ids) => windows.push({ ids, logits: null }))),
    );
    await this._run(windows);
    let next = 0;
    return plans.map((sentencePlans) =>
      sentencePlans.map((plan) => {
        const own = windows.slice(next, next + plan.windows.length);
        next += plan.windows.length;
        const row = (w, slot) => own[w].logits.subarray(slot * this.width, (slot + 1) * this.width);
        return poolEmissions(plan.positions, row, this.config);
      }),
    );
  }

  async _run(windows) {
    const order = windows.map((_, i) => i).sort((a, b) => windows[b].ids.length - windows[a].ids.length);
    let at = 0;
    while (at < order.length) {
      const longest = windows[order[at]].ids.length;
      const size = Math.max(1, Math.min(this.batchSize, Math.floor(this.batchCost / (longest * longest))));
      const batch = order.slice(at, at + size);
      at += batch.length;
      const ids = new BigInt64Array(batch.length * longest).fill(BigInt(this.config.tokens.pad ?? 0));
      const mask = new BigInt64Array(batch.length * longest);
      batch.forEach((index, b) => {
        windows[index].ids.forEach((id, j) => {
          ids[b * longest + j] = BigInt(id);
          mask[b * longest + j] = 1n;
        });
      });
      const output = await this.model({
        input_ids: new Tensor("int64", ids, [batch.length, longest]),
        attention_mask: new Tensor("int64", mask, [batch.length, longest]),
      });
      const data = output.logits.data;
      const [, length, width] = output.logits.dims;
      if (width !== this.width) throw new Error(`the model gives ${width} scores per subtoken, crf.json expects ${this.width}`);
      batch.forEach((index, b) => {
        windows[index].logits = data.slice(b * length * width, (b * length + windows[index].ids.length) * width);
      });
    }
  }

  /**
   * Tags, token confidences for one sentence's emissions, the O tag's score lowered by `recallBias` first.
   * @param {Float32Array[]} emissions
   * @param {number} [recallBias] default: this tagger's
   */
  decode(emissions, recallBias = this.recallBias) {
    const { crf } = this.config;
    const scores = lowerOutside(emissions, this.outside, recallBias);
    const result = crf ? viterbi(scores, crf.transitions, crf.start, crf.stop) : softmaxDecode(scores);
    return { tags: result.tags.map((index) => this.config.tags[index]), scores: result.scores };
  }

  /**
   * Tag documents: each is split into sentences (or, with unit "document", kept as one sequence), tagged,
   * and its spans returned with code point offsets into its text, sorted by start. Pattern types asked for are
   * found too, and spans that overlap are merged into one (docs/redaction.md, section 2).
   * @param {Array<string|{text: string, extra?: any}>} documents
   * @param {Object} [options]
   * @param {string[]|string} [options.types] these types only (see resolveTypes; default: the model's types,
   *   "all": the model's and the pattern types)
   * @param {string} [options.unit="sentence"] "sentence" or "document"
   * @param {number} [options.recallBias] the recall knob (see loadTagger; default: the tagger's recallBias)
   * @returns {Promise<Document[]>}
   */
  async predict(documents, options = {}) {
    const unit = options.unit ?? "sentence";
    if (!["sentence", "document"].includes(unit)) throw new Error(`unit: expected 'sentence' or 'document', got '${unit}'`);
    const bias = this._bias(options.recallBias);
    const types = this._selection(options.types, "model");
    const list = (Array.isArray(documents) ? documents : [documents]).map((doc) =>
      typeof doc === "string" ? { text: doc } : { ...doc },
    );
    const useModel = types.model === null || types.model.size > 0;
    const segmented = list.map((doc) => {
      if (!useModel) return [];
      if (unit === "document") {
        const found = splitWords(doc.text);
        return found.length ? [found] : [];
      }
      return splitSentences(doc.text);
    });
    const emissions = await this.emissions(segmented);
    return list.map((doc, d) => {
      const spans = [];
      segmented[d].forEach((sentence, s) => {
        const { tags, scores } = this.decode(emissions[d][s], bias);
        for (const found of spansFromTags(tags, scores)) {
          if (types.model && !types.model.has(found.type)) continue;
          const first = sentence[found.indices[0]];
          const last = sentence[found.indices[found.indices.length - 1]];
          const span = {
            start: first.start,
            end: last.end,
            type: found.type,
            text: doc.text.slice(first.u16Start, last.u16End),
            score: round4(found.score),
          };
          Object.defineProperty(span, "u16", { value: [first.u16Start, last.u16End], enumerable: false });
          spans.push(span);
        }
      });
      spans.sort((a, b) => a.start - b.start);
      if (!types.patterns.size) return { ...doc, spans };
      return { ...doc, spans: mergeSpans(spans, findPii(doc.text, this.rules, types.patterns)) };
    });
  }

  /**
   * Replace the spans of the chosen types with one numbered placeholder per entity (inference.redact):
   * `Jane Doe ... Doe ... John` -> `[PERSON_1] ... [PERSON_1] ... [PERSON_2]`.
   * @param {string|Document} text a text, or a document predict() returned (its spans are replaced)
   * @param {Object} [options]
   * @param {string[]|string} [options.types="all"] types to replace: the model's and the pattern types (resolveTypes)
   * @param {string} [options.placeholder] template (default rules.json's "[{type}_{n}]"): {type} (upper-cased),
   *   {n} (the entity's number within its type, from 1; {index} is another name for it), {{ and }} for braces
   * @param {Pseudonyms} [options.pseudonyms] entities to continue numbering from (several texts, one numbering);
   *   a fresh one per call by default
   * @param {boolean} [options.joinPartial=true] a mention equal to the first or last words of an entity joins it
   * @param {number} [options.recallBias] the recall knob for a text (see loadTagger; default: the tagger's)
   * @returns {Promise<{text: string, spans: Object[]}>} the redacted text and its span records (see redactSpans)
   */
  async redact(text, options = {}) {
    const doc = typeof text === "string"
      ? (await this.predict([text], { types: this._selection(options.types, "all"), recallBias: options.recallBias }))[0]
      : text;
    return redactDocument(doc, options.placeholder ?? this.rules.placeholder, options);
  }

  /**
   * Put the original text back into text that holds placeholders, in the forms an LLM returns them (restore.mjs):
   * `**[person_1]**'s` -> `**Jane Doe**'s`.
   * @param {string} text
   * @param {Object|Object[]|Map<string, string>|SpanMap} mapping a redact() result, its span records, an object or
   *   Map placeholder -> original text, or a SpanMap
   * @param {Object} [options]
   * @param {number} [options.line] the line of a SpanMap that `text` is (each mention comes back as it was)
   * @returns {{text: string, unknown: string[]}} the restored text and the placeholders the mapping does not know
   */
  restore(text, mapping, options = {}) {
    return restore(text, mapping, this.rules, options);
  }
}

/**
 * Redact a tagged document (inference.redact): its spans replaced by one placeholder per entity, numbered within
 * the document unless `pseudonyms` carries a numbering over.
 * @param {Document} doc
 * @param {string} [placeholder] template (default "[{type}_{n}]", rules.json's)
 * @param {Object} [options]
 * @param {Pseudonyms} [options.pseudonyms]
 * @param {boolean} [options.joinPartial=true]
 * @returns {{text: string, spans: Object[]}}
 */
export function redactDocument(doc, placeholder = DEFAULT_PLACEHOLDER, options = {}) {
  const pseudonyms = options.pseudonyms ?? new Pseudonyms(placeholder ?? DEFAULT_PLACEHOLDER, { joinPartial: options.joinPartial ?? true });
  return redactSpans(doc.text, doc.spans, pseudonyms);
}

/**
 * The line `flair-modernbert predict` prints for a document: json.dumps({**extra, "text", "spans"}, ensure_ascii=False).
 * @param {Document} doc
 * @returns {string}
 */
export function documentLine(doc) {
  const parts = [];
  for (const [key, value] of doc.extra ?? []) if (key !== "text" && key !== "spans") parts.push(stringRepr(key) + ": " + dumps(value));
  parts.push('"text": ' + stringRepr(doc.text));
  const spans = doc.spans.map(
    (span) =>
      `{"start": ${span.start}, "end": ${span.end}, "type": ${stringRepr(span.type)}, ` +
      `"text": ${stringRepr(span.text)}, "score": ${floatRepr(span.score)}}`,
  );
  parts.push('"spans": [' + spans.join(", ") + "]");
  return "{" + parts.join(", ") + "}";
}
