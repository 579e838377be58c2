"""The browser page (examples/browser) in headless Chromium: Redact -> Copy -> paste the LLM's answer -> Restore.

The page is served by examples/browser/serve.py on 127.0.0.1 with a tiny exported tagger, and driven by
``flair_modernbert/export/js/test/browser.mjs`` (puppeteer-core), which logs every request the page makes. The
span map must stay in the page: no request after the model has loaded, nothing stored, nothing in the URL.
Needs Node 20, the JavaScript module's node_modules (``npm ci`` in flair_modernbert/export/js) and Chromium;
without them these tests are skipped, unless FLAIR_MODERNBERT_REQUIRE_JS=1 (set by .ci/run) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urlsplit

import pytest

from flair_modernbert.export import export_tagger
from flair_modernbert.export.folder import JS_DIR
from flair_modernbert.inference import Document, load_tagger, redact, resolve_types, tag_documents
from flair_modernbert.redaction.rules import load_rules

from conftest import require_js

ROOT = Path(__file__).parent.parent
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


@contextmanager
def serving(export: Path) -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """examples/browser/serve.py on 127.0.0.1 (a free port); yields its URL and the log of what it was asked:
    (method, path, status) per request."""
    sys.path.insert(0, str(ROOT / "examples" / "browser"))
    try:
        import serve
    finally:
        sys.path.pop(0)
    server = serve.make_server(export, port=0)
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


def drive(node: str, url: str, text: str, folder: Path) -> dict[str, Any]:
    """The driver's round trip on ``text``; its JSON (see browser.mjs)."""
    run = subprocess.run([node, str(DRIVER), url, str(folder / "page.png"), CHROMIUM, str(folder / "profile")],
                         input=text.encode("utf-8"), capture_output=True, timeout=300)
    assert run.returncode == 0, run.stdout.decode()[-3000:] + run.stderr.decode()[-3000:]
    return json.loads(run.stdout.decode().strip().splitlines()[-1])


def assert_nothing_leaves(page: dict[str, Any], url: str, server_log: list, secrets: list[str]) -> None:
    """Every request went to the page's own origin and was a plain GET of a file; none after the model had loaded
    (or only static files); no URL, header or body holds a secret; nothing stored, the URL unchanged."""
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
    static = ("/model/", "/vendor/", "/style.css", "/app.mjs")
    assert all(urlsplit(r["url"]).path.startswith(static) for r in after), after
    assert page["websockets"] == []
    # the server's side: GETs only (a worker's requests included), of files that exist, nothing in the paths
    assert server_log and all(method == "GET" for method, _, _ in server_log), server_log
    assert all(code in ("200", "304") for _, _, code in server_log), server_log
    for _, path, _ in server_log:
        assert not any(secret in unquote(path) for secret in secrets), path
    storage = page["storage"]
    assert storage["localStorage"] == storage["sessionStorage"] == storage["caches"] == storage["indexedDB"] == []
    assert storage["cookies"] == "" and storage["url"] == url
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
    assert_nothing_leaves(page, url, server_log, [text, *text.splitlines(), *secrets, map_text])
    assert (tmp_path / "page.png").stat().st_size > 10_000


def test_browser_example_redacts_in_headless_chromium(browser_node, random_export, tmp_path):
    """examples/browser served as documented, opened in headless Chromium (WASM): the page redacts a pasted text
    as Python's redact does, highlights the spans, and restores its own redacted text to the original
    (a screenshot is saved next to the test's files)."""
    tagger, folder = random_export
    text = "Jane Doe moved from Paris to Berlin in 2019 . She met @jdoe at Google !\nZoë Ðoe 👩‍👩‍👧 said: Köln ?"
    with serving(folder) as (url, server_log):
        page = drive(browser_node, url, text, tmp_path)
    (document,) = tag_documents(tagger, [Document(text)], types=resolve_types(tagger, None, default="all"))
    redacted, span_map = redact(document)
    assert page["redacted"] == redacted
    assert [(row["text"], row["type"], row["placeholder"]) for row in page["spans"]] == [
        (record["text"], record["type"], record["placeholder"]) for record in span_map]
    assert page["highlighted"] == [span.text for span in document.spans]
    assert len(span_map) >= 3
    assert page["answers"][0]["restored"] == text and page["answers"][0]["unknown"] == []
    assert_nothing_leaves(page, url, server_log, [text, *(record["text"] for record in span_map if len(record["text"]) > 3)])
    assert (tmp_path / "page.png").stat().st_size > 10_000
