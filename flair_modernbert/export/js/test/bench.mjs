// Benchmark helper for flair_modernbert/export/benchmark.py (Node, onnxruntime-node).
//
//   node bench.mjs tags EXPORT FILE.json DTYPE      FILE: {"sentences": [[word, ...], ...]}, consecutive sentences of
//                                                   one document -> {"tags": [[tag per word] per sentence]}
//   node bench.mjs time EXPORT FILE DTYPE [R]       -> latency per line (one predict() call each, after a warm-up)

import { readFileSync } from "node:fs";

import { loadTagger } from "../tagger.mjs";
import { summary } from "./latency.mjs";

/** Tags of pre-split sentences of one document, as the page's flairPage.tags computes them. */
async function tagSentences(tagger, sentences) {
  const [emissions] = await tagger.emissions([sentences.map((words) => words.map((text) => ({ text })))]);
  return emissions.map((scores) => tagger.decode(scores).tags);
}

const [mode, folder, file, dtype, repeat = "1"] = process.argv.slice(2);
if (!["tags", "time"].includes(mode) || !file) {
  process.stderr.write("usage: node bench.mjs tags|time EXPORT FILE fp32|fp16|q8|q4 [REPEAT]\n");
  process.exit(2);
}
const tagger = await loadTagger(folder, { dtype });
if (mode === "tags") {
  const { sentences } = JSON.parse(readFileSync(file, "utf-8"));
  process.stdout.write(JSON.stringify({ tags: await tagSentences(tagger, sentences) }) + "\n");
} else {
  const lines = readFileSync(file, "utf-8").split("\n").filter((line) => line.length);
  await tagger.predict([lines[0]]); // warm-up: session initialisation, first allocations
  const times = [];
  for (let r = 0; r < Number(repeat); r++) {
    for (const line of lines) {
      const start = performance.now();
      await tagger.predict([line]);
      times.push(performance.now() - start);
    }
  }
  process.stdout.write(JSON.stringify(summary(times)) + "\n");
}
