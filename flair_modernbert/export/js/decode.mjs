// From word emission scores to tags, confidences and spans, as Flair's SequenceTagger.predict computes them.
//
// - crf: flair.models.sequence_tagger_utils.viterbi.ViterbiDecoder.decode for one sentence. Flair adds the
//   transitions to the emissions in float32 (CRF.forward), accumulates in float32 and takes the max; done here
//   with Math.fround at the same steps, the path is the one torch finds. A token's confidence is Flair's: the
//   largest softmax probability of the Viterbi scores at that position.
// - softmax: the arg max of the emissions and its softmax probability (SequenceTagger._standard_inference).
// - recall bias (docs/recall.md): the O tag's emission lowered by B before either decoding, in float32 as
//   inference.recall_bias_applied does it in torch, so both give the same tags.
// - spans: flair.data.get_spans_from_bio, line by line (including its tie rules), and the span score is the
//   mean of its tokens' confidences.

const f32 = Math.fround;

/** The largest softmax probability of `scores` (1 / sum exp(x - max)), rounded to float32 as torch returns it. */
function maxSoftmax(scores) {
  let max = -Infinity;
  for (const value of scores) if (value > max) max = value;
  let sum = 0;
  for (const value of scores) sum += Math.exp(value - max);
  return f32(1 / sum);
}

/** Index of the first maximum (torch.max's choice on ties). */
function argMax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * A recall bias as a number: any finite number (0: the model's own decoding; higher hides more).
 * @param {any} value
 * @param {string} [what="recallBias"] the option's name, for the message
 * @returns {number}
 */
export function checkRecallBias(value, what = "recallBias") {
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isFinite(number)) {
    throw new Error(`${what}: expected a finite number (0 = the model's own decoding), got ${value}`);
  }
  return number;
}

/**
 * Emissions with the O tag's score lowered by `bias` (inference.recall_bias_applied): float32(score - float32(bias)),
 * the other scores as they are; the rows given are not changed.
 * @param {Float32Array[]} emissions one row of T scores per word
 * @param {number} outside index of the O tag
 * @param {number} bias
 * @returns {Float32Array[]}
 */
export function lowerOutside(emissions, outside, bias) {
  if (bias === 0) return emissions;
  const shift = f32(bias);
  return emissions.map((row) => {
    const lowered = Float32Array.from(row);
    lowered[outside] = row[outside] - shift; // a Float32Array store rounds to float32, as torch does
    return lowered;
  });
}

/**
 * Viterbi decoding of one sentence with Flair's CRF.
 * @param {Float32Array[]} emissions one row of T scores per word
 * @param {number[][]} transitions transitions[to][from], T x T
 * @param {number} start index of <START>
 * @param {number} stop index of <STOP>
 * @returns {{tags: number[], scores: number[]}} the best tag path and each position's confidence
 */
export function viterbi(emissions, transitions, start, stop) {
  const length = emissions.length;
  const size = transitions.length;
  if (length === 0) return { tags: [], scores: [] };
  const forward = [];
  const back = [];
  let previous = new Float64Array(size);
  for (let to = 0; to < size; to++) previous[to] = f32(emissions[0][to] + transitions[to][start]);
  forward.push(previous);
  back.push(null);
  for (let t = 1; t < length; t++) {
    const current = new Float64Array(size);
    const pointers = new Int32Array(size);
    const row = emissions[t];
    for (let to = 0; to < size; to++) {
      const incoming = transitions[to];
      let best = -Infinity;
      let bestFrom = 0;
      for (let from = 0; from < size; from++) {
        const score = f32(f32(row[to] + incoming[from]) + previous[from]);
        if (score > best) {
          best = score;
          bestFrom = from;
        }
      }
      current[to] = best;
      pointers[to] = bestFrom;
    }
    forward.push(current);
    back.push(pointers);
    previous = current;
  }
  // transition to <STOP> from the last position
  const final = new Float64Array(size);
  for (let from = 0; from < size; from++) final[from] = f32(previous[from] + transitions[stop][from]);
  const tags = new Array(length);
  tags[length - 1] = argMax(final);
  for (let t = length - 1; t > 0; t--) tags[t - 1] = back[t][tags[t]];
  return { tags, scores: forward.map(maxSoftmax) };
}

/**
 * Softmax decoding of one sentence: the arg max per word and its probability.
 * @param {Float32Array[]} emissions
 * @returns {{tags: number[], scores: number[]}}
 */
export function softmaxDecode(emissions) {
  return {
    tags: emissions.map((row) => argMax(row)),
    scores: emissions.map((row) => maxSoftmax(row)),
  };
}

/**
 * Spans of BIO/BIOES tags: a line-by-line port of flair.data.get_spans_from_bio.
 * @param {string[]} tags
 * @param {number[]} scores
 * @returns {{indices: number[], score: number, type: string}[]}
 */
export function spansFromTags(tags, scores) {
  const sequence = [...tags, "O"];
  const found = [];
  let weights = new Map();
  let previous = "O-";
  let indices = [];
  let spanScores = [];
  sequence.forEach((raw, index) => {
    const tag = raw === "" || raw === "O" || raw === "_" ? "O-" : raw;
    const inSpan = tag !== "O-";
    const prefix = tag.slice(0, 2);
    const startsNew =
      prefix === "B-" ||
      prefix === "S-" ||
      (inSpan && previous.slice(2) !== tag.slice(2) && (prefix === "I-" || previous.slice(2) === "S-"));
    if ((startsNew || !inSpan) && indices.length > 0) {
      const score = spanScores.reduce((a, b) => a + b, 0) / spanScores.length;
      let type = null;
      let best = -Infinity;
      for (const [name, weight] of weights) {
        if (weight > best) {
          best = weight;
          type = name;
        }
      }
      found.push({ indices, score, type });
      indices = [];
      spanScores = [];
      weights = new Map();
    }
    if (inSpan) {
      indices.push(index);
      spanScores.push(index < scores.length ? scores[index] : 1.0);
      const name = tag.slice(2);
      weights.set(name, (weights.get(name) ?? 0) + (startsNew ? 1.1 : 1.0));
    }
    previous = tag;
  });
  return found;
}

/**
 * Python's round(x, 4): correctly rounded, ties to even.
 * @param {number} x
 * @returns {number}
 */
export function round4(x) {
  if (!Number.isFinite(x)) return x;
  // x * 10^4 can be exactly half way only if x is a multiple of 1/32 (10^4 = 2^4 * 625); then round half to even
  const scaled32 = x * 32;
  if (Number.isInteger(scaled32) && Math.abs(scaled32 % 2) === 1 && Math.abs(x) < 2 ** 40) {
    const half = x * 10000;
    const down = Math.floor(half);
    return (down % 2 === 0 ? down : down + 1) / 10000;
  }
  // toFixed rounds the exact binary value (ties cannot occur here)
  return Number(x.toFixed(4));
}
