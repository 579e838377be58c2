// node --test: redaction.mjs against what flair_modernbert.redaction (Python) answered for the same cases.
//
// tests/test_redaction_js.py writes the fixture (FLAIR_MODERNBERT_REDACTION_FIXTURE=path, or the first argument when
// this file is run with plain `node`): the path of rules.json, and Python's answers for pattern spans, validators,
// entity keys, placeholder templates, pseudonym numbering, type selection, merging, redaction, span maps and
// restore (the cases of tests/data/pii_cases.json and tests/data/restore_cases.json).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";

import {
  DEFAULT_PLACEHOLDER,
  Pseudonyms,
  SpanMap,
  VALIDATORS,
  checkRules,
  entityKey,
  findPii,
  formatPlaceholder,
  luhnValid,
  mergeSpans,
  offsetsOf,
  patternTypes,
  redactSpans,
  restore,
  selectTypes,
} from "../redaction.mjs";

const path = process.env.FLAIR_MODERNBERT_REDACTION_FIXTURE ?? process.argv[2];
if (!path) throw new Error("set FLAIR_MODERNBERT_REDACTION_FIXTURE to the fixture tests/test_redaction_js.py writes");
const fixture = JSON.parse(readFileSync(path, "utf-8"));
const rules = checkRules(JSON.parse(readFileSync(fixture.rules, "utf-8")), fixture.rules);

const row = (span) => [span.start, span.end, span.type, span.text, span.score];
const spansOf = (rows) => rows.map(([start, end, type, text, score]) => ({ start, end, type, text, score }));

/** Spans carrying UTF-16 offsets must slice their own text out of the document. */
function assertU16(text, spans) {
  for (const span of spans) if (span.u16) assert.equal(text.slice(...span.u16), span.text, JSON.stringify(span));
}

test("rules.json: the default placeholder and the pattern types", () => {
  assert.equal(DEFAULT_PLACEHOLDER, rules.placeholder);
  assert.deepEqual(patternTypes(rules), fixture.pattern_types);
});

test("findPii: the spans find_pii gives, with code point offsets", () => {
  for (const { text, types, spans } of fixture.find) {
    const found = findPii(text, rules, types);
    assert.deepEqual(found.map(row), spans, `${JSON.stringify(text)} ${JSON.stringify(types)}`);
    assertU16(text, found);
  }
});

test("validators: Luhn, credit card, IBAN, IPv6, phone", () => {
  const functions = { luhn: (value) => luhnValid(value), ...VALIDATORS };
  for (const [name, cases] of Object.entries(fixture.validators)) {
    for (const [value, expected] of cases) assert.equal(functions[name](value, rules), expected, `${name}(${JSON.stringify(value)})`);
  }
});

test("entity keys: case removed, NFC, separators collapsed", () => {
  for (const [text, key] of fixture.keys) assert.equal(entityKey(text), key, JSON.stringify(text));
});

test("placeholder templates: fields, braces and errors", () => {
  for (const { template, result, error } of fixture.placeholders) {
    if (error !== undefined) assert.throws(() => formatPlaceholder(template, "credit_card", 12), { message: error }, template);
    else assert.equal(formatPlaceholder(template, "credit_card", 12), result, template);
  }
});

test("Pseudonyms: one numbered placeholder per entity, partial mentions, takeNew", () => {
  for (const { placeholder, join_partial: joinPartial, mentions, placeholders, new: created } of fixture.pseudonyms) {
    const pseudonyms = new Pseudonyms(placeholder, { joinPartial });
    mentions.forEach(([type, text], i) => {
      assert.equal(pseudonyms.placeholderFor(type, text), placeholders[i], `${placeholder} ${joinPartial}: ${type} ${text}`);
      assert.deepEqual(pseudonyms.takeNew(), created[i]);
    });
  }
});

test("selectTypes: model and pattern types, aliases, all, errors", () => {
  for (const item of fixture.types) {
    const context = JSON.stringify([item.model_types, item.requested, item.default]);
    if (item.error !== undefined) {
      assert.throws(() => selectTypes(item.model_types, item.requested, rules, item.default), { message: item.error }, context);
      continue;
    }
    const chosen = selectTypes(item.model_types, item.requested, rules, item.default);
    assert.deepEqual(chosen.model === null ? null : [...chosen.model].sort(), item.model, context);
    assert.deepEqual([...chosen.patterns].sort(), item.patterns, context);
  }
});

test("mergeSpans: one span per overlapping group, typed by its first pattern", () => {
  for (const { text, model, patterns, merged } of fixture.merge) {
    assert.deepEqual(mergeSpans(spansOf(model), spansOf(patterns)).map(row), merged, JSON.stringify(text));
    // the same with the spans findPii returns (they carry UTF-16 offsets, and so do merged ones)
    const found = mergeSpans(spansOf(model), findPii(text, rules));
    assert.deepEqual(found.map(row), merged, JSON.stringify(text));
    assertU16(text, found);
  }
});

test("redactSpans: the redacted text and the span records", () => {
  for (const item of fixture.redact) {
    const pseudonyms = new Pseudonyms(item.placeholder, { joinPartial: item.join_partial });
    const { text, spans } = redactSpans(item.text, spansOf(item.spans), pseudonyms);
    assert.equal(text, item.redacted, JSON.stringify(item.text));
    assert.deepEqual(spans, item.records, JSON.stringify(item.text));
  }
});

/** Code point spans of mentions, each the next occurrence of its text (the test's _located). */
function located(text, mentions) {
  const { toPoint } = offsetsOf(text);
  let cursor = 0;
  return mentions.map(([mention, type]) => {
    const at = text.indexOf(mention, cursor);
    assert.ok(at >= 0, mention);
    cursor = at + mention.length;
    return { start: toPoint(at), end: toPoint(cursor), type, text: mention, score: 1 };
  });
}

test("span maps: numbering across lines, entity records before their first line", () => {
  for (const [name, { spec, records, redacted }] of Object.entries(fixture.maps)) {
    const pseudonyms = new Pseudonyms(spec.placeholder);
    const built = [{ format: "flair-modernbert-span-map", version: 2, placeholder: pseudonyms.placeholder, scope: "input", types: spec.types }];
    const texts = [];
    spec.lines.forEach((line, i) => {
      const { text, spans } = redactSpans(line.text, located(line.text, line.mentions), pseudonyms);
      built.push(...pseudonyms.takeNew(), { line: i + 1, spans, redacted: text });
      texts.push(text);
    });
    assert.deepEqual(texts, redacted, name);
    assert.deepEqual(built, records, name);
    // the file's JSON lines read back
    const parsed = SpanMap.parse(records.map((record) => JSON.stringify(record)).join("\n") + "\n", name);
    assert.deepEqual([...parsed.entities], records.filter((r) => "entity" in r).map((r) => [r.entity, r.text]));
    assert.equal(parsed.placeholder, records[0].placeholder);
    assert.deepEqual([...parsed.lines.keys()], spec.lines.map((_, i) => i + 1));
  }
});

test("restore: every form an LLM gives back, unknown placeholders reported", () => {
  for (const item of fixture.restore) {
    const line = item.line ?? undefined;
    const expected = { text: item.restored, unknown: item.unknown };
    const mappings = [item.mapping];
    if (item.form === "dict") mappings.push(new Map(Object.entries(item.mapping)));
    if (Array.isArray(item.mapping)) mappings.push(SpanMap.fromRecords(item.mapping));
    for (const mapping of mappings) assert.deepEqual(restore(item.answer, mapping, rules, { line }), expected, item.name);
  }
});
