// Benchmark helper for flair_modernbert/export/benchmark.py (Node, onnxruntime-node).
//
//   node bench.mjs tags EXPORT FILE DTYPE          -> {"tags": [[[tag per word] per sentence] per line]}
//   node bench.mjs time EXPORT FILE DTYPE [R]      -> latency per line (one predict() call each, after a warm-up)

import { readFileSync } from "node:fs";

import { loadTagger, sentences } from "../tagger.mjs";

const [mode, folder, file, dtype, repeat = "1"] = process.argv.slice(2);
const lines = readFileSync(file, "utf-8").split("\n").filter((line) => line.length);
const tagger = await loadTagger(folder, { dtype });

if (mode === "tags") {
  const documents = lines.map((line) => sentences(line));
  const out = [];
  for (let i = 0; i < documents.length; i += 256) {
    const chunk = documents.slice(i, i + 256);
    const emissions = await tagger.emissions(chunk);
    emissions.forEach((doc) => out.push(doc.map((sentence) => tagger.decode(sentence).tags)));
  }
  process.stdout.write(JSON.stringify({ tags: out }) + "\n");
} else if (mode === "time") {
  await tagger.predict([lines[0]]); // warm-up: session initialisation, first allocations
  const times = [];
  for (let r = 0; r < Number(repeat); r++) {
    for (const line of lines) {
      const start = performance.now();
      await tagger.predict([line]);
      times.push(performance.now() - start);
    }
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  process.stdout.write(JSON.stringify({ texts: times.length, median_ms: at(0.5), p90_ms: at(0.9), min_ms: times[0] }) + "\n");
} else {
  process.stderr.write("usage: node bench.mjs tags|time EXPORT FILE fp32|fp16|q8|q4 [REPEAT]\n");
  process.exit(2);
}
