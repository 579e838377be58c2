// The redaction page: load an exported tagger (default /model/, or ?model=/path/), redact pasted text, restore the
// LLM's answer. The span map lives in this module's memory only: never in storage, the URL or a request.
import { env } from "@huggingface/transformers";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const modelPath = params.get("model") ?? "./model/";
// ONNX Runtime Web's WASM files from this server (the default would fetch them from a CDN)
env.backends.onnx.wasm.wasmPaths = {
  mjs: new URL("./vendor/ort/ort-wasm-simd-threaded.asyncify.mjs", location.href).href,
  wasm: new URL("./vendor/ort/ort-wasm-simd-threaded.asyncify.wasm", location.href).href,
};

/** The last redaction ({text, spans}): what Restore puts back. Only this module holds it. */
let spanMap = null;

const status = (text, state = "ready") => {
  $("status").textContent = text;
  $("status").dataset.state = state;
};

function checkboxes(container, kinds) {
  for (const kind of kinds) {
    const label = document.createElement("label");
    const box = Object.assign(document.createElement("input"), { type: "checkbox", value: kind, checked: true });
    label.append(box, " ", kind);
    container.append(label);
  }
  container.closest(".group").hidden = !kinds.length;
}

function highlight(text, spans, replaced) {
  // spans in code points; walk the text by code points to place the marks
  const chars = Array.from(text);
  const out = document.createDocumentFragment();
  let cursor = 0;
  for (const span of spans) {
    if (span.start < cursor) continue;
    out.append(chars.slice(cursor, span.start).join(""));
    const mark = document.createElement("mark");
    mark.textContent = chars.slice(span.start, span.end).join("");
    mark.title = `${span.type} (${span.score})`;
    if (!replaced(span)) mark.dataset.kept = "";
    const label = document.createElement("small");
    label.textContent = span.type;
    mark.append(label);
    out.append(mark);
    cursor = span.end;
  }
  out.append(chars.slice(cursor).join(""));
  return out;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) tr.append(Object.assign(document.createElement("td"), { textContent: String(cell) }));
  return tr;
}

/** Copy `node`'s text; without clipboard access, select it so that Ctrl+C copies it. */
async function copy(node, note) {
  try {
    await navigator.clipboard.writeText(node.textContent);
    note.textContent = "Copied.";
  } catch {
    const range = document.createRange();
    range.selectNodeContents(node);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    note.textContent = "Selected: press Ctrl+C to copy.";
  }
}

async function main() {
  const { loadTagger } = await import(new URL("tagger.mjs", new URL(modelPath, location.href)).href);
  const started = performance.now();
  const tagger = await loadTagger(modelPath, { dtype: params.get("dtype") ?? "fp32" });
  const modelTypes = tagger.types;
  const patternTypes = tagger.patternTypes.filter((kind) => !modelTypes.includes(kind));
  checkboxes($("model-types"), modelTypes);
  checkboxes($("pattern-types"), patternTypes);
  window.flairTagger = tagger; // for scripts: await flairTagger.predict(["text"])
  status(`Model loaded in ${((performance.now() - started) / 1000).toFixed(1)} s: ${modelTypes.join(", ")}` +
    (patternTypes.length ? `; patterns: ${patternTypes.join(", ")}.` : "."));
  $("redact").disabled = false;

  $("redact").addEventListener("click", async () => {
    const chosen = [...$("types").querySelectorAll("input:checked")].map((box) => box.value);
    if (!chosen.length) {
      status("Choose at least one type to replace.", "error");
      return;
    }
    $("redact").disabled = true;
    status("Redacting…", "busy");
    try {
      const text = $("input").value;
      const t0 = performance.now();
      // every type, for the highlight (kept ones too); with some types off, redact tags again for just the
      // chosen ones, as spans of other types merged into them would otherwise change their extent
      const [doc] = await tagger.predict([text], { types: "all" });
      const all = chosen.length === modelTypes.length + patternTypes.length;
      const result = await tagger.redact(all ? doc : text, { types: chosen });
      spanMap = result;
      const placeholderOf = (span) =>
        result.spans.find((record) => record.start <= span.start && span.end <= record.end)?.placeholder;
      $("redacted").textContent = result.text;
      $("copied").textContent = "";
      $("highlighted").replaceChildren(highlight(text, doc.spans, placeholderOf));
      $("spans").tBodies[0].replaceChildren(
        ...doc.spans.map((span) => row([span.text, span.type, span.score, `${span.start}–${span.end}`,
          placeholderOf(span) ?? "(kept)"])),
      );
      $("result").hidden = false;
      $("answer-step").hidden = false;
      $("restore").disabled = false;
      $("restored-section").hidden = true;
      const entities = new Set(result.spans.map((record) => record.placeholder)).size;
      status(`${doc.spans.length} spans found, ${result.spans.length} replaced (${entities} entities) in ` +
        `${Math.round(performance.now() - t0)} ms.`);
    } catch (error) {
      status(`Error: ${error.message}`, "error");
    } finally {
      $("redact").disabled = false;
    }
  });

  $("restore").addEventListener("click", async () => {
    if (!spanMap) return;
    try {
      const { text, unknown } = await tagger.restore($("answer").value, spanMap);
      $("restored").textContent = text;
      $("copied-restored").textContent = "";
      $("unknown").replaceChildren(...unknown.map((name) => Object.assign(document.createElement("li"), { textContent: name })));
      $("unknown-section").hidden = !unknown.length;
      $("restored-section").hidden = false;
      status(unknown.length ? `Restored; ${unknown.length} unknown placeholder${unknown.length > 1 ? "s" : ""} left as they are.`
        : "Restored.");
    } catch (error) {
      status(`Error: ${error.message}`, "error");
    }
  });

  $("copy").addEventListener("click", () => copy($("redacted"), $("copied")));
  $("copy-restored").addEventListener("click", () => copy($("restored"), $("copied-restored")));
}

main().catch((error) => status(`Could not load the model from ${modelPath}: ${error.message}`, "error"));
