"""The browser page (examples/browser) in headless Chromium: Redact -> Copy -> paste the LLM's answer -> Restore,
tagging in a Web Worker (the page answers input while a long text is tagged, with progress), WebGPU with its
fallback to WASM, the model files kept by the browser between visits, and the choice of model (several exports x
their dtypes, with download sizes shown before anything is loaded).

The page is served by examples/browser/serve.py on 127.0.0.1 with tiny exported taggers, and driven by
``flair_modernbert/export/js/test/browser.mjs`` (puppeteer-core), which logs every request the page and its worker
make (the choice of model by CHOOSE_DRIVER below: without a model named in its address, the page loads nothing until
one is chosen). The span map must stay in the page: no request after the model has loaded, nothing stored but the
model's and vendor files in Cache Storage, nothing in the URL.
Needs Node 20, the JavaScript module's node_modules (``npm ci`` in flair_modernbert/export/js) and Chromium;
without them these tests are skipped, unless FLAIR_MODERNBERT_REQUIRE_JS=1 (set by .ci/run) makes that a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from flair_modernbert.export import export_tagger
from flair_modernbert.export.folder import JS_DIR
from flair_modernbert.inference import Document, load_tagger, redact, resolve_types, tag_documents
from flair_modernbert.redaction.rules import load_rules
from flair_modernbert.segmentation import sentences as split_sentences

from conftest import require_js

ROOT = Path(__file__).parent.parent
PAGE = ROOT / "examples" / "browser"
DRIVER = JS_DIR / "test" / "browser.mjs"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def browser_node(node) -> str:
    """Node (see conftest), with puppeteer-core, and Chromium."""
    require_js((JS_DIR / "node_modules" / "puppeteer-core").is_dir(), "puppeteer-core is not installed (npm ci)")
    require_js(Path(CHROMIUM).is_file(), f"Chromium is not installed ({CHROMIUM}); apt-get install chromium")
    return node


@pytest.fixture(scope="module")
def names_export(names_model, tmp_path_factory):
    """The names tagger (PER, LOC) exported (fp32)."""
    tagger = load_tagger(names_model[0])
    folder = tmp_path_factory.mktemp("names-export") / "export"
    export_tagger(tagger, folder)
    return tagger, folder


@pytest.fixture(scope="module")
def random_export(bpe_modernbert_dir, make_random_tagger, tmp_path_factory):
    """A CRF tagger with random weights and transitions: many spans of six types, on any text."""
    tagger = make_random_tagger(bpe_modernbert_dir, layers="-1", subtoken_pooling="first")
    folder = tmp_path_factory.mktemp("random-export") / "export"
    export_tagger(tagger, folder)
    return tagger, folder


def serve_module() -> Any:
    """examples/browser/serve.py as a module."""
    sys.path.insert(0, str(PAGE))
    try:
        import serve
    finally:
        sys.path.pop(0)
    return serve


Exports = Union[Path, Sequence[Path]]


def served_file(exports: Exports, path: str) -> Optional[Path]:
    """The file serve.py answers ``path`` with under an export's path (/model/, /models/NAME/) or /vendor/ (None
    for other paths)."""
    serve = serve_module()
    exports = [exports] if isinstance(exports, Path) else list(exports)
    modules = serve.find_node_modules(exports[0])
    routes = [(served.path, served.folder) for served in serve.served_exports(exports)]
    routes += [("/vendor/transformers/", modules / "@huggingface" / "transformers" / "dist"),
               ("/vendor/ort/", modules / "onnxruntime-web" / "dist")]
    for prefix, folder in routes:
        if path.startswith(prefix):
            return folder / path[len(prefix):]
    return None


@contextmanager
def serving(export: Path, more: Sequence[Path] = ()) -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """examples/browser/serve.py on 127.0.0.1 (a free port) with ``export`` at /model/ and ``more`` at
    /models/NAME/; yields its URL and the log of what it was asked: (method, path, status) per request."""
    serve = serve_module()
    server = serve.make_server(export, port=0, more=more)
    assert server.server_address[0] == "127.0.0.1"
    log: list[tuple[str, str, str]] = []
    routed = getattr(server.RequestHandlerClass, "func", server.RequestHandlerClass)

    class Logged(routed):  # type: ignore[misc, valid-type]
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            log.append((self.command, self.path, str(int(code)) if str(code).isdigit() else str(code)))

    server.RequestHandlerClass = Logged
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", log
    finally:
        server.shutdown()
        server.server_close()


def drive(node: str, url: str, text: str, folder: Path, check: str = "round-trip", webgpu: bool = False,
          profile: Optional[Path] = None, name: str = "page") -> dict[str, Any]:
    """The driver's ``check`` with ``text`` on stdin (default: the round trip); its JSON (see browser.mjs)."""
    command = [node, str(DRIVER), url, str(folder / f"{name}.png"), CHROMIUM, str(profile or folder / "profile"),
               "--check", check, *(["--webgpu"] if webgpu else [])]
    run = subprocess.run(command, input=text.encode("utf-8"), capture_output=True, timeout=420)
    assert run.returncode == 0, run.stdout.decode()[-3000:] + run.stderr.decode()[-3000:]
    return json.loads(run.stdout.decode().strip().splitlines()[-1])


def assert_nothing_leaves(page: dict[str, Any], url: str, server_log: list, secrets: list[str],
                          export: Exports) -> None:
    """Every request went to the page's own origin and was a plain GET of a file; none after the model had loaded
    (or only static files); no URL, header or body holds a secret; nothing stored but files the server serves under
    /model/ and /vendor/ (Transformers.js' Cache Storage: byte for byte those files), the URL unchanged."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    requests = page["requests"]
    assert requests, "the driver saw no requests"
    for request in requests:
        # data: URLs (the page's empty icon) never leave the page; blob: URLs (ONNX Runtime's worker script) are
        # the page's own memory, named by its origin
        where = urlsplit(request["url"].removeprefix("blob:"))
        assert where.scheme == "data" or f"{where.scheme}://{where.netloc}" == origin, request["url"]
        assert request["method"] == "GET" and request["postData"] is None, request
        seen = unquote(json.dumps(request, ensure_ascii=False))
        for secret in secrets:
            assert secret not in seen, (secret, request)
    after = [request for request in page["requests"] if request["afterLoad"]]
    static = ("/model/", "/models/", "/vendor/", "/style.css", "/app.mjs", "/choice.mjs")
    assert all(urlsplit(r["url"]).path.startswith(static) for r in after), after
    assert page["websockets"] == []
    # the server's side: GETs only (a worker's requests included), of files that exist, nothing in the paths
    assert server_log and all(method == "GET" for method, _, _ in server_log), server_log
    assert all(code in ("200", "304") for _, _, code in server_log), server_log
    for _, path, _ in server_log:
        assert not any(secret in unquote(path) for secret in secrets), path
    storage = page["storage"]
    assert storage["localStorage"] == storage["sessionStorage"] == storage["indexedDB"] == []
    assert storage["cookies"] == "" and storage["url"] == url
    for entry in storage["caches"]:
        where = urlsplit(entry["url"])
        assert f"{where.scheme}://{where.netloc}" == origin and not where.query, entry
        served = served_file(export, unquote(where.path))
        assert served is not None and served.is_file(), entry  # a model or vendor file, nothing else
        digest = hashlib.sha256(served.read_bytes()).hexdigest()
        assert (entry["bytes"], entry["sha256"]) == (served.stat().st_size, digest), entry
    assert page["problems"] == []


def test_redact_copy_paste_restore_round_trip_keeps_the_map_in_the_page(browser_node, names_export, tmp_path):
    """Redact a text with names, places, an e-mail address and a card number; the redacted text holds none of
    them; an answer with the placeholders mangled as LLMs do restores to the original text; bold, possessives
    and an unknown placeholder are handled; no request carries the text, an entity or the map."""
    _, folder = names_export
    email, card = "anna.jones@example.org", "4111 1111 1111 1111"
    text = (f"We met John Smith in Paris . Please call John Smith today .\n"
            f"My name is Anna . I live in Berlin . Mail {email} or pay with {card} .")
    with serving(folder) as (url, server_log):
        url += "?dtype=fp32"  # names the model: the page loads it at once
        page = drive(browser_node, url, text, tmp_path)

    # the type checkboxes: the model's types and the pattern types, all on
    pattern_types = list(dict.fromkeys(pattern["type"] for pattern in load_rules()["patterns"]))
    assert page["types"] == {"model": [["PER", True], ["LOC", True]],
                             "patterns": [[kind, True] for kind in pattern_types]}
    entities = {(row["text"], row["type"]) for row in page["spans"] if row["placeholder"] != "(kept)"}
    assert {("John Smith", "PER"), ("Paris", "LOC"), ("Anna", "PER"), ("Berlin", "LOC")} <= entities, entities
    # a pattern span takes in the model spans it overlaps (the tiny model may tag a word next to it)
    assert any(kind == "email" and email in found for found, kind in entities), entities
    assert any(kind == "credit_card" and card in found for found, kind in entities), entities
    secrets = sorted({entity for entity, _ in entities} | {"John", "Smith", "anna.jones", "4111"})
    redacted = page["redacted"]
    assert not any(secret in redacted for secret in secrets), redacted
    assert "[PER_1]" in redacted and "[EMAIL_1]" in redacted and "[CREDIT_CARD_1]" in redacted
    assert redacted.count("[PER_1]") == 2  # one placeholder per entity: both mentions of John Smith
    assert page["copied"] == redacted and page["copyNote"] == "Copied."

    exact, reply = page["answers"]
    assert "[per_1]" in exact["answer"] and "<LOC-1>" in exact["answer"]  # mangled as browser.mjs does
    assert exact["restored"] == text and exact["unknown"] == []
    first = next(row for row in page["spans"] if row["placeholder"] == "[PER_1]")["text"]
    assert reply["restored"] == f"Summary: **{first}** wrote back.\nAlso ask [PER_99] about {first}'s note."
    assert reply["unknown"] == ["[PER_99]"]

    map_text = json.dumps([[row["text"], row["placeholder"]] for row in page["spans"]], ensure_ascii=False)
    assert_nothing_leaves(page, url, server_log, [text, *text.splitlines(), *secrets, map_text], folder)
    assert (tmp_path / "page.png").stat().st_size > 10_000


def test_browser_example_redacts_in_headless_chromium(browser_node, random_export, tmp_path):
    """examples/browser served as documented, opened in headless Chromium (WASM): the page redacts a pasted text
    as Python's redact does, highlights the spans, and restores its own redacted text to the original
    (a screenshot is saved next to the test's files)."""
    tagger, folder = random_export
    text = "Jane Doe moved from Paris to Berlin in 2019 . She met @jdoe at Google !\nZoë Ðoe 👩‍👩‍👧 said: Köln ?"
    with serving(folder) as (url, server_log):
        url += "?dtype=fp32"
        page = drive(browser_node, url, text, tmp_path)
    (document,) = tag_documents(tagger, [Document(text)], types=resolve_types(tagger, None, default="all"))
    redacted, span_map = redact(document)
    # the model runs in the page's worker, on WASM; the old global is gone, flairPage says where it runs
    assert {key: page["about"][key] for key in ("device", "dtype", "fallback", "flairTagger", "deviceChoice")} == {
        "device": "wasm", "dtype": "fp32", "fallback": None, "flairTagger": False, "deviceChoice": "wasm"}
    assert page["about"]["deviceNote"] == "Running on WASM." and "on WASM" in page["about"]["status"]
    assert page["redacted"] == redacted
    assert [(row["text"], row["type"], row["placeholder"]) for row in page["spans"]] == [
        (record["text"], record["type"], record["placeholder"]) for record in span_map]
    assert page["highlighted"] == [span.text for span in document.spans]
    assert len(span_map) >= 3
    assert page["answers"][0]["restored"] == text and page["answers"][0]["unknown"] == []
    assert_nothing_leaves(page, url, server_log, [text, *(record["text"] for record in span_map if len(record["text"]) > 3)],
                          folder)
    assert (tmp_path / "page.png").stat().st_size > 10_000


# ------------------------------------------------------------------------------------------------ worker, progress
def long_text(sentences: int, seed: int = 0) -> str:
    """One document of many short sentences (4 to 14 words each)."""
    rng = random.Random(seed)
    words = "Jane Doe moved from Paris to Berlin in 2019 and met John Smith at Google on Monday".split()
    return " ".join(" ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) + " ." for _ in range(sentences))


def test_page_answers_input_while_the_worker_tags_a_long_text(browser_node, random_export, tmp_path):
    """A text of 1,500 sentences is tagged in the page's Web Worker (several seconds on WASM): meanwhile the main
    thread answers every key pressed in the text field within 250 ms (the same probe measures ~600 ms while the
    main thread is blocked on purpose), the progress bar advances chunk by chunk and ends at its maximum, and the
    redaction equals Python's (the chunks give the scores of one call)."""
    tagger, folder = random_export
    text = long_text(1500)
    with serving(folder) as (url, server_log):
        url += "?dtype=fp32"
        page = drive(browser_node, url, text, tmp_path, check="long")

    assert page["control"]["delay"] >= 300, page["control"]  # the probe sees a blocked main thread
    probes = page["probes"]
    total = len(split_sentences(text))
    tagging = [probe for probe, bar in zip(probes, page["progress"]) if bar["hidden"] or bar["value"] < total]
    assert len(tagging) >= 3, (page["ms"], page["progress"])  # long enough to probe it several times
    # (after the last chunk the page builds the result's table on its main thread: those probes are not counted)
    assert max(probe["delay"] for probe in tagging) <= 250, probes

    shown = [bar for bar in page["progress"] if not bar["hidden"]]
    values = [bar["value"] for bar in shown]
    assert all(bar["max"] == total for bar in shown) and values == sorted(values), page["progress"]
    assert len({value for value in values if 0 < value < total}) >= 3, values  # it advanced, chunk by chunk
    final = page["final"]
    assert (final["value"], final["max"], final["hidden"]) == (total, total, False)
    assert final["text"] == f"{total:,} of {total:,} sentences"

    (document,) = tag_documents(tagger, [Document(text)], types=resolve_types(tagger, None, default="all"))
    redacted, span_map = redact(document)
    assert page["redacted"] == redacted and page["spanCount"] == len(document.spans)
    assert_nothing_leaves(page, url, server_log, [text, text[:200]], folder)


def test_chunks_give_the_emissions_of_one_call_with_context(node, bpe_modernbert_dir, make_random_tagger, tmp_path):
    """The worker's chunks of sentences (examples/browser/chunks.mjs) carry the neighbouring sentences their FLERT
    context reads: for a tagger with 4 words of context, over documents of one-word and longer sentences, every
    chunk size gives the emission scores and tags of one tagger.emissions call."""
    tagger = make_random_tagger(bpe_modernbert_dir, layers="-1", subtoken_pooling="first", use_context=4)
    folder = tmp_path / "export"
    export_tagger(tagger, folder)
    rng = random.Random(1)
    words = "Jane Doe moved from Paris to Berlin and met John Smith at Google".split()
    documents = [[[rng.choice(words) for _ in range(rng.choice([1, 1, 2, 5, 9]))] for _ in range(count)]
                 for count in (17, 1, 6, 0, 11)]
    script = """
        import { loadTagger } from %s;
        import { emissionsInChunks } from %s;
        const documents = JSON.parse(process.argv[1]).map((doc) => doc.map((words) => words.map((text) => ({ text }))));
        const tagger = await loadTagger(%s);
        const whole = await tagger.emissions(documents);
        const tags = (scores) => scores.map((doc) => doc.map((sentence) => tagger.decode(sentence).tags));
        const out = [];
        for (const size of [1, 2, 3, 7, 32]) {
          const reports = [];
          const chunked = await emissionsInChunks(tagger.emissions.bind(tagger), documents,
            { size, context: tagger.config.context.length, onProgress: (done, total) => reports.push([done, total]) });
          let diff = 0;
          whole.forEach((doc, d) => doc.forEach((sentence, s) => sentence.forEach((word, w) => word.forEach((x, t) => {
            diff = Math.max(diff, Math.abs(x - chunked[d][s][w][t]));
          }))));
          const shape = JSON.stringify(chunked.map((doc) => doc.map((sentence) => sentence.length)));
          const sameTags = JSON.stringify(tags(chunked)) === JSON.stringify(tags(whole));
          out.push({ size, diff, shape, sameTags, reports });
        }
        process.stdout.write(JSON.stringify({ context: tagger.config.context.length,
          shape: JSON.stringify(whole.map((doc) => doc.map((sentence) => sentence.length))), out }));
    """ % (json.dumps((folder / "tagger.mjs").as_uri()), json.dumps((PAGE / "chunks.mjs").as_uri()),
           json.dumps(str(folder)))
    run = subprocess.run([node, "--input-type=module", "-e", script, json.dumps(documents)], capture_output=True,
                         timeout=300, cwd=folder)
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    result = json.loads(run.stdout)
    assert result["context"] == 4 and [row["size"] for row in result["out"]] == [1, 2, 3, 7, 32]
    total = sum(len(doc) for doc in documents)
    for row in result["out"]:
        assert row["shape"] == result["shape"] and row["sameTags"] and row["diff"] < 1e-5, row
        # one report per chunk, the last one complete; no reports when everything fits one chunk
        chunks = -(-total // row["size"])
        expected = [] if chunks == 1 else [[min(total, k * row["size"]), total] for k in range(1, chunks + 1)]
        assert row["reports"] == expected, row


# ------------------------------------------------------------------------------------------------ WebGPU, caching
PREDICT_TEXTS = [
    "Jane Doe moved from Paris to Berlin in 2019 . She met @jdoe at Google !",
    "Zoë Ðoe 👩‍👩‍👧 said: Köln ? John Smith lives in New York .",
    "We met John Smith in Paris . Please call John Smith today .",
]


@pytest.fixture(scope="module")
def visits(browser_node, random_export, tmp_path_factory) -> dict[str, Any]:
    """Three visits of ``?device=webgpu&dtype=fp32`` in one browser profile, each with the server's log of its requests:
    ``webgpu`` (Chromium started with --enable-unsafe-webgpu: a WebGPU adapter, SwiftShader's where there is no
    GPU), ``fallback`` (started without it: no adapter; the model files come from the first visit), ``changed``
    (after model.onnx was written again: its ETag changed)."""
    _, folder = random_export
    base = tmp_path_factory.mktemp("visits")
    payload = json.dumps({"texts": PREDICT_TEXTS, "options": {}})
    found: dict[str, Any] = {}
    with serving(folder) as (url, server_log):
        page_url = url + "?device=webgpu&dtype=fp32"
        plan = (("webgpu", "predict", True), ("fallback", "predict", False), ("changed", "load", False))
        for name, check, webgpu in plan:
            if name == "changed":
                onnx = folder / "onnx" / "model.onnx"
                onnx.write_bytes(onnx.read_bytes())  # the same bytes, a new file: the page cannot know they are equal
            before = len(server_log)
            page = drive(browser_node, page_url, payload, base, check=check, webgpu=webgpu, profile=base / "profile",
                         name=name)
            found[name] = {"page": page, "log": server_log[before:], "url": page_url}
    return found


def python_documents(tagger: Any) -> list[dict[str, Any]]:
    """What ``flair-modernbert predict`` prints for PREDICT_TEXTS."""
    return [document.to_json() for document in tag_documents(tagger, [Document(text) for text in PREDICT_TEXTS])]


def assert_same_predictions(page: dict[str, Any], tagger: Any, score_tolerance: float) -> float:
    """The page's flairPage.predict documents are Python's: texts and spans (offsets, types, texts) equal, scores
    within ``score_tolerance``; returns the largest score difference."""
    expected = python_documents(tagger)
    got = page["documents"]
    assert [doc["text"] for doc in got] == PREDICT_TEXTS
    key = lambda span: (span["start"], span["end"], span["type"], span["text"])  # noqa: E731
    keys = lambda docs: [[key(span) for span in doc["spans"]] for doc in docs]  # noqa: E731
    assert keys(got) == keys(expected)
    assert sum(len(doc["spans"]) for doc in expected) >= 5
    diff = max(abs(a["score"] - b["score"]) for x, y in zip(got, expected) for a, b in zip(x["spans"], y["spans"]))
    assert diff <= score_tolerance, diff
    return diff


def test_webgpu_runs_the_model_where_chromium_offers_an_adapter(visits, random_export):
    """With --enable-unsafe-webgpu headless Chromium offers a WebGPU adapter (SwiftShader on a machine without a
    GPU); ?device=webgpu then runs the graph on it, the page says so, and its predictions are Python's (span scores
    within 1e-4: float32 on another backend, rounded to 4 decimals). Where Chromium offers no adapter at all, this
    test says so and skips; the fallback test below still runs."""
    tagger, folder = random_export
    visit = visits["webgpu"]
    page = visit["page"]
    if page["about"]["adapter"] is None:
        pytest.skip(f"headless Chromium offers no WebGPU adapter on this machine ({page['about']['fallback']}); "
                    "the WASM fallback is tested below")
    about = page["about"]
    # an adapter exists: ONNX Runtime's WebGPU backend must run the graph on it, not fall back
    assert about["fallback"] is None, f"WebGPU adapter {about['adapter']} but the tagger fell back: {about['fallback']}"
    assert (about["device"], about["deviceChoice"], about["deviceNote"]) == ("webgpu", "webgpu", "Running on WebGPU.")
    assert "on WebGPU" in about["status"]
    assert_same_predictions(page, tagger, score_tolerance=1e-4)
    assert_nothing_leaves(page, visit["url"], visit["log"], PREDICT_TEXTS, folder)


def test_without_webgpu_the_page_falls_back_to_wasm_and_says_why(visits, random_export):
    """Chromium without a WebGPU adapter: ?device=webgpu loads the model on WASM, logs a console warning naming the
    reason and "running on WASM", shows it next to the device choice, and predicts what Python predicts."""
    tagger, folder = random_export
    visit = visits["fallback"]
    page = visit["page"]
    about = page["about"]
    assert about["adapter"] is None
    reason = "no WebGPU adapter (navigator.gpu.requestAdapter() gave none)"
    assert (about["device"], about["fallback"], about["deviceChoice"]) == ("wasm", reason, "webgpu")
    assert about["deviceNote"] == f"{reason}; running on WASM."
    assert ["warn", f"flair-modernbert: {reason}; running on WASM instead"] in page["console"], page["console"]
    assert_same_predictions(page, tagger, score_tolerance=1e-4)
    assert_nothing_leaves(page, visit["url"], visit["log"], PREDICT_TEXTS, folder)


def test_model_files_are_kept_by_the_browser_between_visits(visits, random_export):
    """The first visit downloads the model (200); the second, in the same browser profile, loads it from Cache
    Storage: the server is only asked whether model.onnx changed (If-None-Match, answered 304 without a body),
    never sends it again, and Cache Storage holds exactly the served files. A model written again is downloaded
    again on the next visit."""
    _, folder = random_export
    onnx = "/model/onnx/model.onnx"
    first, second, changed = (visits[name] for name in ("webgpu", "fallback", "changed"))
    assert (("GET", onnx, "200") in first["log"]), first["log"]
    assert [code for _, path, code in second["log"] if path == onnx] == ["304"], second["log"]
    asked = [request for request in second["page"]["requests"] if urlsplit(request["url"]).path == onnx]
    assert asked and all("if-none-match" in {name.lower() for name in request["headers"]} for request in asked), asked
    cached = {urlsplit(entry["url"]).path for entry in second["page"]["storage"]["caches"]}
    assert {onnx, "/model/tokenizer.json", "/model/config.json"} <= cached, cached  # checked byte for byte above
    assert ("GET", onnx, "200") in changed["log"], changed["log"]
    assert changed["page"]["about"]["device"] == "wasm" and changed["page"]["problems"] == []
    assert_nothing_leaves(changed["page"], changed["url"], changed["log"], PREDICT_TEXTS, folder)


# ------------------------------------------------------------------------------------------------ choice of model
#: The files the page fetches from an export whatever the dtype (tagger.mjs and the modules it imports, the decoder
#: and rules, the tokenizer, the model config), besides the dtype's ONNX file.
PAGE_EXPORT_FILES = {"tagger.mjs", "decode.mjs", "pyjson.mjs", "redaction.mjs", "segmentation.mjs", "sequences.mjs",
                     "crf.json", "rules.json", "tokenizer_config.json", "tokenizer.json", "config.json"}
RUNTIME_FILES = {"/vendor/transformers/transformers.js", "/vendor/ort/ort-wasm-simd-threaded.asyncify.mjs",
                 "/vendor/ort/ort-wasm-simd-threaded.asyncify.wasm"}


@pytest.fixture(scope="module")
def student_export(random_export, tmp_path_factory):
    """random_export's tagger (4 layers) as a 2-layer student, exported with a vocabulary trimmed to PREDICT_TEXTS'
    words and an int8 copy (dtype q8)."""
    from flair_modernbert.distillation import make_student

    teacher, _ = random_export
    student = make_student(teacher, 2).eval()
    base = tmp_path_factory.mktemp("student-export")
    corpus = base / "corpus.txt"
    corpus.write_text("\n".join(PREDICT_TEXTS) + "\n", encoding="utf-8")
    export_tagger(student, base / "student", quantize="int8", vocab=corpus)
    return student, base / "student"


def get(url: str) -> tuple[bytes, dict[str, str]]:
    """A GET's body and headers."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), dict(response.headers)


def test_the_listing_names_each_export_with_its_layers_vocabulary_and_download_sizes(random_export, student_export):
    """/models.json lists the exports in the order served (the first at /model/, the others at /models/NAME/): name,
    encoder layers, vocabulary (trimmed: rows kept of the original's), and per model file the bytes the page downloads
    to load it: the ONNX file plus tagger.mjs and its modules, crf.json, rules.json, tokenizer and config, each file's
    size and ETag as the server sends it; the runtime (Transformers.js, ONNX Runtime's WASM) once."""
    teacher, folder = random_export
    student, student_folder = student_export
    with serving(folder, more=[student_folder]) as (url, server_log):
        body, headers = get(url + "models.json")
        listing = json.loads(body)
        assert headers["Content-Type"] == "application/json"
        served = {}
        for record in [*listing["runtime"]["files"],
                       *(file for model in listing["models"] for entry in model["dtypes"].values()
                         for file in entry["files"])]:
            content, file_headers = served.get(record["url"]) or get(url + record["url"].lstrip("/"))
            served[record["url"]] = content, file_headers
            assert (len(content), file_headers["ETag"]) == (record["bytes"], record["etag"]), record

    assert (listing["format"], listing["version"]) == ("flair-modernbert-page-models", 1)
    teacher_model, student_model = listing["models"]
    vocab = teacher.embeddings.model.get_input_embeddings().weight.shape[0]
    assert {key: teacher_model[key] for key in ("name", "path", "layers", "vocab_size", "vocabulary", "missing")} == {
        "name": "export", "path": "/model/", "layers": 4, "vocab_size": vocab, "vocabulary": None, "missing": []}
    trimmed = json.loads((student_folder / "crf.json").read_text(encoding="utf-8"))["vocabulary"]
    assert {key: student_model[key] for key in ("name", "path", "layers", "missing")} == {
        "name": "student", "path": "/models/student/", "layers": 2, "missing": []}
    assert student_model["vocab_size"] == trimmed["rows_kept"] < vocab
    assert student_model["vocabulary"]["rows_total"] == vocab
    assert student_model["types"] == teacher_model["types"] == ["person", "location", "group", "product",
                                                                "corporation", "creative-work"]
    assert list(teacher_model["dtypes"]) == ["fp32"] and list(student_model["dtypes"]) == ["fp32", "q8"]
    onnx = {"fp32": "onnx/model.onnx", "q8": "onnx/model_quantized.onnx"}
    for model, export in ((teacher_model, folder), (student_model, student_folder)):
        for dtype, entry in model["dtypes"].items():
            names = [file["url"].removeprefix(model["path"]) for file in entry["files"]]
            assert entry["file"] == onnx[dtype] and sorted(names) == sorted(PAGE_EXPORT_FILES | {onnx[dtype]})
            assert entry["bytes"] == sum((export / name).stat().st_size for name in names)
            # what Transformers.js keeps in Cache Storage (checked against the browser's in the test below)
            assert {name for name, file in zip(names, entry["files"]) if file["cache_storage"]} == {
                "tokenizer_config.json", "tokenizer.json", "config.json", onnx[dtype]}
    assert student_model["dtypes"]["q8"]["bytes"] < student_model["dtypes"]["fp32"]["bytes"] < \
        teacher_model["dtypes"]["fp32"]["bytes"]
    runtime = listing["runtime"]
    assert {file["url"] for file in runtime["files"]} == RUNTIME_FILES
    assert runtime["bytes"] == sum(file["bytes"] for file in runtime["files"]) > 10 * 2**20  # mostly the WASM binary


def test_serve_names_the_exports_and_refuses_what_it_cannot_offer(random_export, tmp_path, capsys):
    """A folder that is no export, one export given twice, a name given twice or one that is no URL segment are
    refused by name; two folders of the same name are told apart (``export``, ``export-2``), a folder's name is
    made one URL segment, and ``NAME=OUT`` names an export. A model file that crf.json names but the folder lacks is
    listed as missing, not offered."""
    serve = serve_module()
    _, folder = random_export
    with pytest.raises(FileNotFoundError, match=r"not-an-export is not an export folder \(no crf.json\)"):
        serve.make_server(folder, port=0, more=[tmp_path / "not-an-export"])
    with pytest.raises(ValueError, match=r"export 2 \(.*\) is export 1 again"):
        serve.make_server(folder, port=0, more=[folder])
    twin = tmp_path / "twin" / "my export"
    shutil.copytree(folder, twin, symlinks=True)
    shutil.copytree(folder, tmp_path / "export", symlinks=True)
    named = serve.served_exports([folder, tmp_path / "export", twin])
    assert [(served.name, served.path) for served in named] == [
        ("export", "/model/"), ("export-2", "/models/export-2/"), ("my-export", "/models/my-export/")]
    # a model file crf.json names but the folder lacks is listed as missing, not offered
    (twin / "onnx" / "model.onnx").unlink()
    described = serve.describe_export(serve.served_exports([twin])[0])
    assert (described["dtypes"], described["missing"]) == ({}, ["fp32"])
    named = serve.served_exports([folder, tmp_path / "export", twin], ["teacher", None, "export"])
    assert [served.name for served in named] == ["teacher", "export-2", "export"]
    with pytest.raises(ValueError, match="export name 'student' is given twice"):
        serve.served_exports([folder, twin], ["student", "student"])
    with pytest.raises(ValueError, match=r"export name 'a/b' \(.*\): use letters, digits"):
        serve.served_exports([folder], ["a/b"])
    assert serve.main([str(tmp_path / "not-an-export")]) == 2
    assert serve.main([f"x={folder}", f"x={twin}"]) == 2
    assert "export name 'x' is given twice" in capsys.readouterr().err


def served_listing(folders: list[Path]) -> dict[str, Any]:
    """What serve.py answers /models.json with for ``folders`` (the first at /model/)."""
    server = serve_module().make_server(folders[0], port=0, more=folders[1:])
    try:
        handler = server.RequestHandlerClass.func
        return serve_module().listing(handler.exports, handler.routes)
    finally:
        server.server_close()


def test_the_page_picks_what_the_browser_holds_else_the_first_exports_int8_else_its_fp32(node, random_export,
                                                                                        student_export):
    """choice.mjs's rules: without a model in the address the page checks the first choice (in table order) whose
    Cache-Storage files are all kept with the server's ETags, else the first export's q8, else its fp32; ``?dtype=``
    alone names the first export, ``?model=`` a listed export's path (with or without its last slash)."""
    _, teacher = random_export
    _, student = student_export
    teacher_first, student_first = served_listing([teacher, student]), served_listing([student, teacher])
    kept = lambda listing, model, dtype: [file["url"] for m in listing["models"] if m["path"] == model  # noqa: E731
                                          for file in m["dtypes"][dtype]["files"] if file["cache_storage"]]
    base = "http://127.0.0.1:8000/"
    cases = [
        ("default", teacher_first, [], None),
        ("default", student_first, [], None),
        ("default", teacher_first, kept(teacher_first, "/models/student/", "fp32"), None),
        ("default", teacher_first, kept(teacher_first, "/models/student/", "q8")[:-1], None),  # its graph is not kept
        ("named", student_first, [], {"model": "./model/", "dtype": "q8"}),
        ("named", student_first, [], {"model": "/models/export", "dtype": "fp32"}),
        ("named", teacher_first, [], {"model": "./model/", "dtype": "q8"}),  # no such file: loaded as named
    ]
    script = """
        import { choices, defaultChoice, findChoice } from %s;
        const base = %s;
        const picked = JSON.parse(process.argv[1]).map(([rule, listing, kept, wanted]) => {
          const cached = new Set(kept.map((url) => new URL(url, base).href));
          const option = rule === "default" ? defaultChoice(choices(listing), cached, base)
            : findChoice(choices(listing), wanted, base);
          return option ? [option.model.path, option.dtype] : null;
        });
        process.stdout.write(JSON.stringify(picked));
    """ % (json.dumps((PAGE / "choice.mjs").as_uri()), json.dumps(base))
    run = subprocess.run([node, "--input-type=module", "-e", script, json.dumps(cases)], capture_output=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    assert json.loads(run.stdout) == [["/model/", "fp32"], ["/model/", "q8"], ["/models/student/", "fp32"],
                                      ["/model/", "fp32"], ["/model/", "q8"], ["/models/export/", "fp32"], None]


#: Drives the page through its choice of model (argv: URL, Chromium, profile, the texts as JSON, a screenshot of the
#: choice; cwd: the JavaScript module, for puppeteer-core). Phases: "offer" (the page as opened: the table of choices
#: before anything loads), "q8" and "fp32" (the student's files chosen and loaded by the Load button;
#: flairPage.predict of the texts), "return" (the page opened again in the same profile). Prints {phases: {name:
#: {rows, head, models, download, status, url, about, documents, requests: [{path, status}]}}, problems}.
CHOOSE_DRIVER = r"""
import puppeteer from "puppeteer-core";
const [url, executablePath, profile, texts, screenshot] = process.argv.slice(1);
const browser = await puppeteer.launch({ executablePath, headless: true, args: ["--headless", "--no-sandbox",
  "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", `--user-data-dir=${profile}`, "--disable-gpu"] });
const phases = {};
const problems = [];
let requests = [];
try {
  const page = await browser.newPage();
  page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("requestfailed", (request) => problems.push(`failed: ${request.url()}`));
  page.on("response", (response) =>
    requests.push({ path: new URL(response.url()).pathname, status: response.status() }));
  const settled = (states) => page.waitForFunction((states) => states.includes(document.getElementById("status")
    .dataset.state), { timeout: 120000 }, states);
  const look = async (name, predict) => {
    const state = await page.evaluate(async (predict, texts) => ({
      rows: [...document.querySelectorAll("#models input[name=choice]")].map((radio) => ({
        model: radio.dataset.model, dtype: radio.dataset.dtype, bytes: Number(radio.dataset.bytes),
        cached: "cached" in radio.dataset, checked: radio.checked, label: radio.closest("td").textContent.trim() })),
      head: [...document.querySelectorAll("#models thead th")].map((cell) => cell.textContent),
      models: [...document.querySelectorAll("#models tbody tr")].map((row) => [...row.children].slice(0, 3)
        .map((cell) => cell.textContent)),
      download: document.getElementById("download").textContent,
      status: [document.getElementById("status").dataset.state, document.getElementById("status").textContent],
      url: location.href,
      about: window.flairPage ? { model: flairPage.model, name: flairPage.name, dtype: flairPage.dtype,
        device: flairPage.device } : null,
      documents: predict && window.flairPage ? await flairPage.predict(JSON.parse(texts)) : null,
    }), predict, texts);
    phases[name] = { ...state, requests };
    requests = [];
  };
  const choose = async (model, dtype) => {
    await page.click(`#models input[data-model="${model}"][data-dtype="${dtype}"]`);
    await page.click("#load");
    await settled(["ready", "error"]);
  };
  await page.goto(url, { waitUntil: "load" });
  await settled(["choose", "ready", "error"]);
  await new Promise((resolve) => setTimeout(resolve, 300)); // a load that would start late would show now
  await look("offer", false);
  await page.setViewport({ width: 1100, height: 900 });
  await page.screenshot({ path: screenshot });
  await choose("/models/student/", "q8");
  await look("q8", true);
  await choose("/models/student/", "fp32");
  await look("fp32", true);
  await page.goto(url, { waitUntil: "load" });
  await settled(["choose", "ready", "error"]);
  await look("return", true);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify({ phases, problems }) + "\n");
"""


def node_predictions(node: str, folder: Path, dtype: str, texts: list[str]) -> list[dict[str, Any]]:
    """``loadTagger(folder, {dtype}).predict(texts)`` in Node (onnxruntime-node)."""
    script = """
        import { loadTagger } from %s;
        const tagger = await loadTagger(%s, { dtype: %s });
        process.stdout.write(JSON.stringify(await tagger.predict(JSON.parse(process.argv[1]))));
    """ % (json.dumps((folder / "tagger.mjs").as_uri()), json.dumps(str(folder)), json.dumps(dtype))
    run = subprocess.run([node, "--input-type=module", "-e", script, json.dumps(texts)], capture_output=True,
                         timeout=300, cwd=folder)
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    return json.loads(run.stdout)


def assert_same_documents(got: list[dict[str, Any]], expected: list[dict[str, Any]], tolerance: float) -> None:
    """The same texts and spans (offsets, types, texts), scores within ``tolerance``."""
    key = lambda span: (span["start"], span["end"], span["type"], span["text"])  # noqa: E731
    assert [doc["text"] for doc in got] == [doc["text"] for doc in expected]
    assert [[key(span) for span in doc["spans"]] for doc in got] == [[key(span) for span in doc["spans"]]
                                                                    for doc in expected]
    assert sum(len(doc["spans"]) for doc in expected) >= 3
    assert all(abs(a["score"] - b["score"]) <= tolerance for x, y in zip(got, expected)
               for a, b in zip(x["spans"], y["spans"]))


def test_the_page_shows_sizes_before_loading_and_loads_the_model_chosen(browser_node, random_export, student_export,
                                                                        tmp_path):
    """Opened without a model in its address, the page shows every export x dtype with the download size the
    listing gives, the first export's fp32 checked, and requests no model or runtime file. Choosing the student's
    int8 file (q8) and pressing Load downloads exactly the listing's files for it (and the runtime), puts the choice
    in the address, and predicts what Node predicts with that file; choosing the student's fp32 then downloads
    only its graph and predicts what Python's student predicts. Opened again, the page marks both as cached and loads
    the first cached one at once, without downloading a model file."""
    teacher, folder = random_export
    student, student_folder = student_export
    with serving(folder, more=[student_folder]) as (url, server_log):
        listing = json.loads(get(url + "models.json")[0])
        command = [browser_node, "--input-type=module", "-e", CHOOSE_DRIVER, url, CHROMIUM, str(tmp_path / "profile"),
                   json.dumps(PREDICT_TEXTS), str(tmp_path / "choice.png")]
        run = subprocess.run(command, capture_output=True, timeout=420, cwd=JS_DIR)
    assert run.returncode == 0, run.stdout.decode()[-3000:] + run.stderr.decode()[-3000:]
    result = json.loads(run.stdout.decode().strip().splitlines()[-1])
    assert result["problems"] == []
    phases = result["phases"]
    offered = [(model["path"], dtype, entry["bytes"]) for model in listing["models"]
               for dtype, entry in model["dtypes"].items()]

    # before a choice: the table, sizes from the listing, nothing of a model or the runtime requested
    offer = phases["offer"]
    assert [(row["model"], row["dtype"], row["bytes"]) for row in offer["rows"]] == offered
    assert all(row["label"].endswith(" MiB") and not row["cached"] for row in offer["rows"]), offer["rows"]
    assert [row["checked"] for row in offer["rows"]] == [True, False, False]  # the first export's fp32
    assert offer["head"] == ["model", "layers", "vocabulary", "fp32", "int8 (q8)"]
    rows_kept, vocab = listing["models"][1]["vocab_size"], listing["models"][0]["vocab_size"]
    assert offer["models"] == [["export", "4", f"{vocab:,}"], ["student", "2", f"{rows_kept:,} of {vocab:,} (trimmed)"]]
    assert offer["status"][0] == "choose" and offer["about"] is None
    assert "download" in offer["download"] and "MiB" in offer["download"]
    assert not [r for r in offer["requests"] if r["path"].startswith(("/model/", "/models/", "/vendor/"))], offer
    assert {"path": "/models.json", "status": 200} in offer["requests"]

    def downloaded(phase: dict[str, Any], prefix: str) -> set[str]:
        return {r["path"] for r in phase["requests"] if r["status"] == 200 and r["path"].startswith(prefix)}

    student_entry = listing["models"][1]["dtypes"]
    q8 = phases["q8"]
    assert q8["about"] == {"model": "/models/student/", "name": "student", "dtype": "q8", "device": "wasm"}
    assert q8["status"][0] == "ready" and "student (int8 (q8)) loaded" in q8["status"][1]
    assert parse_qs(urlsplit(q8["url"]).query) == {"model": ["/models/student/"], "dtype": ["q8"], "device": ["wasm"]}
    # exactly the listing's files: its sizes are what the page downloads
    assert downloaded(q8, "/models/student/") == {file["url"] for file in student_entry["q8"]["files"]}
    assert downloaded(q8, "/vendor/") == RUNTIME_FILES and not downloaded(q8, "/model/")
    assert_same_documents(q8["documents"], node_predictions(browser_node, student_folder, "q8", PREDICT_TEXTS), 1e-4)

    fp32 = phases["fp32"]
    assert fp32["about"] == {"model": "/models/student/", "name": "student", "dtype": "fp32", "device": "wasm"}
    assert downloaded(fp32, "/models/student/") == {"/models/student/onnx/model.onnx"}  # the rest is kept
    assert not downloaded(fp32, "/vendor/")
    assert [row["cached"] for row in fp32["rows"]] == [False, True, True]
    assert_same_documents(fp32["documents"], python_documents(student), 1e-4)

    # opened again: the first choice this browser holds, loaded at once from Cache Storage
    again = phases["return"]
    assert again["about"] == {"model": "/models/student/", "name": "student", "dtype": "fp32", "device": "wasm"}
    assert [(row["checked"], row["cached"]) for row in again["rows"]] == [(False, False), (True, True), (False, True)]
    assert "cached" in again["rows"][1]["label"] and "is in this browser" in again["download"]
    assert not [r for r in again["requests"] if r["status"] == 200 and r["path"].endswith(".onnx")], again["requests"]
    assert_same_documents(again["documents"], python_documents(student), 1e-4)
    assert all(code in ("200", "304") for _, _, code in server_log), server_log
