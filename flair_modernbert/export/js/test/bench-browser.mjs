// Benchmark helper for flair_modernbert/export/benchmark.py: the example page (examples/browser) in headless
// Chromium, through the page's `flairPage` API (tagging runs in the page's Web Worker, as for a user).
//
//   node bench-browser.mjs tags URL FILE.json CHROMIUM PROFILE [--webgpu]   -> {"tags": [...], "device": ...}
//   node bench-browser.mjs time URL FILE      CHROMIUM PROFILE [--webgpu]   -> {"texts", "median_ms", "p90_ms", ...}
//
// URL carries the page's ?dtype= and ?device=; --webgpu starts Chromium with --enable-unsafe-webgpu (headless
// Chromium then offers a WebGPU adapter: a GPU's, or SwiftShader's software one).

import { readFileSync } from "node:fs";

import puppeteer from "puppeteer-core";

import { summary } from "./latency.mjs";

const [mode, url, file, executablePath, profile, ...flags] = process.argv.slice(2);
if (!["tags", "time"].includes(mode) || !profile) {
  process.stderr.write("usage: node bench-browser.mjs tags|time URL FILE CHROMIUM PROFILE [--webgpu]\n");
  process.exit(2);
}
const webgpu = flags.includes("--webgpu");
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  protocolTimeout: 3600000,
  args: [
    "--headless", "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`,
    ...(webgpu ? ["--enable-unsafe-webgpu"] : ["--disable-gpu"]),
  ],
});
try {
  const page = await browser.newPage();
  const messages = [];
  page.on("console", (message) => messages.push(message.text()));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => ["ready", "error"].includes(document.getElementById("status")?.dataset.state), {
    timeout: 1800000,
  });
  const state = await page.$eval("#status", (node) => [node.dataset.state, node.textContent]);
  if (state[0] !== "ready") throw new Error(state[1]);
  const input = readFileSync(file, "utf-8");
  const result = await page.evaluate(
    async (mode, input) => {
      const api = window.flairPage;
      const about = { device: api.device, dtype: api.dtype, fallback: api.fallback ?? null,
        crossOriginIsolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency };
      if (mode === "tags") return { ...about, tags: await api.tags(JSON.parse(input).sentences) };
      const texts = input.split("\n").filter((line) => line.length);
      await api.predict([texts[0]]);
      const times = [];
      for (const text of texts) {
        const start = performance.now();
        await api.predict([text]);
        times.push(performance.now() - start);
      }
      return { ...about, times };
    },
    mode,
    input,
  );
  if (mode === "time") Object.assign(result, summary(result.times), { times: undefined });
  result.console = messages.filter((text) => /webgpu|wasm|fall/i.test(text)).slice(0, 5);
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await browser.close();
}
