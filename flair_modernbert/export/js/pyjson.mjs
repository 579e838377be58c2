// JSON lines as Python's json module reads and writes them, so predict.mjs prints byte for byte what
// `flair-modernbert predict` prints: keys keep their order (JSON.parse moves integer-like keys first), integers
// keep every digit, floats print as Python's repr (1.0, 1e-05, 1e+16), NaN/Infinity are accepted and written
// back, and strings are escaped as json.dumps(..., ensure_ascii=False) escapes them.

/** A JSON integer kept as its digits (Python ints have no size limit). */
export class PyInt {
  constructor(digits) {
    this.digits = digits;
  }
}

/** A JSON object with its keys in input order (duplicates: last value, first position, as a Python dict). */
export class PyDict {
  constructor(entries = []) {
    this.map = new Map(entries);
  }
}

/** Python's str.isspace characters: what str.strip() removes. */
export const PY_WHITESPACE = /^[\t\n\x0B\f\r\x1C-\x1F \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+|[\t\n\x0B\f\r\x1C-\x1F \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$/g;

/** Python's str.strip(). */
export function pyStrip(text) {
  return text.replace(PY_WHITESPACE, "");
}

class JsonError extends Error {}

/**
 * Parse JSON as Python's json.loads does (NaN, Infinity and -Infinity accepted; control characters in strings
 * refused).
 * @param {string} text
 * @returns {any} objects as PyDict, integers as PyInt, floats as numbers
 */
export function loads(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const fail = (what) => {
    throw new JsonError(`${what} at char ${i}`);
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    if (text.startsWith("null", i)) return (i += 4), null;
    if (text.startsWith("true", i)) return (i += 4), true;
    if (text.startsWith("false", i)) return (i += 5), false;
    if (text.startsWith("NaN", i)) return (i += 3), NaN;
    if (text.startsWith("Infinity", i)) return (i += 8), Infinity;
    if (text.startsWith("-Infinity", i)) return (i += 9), -Infinity;
    const match = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i));
    if (!match) fail("Expecting value");
    i += match[0].length;
    if (match[1] === undefined && match[2] === undefined) return new PyInt(BigInt(match[0]).toString());
    return Number(match[0]);
  };
  const string = () => {
    i++;
    let out = "";
    for (;;) {
      if (i >= text.length) fail("Unterminated string starting");
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c < " ") fail("Invalid control character");
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }[e];
      if (simple !== undefined) {
        out += simple;
        i += 2;
      } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16)); // pairs join by themselves in UTF-16
        i += 6;
      } else fail("Invalid \\escape");
    }
  };
  const array = () => {
    i++;
    const out = [];
    ws();
    if (text[i] === "]") return i++, out;
    for (;;) {
      out.push(value());
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "]") return i++, out;
      else fail("Expecting ',' delimiter");
    }
  };
  const object = () => {
    i++;
    const out = new PyDict();
    ws();
    if (text[i] === "}") return i++, out;
    for (;;) {
      ws();
      if (text[i] !== '"') fail("Expecting property name enclosed in double quotes");
      const key = string();
      ws();
      if (text[i] !== ":") fail("Expecting ':' delimiter");
      i++;
      out.map.set(key, value());
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "}") return i++, out;
      else fail("Expecting ',' delimiter");
    }
  };
  const result = value();
  ws();
  if (i !== text.length) fail("Extra data");
  return result;
}

/** Python's repr of a float. */
export function floatRepr(x) {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // shortest round-trip digits, as Python's repr uses
  const [mantissa, exponent] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const point = Number(exponent) + 1; // x = 0.DIGITS * 10^point
  const sign = x < 0 ? "-" : "";
  if (point > -4 && point <= 16) {
    if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
    if (digits.length <= point) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const exp = point - 1;
  const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${body}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

const ESCAPES = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };

/** A string as json.dumps(..., ensure_ascii=False) writes it. */
export function stringRepr(text) {
  return (
    '"' +
    text.replace(/["\\\x00-\x1f]/g, (c) => ESCAPES[c] ?? "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")) +
    '"'
  );
}

/**
 * Serialize as Python's json.dumps(value, ensure_ascii=False).
 * @param {any} value PyDict/Map/plain objects, arrays, strings, numbers (floats), PyInt, booleans, null
 */
export function dumps(value) {
  if (value === null || value === undefined) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return stringRepr(value);
  if (typeof value === "number") return floatRepr(value);
  if (typeof value === "bigint") return value.toString();
  if (value instanceof PyInt) return value.digits;
  if (Array.isArray(value)) return "[" + value.map(dumps).join(", ") + "]";
  const entries = value instanceof PyDict ? [...value.map] : value instanceof Map ? [...value] : Object.entries(value);
  return "{" + entries.map(([key, item]) => stringRepr(key) + ": " + dumps(item)).join(", ") + "}";
}

export { JsonError };
