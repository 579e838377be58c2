// Redaction rules in JavaScript: docs/redaction.md, the same algorithms as flair_modernbert/redaction/ in Python.
//
// Everything here is a pure function over `rules`, the parsed rules.json (the one definition of the patterns, the
// validators' parameters, the type names and the restore grammar, copied into every export folder). Offsets count
// code points, as Python's string indices do; spans also carry their UTF-16 offsets in a hidden `u16` property.
//
//   findPii(text, rules, types)          structured PII: e-mail, URL, IBAN, card, IP, SSN, phone (validated)
//   mergeSpans(modelSpans, patternSpans) one span per group of overlapping spans
//   new Pseudonyms(placeholder)          one numbered placeholder per entity ([PERSON_1], [PERSON_2], ...)
//   redactSpans(text, spans, pseudonyms) the redacted text and its span records
//   restore(text, mapping, rules)        the original text back into an LLM's answer, unknown placeholders listed
//   selectTypes(modelTypes, names, rules) --types over the model's types and the pattern types

import { SEPARATOR } from "./segmentation.mjs";

/** rules.json's format and the versions this module reads. */
export const RULES_FORMAT = "flair-modernbert-redaction-rules";
export const RULES_VERSIONS = [1];
/** rules.json's default template, for callers without the rules at hand (the tests check that they agree). */
export const DEFAULT_PLACEHOLDER = "[{type}_{n}]";
/** The span map file's format (restore.MAP_FORMAT). */
export const MAP_FORMAT = "flair-modernbert-span-map";

/**
 * Check parsed rules.json.
 * @param {Object} rules
 * @param {string} [source] where it came from, for the message
 * @returns {Object} rules
 */
export function checkRules(rules, source = "rules.json") {
  if (rules?.format !== RULES_FORMAT || !RULES_VERSIONS.includes(rules.version)) {
    throw new Error(`${source}: not a ${RULES_FORMAT} file of version ${RULES_VERSIONS.join(" or ")}`);
  }
  return rules;
}

/** The pattern types, in the order of rules.json, each once (patterns.PATTERN_TYPES). */
export function patternTypes(rules) {
  return [...new Set(rules.patterns.map((entry) => entry.type))];
}

// ------------------------------------------------------------------------------------------------ offsets
/** Code points of a string. */
export function codePointLength(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

const HAS_SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Offset converters of one text: UTF-16 index <-> code point index (identities when the text has no surrogates).
 * @param {string} text
 * @returns {{toPoint: (u16: number) => number, toUnit: (point: number) => number}}
 */
export function offsetsOf(text) {
  if (!HAS_SURROGATE.test(text)) return { toPoint: (u) => u, toUnit: (p) => p };
  const points = new Uint32Array(text.length + 1); // UTF-16 index -> code point index
  const units = [0]; // code point index -> UTF-16 index
  let point = 0;
  for (let i = 0; i < text.length; i++) {
    points[i] = point;
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) points[++i] = point; // inside a pair: maps to the pair's start
    }
    point++;
    units.push(i + 1);
  }
  points[text.length] = point;
  return { toPoint: (u) => points[u], toUnit: (p) => units[p] };
}

/** `text` from code point `from` on (Python's text[from:]). */
function slicePoints(text, from) {
  if (from <= 0) return text;
  const unit = offsetsOf(text).toUnit(from);
  return unit === undefined ? "" : text.slice(unit);
}

function withU16(span, u16Start, u16End) {
  Object.defineProperty(span, "u16", { value: [u16Start, u16End], enumerable: false, configurable: true });
  return span;
}

// ------------------------------------------------------------------------------------------------ validators
/** The Luhn checksum of a string of ASCII digits (patterns.luhn_valid). */
export function luhnValid(digits) {
  let total = 0;
  for (let position = 0; position < digits.length; position++) {
    let value = digits.charCodeAt(digits.length - 1 - position) - 48;
    if (position % 2) value = value > 4 ? value * 2 - 9 : value * 2;
    total += value;
  }
  return total % 10 === 0;
}

const isAsciiDigit = (char) => char >= "0" && char <= "9" && char.length === 1;

/**
 * 12-19 digits, one kind of separator throughout, not all zeros, Luhn; a number shorter than
 * loose_grouping_min_digits is written without separators or in groups of four (patterns.credit_card_valid).
 */
export function creditCardValid(text, rules) {
  const limits = rules.validators.credit_card;
  const chars = Array.from(text);
  const separators = new Set(chars.filter((char) => !isAsciiDigit(char)));
  const digits = chars.filter((char) => !separators.has(char)).join("");
  if (digits.length < limits.loose_grouping_min_digits && separators.size) {
    const groups = text.split([...separators][0]);
    if (groups.some((group) => group.length !== 4)) return false;
  }
  return separators.size <= 1 && limits.min_digits <= digits.length && digits.length <= limits.max_digits &&
    /[1-9]/.test(digits) && luhnValid(digits);
}

/** ISO 13616: the country's length (rules.json) and ISO 7064 mod 97 = 1 (patterns.iban_valid). */
export function ibanValid(text, rules) {
  const compact = text.replaceAll(" ", "").toUpperCase();
  const length = rules.validators.iban.lengths[compact.slice(0, 2)];
  if (length === undefined || codePointLength(compact) !== length) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = parseInt(char, 36); // letters count as two-digit numbers (A = 10 ... Z = 35)
    if (Number.isNaN(value) || !/^[0-9A-Z]$/.test(char)) return false;
    for (const digit of String(value)) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

function ipv4Valid(text) {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => /^[0-9]{1,3}$/.test(part) && Number(part) <= 255);
}

/** The RFC 4291 text form: 8 groups, or fewer with one `::`; an IPv4 tail counts as 2 (patterns.ipv6_valid). */
export function ipv6Valid(text) {
  if (text.split("::").length - 1 > 1 || text === "::" || text === "") return false;
  let head = text;
  let tailGroups = 0;
  if (text.includes(".")) {
    const colon = text.lastIndexOf(":");
    head = colon < 0 ? "" : text.slice(0, colon);
    if (!ipv4Valid(text.slice(colon + 1))) return false;
    tailGroups = 2;
    if (head.endsWith(":")) head += ":";
  }
  let groups;
  let countOk;
  const at = head.indexOf("::");
  if (at >= 0) {
    const left = head.slice(0, at);
    const right = head.slice(at + 2);
    const leftGroups = left.split(":");
    const rightGroups = right.split(":");
    if ((left && leftGroups.includes("")) || (right && rightGroups.includes(""))) return false;
    groups = [...(left ? leftGroups : []), ...(right ? rightGroups : [])];
    countOk = groups.length + tailGroups <= 7;
  } else {
    groups = head ? head.split(":") : [];
    countOk = groups.length + tailGroups === 8;
  }
  return countOk && groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group));
}

/**
 * Digits, an extension (x12, ext. 12) not counted: 7-15 after `+` or `00` (a `(0)` not counted; `00` only with a
 * separator), 9-15 with a trunk 0, 10 for North America (patterns.phone_valid).
 */
export function phoneValid(text, rules) {
  const limits = rules.validators.phone;
  const count = (value) => Array.from(value).filter(isAsciiDigit).length;
  const letter = text.search(/[A-Za-z]/); // the extension starts at its first letter
  const number = letter < 0 ? text : text.slice(0, letter).replace(/ +$/, "");
  if (number.startsWith("+") || number.startsWith("00")) {
    const body = number.slice(number.startsWith("+") ? 1 : 2);
    if (number.startsWith("00") && /^[0-9]+$/.test(body)) return false;
    const digits = count(body.replace("(0)", ""));
    return limits.min_digits <= digits && digits <= limits.max_digits;
  }
  const digits = count(number);
  if (number.startsWith("0") || number.startsWith("(0")) return limits.national_min_digits <= digits && digits <= limits.max_digits;
  return digits === 10;
}

/**
 * A US Social Security number the SSA can have issued: nine digits, one kind of separator, area not 000, 666 or
 * 900-999, group not 00, serial not 0000, not one digit repeated, not a known fake (patterns.ssn_valid).
 */
export function ssnValid(text, rules) {
  const limits = rules.validators.ssn;
  const chars = Array.from(text);
  const separators = new Set(chars.filter((char) => !isAsciiDigit(char)));
  const digits = chars.filter((char) => !separators.has(char)).join("");
  if (separators.size > 1 || digits.length !== 9) return false;
  const [area, group, serial] = [digits.slice(0, 3), digits.slice(3, 5), digits.slice(5)];
  return !limits.invalid_areas.includes(area) && Number(area) < limits.invalid_area_min && group !== "00" &&
    serial !== "0000" && new Set(digits).size > 1 && !limits.invalid_numbers.includes(digits);
}

/** Validators by the name rules.json gives them. */
export const VALIDATORS = {
  credit_card: creditCardValid,
  iban: ibanValid,
  ipv6: (text) => ipv6Valid(text),
  phone: phoneValid,
  ssn: ssnValid,
};

// ------------------------------------------------------------------------------------------------ patterns
const compiledCache = new WeakMap();

function compiled(rules) {
  let found = compiledCache.get(rules);
  if (!found) {
    found = rules.patterns.map((entry) => {
      if (entry.validator && !VALIDATORS[entry.validator]) throw new Error(`rules.json: unknown validator ${entry.validator}`);
      return {
        type: entry.type,
        regex: new RegExp(entry.pattern, entry.ignore_case ? "giu" : "gu"),
        validator: entry.validator ? VALIDATORS[entry.validator] : null,
      };
    });
    compiledCache.set(rules, found);
  }
  return found;
}

/**
 * @typedef {Object} Span
 * @property {number} start code point offset
 * @property {number} end
 * @property {string} type
 * @property {string} text
 * @property {number} score
 */

function validLength(found, validator, rules) {
  if (!validator || validator(found, rules)) return found.length;
  for (let cut = found.length - 1; cut > 0; cut--) {
    if (" -".includes(found[cut]) && !" -".includes(found[cut - 1]) && validator(found.slice(0, cut), rules)) return cut;
  }
  return 0;
}

/**
 * Pattern spans of a text: each pattern in the order of rules.json, validated, never overlapping (patterns.find_pii).
 * @param {string} text
 * @param {Object} rules parsed rules.json
 * @param {Iterable<string>|null} [types] pattern types to look for (default: all)
 * @returns {Span[]} spans (score 1) sorted by start
 */
export function findPii(text, rules, types = null) {
  const wanted = new Set(types ?? patternTypes(rules));
  if (!wanted.size) return [];
  // every pattern runs and `types` filters afterwards: what a span is does not depend on what was asked for
  // (the digits of a valid IBAN are never a phone number)
  const accepted = []; // UTF-16 offsets: they order and overlap as code point offsets do
  // a refused match is cut back to its longest valid prefix ending before a space or "-"; the search goes on
  // right after what was accepted, or one character after the refused match's start (patterns.find_pii)
  for (const { type, regex, validator } of compiled(rules)) {
    let position = 0;
    for (;;) {
      regex.lastIndex = position;
      const match = regex.exec(text);
      if (match === null) break;
      const start = match.index;
      const length = validLength(match[0], validator, rules);
      const end = start + length;
      if (length && !accepted.some((span) => start < span.end && span.start < end)) {
        accepted.push({ start, end, type, text: text.slice(start, end) });
        position = end;
      } else {
        position = start + (text.codePointAt(start) > 0xffff ? 2 : 1);
      }
    }
  }
  accepted.sort((a, b) => a.start - b.start);
  const { toPoint } = offsetsOf(text);
  return accepted.filter((span) => wanted.has(span.type)).map(({ start, end, type, text: found }) =>
    withU16({ start: toPoint(start), end: toPoint(end), type, text: found, score: 1 }, start, end),
  );
}

/**
 * Merge model and pattern spans (spans.merge_spans): spans that overlap, directly or through a chain, become one
 * span from the smallest start to the largest end, typed as the earliest-starting pattern span of the group (or
 * as the model span when there is none), scored with the group's highest score.
 * @param {Span[]} modelSpans
 * @param {Span[]} patternSpans
 * @returns {Span[]} sorted by start
 */
export function mergeSpans(modelSpans, patternSpans) {
  const tagged = [...modelSpans.map((span) => [span, false]), ...patternSpans.map((span) => [span, true])];
  tagged.sort((a, b) => a[0].start - b[0].start || a[0].end - b[0].end);
  const merged = [];
  let group = [];
  let end = -1;
  const close = () => {
    if (!group.length) return;
    if (group.length === 1) {
      merged.push(group[0][0]);
      return;
    }
    const first = group[0][0];
    let stop = first.end;
    let stopU16 = first.u16?.[1];
    const pieces = [first.text];
    for (const [span] of group.slice(1)) {
      // the union is contiguous: each span overlaps what came before
      if (span.end > stop) {
        pieces.push(slicePoints(span.text, stop - span.start));
        stop = span.end;
        stopU16 = span.u16?.[1];
      }
    }
    const patterns = group.filter(([, isPattern]) => isPattern).map(([span]) => span);
    const span = {
      start: first.start,
      end: stop,
      type: (patterns[0] ?? first).type,
      text: pieces.join(""),
      score: Math.max(...group.map(([span]) => span.score)),
    };
    merged.push(first.u16 && stopU16 !== undefined && group.every(([s]) => s.u16) ? withU16(span, first.u16[0], stopU16) : span);
  };
  for (const [span, isPattern] of tagged) {
    if (group.length && span.start >= end) {
      close();
      group = [];
    }
    group.push([span, isPattern]);
    end = group.length > 1 ? Math.max(end, span.end) : span.end;
  }
  close();
  return merged;
}

// ------------------------------------------------------------------------------------------------ types
/** Python's str.casefold for the strings compared here: each code point upper-cased, then lower-cased. */
export function casefold(text) {
  let out = "";
  for (const char of text) out += char.toUpperCase().toLowerCase();
  return out;
}

// Python's str.strip(): white space as str.isspace() sees it
const PY_SPACE = "\\t\\n\\x0B\\f\\r\\x1C-\\x1F \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");

/**
 * @typedef {Object} TypeSelection
 * @property {Set<string>|null} model the model's types to keep; null for all of them
 * @property {Set<string>} patterns the pattern types to look for
 */

/**
 * Resolve --types names against a model's types and the pattern types (types.select_types). Names are
 * case-insensitive; a name of one of rules.json's type_groups also finds the other names of its group (`PER` finds
 * a model's `person`, `card` finds `credit_card`), unless it is itself a type; "all" chooses everything.
 * @param {string[]} modelTypes
 * @param {Iterable<string>|string|null|undefined} requested names (a string is split at commas)
 * @param {Object} rules parsed rules.json
 * @param {string} [defaultTypes="model"] "model" or "all": what nothing asked for means
 * @returns {TypeSelection}
 */
export function selectTypes(modelTypes, requested, rules, defaultTypes = "model") {
  if (!["model", "all"].includes(defaultTypes)) throw new Error(`default: expected 'model' or 'all', got '${defaultTypes}'`);
  const pattern = patternTypes(rules);
  const list = typeof requested === "string" ? requested.split(",") : [...(requested ?? [])];
  const names = list.map((name) => (name ? String(name).replace(PY_STRIP, "") : "")).filter(Boolean);
  if (!names.length) return { model: null, patterns: new Set(defaultTypes === "all" ? pattern : []) };
  if (names.some((name) => casefold(name) === "all")) return { model: null, patterns: new Set(pattern) };
  const byFolded = [new Map(modelTypes.map((kind) => [casefold(kind), kind])), new Map(pattern.map((kind) => [casefold(kind), kind]))];
  const chosen = [new Set(), new Set()];
  for (const name of names) {
    const folded = casefold(name);
    const group = new Set(rules.type_groups.find((names) => names.includes(folded)) ?? [folded]);
    const direct = byFolded.some((by) => by.has(folded));
    // an exact name wins over its group: OntoNotes' LOC does not bring GPE along
    const found = byFolded.map((by) =>
      by.has(folded) ? [by.get(folded)] : direct ? [] : [...by].filter(([key]) => group.has(key)).map(([, kind]) => kind),
    );
    if (!found[0].length && !found[1].length) {
      throw new Error(
        `--types: '${name}' is not an entity type of this model nor a pattern type; the model's types are: ` +
          `${modelTypes.join(", ")}; the pattern types are: ${pattern.join(", ")} (or 'all')`,
      );
    }
    found.forEach((kinds, i) => kinds.forEach((kind) => chosen[i].add(kind)));
  }
  return { model: chosen[0], patterns: chosen[1] };
}

// ------------------------------------------------------------------------------------------------ placeholders
// the fields a template may hold: the expression pseudonyms._FIELD
const FIELD = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g;
const NUMBER_FIELDS = ["n", "index"];

/**
 * Fill a template: {type} (upper-cased), {n} (or {index}), {{ and }} for braces (pseudonyms.format_placeholder).
 * @param {string} template
 * @param {string} type
 * @param {number} number
 * @returns {string}
 */
export function formatPlaceholder(template, type, number) {
  return template.replace(FIELD, (whole, field) => {
    if (whole === "{{" || whole === "}}") return whole[0];
    if (field === "type") return type.toUpperCase();
    if (NUMBER_FIELDS.includes(field)) return String(number);
    throw new Error(`--placeholder '${template}': a placeholder may use {type} and {n} only (write {{ and }} for literal braces)`);
  });
}

/**
 * Refuse a template with other fields or a lone brace (pseudonyms.check_placeholder).
 * @param {string} template
 * @returns {string} template
 */
export function checkPlaceholder(template) {
  formatPlaceholder(template, "PERSON", 1);
  return template;
}

/** Whether a template numbers entities ({n} or {index}); without, restore cannot tell a type's entities apart. */
export function numbersEntities(template) {
  return [...template.matchAll(FIELD)].some((match) => NUMBER_FIELDS.includes(match[1]));
}

const SEPARATOR_RUN = new RegExp(`[${SEPARATOR}]+`, "gu");

/** What two mentions of one entity share: case removed, NFC, separator runs as one space, trimmed (entity_key). */
export function entityKey(text) {
  const folded = text.toUpperCase().toLowerCase().normalize("NFC");
  return folded.replace(SEPARATOR_RUN, " ").replace(/^ +| +$/g, "");
}

/**
 * The entities seen so far and their placeholders (pseudonyms.Pseudonyms): a mention belongs to an entity of its
 * type with the same key, or (joinPartial) whose first mention's first or last words it equals; otherwise it is a
 * new entity with the next number of its type.
 */
export class Pseudonyms {
  /**
   * @param {string} [placeholder] template (default rules.json's "[{type}_{n}]")
   * @param {Object} [options]
   * @param {boolean} [options.joinPartial=true] `Doe` and `Jane` join an earlier `Jane Doe`
   */
  constructor(placeholder = DEFAULT_PLACEHOLDER, { joinPartial = true } = {}) {
    this.placeholder = checkPlaceholder(placeholder ?? DEFAULT_PLACEHOLDER);
    this.joinPartial = joinPartial;
    /** @type {{placeholder: string, type: string, text: string, key: string, number: number}[]} */
    this.entities = [];
    this._byKey = new Map();
    this._counts = new Map();
    this._new = [];
  }

  /** The entity a mention belongs to, created when it is new. */
  entityFor(type, text) {
    const key = entityKey(text);
    let found = this._byKey.get(type + "\u0000" + key);
    if (found === undefined && this.joinPartial && key) {
      const words = key.split(" ");
      const size = words.length;
      const same = (list) => list.every((word, i) => word === words[i]);
      for (let i = this.entities.length - 1; i >= 0; i--) {
        // the entity created last wins
        const entity = this.entities[i];
        const theirs = entity.key.split(" ");
        if (entity.type === type && theirs.length > size && (same(theirs.slice(0, size)) || same(theirs.slice(-size)))) {
          found = entity;
          break;
        }
      }
    }
    if (found === undefined) {
      const number = (this._counts.get(type) ?? 0) + 1;
      this._counts.set(type, number);
      found = { placeholder: formatPlaceholder(this.placeholder, type, number), type, text, key, number };
      this.entities.push(found);
      this._byKey.set(type + "\u0000" + key, found);
      this._new.push(found);
    }
    return found;
  }

  /** The placeholder of a mention of this type. */
  placeholderFor(type, text) {
    return this.entityFor(type, text).placeholder;
  }

  /** The entity records ({entity, type, text}) created since the last call, for a span map written as text streams. */
  takeNew() {
    const records = this._new.map((entity) => ({ entity: entity.placeholder, type: entity.type, text: entity.text }));
    this._new = [];
    return records;
  }
}

/**
 * Replace spans (sorted by start; a later overlapping one is skipped) with their entities' placeholders
 * (pseudonyms.redact_spans).
 * @param {string} text
 * @param {Span[]} spans
 * @param {Pseudonyms} pseudonyms
 * @returns {{text: string, spans: Object[]}} the redacted text and per replaced mention: placeholder, type, text,
 *   start, end, redacted_start, redacted_end (code points)
 */
export function redactSpans(text, spans, pseudonyms) {
  const pieces = [];
  const records = [];
  let cursor = 0; // code points
  let cursor16 = 0; // the same in UTF-16 units
  let shift = 0;
  let offsets = null;
  for (const span of spans) {
    if (span.start < cursor) continue;
    offsets ??= span.u16 ? null : offsetsOf(text);
    const [start16, end16] = span.u16 ?? [offsets.toUnit(span.start), offsets.toUnit(span.end)];
    const mask = pseudonyms.placeholderFor(span.type, span.text);
    pieces.push(text.slice(cursor16, start16), mask);
    const length = codePointLength(mask);
    records.push({
      placeholder: mask,
      type: span.type,
      text: span.text,
      start: span.start,
      end: span.end,
      redacted_start: span.start + shift,
      redacted_end: span.start + shift + length,
    });
    shift += length - (span.end - span.start);
    cursor = span.end;
    cursor16 = end16;
  }
  pieces.push(text.slice(cursor16));
  return { text: pieces.join(""), spans: records };
}

// ------------------------------------------------------------------------------------------------ restore
const RUN = /[\p{L}\p{N}]+/gu;
const BRACKET = /\\?[[<({\]>)}]/gu;
const SENTINEL = "987654321";
const ALPHA = /\p{L}/u;

const coreRuns = (placeholder) => placeholder.match(RUN) ?? [];
const runsKey = (runs) => casefold(runs.join(""));
// only the syntax characters: a `u` expression refuses any other escape
const escapeRegex = (text) => text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");

/**
 * The runs of a placeholder's core with, between two runs, the separator it has or any of `separator`;
 * `wildcard` (a run of digits) becomes [0-9]+ (restore._core_pattern).
 */
function corePattern(placeholder, separator, wildcard = null) {
  const runs = [...placeholder.matchAll(RUN)];
  const parts = [];
  runs.forEach((run, i) => {
    if (i) {
      const between = placeholder.slice(runs[i - 1].index + runs[i - 1][0].length, run.index);
      parts.push(between ? `(?:${escapeRegex(between)}|${separator})` : separator);
    }
    const text = escapeRegex(run[0]);
    parts.push(wildcard ? text.replaceAll(wildcard, "[0-9]+") : text);
  });
  return parts.join("");
}

/**
 * Entities (placeholder -> original text) and, per line, the mentions replaced there (restore.SpanMap).
 */
export class SpanMap {
  /**
   * @param {Object} [options]
   * @param {string} [options.placeholder] the template the placeholders were made with (default: the rules')
   * @param {string[]} [options.types] the types that were replaced
   */
  constructor({ placeholder = null, types = [] } = {}) {
    this.placeholder = placeholder;
    this.types = [...types];
    /** @type {Map<string, string>} */
    this.entities = new Map();
    /** @type {Map<string, string>} */
    this.entityTypes = new Map();
    /** @type {Map<number, Object[]>} */
    this.lines = new Map();
    /** @type {Map<number, string>} the redacted lines, where known */
    this.redacted = new Map();
    this._matcher = null;
  }

  /** Record an entity (the first record of a placeholder wins). */
  addEntity(placeholder, type, text) {
    if (!this.entities.has(placeholder)) {
      this.entities.set(placeholder, text);
      if (type) this.entityTypes.set(placeholder, type);
    }
  }

  /**
   * Record the mentions replaced in line `number` (span records as redaction returns them) and, when given, the
   * redacted line itself (restore then also undoes wrappers an LLM put around its placeholders).
   */
  addLine(number, spans, redacted = null) {
    const records = [...spans].map((span) => ({ ...span }));
    for (const span of records) this.addEntity(span.placeholder, span.type, span.text);
    this.lines.set(number, records);
    if (redacted !== null && redacted !== undefined) this.redacted.set(number, redacted);
  }

  /**
   * A map from parsed span-map lines (header, entity and line records) or from the span records of one redaction
   * (kept as line 1).
   * @param {Iterable<Object>} records
   * @returns {SpanMap}
   */
  static fromRecords(records) {
    const found = new SpanMap();
    const loose = [];
    for (const record of records) found._addRecord(record, loose);
    if (loose.length) found.addLine(1, loose);
    return found;
  }

  /**
   * A map from the text of a span map file (JSON lines, as `flair-modernbert redact --span-map` writes it).
   * @param {string} content
   * @param {string} [source] the file's name, for messages
   * @returns {SpanMap}
   */
  static parse(content, source = "span map") {
    const found = new SpanMap();
    const loose = [];
    content.split("\n").forEach((line, index) => {
      if (!line.trim()) return;
      try {
        const record = JSON.parse(line);
        if (record === null || typeof record !== "object" || Array.isArray(record)) throw new Error("not a JSON object");
        found._addRecord(record, loose);
      } catch (error) {
        throw new Error(`${source}, line ${index + 1}: ${error.message}`);
      }
    });
    if (loose.length) found.addLine(1, loose);
    return found;
  }

  _addRecord(record, loose) {
    if (record.format === MAP_FORMAT) {
      this.placeholder = record.placeholder || this.placeholder;
      this.types = [...(record.types ?? [])];
    } else if ("entity" in record) this.addEntity(String(record.entity), record.type, String(record.text));
    else if ("line" in record) this.addLine(Math.trunc(Number(record.line)), record.spans ?? [], record.redacted);
    else if ("placeholder" in record) loose.push(record);
    else throw new Error("not a span-map record (header, entity, line or span record)");
  }

  /** The expression that finds known placeholders and unknown ones of the template's shape (restore.SpanMap._pattern). */
  _pattern(rules) {
    const template = this.placeholder || rules.placeholder;
    const version = [rules, template, this.entities.size, this.types.length, this.entityTypes.size];
    if (this._matcher && this._matcher.version.every((value, i) => value === version[i])) return this._matcher;
    const { word, separator, open, close, plural } = rules.restore;
    const byKey = new Map();
    const fuzzy = [];
    const exact = [];
    const byLength = [...this.entities.keys()].sort((a, b) => codePointLength(b) - codePointLength(a));
    for (const placeholder of byLength) {
      const runs = coreRuns(placeholder);
      if (!runs.some((run) => ALPHA.test(run))) {
        // no letters: only found as written, and not inside a longer word or number (#1 in #10)
        const wordChar = new RegExp(`^${word}`, "u");
        const chars = Array.from(placeholder);
        exact.push((wordChar.test(chars[0]) ? `(?<!${word})` : "") + escapeRegex(placeholder) +
          (wordChar.test(chars[chars.length - 1]) ? `(?!${word})` : ""));
        continue;
      }
      const key = runsKey(runs);
      if (!byKey.has(key)) byKey.set(key, placeholder);
      fuzzy.push(corePattern(placeholder, separator));
    }
    const shapes = [];
    for (const kind of this._kinds(template, rules)) {
      const shape = formatPlaceholder(template, kind, SENTINEL);
      const runs = coreRuns(shape).join("");
      if (!runs.includes(SENTINEL) || !ALPHA.test(runs)) continue;
      shapes.push(corePattern(shape, separator, SENTINEL));
    }
    const cores = [...fuzzy, ...shapes];
    const alternatives = [];
    if (cores.length) {
      alternatives.push(
        `(?<open>${open})(?<!${word})(?<core>${cores.join("|")})` +
          `(?:(?!${word})|(?=(?:${plural})(?!${word})))(?<close>${close})`,
      );
    }
    if (exact.length) alternatives.push(`(?<exact>${exact.join("|")})`);
    this._matcher = { version, regex: new RegExp(alternatives.join("|") || "(?!)", "giu"), byKey };
    return this._matcher;
  }

  /**
   * Every type whose placeholders this map may meet: the header's, the entities' (read back from the placeholders
   * through the template where no type was recorded) and the pattern types (restore.SpanMap._kinds).
   */
  _kinds(template, rules) {
    const kinds = new Set([...this.types, ...this.entityTypes.values()]);
    const pieces = formatPlaceholder(template, "\u0000", SENTINEL).split("\u0000");
    const body = pieces.map((piece) => escapeRegex(piece).replaceAll(SENTINEL, "[0-9]+")).join("([^\\n]+?)");
    const shape = new RegExp(`^(?:${body})$`, "u");
    for (const placeholder of this.entities.keys()) {
      const match = shape.exec(placeholder);
      if (match && match.length > 1) kinds.add(match[1]);
    }
    return [...kinds, ...patternTypes(rules).filter((kind) => !kinds.has(kind))];
  }

  /**
   * Placeholders in `text` (restore.SpanMap.find): the brackets nearest the core are removed when there is one on
   * each side, a second pair only when it doubles the first (`[[...]]`); other brackets stay: `([PERSON_1])` keeps
   * its parentheses.
   * @param {string} text
   * @param {Object} rules parsed rules.json
   * @returns {{start: number, end: number, placeholder: string|null, before: string, after: string}[]} UTF-16
   *   offsets; placeholder null when unknown
   */
  find(text, rules) {
    const { regex, byKey } = this._pattern(rules);
    const found = [];
    for (const match of text.matchAll(regex)) {
      const start = match.index;
      const end = start + match[0].length;
      if (match.groups.exact !== undefined) {
        found.push({ start, end, placeholder: match.groups.exact, before: "", after: "" });
        continue;
      }
      const opened = match.groups.open.match(BRACKET) ?? [];
      const closed = match.groups.close.match(BRACKET) ?? [];
      let pairs = 0;
      if (opened.length && closed.length) {
        pairs = 1;
        if (opened.length > 1 && closed.length > 1 && opened.at(-2) === opened.at(-1) && closed[1] === closed[0]) pairs = 2;
      }
      const placeholder = byKey.get(runsKey(coreRuns(match.groups.core))) ?? null;
      found.push({ start, end, placeholder, before: opened.slice(0, opened.length - pairs).join(""), after: closed.slice(pairs).join("") });
    }
    return found;
  }
}

/** The pieces of a redacted line between its mentions' placeholders (code point offsets of the span records). */
function gaps(redacted, mentions) {
  const { toUnit } = offsetsOf(redacted);
  const edges = [0, ...mentions.flatMap((m) => [toUnit(m.redacted_start), toUnit(m.redacted_end)]), redacted.length];
  const found = [];
  for (let i = 0; i < edges.length; i += 2) found.push(redacted.slice(edges[i], edges[i + 1]));
  return found;
}

/**
 * Whether `text` is the redacted line with its placeholders in other forms and only wrappers (rules.json's
 * restore.wrappers: Markdown, quotes, brackets) added around them (restore._same_line).
 */
function sameLine(text, found, redacted, mentions, rules) {
  const wrappers = new Set(rules.restore.wrappers);
  const ours = gaps(redacted, mentions);
  const cuts = [0, ...found.flatMap((f) => [f.start + f.before.length, f.end - f.after.length]), text.length];
  const theirs = [];
  for (let i = 0; i < cuts.length; i += 2) theirs.push(text.slice(cuts[i], cuts[i + 1]));
  const onlyWrappers = (piece) => [...piece].every((char) => wrappers.has(char));
  return ours.every((gap, index) => {
    const seen = theirs[index];
    const first = index === 0;
    const last = index === ours.length - 1;
    for (let at = 0; at <= seen.length - gap.length; at++) {
      const left = seen.slice(0, at);
      const right = seen.slice(at + gap.length);
      if (seen.startsWith(gap, at) && (!left || !first) && (!right || !last) && onlyWrappers(left) && onlyWrappers(right)) return true;
    }
    return false;
  });
}

/** The original line: the redacted line with each mention's own text (restore._original). */
function original(redacted, mentions) {
  const pieces = gaps(redacted, mentions);
  return pieces.map((piece, i) => (i ? mentions[i - 1].text + piece : piece)).join("");
}

/**
 * A SpanMap from what restore() accepts: a SpanMap, a redact result ({text, spans}), an array of span records or
 * span-map records, or a plain object / Map placeholder -> original text.
 */
export function asSpanMap(mapping) {
  if (mapping instanceof SpanMap) return mapping;
  if (Array.isArray(mapping)) return SpanMap.fromRecords(mapping);
  if (mapping instanceof Map) {
    const found = new SpanMap();
    for (const [placeholder, text] of mapping) found.addEntity(String(placeholder), null, String(text));
    return found;
  }
  if (mapping && typeof mapping === "object") {
    if (Array.isArray(mapping.spans) && typeof mapping.text === "string") {
      const found = new SpanMap(); // what redact returns: the redacted text and its span records
      found.addLine(1, mapping.spans, mapping.text);
      return found;
    }
    const found = new SpanMap();
    for (const [placeholder, text] of Object.entries(mapping)) found.addEntity(placeholder, null, String(text));
    return found;
  }
  throw new TypeError(`mapping: expected a SpanMap, a redact result, span records or an object placeholder -> text, got ${mapping}`);
}

/**
 * Put the original text back wherever a placeholder of `mapping` appears, in the forms LLMs return (restore.restore):
 * any case, brackets changed, doubled, escaped or dropped, separators changed, Markdown around, `'s` after. Each
 * placeholder becomes its entity's first mention; when `text` is line `line` of the redacted output (or the map
 * holds one line and no line is given) and its placeholders come in the order of that line's mentions, each
 * becomes its own mention's text, so the original comes back exactly; when the map also holds the redacted line
 * and `text` differs from it only by placeholders in other forms and wrappers around them, the original line
 * itself comes back.
 * @param {string} text
 * @param {SpanMap|Object|Object[]|Map<string, string>} mapping see asSpanMap
 * @param {Object} rules parsed rules.json
 * @param {Object} [options]
 * @param {number} [options.line] the line of the map that `text` is
 * @returns {{text: string, unknown: string[]}} the restored text, and the unknown placeholders as they appear
 */
export function restore(text, mapping, rules, { line } = {}) {
  const spanMap = asSpanMap(mapping);
  const found = spanMap.find(text, rules);
  const hasLine = line !== undefined && line !== null;
  const mentions = hasLine ? spanMap.lines.get(line) : spanMap.lines.size === 1 ? [...spanMap.lines.values()][0] : undefined;
  let own = null;
  if (mentions !== undefined) {
    const known = found.filter((item) => item.placeholder !== null).map((item) => item.placeholder);
    if (known.length === mentions.length && mentions.every((mention, i) => mention.placeholder === known[i])) {
      const redacted = spanMap.redacted.get(hasLine ? line : [...spanMap.lines.keys()][0]);
      if (redacted !== undefined && known.length === found.length && sameLine(text, found, redacted, mentions, rules)) {
        return { text: original(redacted, mentions), unknown: [] };
      }
      own = mentions.map((mention) => mention.text)[Symbol.iterator]();
    }
  }
  const pieces = [];
  const unknown = [];
  let cursor = 0;
  for (const { start, end, placeholder, before, after } of found) {
    if (placeholder === null) {
      unknown.push(text.slice(start, end));
      continue;
    }
    const original = own !== null ? own.next().value : spanMap.entities.get(placeholder);
    pieces.push(text.slice(cursor, start), before, original, after);
    cursor = end;
  }
  pieces.push(text.slice(cursor));
  return { text: pieces.join(""), unknown };
}
