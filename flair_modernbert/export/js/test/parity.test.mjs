// node --test: the JavaScript tagger against what the Python tagger computed on the same texts.
//
// tests/test_export_js.py writes the fixture (FLAIR_MODERNBERT_FIXTURE=path/to/fixture.json) at test time:
// per exported tagger, documents with Python's segmentation, subtoken ids, Flair's emission scores, predicted
// tags and the `flair-modernbert predict` line; plus Python's answers for JSON, float repr and round().

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";

import { round4 } from "../decode.mjs";
import { dumps, floatRepr, loads, pyStrip } from "../pyjson.mjs";
import { sentences } from "../segmentation.mjs";
import { documentLine, loadTagger, redactDocument } from "../tagger.mjs";

const path = process.env.FLAIR_MODERNBERT_FIXTURE;
if (!path) throw new Error("set FLAIR_MODERNBERT_FIXTURE to the fixture tests/test_export_js.py writes");
const fixture = JSON.parse(readFileSync(path, "utf-8"));
const TOLERANCE = 1e-4;

/**
 * Compare a predict line with Python's: identical, except that a span score may sit on the other side of a
 * 4th-decimal rounding boundary (ONNX Runtime and torch differ by ~1e-7 in the token confidences).
 * @returns {number} spans whose rounded score differs
 */
function assertSameLine(found, expected, context) {
  if (found === expected) return 0;
  const a = JSON.parse(found);
  const b = JSON.parse(expected);
  assert.equal(a.spans.length, b.spans.length, context);
  let flips = 0;
  a.spans.forEach((span, i) => {
    assert.ok(Math.abs(span.score - b.spans[i].score) <= TOLERANCE * 1.001, `${context}: ${span.score} vs ${b.spans[i].score}`);
    flips += span.score !== b.spans[i].score;
    a.spans[i].score = b.spans[i].score;
  });
  assert.deepEqual(a, b, context);
  // and the rest of the line is byte-identical
  assert.equal(found.replace(/"score": [^}]*/g, ""), expected.replace(/"score": [^}]*/g, ""), context);
  return flips;
}

test("segmentation: the words and sentences Python finds, with the same code point offsets", () => {
  for (const { text, sentences: expected } of fixture.segmentation) {
    const found = sentences(text).map((sentence) => sentence.map(({ text, start, end }) => [text, start, end]));
    assert.deepEqual(found, expected, JSON.stringify(text));
  }
});

test("python values: round(x, 4), float repr, str.strip, json.loads + json.dumps", () => {
  for (const [x, expected] of fixture.python.round) assert.equal(round4(x), expected, `round(${x}, 4)`);
  for (const [x, expected] of fixture.python.repr) assert.equal(floatRepr(x), expected, `repr(${x})`);
  for (const [text, expected] of fixture.python.strip) assert.equal(pyStrip(text), expected, JSON.stringify(text));
  for (const [text, expected] of fixture.python.json) assert.equal(dumps(loads(text)), expected, text);
});

for (const item of fixture.cases.filter((c) => c.dtypes)) {
  test(`${item.name}: dtypes ${Object.keys(item.dtypes).join(", ")} load, tag, and agree with fp32`, async (t) => {
    const documents = item.documents.map((doc) => sentences(doc.text));
    const tagsOf = (tagger, emissions) =>
      emissions.flatMap((doc) => doc.flatMap((sentence) => tagger.decode(sentence).tags));
    const fp32 = await loadTagger(item.folder);
    const reference = tagsOf(fp32, await fp32.emissions(documents));
    for (const [dtype, floor] of Object.entries(item.dtypes)) {
      const tagger = await loadTagger(item.folder, { dtype });
      const tags = tagsOf(tagger, await tagger.emissions(documents));
      assert.equal(tags.length, reference.length);
      const same = tags.filter((tag, i) => tag === reference[i]).length / tags.length;
      const tagged = await tagger.predict(item.documents.map((doc) => doc.text));
      const spans = tagged.flatMap((doc) => doc.spans);
      assert.ok(spans.length > 0, dtype);
      for (const span of spans) assert.ok(tagger.types.includes(span.type) && span.score > 0 && span.score <= 1, dtype);
      t.diagnostic(`${item.name}: ${dtype} tag agreement with fp32 ${(100 * same).toFixed(2)} % of ${tags.length} words, ` +
        `${spans.length} spans`);
      assert.ok(same >= floor, `${dtype}: tag agreement ${same} below ${floor}`);
    }
  });
}

test("a dtype the export has no file for is refused, naming the --quantize value", async () => {
  const item = fixture.cases.find((c) => !c.dtypes);
  await assert.rejects(loadTagger(item.folder, { dtype: "q4" }),
    /no model for dtype q4 \(this export has fp32; export with --quantize q4 to add it\)/);
  await assert.rejects(loadTagger(item.folder, { dtype: "int4" }), /dtype int4: use one of fp32, fp16, q8, q4/);
});

test("a sequence Python cannot run (no window, past the model's positions) is refused with the reason", async () => {
  assert.ok(fixture.refusals?.length, "the fixture has no refusal cases");
  for (const { folder, text, pattern } of fixture.refusals) {
    const tagger = await loadTagger(folder);
    await assert.rejects(tagger.predict([text]), new RegExp(pattern));
  }
});

for (const item of fixture.cases) {
  test(`${item.name}: ids, emissions, tags and predict lines equal the Python tagger's`, async (t) => {
    const tagger = await loadTagger(item.folder, item.options ?? {});
    const documents = item.documents.map((doc) => ({ doc, sentences: sentences(doc.text) }));

    await t.test("subtoken ids of every word", () => {
      for (const { doc, sentences: found } of documents) {
        const ids = found.map((sentence) => sentence.map((word) => Array.from(tagger.wordIds(word.text))));
        assert.deepEqual(ids, doc.ids, doc.text);
      }
    });

    const emissions = await tagger.emissions(documents.map(({ sentences: found }) => found));
    await t.test(`emission scores within ${TOLERANCE}`, () => {
      let worst = 0;
      documents.forEach(({ doc }, d) => {
        doc.emissions.forEach((sentence, s) =>
          sentence.forEach((word, w) =>
            word.forEach((value, k) => {
              worst = Math.max(worst, Math.abs(value - emissions[d][s][w][k]));
            }),
          ),
        );
      });
      assert.ok(worst <= TOLERANCE, `max abs difference ${worst}`);
    });

    await t.test("tags (Viterbi or softmax) of every word", () => {
      let words = 0;
      const kinds = new Set();
      documents.forEach(({ doc }, d) => {
        doc.tags.forEach((expected, s) => {
          const { tags } = tagger.decode(emissions[d][s]);
          assert.deepEqual(tags, expected, `${doc.text} (sentence ${s})`);
          words += tags.length;
          tags.forEach((tag) => kinds.add(tag));
        });
      });
      assert.ok(words > 0);
      if (item.min_distinct_tags) assert.ok(kinds.size >= item.min_distinct_tags, `only ${kinds.size} distinct tags`);
    });

    await t.test("predict lines (scores to 1e-4) and redaction", async () => {
      const tagged = await tagger.predict(item.documents.map((doc) => doc.text));
      let flips = 0;
      let spans = 0;
      tagged.forEach((doc, d) => {
        flips += assertSameLine(documentLine(doc), item.documents[d].line, item.documents[d].text);
        spans += doc.spans.length;
        if (item.documents[d].redacted !== undefined) {
          const { text, spans } = redactDocument(doc, item.placeholder);
          assert.equal(text, item.documents[d].redacted);
          assert.deepEqual(spans, item.documents[d].span_map);
        }
      });
      // types "all": pattern spans merged with the model's, redacted with numbered placeholders, restored
      const everything = await tagger.predict(item.documents.map((doc) => doc.text), { types: "all" });
      let patterns = 0;
      for (const [d, doc] of everything.entries()) {
        const expected = item.documents[d];
        if (expected.line_all === undefined) continue;
        flips += assertSameLine(documentLine(doc), expected.line_all, expected.text);
        spans += doc.spans.length;
        patterns += doc.spans.filter((span) => tagger.patternTypes.includes(span.type)).length;
        const redacted = redactDocument(doc);
        assert.equal(redacted.text, expected.redacted_all);
        assert.deepEqual(redacted.spans, expected.span_map_all);
        assert.equal(tagger.restore(redacted.text, redacted).text, doc.text);
        if (doc.spans.some((span) => tagger.patternTypes.includes(span.type))) {
          assert.deepEqual(await tagger.redact(doc.text), redacted, "tagger.redact replaces every type by default");
        }
      }
      if (everything.some((doc, d) => item.documents[d].line_all !== undefined && doc.text.includes("@acme.com"))) {
        assert.ok(patterns >= 5, `${patterns} pattern spans`);
      }
      assert.ok(flips <= Math.max(2, spans / 100), `${flips} of ${spans} span scores rounded differently`);
      t.diagnostic(`${spans} spans (${patterns} of pattern types), ${flips} scores on the other side of a 4th-decimal rounding boundary`);
    });
  });
}
