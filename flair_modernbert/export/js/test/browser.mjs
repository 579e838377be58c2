// Drive the example page (examples/browser) in headless Chromium and print one JSON line.
//
//   node browser.mjs URL SCREENSHOT.png CHROMIUM PROFILE_DIR [--check round-trip|long|predict|load] [--webgpu] < input
//
// --check round-trip (the default; input: a text): paste the text, press Redact, press Copy and read the clipboard,
//   paste an "LLM answer" made from the redacted text with its placeholders mangled the ways LLMs return them, press
//   Restore; then a second answer with a placeholder in bold and one the page's map does not have. JSON: types (the
//   checkboxes: [value, checked]), redacted (the page's redacted text), copied (what Copy put on the clipboard),
//   spans (the rows of the page's table), highlighted (the marked texts), answers ([{answer, restored, unknown}]).
// --check long (input: a text of many sentences): press Redact and, while the worker tags, press a key in the text
//   field again and again and sample the progress bar. JSON: probes ([{delay, roundTrip, busy}]: ms from the key
//   event's creation to the page's keydown handler, and from sending the key to its handling, whether the page was
//   still busy), control (the same probe while the page's main thread is kept busy for 600 ms on purpose: what a
//   blocked page looks like), progress ([{value, max, hidden}] samples, then final), redacted, spanCount, ms.
// --check predict (input: JSON {texts, options}): documents = await flairPage.predict(texts, options), twice;
//   timings (ms of each call).
// --check load: load the page only.
// --webgpu: start Chromium with --enable-unsafe-webgpu, so that it offers a WebGPU adapter (a GPU's, or
//   SwiftShader's software one) instead of --disable-gpu.
// Every check also prints: about (the WebGPU adapter Chromium offers or null; flairPage's device, dtype and fallback;
// whether the old window.flairTagger exists; the status and device lines, the device choice, load ms),
// requests (every request of the page and its worker: url, method, headers, postData, resourceType, afterLoad),
// websockets, console (warnings and info the page and worker logged), storage (what the page left in localStorage,
// sessionStorage, cookies, IndexedDB, its URL at the end, and every Cache Storage entry: cache, url, bytes, sha256),
// problems (console errors, uncaught errors, failed requests), status.
// Used by tests/test_browser_page.py; also handy by hand against `python examples/browser/serve.py OUT`.

import puppeteer from "puppeteer-core";

const [url, screenshot, executablePath, profile, ...flags] = process.argv.slice(2);
const check = flags.includes("--check") ? flags[flags.indexOf("--check") + 1] : "round-trip";
if (!url || !screenshot || !executablePath || !profile || !["round-trip", "long", "predict", "load"].includes(check)) {
  process.stderr.write("usage: node browser.mjs URL SCREENSHOT.png CHROMIUM PROFILE_DIR " +
    "[--check round-trip|long|predict|load] [--webgpu] < input\n");
  process.exit(2);
}
// read stdin as a stream: readFileSync(0) fails with EAGAIN on a large piped input
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = Buffer.concat(chunks).toString("utf-8");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

/** The checks: each gets the loaded page, stdin and a function that makes an error with the page's state. */
const CHECKS = {
  async "round-trip"(page, text, fail) {
    const types = await page.evaluate(() => ({
      model: [...document.querySelectorAll("#model-types input")].map((box) => [box.value, box.checked]),
      patterns: [...document.querySelectorAll("#pattern-types input")].map((box) => [box.value, box.checked]),
    }));
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
    if (await page.$eval("#result", (node) => node.hidden)) throw await fail("redact");
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
      if (await page.$eval("#restored-section", (node) => node.hidden)) throw await fail("restore");
      answers.push({
        answer,
        restored: await page.$eval("#restored", (node) => node.textContent),
        unknown: await page.$$eval("#unknown-section:not([hidden]) #unknown li", (items) => items.map((item) => item.textContent)),
      });
    }
    return { types, redacted, copied, copyNote, spans, highlighted, answers };
  },

  async long(page, text, fail) {
    // the page's own input field answers keys; this handler only measures how late it runs
    await page.$eval("#input", (node, value) => {
      node.value = value;
      node.dispatchEvent(new Event("input", { bubbles: true }));
      window.probeDelays = [];
      node.addEventListener("keydown", (event) => window.probeDelays.push(performance.now() - event.timeStamp));
      node.focus();
    }, text);
    let presses = 0;
    const probe = async () => {
      const sent = Date.now();
      await page.keyboard.press("End"); // moves the caret: the text stays as it is
      presses += 1;
      await page.waitForFunction((n) => window.probeDelays.length >= n, { timeout: 60000, polling: 10 }, presses);
      const roundTrip = Date.now() - sent;
      return { delay: await page.evaluate((n) => window.probeDelays[n - 1], presses), roundTrip };
    };
    const bar = () => page.$eval("#progress-line", (line) => {
      const bar = line.querySelector("progress");
      return { value: bar.value, max: bar.max, hidden: line.hidden, text: line.textContent.trim() };
    });
    // what a blocked main thread looks like to the probe
    const blocking = page.evaluate(() => {
      const end = performance.now() + 600;
      while (performance.now() < end);
    });
    await sleep(50);
    const control = await probe();
    await blocking;

    const started = Date.now();
    await page.click("#redact");
    await page.focus("#input"); // as a person who goes on typing
    const probes = [];
    const progress = [];
    for (;;) {
      const busy = await page.$eval("#status", (node) => node.dataset.state === "busy");
      if (!busy) break;
      probes.push({ ...(await probe()), busy: true });
      progress.push(await bar());
      await sleep(100);
    }
    const ms = Date.now() - started;
    if (await page.$eval("#result", (node) => node.hidden)) throw await fail("redact");
    return {
      control,
      probes,
      progress,
      final: await bar(),
      ms,
      redacted: await page.$eval("#redacted", (node) => node.textContent),
      spanCount: await page.$$eval("#spans tbody tr", (rows) => rows.length),
    };
  },

  async predict(page, json) {
    const { texts, options } = JSON.parse(json);
    return page.evaluate(async (texts, options) => {
      const timings = [];
      let documents;
      for (let run = 0; run < 2; run++) {
        const start = performance.now();
        documents = await window.flairPage.predict(texts, options);
        timings.push(performance.now() - start);
      }
      return { documents, timings };
    }, texts, options ?? {});
  },

  async load() {
    return {};
  },
};

const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`,
    ...(flags.includes("--webgpu") ? ["--enable-unsafe-webgpu"] : ["--disable-gpu"]),
  ],
});
try {
  const page = await browser.newPage();
  const problems = [];
  const requests = [];
  const websockets = [];
  const consoleLines = [];
  let loaded = false;
  // the page's console and its worker's (puppeteer reports a dedicated worker's messages on the page too)
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
    else if (["warn", "warning", "info", "log"].includes(message.type())) consoleLines.push([message.type(), message.text()]);
  });
  page.on("pageerror", (error) => problems.push(`page: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  // every request of the page and of its worker, with its body
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
  const started = Date.now();
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(
    () => ["ready", "error"].includes(document.getElementById("status").dataset.state),
    { timeout: 240000 },
  );
  const state = await page.$eval("#status", (node) => [node.dataset.state, node.textContent]);
  if (state[0] !== "ready") throw new Error(`${state[1]}\n${problems.join("\n")}\n${consoleLines.join("\n")}`);
  loaded = true;
  const about = await page.evaluate(async () => ({
    // what this Chromium offers, independently of the page: null, or e.g. SwiftShader's software adapter
    adapter: await (navigator.gpu?.requestAdapter() ?? Promise.resolve(null))
      .then((adapter) => adapter && { vendor: adapter.info.vendor, architecture: adapter.info.architecture })
      .catch(() => null),
    device: window.flairPage?.device ?? null,
    dtype: window.flairPage?.dtype ?? null,
    fallback: window.flairPage?.fallback ?? null,
    flairTagger: "flairTagger" in window,
    status: document.getElementById("status").textContent,
    deviceNote: document.getElementById("device-note").textContent,
    deviceChoice: document.getElementById("device").value,
  }));
  about.loadMs = Date.now() - started;
  const statusText = async () => page.$eval("#status", (node) => `${node.dataset.state}: ${node.textContent}`);
  const fail = async (what) => new Error(`${what}: ${await statusText()}\n${problems.join("\n")}`);

  const result = await CHECKS[check](page, input, fail);
  const storage = await page.evaluate(async () => {
    const hex = (buffer) => [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    const cached = [];
    for (const name of globalThis.caches ? await caches.keys() : []) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        const body = await (await cache.match(request)).arrayBuffer();
        cached.push({ cache: name, url: request.url, bytes: body.byteLength, sha256: hex(await crypto.subtle.digest("SHA-256", body)) });
      }
    }
    return {
      localStorage: Object.keys(localStorage),
      sessionStorage: Object.keys(sessionStorage),
      cookies: document.cookie,
      caches: cached,
      indexedDB: (await indexedDB.databases()).map((db) => db.name),
      url: location.href,
    };
  });
  await page.screenshot({ path: screenshot, fullPage: check !== "long" }); // a long text makes a page too tall
  process.stdout.write(JSON.stringify({
    check, about, ...result, requests, websockets, storage, problems, console: consoleLines, status: await statusText(),
  }) + "\n");
} finally {
  await browser.close();
}
