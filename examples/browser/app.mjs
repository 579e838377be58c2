// The redaction page: load an exported tagger (default /model/, or ?model=/path/), redact pasted text.
import { env } from "@huggingface/transformers";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const modelPath = params.get("model") ?? "./model/";
// ONNX Runtime Web's WASM files from this server (the default would fetch them from a CDN)
env.backends.onnx.wasm.wasmPaths = {
  mjs: new URL("./vendor/ort/ort-wasm-simd-threaded.asyncify.mjs", location.href).href,
  wasm: new URL("./vendor/ort/ort-wasm-simd-threaded.asyncify.wasm", location.href).href,
};

const status = (text, state = "ready") => {
  $("status").textContent = text;
  $("status").dataset.state = state;
};

function highlight(text, doc, replaced) {
  // spans in code points; walk the text by code points to place the marks
  const chars = Array.from(text);
  const out = document.createDocumentFragment();
  let cursor = 0;
  for (const span of doc.spans) {
    if (span.start < cursor) continue;
    out.append(chars.slice(cursor, span.start).join(""));
    const mark = document.createElement("mark");
    mark.textContent = chars.slice(span.start, span.end).join("");
    mark.title = `${span.type} (${span.score})`;
    if (!replaced.has(span.type)) mark.dataset.kept = "";
    const label = document.createElement("small");
    label.textContent = span.type;
    mark.append(label);
    out.append(mark);
    cursor = span.end;
  }
  out.append(chars.slice(cursor).join(""));
  return out;
}

async function main() {
  const { loadTagger, redactDocument } = await import(new URL("tagger.mjs", new URL(modelPath, location.href)).href);
  const started = performance.now();
  const tagger = await loadTagger(modelPath, { dtype: params.get("dtype") ?? "fp32" });
  for (const kind of tagger.types) {
    const label = document.createElement("label");
    const box = Object.assign(document.createElement("input"), { type: "checkbox", value: kind, checked: true });
    label.append(box, " ", kind);
    $("types").append(label);
  }
  window.flairTagger = tagger; // for scripts: await flairTagger.predict(["text"])
  status(`Model loaded in ${((performance.now() - started) / 1000).toFixed(1)} s: ${tagger.types.join(", ")}.`);
  $("redact").disabled = false;

  $("redact").addEventListener("click", async () => {
    $("redact").disabled = true;
    status("Redacting…", "busy");
    try {
      const text = $("input").value;
      const chosen = [...$("types").querySelectorAll("input:checked")].map((box) => box.value);
      const t0 = performance.now();
      const [doc] = await tagger.predict([text]);
      const replaced = new Set(chosen);
      const kept = { ...doc, spans: doc.spans.filter((span) => replaced.has(span.type)) };
      const result = redactDocument(kept);
      $("redacted").textContent = result.text;
      $("highlighted").replaceChildren(highlight(text, doc, replaced));
      $("spans").tBodies[0].replaceChildren(
        ...doc.spans.map((span) => {
          const row = document.createElement("tr");
          const mapped = result.spans.find((m) => m.start === span.start && m.end === span.end);
          for (const cell of [span.text, span.type, span.score, `${span.start}–${span.end}`, mapped?.placeholder ?? "(kept)"]) {
            row.append(Object.assign(document.createElement("td"), { textContent: String(cell) }));
          }
          return row;
        }),
      );
      $("result").hidden = false;
      // for scripts (and the test): the result as JSON
      $("result").dataset.json = JSON.stringify({ redacted: result.text, spans: result.spans, highlighted: doc.spans.map((s) => s.text) });
      status(`${doc.spans.length} entities found, ${result.spans.length} replaced in ${Math.round(performance.now() - t0)} ms.`);
    } catch (error) {
      status(`Error: ${error.message}`, "error");
    } finally {
      $("redact").disabled = false;
    }
  });
  $("copy").addEventListener("click", () => navigator.clipboard?.writeText($("redacted").textContent));
}

main().catch((error) => status(`Could not load the model from ${modelPath}: ${error.message}`, "error"));
