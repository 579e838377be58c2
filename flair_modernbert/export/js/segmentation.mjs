// Sentences and words of raw text, with offsets in code points: the rule of flair_modernbert/segmentation.py.
//
// The regular expressions are Python's, written for JavaScript `/u` regexes (same classes, same order of
// alternatives), so a word found here starts and ends where Python's does. JavaScript string indices count
// UTF-16 code units; every offset this module returns counts code points, as Python's string indices do.

/** Characters that belong to no word (the class body of segmentation.SEPARATOR). */
export const SEPARATOR =
  "\\t\\n\\x0B\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000" +
  "\\p{Cc}\\p{Cf}\\uFE00-\\uFE0F\\u{E0100}-\\u{E01EF}";
/** Variation selectors only choose a glyph: they belong to no word, even right after a letter or an emoji. */
const SELECTORS = "\\uFE00-\\uFE0F\\u{E0100}-\\u{E01EF}";
const CORE = "(?:(?![" + SELECTORS + "])[\\p{L}\\p{N}\\p{M}])";
/** One word, alternatives tried in order (segmentation.WORD). */
export const WORD =
  "(?:https?://|www\\.)[^" + SEPARATOR + "]*[^" + SEPARATOR + ".,;:!?'\")\\]}>]" +
  "|[@#]?" + CORE + "+(?:['’\\-_.@]" + CORE + "+)*" +
  "|[^" + SEPARATOR + "](?:(?![" + SELECTORS + "])\\p{M})*";
/** A word that ends a sentence (segmentation.SENTENCE_END). */
export const SENTENCE_END = /^[.!?…。！？]+$/u;
/** A line break between two words ends a sentence (segmentation.LINE_BREAK). */
export const LINE_BREAK = /[\n\x0B\f\r\x85\u2028\u2029]/u;

/**
 * [word before, next word]: a "." glued to a word matching the first (whole, any case) ends no sentence when the
 * next word's start matches the second (case counts) (segmentation.ABBREVIATIONS, verbatim).
 */
export const ABBREVIATIONS = [
  [
    "(?:.*[.\\-])?[\\p{Lu}\\p{Ll}\\p{Lt}]\\p{M}*" +
      "|mr|mrs|ms|mme|mlle|dr|prof|sr|sra|srta|st|ste|sta|mt|rev|hon|gen|capt|lt|col|sgt|hr|hrn|fr|dipl|ing|mag" +
      "|dott|sig|apt|co|ave|av|avda|blvd|bd|rd|[\\p{L}\\p{M}\\-]*str|pl|dept|rép|dém",
    "",
  ],
  ["no|nos|nr|ext|tel|fax|art", "[\\p{N}+(#]"],
  ["inc|ltd|corp|llc|plc|bros|jr", "[^\\p{Lu}\\p{Lt}]"],
];

const WORD_RE = new RegExp(WORD, "gu");
const ABBREVIATION_RES = ABBREVIATIONS.map(([before, after]) => [
  new RegExp("^(?:" + before + ")$", "iu"),
  new RegExp("^(?:" + after + ")", "u"),
]);

/**
 * @typedef {Object} Word
 * @property {string} text the word (text.slice(u16Start, u16End))
 * @property {number} start offset of its first code point
 * @property {number} end offset after its last code point
 * @property {number} u16Start the same offsets in UTF-16 code units, for slicing JavaScript strings
 * @property {number} u16End
 */

/** Code points in text[from, to) (UTF-16 indices): a surrogate pair counts once. */
function codePoints(text, from, to) {
  let count = 0;
  for (let i = from; i < to; i++) {
    const unit = text.charCodeAt(i);
    // a high surrogate followed by a low one is one code point; count it at the low one only
    if (unit >= 0xdc00 && unit <= 0xdfff && i > from) {
      const previous = text.charCodeAt(i - 1);
      if (previous >= 0xd800 && previous <= 0xdbff) continue;
    }
    count++;
  }
  return count;
}

/**
 * The words of `text` in order, with code point offsets.
 * @param {string} text
 * @returns {Word[]}
 */
export function words(text) {
  const found = [];
  let u16 = 0;
  let cp = 0;
  WORD_RE.lastIndex = 0;
  for (const match of text.matchAll(WORD_RE)) {
    const u16Start = match.index;
    const u16End = u16Start + match[0].length;
    cp += codePoints(text, u16, u16Start);
    const start = cp;
    cp += codePoints(text, u16Start, u16End);
    u16 = u16End;
    found.push({ text: match[0], start, end: cp, u16Start, u16End });
  }
  return found;
}

/** Whether found[i] is the "." of an abbreviation, which ends no sentence (segmentation._abbreviation_dot). */
function abbreviationDot(found, i) {
  if (found[i].text !== "." || i === 0 || i + 1 === found.length || found[i - 1].end !== found[i].start) return false;
  const before = found[i - 1].text;
  const after = found[i + 1].text;
  return ABBREVIATION_RES.some(([word, nextWord]) => word.test(before) && nextWord.test(after));
}

/**
 * The sentences of `text`, each a non-empty list of words (segmentation.sentences).
 * @param {string} text
 * @returns {Word[][]}
 */
export function sentences(text) {
  const result = [];
  let current = [];
  const found = words(text);
  for (const [i, word] of found.entries()) {
    if (current.length && LINE_BREAK.test(text.slice(current[current.length - 1].u16End, word.u16Start))) {
      result.push(current);
      current = [];
    }
    current.push(word);
    if (SENTENCE_END.test(word.text) && !abbreviationDot(found, i)) {
      result.push(current);
      current = [];
    }
  }
  if (current.length) result.push(current);
  return result;
}
