// Keep the browser's copy of the model files in step with the server.
//
// The page lets Transformers.js keep the model files (and ONNX Runtime's WASM binary) in Cache Storage, so a second
// visit reads them from disk instead of downloading them again, whatever their size (the HTTP cache skips entries
// larger than a fraction of its size, e.g. a base model). Transformers.js never asks whether a stored file is still
// current, though: a model exported again into the same folder would keep being read from the old copy. So before
// loading, every stored file of the model to load and of the runtime is revalidated with a conditional GET (its ETag
// or Last-Modified): the server answers 304 without a body when the file is unchanged; a changed file replaces the
// stored one, a file that is gone is dropped. Only model and vendor files are ever stored there, never text.

/**
 * Revalidate the entries of a Cache Storage cache whose URLs start with one of `prefixes`.
 * @param {string} name the cache (Transformers.js' env.cacheKey)
 * @param {string[]} prefixes absolute URLs
 * @returns {Promise<{kept: string[], replaced: string[], dropped: string[]}>} the entries' URLs by outcome
 */
export async function revalidateCache(name, prefixes) {
  const outcome = { kept: [], replaced: [], dropped: [] };
  if (!globalThis.caches || !(await caches.has(name))) return outcome;
  const cache = await caches.open(name);
  const requests = (await cache.keys()).filter((request) => prefixes.some((prefix) => request.url.startsWith(prefix)));
  await Promise.all(requests.map(async (request) => {
    const stored = await cache.match(request);
    const etag = stored?.headers.get("etag");
    const modified = stored?.headers.get("last-modified");
    const validator = etag ? { "If-None-Match": etag } : modified ? { "If-Modified-Since": modified } : null;
    // no-store: the HTTP cache must neither answer nor keep this request
    const response = validator ? await fetch(request.url, { headers: validator, cache: "no-store" }) : null;
    if (response?.status === 200) {
      await cache.put(request, response);
      outcome.replaced.push(request.url);
      return;
    }
    // read the (empty or small) body to its end: a response left unread counts as an aborted request
    await response?.arrayBuffer();
    if (response?.status === 304) {
      outcome.kept.push(request.url);
    } else {
      await cache.delete(request);
      outcome.dropped.push(request.url);
    }
  }));
  return outcome;
}
