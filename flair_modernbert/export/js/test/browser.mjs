// Drive the example page (examples/browser) in headless Chromium: paste stdin's text, press Redact, print the
// page's result as one JSON line and save a screenshot.
//
//   node browser.mjs URL SCREENSHOT.png CHROMIUM PROFILE_DIR < text.txt
//
// Used by tests/test_export_js.py; also handy by hand against `python examples/browser/serve.py OUT`.

import { readFileSync } from "node:fs";

import puppeteer from "puppeteer-core";

const [url, screenshot, executablePath, profile] = process.argv.slice(2);
if (!url || !screenshot || !executablePath || !profile) {
  process.stderr.write("usage: node browser.mjs URL SCREENSHOT.png CHROMIUM PROFILE_DIR < text\n");
  process.exit(2);
}
const text = readFileSync(0, "utf-8");

const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`,
  ],
});
try {
  const page = await browser.newPage();
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  await page.setViewport({ width: 1100, height: 1100 });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(
    () => ["ready", "error"].includes(document.getElementById("status").dataset.state),
    { timeout: 120000 },
  );
  const state = await page.$eval("#status", (node) => [node.dataset.state, node.textContent]);
  if (state[0] !== "ready") throw new Error(`${state[1]}\n${problems.join("\n")}`);
  await page.$eval("#input", (node, value) => {
    node.value = value;
  }, text);
  await page.click("#redact");
  await page.waitForFunction(
    () => document.getElementById("result").dataset.json || document.getElementById("status").dataset.state === "error",
    { timeout: 120000 },
  );
  const result = await page.$eval("#result", (node) => node.dataset.json);
  if (!result) throw new Error(`${await page.$eval("#status", (node) => node.textContent)}\n${problems.join("\n")}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  process.stdout.write(result + "\n");
} finally {
  await browser.close();
}
