// The page's Web Worker: loads the exported tagger and does all tagging, redaction and restoring, so that the page
// stays responsive while a long text is tagged. Requests come from client.mjs as {id, op, args} and are answered one
// at a time with {id, result} or {id, error}; long texts also get {id, progress: {done, total}} (sentences) after
// each chunk of sentences. The worker keeps no text and no map between requests.

import { emissionsInChunks } from "./chunks.mjs";
import { revalidateCache } from "./model-cache.mjs";
import { importMapped } from "./modules.mjs";

/** Sentences per chunk of a long text: progress is reported after each (a forward pass takes up to 32 windows). */
const CHUNK = 32;

let tagger = null;
/** The tagger's own emissions (one call for everything), before the worker splits them into chunks. */
let wholeEmissions = null;
/** Progress of the request being answered: (done, total) sentences of its tagging pass. */
let report = null;

const OPS = {
  /** Load the tagger: {model, dtype, device, imports} -> what the page shows and flairPage says. */
  async load({ model, dtype, device, imports }) {
    const transformers = imports["@huggingface/transformers"];
    if (!transformers) throw new Error('the page\'s import map does not name "@huggingface/transformers"');
    const { env } = await import(transformers);
    // ONNX Runtime Web's WASM files from this server (the default would fetch them from a CDN)
    env.backends.onnx.wasm.wasmPaths = {
      mjs: new URL("./vendor/ort/ort-wasm-simd-threaded.asyncify.mjs", import.meta.url).href,
      wasm: new URL("./vendor/ort/ort-wasm-simd-threaded.asyncify.wasm", import.meta.url).href,
    };
    // the files of this model and the runtime; other exports' files are checked when they are loaded
    const vendor = new URL("./vendor/", import.meta.url).href;
    const cache = await revalidateCache(env.cacheKey, [model.replace(/\/?$/, "/"), vendor]);
    const started = performance.now();
    const { loadTagger } = await importMapped(new URL("tagger.mjs", model).href, imports);
    // Cache Storage exists in secure contexts only (https, localhost, 127.0.0.1): elsewhere every visit downloads
    tagger = await loadTagger(model, { dtype, device, browserCache: typeof caches !== "undefined" });
    wholeEmissions = tagger.emissions.bind(tagger);
    const context = tagger.config.context?.length ?? 0;
    tagger.emissions = (documents) =>
      emissionsInChunks(wholeEmissions, documents, { size: CHUNK, context, onProgress: (done, total) => report?.(done, total) });
    return {
      device: tagger.device,
      fallback: tagger.fallback,
      dtype,
      types: tagger.types,
      patternTypes: tagger.patternTypes,
      seconds: (performance.now() - started) / 1000,
      cache,
    };
  },

  /** tagger.predict(texts, options). */
  predict: ({ texts, options }) => tagger.predict(texts, options),

  /** Tags of pre-split sentences of one document, in one emissions call (as test/bench.mjs computes them). */
  async tags({ sentences }) {
    const [emissions] = await wholeEmissions([sentences.map((words) => words.map((text) => ({ text })))]);
    return emissions.map((scores) => tagger.decode(scores).tags);
  },

  /**
   * Every span of the text (for the highlight, kept ones too) and its redaction with the chosen types. With some
   * types off the text is tagged again for just those, as spans of other types merged into them would otherwise
   * change their extent.
   */
  async redact({ text, types, all }, passes) {
    passes.count = all ? 1 : 2;
    const [doc] = await tagger.predict([text], { types: "all" });
    const result = await tagger.redact(all ? doc : text, { types });
    return { doc, result };
  },

  /** tagger.restore(text, mapping). */
  restore: ({ text, mapping }) => tagger.restore(text, mapping),
};

let queue = Promise.resolve();

self.addEventListener("message", ({ data: { id, op, args } }) => {
  queue = queue.then(() => answer(id, op, args));
});

async function answer(id, op, args) {
  const passes = { count: 1, done: 0 };
  report = (done, total) => {
    self.postMessage({ id, progress: { done: passes.done * total + done, total: passes.count * total } });
    if (done === total) passes.done += 1;
  };
  try {
    if (op !== "load" && !tagger) throw new Error("the model is not loaded");
    if (!Object.hasOwn(OPS, op)) throw new Error(`unknown request ${op}`);
    self.postMessage({ id, result: await OPS[op](args, passes) });
  } catch (error) {
    self.postMessage({ id, error: error?.message ?? String(error) });
  } finally {
    report = null;
  }
}
