// Benchmark helper for flair_modernbert/export/benchmark.py: latency per line in headless Chromium (WASM),
// through the example page (examples/browser), which exposes the loaded tagger as window.flairTagger.
//
//   node bench-browser.mjs URL FILE CHROMIUM PROFILE_DIR   -> {"texts", "median_ms", "p90_ms", "min_ms", "threads"}

import { readFileSync } from "node:fs";

import puppeteer from "puppeteer-core";

const [url, file, executablePath, profile] = process.argv.slice(2);
const lines = readFileSync(file, "utf-8").split("\n").filter((line) => line.length);
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  protocolTimeout: 3600000,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`,
  ],
});
try {
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => ["ready", "error"].includes(document.getElementById("status").dataset.state), {
    timeout: 1800000,
  });
  const state = await page.$eval("#status", (node) => [node.dataset.state, node.textContent]);
  if (state[0] !== "ready") throw new Error(state[1]);
  const result = await page.evaluate(async (texts) => {
    const tagger = window.flairTagger;
    await tagger.predict([texts[0]]);
    const times = [];
    for (const text of texts) {
      const start = performance.now();
      await tagger.predict([text]);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    return { texts: times.length, median_ms: at(0.5), p90_ms: at(0.9), min_ms: times[0], crossOriginIsolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency };
  }, lines);
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await browser.close();
}
