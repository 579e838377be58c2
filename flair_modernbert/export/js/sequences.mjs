// How a sentence becomes model input, and how the model's per-subtoken rows become word emissions.
//
// Follows ModernBertEmbeddings (flair_modernbert/encoder/embeddings.py) or Flair's stock
// TransformerWordEmbeddings (crf.json's encoder.embeddings: "modernbert" or "stock"), step by step:
//   1. FLERT context: up to `context.length` words of the previous and next sentences of the same document,
//      with a separator token ([FLERT]) between context and sentence when the tagger was trained with one.
//   2. ModernBertEmbeddings (context.trim): context that does not fit the window is trimmed from its far ends
//      (ModernBertEmbeddings._fit_context). Stock Flair keeps it whole (step 4 then strides or truncates).
//   3. Subtokens: each word tokenized on its own (equal to Python's is_split_into_words: the prefix-space rule
//      for byte-level BPE; WordPiece and others split words alone anyway), between the tokenizer's special tokens.
//   4. A sequence longer than the window (tokens.overflow): "stride": cut into Flair's strided windows
//      (transformers' overflowing tokens with stride = window / 2) and merged back as
//      flair.embeddings.transformer.combine_strided_tensors does; "truncate" (stock Flair with
//      allow_long_sentences=False): the subtokens past the window are dropped and their words get no vector;
//      "error": refused, as Python refuses it (or fails on it).
//   5. Pooling (first, last, first_last, mean) over the positions of a word's subtokens in that merged order.
// With `maxLength` equal to the model's window this is exactly what Python computes; a smaller `maxLength`
// (browsers) computes what Python would with tokenizer.model_max_length = maxLength.

const encoder = new TextEncoder();

/**
 * @typedef {Object} Planned
 * @property {number[][]} windows token ids of each window, special tokens included
 * @property {Array<Array<[number, number]>>} positions per word of the sentence, its (window, slot) pairs in
 *   Flair's merged order
 */

/**
 * Trim context words from the far ends until sentence and context fit (ModernBertEmbeddings._fit_context).
 * @param {{text: string, ids: number[]}[]} tokens context + sentence (+ separators)
 * @param {number} offset index of the sentence's first word in tokens
 * @param {number} length words in the sentence
 * @param {number} budget subtokens allowed (window minus special tokens)
 * @param {boolean} separator whether separator tokens surround the sentence
 * @returns {[Array, number]} the kept tokens and the new offset
 */
export function fitContext(tokens, offset, length, budget, separator) {
  let quick = 0;
  for (const token of tokens) quick += encoder.encode(token.text).length + 1;
  if (quick <= budget) return [tokens, offset];
  const counts = tokens.map((token) => token.ids.length);
  let total = counts.reduce((a, b) => a + b, 0);
  let sentenceCost = 0;
  for (let i = offset; i < offset + length; i++) sentenceCost += counts[i];
  const sep = separator ? 1 : 0;
  let left = offset - sep;
  let right = tokens.length - offset - length - sep;
  let start = 0;
  let end = tokens.length;
  while (total > budget && (left > 0 || right > 0) && total > sentenceCost) {
    // drop the farthest word of the longer side
    if (left >= right && left > 0) {
      total -= counts[start];
      start += 1;
      left -= 1;
    } else {
      end -= 1;
      total -= counts[end];
      right -= 1;
    }
  }
  return [tokens.slice(start, end), offset - start];
}

/**
 * The context words of sentence `index` of a document (Flair's Sentence.left_context / right_context).
 * @param {{text: string, ids: number[]}[][]} document the sentences of the document, as tokens
 * @param {number} index
 * @param {number} length words of context each side
 */
export function contextOf(document, index, length) {
  const left = [];
  for (let i = index - 1; i >= 0 && left.length < length; i--) left.unshift(...document[i]);
  const right = [];
  for (let i = index + 1; i < document.length && right.length < length; i++) right.push(...document[i]);
  return [left.slice(Math.max(0, left.length - length)), right.slice(0, length)];
}

/**
 * Plan the model input of one sentence.
 * @param {{text: string, ids: number[]}[][]} document the document's sentences, as tokens with their ids
 * @param {number} index the sentence to plan
 * @param {Object} config crf.json
 * @param {number} maxLength the window, in subtokens (special tokens included)
 * @returns {Planned}
 */
export function planSentence(document, index, config, maxLength) {
  const sentence = document[index];
  const { prefix, suffix } = config.tokens;
  const special = prefix.length + suffix.length;
  let tokens = sentence;
  let offset = 0;
  const contextLength = config.context?.length ?? 0;
  if (contextLength > 0) {
    const [left, right] = contextOf(document, index, contextLength);
    const separator = config.context.separator;
    const mark = separator ? [{ text: separator, ids: [config.context.separator_id] }] : [];
    tokens = [...left, ...mark, ...sentence, ...mark, ...right];
    offset = left.length + mark.length;
    if (tokens.length !== sentence.length && (config.context.trim ?? true)) {
      [tokens, offset] = fitContext(tokens, offset, sentence.length, maxLength - special, Boolean(separator));
    }
  }
  const content = [];
  const wordOf = [];
  tokens.forEach((token, i) => {
    const word = i >= offset && i < offset + sentence.length ? i - offset : -1;
    for (const id of token.ids) {
      content.push(id);
      wordOf.push(word);
    }
  });
  const positions = sentence.map(() => []);
  const capacity = maxLength - special;
  if (content.length <= capacity) {
    wordOf.forEach((word, j) => {
      if (word >= 0) positions[word].push([0, prefix.length + j]);
    });
    return { windows: [[...prefix, ...content, ...suffix]], positions };
  }
  const overflow = config.tokens.overflow ?? (config.tokens.allow_long_sentences ? "stride" : "error");
  if (overflow === "truncate") {
    // transformers' truncation=True of one sequence: the subtokens past the window are dropped
    wordOf.slice(0, capacity).forEach((word, j) => {
      if (word >= 0) positions[word].push([0, prefix.length + j]);
    });
    return { windows: [[...prefix, ...content.slice(0, capacity), ...suffix]], positions };
  }
  if (overflow !== "stride") {
    const text = sentence.map((token) => token.text).join(" ");
    const why = config.encoder?.embeddings === "stock"
      ? "the tokenizer has no window (model_max_length) and the model no more positions, so Python's tagger fails on " +
        "it too (split the sentence)"
      : "the tagger was trained with allow_long_sentences=False, which refuses such sentences rather than cut them " +
        "(split the sentence)";
    throw new Error(
      `a sentence ('${text.slice(0, 60)}...', ${sentence.length} words) needs ${content.length + special} subtokens, ` +
        `more than the window of ${maxLength}; ${why}`,
    );
  }
  // transformers' overflowing windows: `capacity` subtokens each, consecutive windows overlapping by `stride`
  const stride = Math.floor(maxLength / 2); // Flair and ModernBertEmbeddings: stride = model_max_length // 2
  const step = capacity - stride;
  if (step <= 0) throw new Error(`maxLength ${maxLength} is too small for strided windows`);
  const starts = [0];
  while (starts[starts.length - 1] + capacity < content.length) starts.push(starts[starts.length - 1] + step);
  const windows = starts.map((start) => [...prefix, ...content.slice(start, start + capacity), ...suffix]);
  // combine_strided_tensors: the first window's start, every window's middle, the last window's end
  const half = Math.floor(stride / 2);
  const last = windows.length - 1;
  const merged = [];
  for (let slot = 0; slot <= half; slot++) merged.push([0, slot]);
  for (let w = 0; w <= last; w++) for (let slot = half + 1; slot < maxLength - 1 - half; slot++) merged.push([w, slot]);
  for (let slot = maxLength - half - 1; slot < maxLength; slot++) merged.push([last, slot]);
  for (const [w, slot] of merged) {
    const j = slot - prefix.length; // index into the window's content
    const windowContent = windows[w].length - special;
    if (j < 0 || j >= windowContent) continue; // special token or padding
    const word = wordOf[starts[w] + j];
    if (word >= 0) positions[word].push([w, slot]);
  }
  return { windows, positions };
}

/**
 * Word emissions from the rows of the model's logits.
 * @param {Array<Array<[number, number]>>} positions per word, (window, slot) pairs in merged order
 * @param {(window: number, slot: number) => Float32Array} row the logits row of a window's slot
 * @param {Object} config crf.json (pooling, logits_parts, empty_word_emissions)
 * @returns {Float32Array[]} T scores per word
 */
export function poolEmissions(positions, row, config) {
  const tags = config.tags.length;
  return positions.map((places) => {
    const out = new Float32Array(tags);
    if (places.length === 0) {
      out.set(config.empty_word_emissions);
      return out;
    }
    if (config.pooling === "mean") {
      const sums = new Float64Array(tags);
      for (const [w, slot] of places) {
        const values = row(w, slot);
        for (let t = 0; t < tags; t++) sums[t] += values[t];
      }
      for (let t = 0; t < tags; t++) out[t] = sums[t] / places.length;
      return out;
    }
    const first = places[0];
    const last = places[places.length - 1];
    if (config.pooling === "first") out.set(row(first[0], first[1]).subarray(0, tags));
    else if (config.pooling === "last") out.set(row(last[0], last[1]).subarray(0, tags));
    else {
      const a = row(first[0], first[1]);
      const b = row(last[0], last[1]);
      for (let t = 0; t < tags; t++) out[t] = a[t] + b[tags + t];
    }
    return out;
  });
}
