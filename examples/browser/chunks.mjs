// Tag many sentences in chunks, so that a long text can report its progress between forward passes.
//
// tagger.predict() and redact() get their emission scores from one tagger.emissions(documents) call; in the page's
// worker that call is replaced by emissionsInChunks(), which gives the same scores chunk by chunk. A chunk is a
// run of consecutive sentences (of one or several documents) plus, for a tagger with FLERT context, enough
// neighbouring sentences to hold the context words its first and last sentences read: each sentence then sees
// exactly the words it sees in one call, and the neighbours' own scores are dropped.

/**
 * The index one past the sentences that hold `words` words of context before `index` (step -1) or from `index` on
 * (step +1).
 * @param {Array<Array<any>>} sentences
 * @param {number} index
 * @param {number} step -1 (left context: returns the first sentence to include) or +1 (right: one past the last)
 * @param {number} words
 * @returns {number}
 */
function reach(sentences, index, step, words) {
  let at = index;
  for (let seen = 0; seen < words; ) {
    if (step < 0 ? at <= 0 : at >= sentences.length) break;
    seen += sentences[step < 0 ? --at : at++].length;
  }
  return at;
}

/**
 * tagger.emissions(documents), computed in chunks of about `size` sentences with a report after each.
 * @param {(documents: Array<Array<Array<{text: string}>>>) => Promise<Float32Array[][][]>} emissions the
 *   tagger's own emissions (bound to it)
 * @param {Array<Array<Array<{text: string}>>>} documents per document its sentences' words
 * @param {Object} options
 * @param {number} options.size sentences per chunk (context neighbours not counted); at most this many: one call
 * @param {number} options.context words of FLERT context each side (crf.json's context.length; 0 for none)
 * @param {(done: number, total: number) => void} [options.onProgress] sentences tagged so far, of all
 * @returns {Promise<Float32Array[][][]>} per document, per sentence, per word: the tags' scores
 */
export async function emissionsInChunks(emissions, documents, { size, context, onProgress }) {
  const total = documents.reduce((sum, sentences) => sum + sentences.length, 0);
  if (total <= size) return emissions(documents);
  const results = documents.map(() => []);
  let chunk = [];
  let count = 0;
  let done = 0;
  const flush = async () => {
    const scores = await emissions(chunk.map((piece) => documents[piece.doc].slice(piece.from, piece.to)));
    chunk.forEach((piece, i) => results[piece.doc].push(...scores[i].slice(piece.start - piece.from, piece.end - piece.from)));
    done += count;
    chunk = [];
    count = 0;
    onProgress?.(done, total);
  };
  for (const [doc, sentences] of documents.entries()) {
    for (let start = 0; start < sentences.length; ) {
      const end = Math.min(sentences.length, start + size - count);
      chunk.push({ doc, start, end, from: reach(sentences, start, -1, context), to: reach(sentences, end, 1, context) });
      count += end - start;
      start = end;
      if (count >= size) await flush();
    }
  }
  if (chunk.length) await flush();
  return results;
}
