// Drive the example page (examples/browser) in headless Chromium through a whole round trip: paste stdin's text,
// press Redact, press Copy and read the clipboard, paste an "LLM answer" made from the redacted text with its
// placeholders mangled the ways LLMs return them, press Restore; then a second answer with a placeholder in bold
// and one the page's map does not have. Prints one JSON line and saves a screenshot of the page at the end.
//
//   node browser.mjs URL SCREENSHOT.png CHROMIUM PROFILE_DIR < text.txt
//
// The JSON: types (the checkboxes: [value, checked]), redacted (the page's redacted text), copied (what Copy put on
// the clipboard), spans (the rows of the page's table), highlighted (the marked texts), answers ([{answer,
// restored, unknown}]: the exact round trip, then the answer with extras), requests (every request the page
// made: url, method, headers, postData, resourceType, afterLoad), websockets, storage (what the page left in
// localStorage, sessionStorage, cookies, Cache Storage, IndexedDB, and its URL at the end), problems (console
// errors, failed requests).
// Used by tests/test_browser_page.py; also handy by hand against `python examples/browser/serve.py OUT`.

import { readFileSync } from "node:fs";

import puppeteer from "puppeteer-core";

const [url, screenshot, executablePath, profile] = process.argv.slice(2);
if (!url || !screenshot || !executablePath || !profile) {
  process.stderr.write("usage: node browser.mjs URL SCREENSHOT.png CHROMIUM PROFILE_DIR < text\n");
  process.exit(2);
}
const text = readFileSync(0, "utf-8");

/** Placeholders of the default template, [TYPE_N]. */
const PLACEHOLDER = /\[([^\[\]\s]+?)_(\d+)\]/gu;

const titleCase = (word) => word.charAt(0) + word.slice(1).toLowerCase();

/** The forms an LLM gives a placeholder back in, all of which restore to exactly the original text. */
const MANGLES = [
  (type, n) => `[${type.toLowerCase()}_${n}]`, // lower case
  (type, n) => `<${type}-${n}>`, // other brackets, other separator
  (type, n) => `((${titleCase(type)} ${n}))`, // doubled brackets, title case, a space
  (type, n) => `\\[${type}\\_${n}\\]`, // Markdown escapes
  (type, n) => `{{${type}${n}}}`, // no separator
  (type, n) => `[[${type}_${n}]]`,
];

/** The redacted text with every placeholder in another of MANGLES' forms. */
function mangle(redacted) {
  let k = 0;
  return redacted.replace(PLACEHOLDER, (_, type, n) => MANGLES[k++ % MANGLES.length](type, n));
}

/** A reply that quotes the first placeholder in bold with a possessive, and one the map does not have. */
function reply(redacted) {
  const first = redacted.match(PLACEHOLDER)?.[0] ?? "[PERSON_1]";
  const type = first.slice(1, first.lastIndexOf("_"));
  return `Summary: **${first}** wrote back.\nAlso ask [${type}_99] about ${first.toLowerCase()}'s note.`;
}

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
  const requests = [];
  const websockets = [];
  let loaded = false;
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  // every request of the page (and the workers it reports), with its body
  page.on("request", (request) => {
    requests.push({
      url: request.url(),
      method: request.method(),
      headers: request.headers(),
      postData: request.postData() ?? null,
      resourceType: request.resourceType(),
      afterLoad: loaded,
    });
  });
  const cdp = await page.createCDPSession();
  await cdp.send("Network.enable");
  cdp.on("Network.webSocketCreated", (event) => websockets.push(event.url));
  await browser.defaultBrowserContext().overridePermissions(new URL(url).origin, [
    "clipboard-read", "clipboard-write", "clipboard-sanitized-write",
  ]);
  await page.setViewport({ width: 1100, height: 1100 });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(
    () => ["ready", "error"].includes(document.getElementById("status").dataset.state),
    { timeout: 120000 },
  );
  const state = await page.$eval("#status", (node) => [node.dataset.state, node.textContent]);
  if (state[0] !== "ready") throw new Error(`${state[1]}\n${problems.join("\n")}`);
  loaded = true;
  const types = await page.evaluate(() => ({
    model: [...document.querySelectorAll("#model-types input")].map((box) => [box.value, box.checked]),
    patterns: [...document.querySelectorAll("#pattern-types input")].map((box) => [box.value, box.checked]),
  }));
  const statusText = async () => page.$eval("#status", (node) => `${node.dataset.state}: ${node.textContent}`);

  // 1. redact
  await page.$eval("#input", (node, value) => {
    node.value = value;
    node.dispatchEvent(new Event("input", { bubbles: true }));
  }, text);
  await page.click("#redact");
  await page.waitForFunction(
    () => !document.getElementById("result").hidden || document.getElementById("status").dataset.state === "error",
    { timeout: 120000 },
  );
  if (await page.$eval("#result", (node) => node.hidden)) throw new Error(`${await statusText()}\n${problems.join("\n")}`);
  const redacted = await page.$eval("#redacted", (node) => node.textContent);
  const spans = await page.$$eval("#spans tbody tr", (rows) =>
    rows.map((row) => {
      const [text, type, score, offsets, placeholder] = [...row.cells].map((cell) => cell.textContent);
      return { text, type, score: Number(score), offsets, placeholder };
    }),
  );
  const highlighted = await page.$$eval("#highlighted mark", (marks) => marks.map((mark) => mark.firstChild.textContent));

  // 2. copy: what lands on the clipboard is what gets pasted into the chat
  await page.click("#copy");
  await page.waitForFunction(() => document.getElementById("copied").textContent !== "", { timeout: 10000 });
  const copyNote = await page.$eval("#copied", (node) => node.textContent);
  const copied = await page.evaluate(() => navigator.clipboard.readText().catch(() => null));

  // 3. paste answers, restore
  const answers = [];
  for (const answer of [mangle(copied ?? redacted), reply(copied ?? redacted)]) {
    await page.$eval("#answer", (node, value) => {
      node.value = value;
      node.dispatchEvent(new Event("input", { bubbles: true }));
    }, answer);
    await page.$eval("#restored-section", (node) => {
      node.hidden = true;
    });
    await page.click("#restore");
    await page.waitForFunction(
      () => !document.getElementById("restored-section").hidden || document.getElementById("status").dataset.state === "error",
      { timeout: 10000 },
    );
    if (await page.$eval("#restored-section", (node) => node.hidden)) throw new Error(`${await statusText()}\n${problems.join("\n")}`);
    answers.push({
      answer,
      restored: await page.$eval("#restored", (node) => node.textContent),
      unknown: await page.$$eval("#unknown-section:not([hidden]) #unknown li", (items) => items.map((item) => item.textContent)),
    });
  }
  const storage = await page.evaluate(async () => ({
    localStorage: Object.keys(localStorage),
    sessionStorage: Object.keys(sessionStorage),
    cookies: document.cookie,
    caches: globalThis.caches ? await caches.keys() : [],
    indexedDB: (await indexedDB.databases()).map((db) => db.name),
    url: location.href,
  }));
  await page.screenshot({ path: screenshot, fullPage: true });
  process.stdout.write(JSON.stringify({
    types, redacted, copied, copyNote, spans, highlighted, answers, requests, websockets, storage, problems,
    status: await statusText(),
  }) + "\n");
} finally {
  await browser.close();
}
