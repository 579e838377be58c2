"""The local service: the CLI's answers over HTTP, requests batched together, bad input refused with a named field
(never a 500, never a dead worker), limits checked before tagging, no text in the logs, disconnects and SIGTERM."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from flair_modernbert.cli import main
from flair_modernbert.inference import Document, load_tagger, redact, resolve_types, tag_documents
from flair_modernbert.redaction.pseudonyms import Pseudonyms
from flair_modernbert.redaction.restore import restore
from flair_modernbert.segmentation import Word
from flair_modernbert.serve import create_app, open_socket
from flair_modernbert.serve.batching import DynamicBatcher

#: names and places the names model knows, structured PII, noise words, several sentences per text
TEXTS = [
    "We met John Smith in Paris .",
    "My name is Mary Jones . Please call Mary Jones today .",
    "Peter Brown lives in New York . Write to peter.brown@example.com or call +49 30 1234567 .",
    "❤️ Lisa Miller lives in Berlin . 北京 is far .",
    "I live in London . My card is 4111 1111 1111 1111 .",
    "Please call Anna today . Anna and John Smith met in Paris . Smith said hello .",
    "Nothing to see here .",
    "We met Peter Brown in London . Brown is from Berlin . שלום",
]
SECRET = "Zebulon Quaxworth"  # must never reach a log


@pytest.fixture(scope="module")
def model_path(names_model) -> Path:
    return names_model[0] / "final-model.pt"


@pytest.fixture(scope="module")
def tagger(model_path):
    return load_tagger(model_path)


@pytest.fixture(scope="module")
def client(tagger) -> Iterator[TestClient]:
    app = create_app(tagger, max_wait_ms=5)
    with TestClient(app) as test_client:
        assert app.state.batcher.wait_ready(60)
        yield test_client


def _cli_lines(capsys, args: list[str]) -> list[str]:
    capsys.readouterr()
    assert main(args) == 0
    return capsys.readouterr().out.splitlines()


def _batches(client: TestClient) -> int:
    return client.get("/health").json()["batches"]["batches"]


# ------------------------------------------------------------------------------------------------ the CLI's answers
def test_predict_answers_what_the_cli_prints(client, model_path, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    items = [{"text": text, "id": number} for number, text in enumerate(TEXTS)]
    source.write_text("\n".join(json.dumps(item, ensure_ascii=False) for item in items) + "\n", encoding="utf-8")
    for types, request_types in ((None, None), ("all", "all"), ("PER,email", ["PER", "email"])):
        args = ["predict", str(model_path), str(source), "--no-progress"] + (["--types", types] if types else [])
        expected = [json.loads(line) for line in _cli_lines(capsys, args)]
        extra = {"types": request_types} if request_types else {}
        many = client.post("/predict", json={"texts": items, **extra})
        assert many.status_code == 200
        assert many.json() == {"results": expected}
        for item, line in zip(items, expected):  # one text per request: the CLI's line itself
            assert client.post("/predict", json={"text": item, **extra}).json() == line
    spans = {span["type"] for line in expected for span in line["spans"]}
    assert spans == {"PER", "email"}, spans  # the names model finds names; patterns found too


def test_redact_numbers_across_the_texts_of_a_request_like_a_span_map(client, model_path, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    span_map = tmp_path / "map.jsonl"
    redacted = _cli_lines(capsys, ["redact", str(model_path), str(source), "--span-map", str(span_map),
                                   "--no-progress"])
    header, *records = [json.loads(line) for line in span_map.read_text(encoding="utf-8").splitlines()]
    answer = client.post("/redact", json={"texts": TEXTS}).json()
    assert [result["text"] for result in answer["results"]] == redacted
    assert [result["spans"] for result in answer["results"]] == [r["spans"] for r in records if "line" in r]
    assert answer["entities"] == [r for r in records if "entity" in r]
    assert (answer["placeholder"], answer["types"]) == (header["placeholder"], header["types"])
    assert "[PER_1]" in redacted[0] and "[EMAIL_1]" in redacted[2] and "[CREDIT_CARD_1]" in redacted[4]
    # one text per request: numbering within the text, as `redact` without a span map prints it
    per_line = _cli_lines(capsys, ["redact", str(model_path), str(source), "--no-progress", "--types", "PER",
                                   "--placeholder", "<{type}-{n}>", "--no-join-partial"])
    for text, line in zip(TEXTS, per_line):
        one = client.post("/redact", json={"text": text, "types": "PER", "placeholder": "<{type}-{n}>",
                                           "join_partial": False}).json()
        assert one["text"] == line and one["types"] == ["PER"]


def test_restore_round_trip_and_an_llm_answer(client):
    answer = client.post("/redact", json={"texts": TEXTS}).json()
    for text, result in zip(TEXTS, answer["results"]):  # the redacted text itself comes back byte for byte
        back = client.post("/restore", json={"text": result["text"], "mapping": result["spans"]}).json()
        assert back == {"text": text, "unknown": []}
    mapping = answer["entities"]
    reply = "**[per_1]**'s friend (PERSON-9) wrote to <EMAIL 1>."
    expected = restore(reply, mapping)
    assert client.post("/restore", json={"text": reply, "mapping": mapping}).json() == {
        "text": expected.text, "unknown": expected.unknown}
    assert expected.text.startswith("**John Smith**'s") and "peter.brown@example.com" in expected.text
    several = client.post("/restore", json={"texts": [reply, {"text": "[PER_2]", "id": 1}],
                                            "mapping": {"[PER_2]": "Mary Jones"}}).json()
    assert several["results"][1] == {"id": 1, "text": "Mary Jones", "unknown": []}
    assert several["results"][0]["unknown"] == ["[per_1]", "<EMAIL 1>"]  # not in this mapping


# ------------------------------------------------------------------------------------------------ bad input
GOOD = {"text": "We met John Smith ."}
BAD = [
    # endpoint, body (bytes, or an object sent as JSON), status, field, part of the message
    ("/predict", b'{"text": "We met', 400, "body", "not valid JSON"),
    ("/predict", b'{"text": "We met \xff\xfe John"}', 400, "body", "not valid UTF-8"),
    ("/redact", b"", 400, "body", "no body"),
    ("/predict", b"[" * 1000, 400, "body", "not valid JSON"),
    ("/predict", b'{"text": NaN}', 400, "body", "NaN"),
    ("/predict", ["We met"], 422, "body", "JSON object"),
    ("/predict", {"text": 42}, 422, "text", "expected a string"),
    ("/predict", {"texts": "We met"}, 422, "texts", "a list of texts"),
    ("/predict", {"texts": ["ok", 7]}, 422, "texts.1", "expected a string"),
    ("/redact", {"texts": ["ok", {"txt": "no"}]}, 422, "texts.1", 'string field "text"'),
    ("/predict", {"texts": []}, 422, "texts", "empty list"),
    ("/predict", {}, 422, "body", 'either "text"'),
    ("/predict", {"text": "a", "texts": ["b"]}, 422, "body", 'either "text"'),
    ("/predict", {"text": ""}, 422, "text", "empty text"),
    ("/redact", {"texts": ["ok", " \n\t"]}, 422, "texts.1", "empty text"),
    ("/predict", b'{"text": "\\ud800 John"}', 422, "text", "lone surrogate"),
    ("/predict", {**GOOD, "tpyes": "PER"}, 422, "tpyes", "unknown field"),
    ("/predict", {**GOOD, "types": "PER,martian"}, 422, "types", "'martian' is not an entity type"),
    ("/predict", {**GOOD, "types": 5}, 422, "types", "comma-separated"),
    ("/predict", {**GOOD, "types": ","}, 422, "types", "no type named"),
    ("/redact", {**GOOD, "placeholder": "[{kind}]"}, 422, "placeholder", "{type} and {n}"),
    ("/redact", {**GOOD, "join_partial": "yes"}, 422, "join_partial", "true or false"),
    ("/restore", {**GOOD}, 422, "mapping", "required"),
    ("/restore", {**GOOD, "mapping": 5}, 422, "mapping", "expected"),
    ("/restore", {**GOOD, "mapping": [{"what": 1}]}, 422, "mapping", "not a span-map record"),
    ("/restore", {**GOOD, "mapping": {}, "line": "1"}, 422, "line", "an integer"),
    ("/predict", {"text": "x" * 101}, 413, "text", "at most 100 per text"),
    ("/redact", {"texts": ["ok", {"text": "x" * 101}]}, 413, "texts.1.text", "at most 100 per text"),
    ("/predict", {"texts": ["ok"] * 5}, 413, "texts", "at most 4"),
    ("/predict", {"text": "ok " * 500}, 413, "body", "bytes"),
]


@pytest.fixture(scope="module")
def small(tagger) -> Iterator[TestClient]:
    """A service with small limits: 100 characters per text, 4 texts, 1,000 bytes per body."""
    app = create_app(tagger, max_text_chars=100, max_texts=4, max_body_bytes=1000, max_wait_ms=1)
    with TestClient(app) as test_client:
        assert app.state.batcher.wait_ready(60)
        yield test_client


@pytest.mark.parametrize("endpoint, body, status, field, message", BAD,
                         ids=[f"{i}-{row[0]}-{row[3]}" for i, row in enumerate(BAD)])
def test_bad_input_is_a_4xx_naming_the_field_and_nothing_is_tagged(small, endpoint, body, status, field, message):
    before = _batches(small)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = small.post(endpoint, content=content, headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()["field"]) == (status, field), answer.text
    assert message in answer.json()["error"]
    assert _batches(small) == before  # refused before any tagging
    assert small.get("/ready").status_code == 200  # the worker lives on
    assert small.post("/predict", json=GOOD).status_code == 200


def test_bodies_are_refused_by_their_size_before_they_are_read(small):
    # a streamed (chunked) body is cut off at the limit; a declared length over it is refused before reading
    chunks = (b'{"text": "' + b"x" * 200 + b'"' if i == 0 else b" " * 200 for i in range(10))
    answer = small.post("/predict", content=chunks, headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()["field"]) == (413, "body")
    answer = small.post("/predict", content=b"{}", headers={"content-length": "10000000"})
    assert answer.json() == {"error": "the request body has 10000000 bytes; this service takes at most 1000",
                             "field": "body"}


def test_json_without_a_content_type_is_read_and_the_api_is_documented(client):
    # curl -d sends application/x-www-form-urlencoded unless told otherwise
    answer = client.post("/predict", content=json.dumps(GOOD), headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and answer.json()["spans"][0]["text"] == "John Smith"
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) >= {"/predict", "/redact", "/restore", "/health", "/ready"}
    body = schema["paths"]["/redact"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/RedactRequest"}
    assert {"placeholder", "join_partial", "types", "texts"} <= set(schema["components"]["schemas"]["RedactRequest"]["properties"])
    assert client.get("/docs").status_code == 200
    ready = client.get("/ready").json()
    assert ready["ready"] and ready["model_types"] == ["PER", "LOC"] and "email" in ready["pattern_types"]
    assert client.get("/nowhere").json() == {"error": "Not Found", "field": None}


def test_logs_hold_sizes_and_timings_but_never_text(client, caplog):
    secret_body = {"texts": [f"We met {SECRET} in Paris .", {"text": f"Call {SECRET} .", "note": SECRET}]}
    with caplog.at_level(logging.DEBUG):
        assert client.post("/predict", json=secret_body).status_code == 200
        assert client.post("/redact", json=secret_body).status_code == 200
        assert client.post("/restore", json={**secret_body, "mapping": {"[X_1]": SECRET}}).status_code == 200
        assert client.post("/predict", json={**secret_body, "types": SECRET}).status_code == 422
        assert client.post("/redact", json={**secret_body, "placeholder": SECRET}).status_code == 200
        assert client.post("/predict", json={"text": SECRET, SECRET: 1}).status_code == 422
    logged = "\n".join(record.getMessage() for record in caplog.records)
    chars = len(secret_body["texts"][0]) + len(secret_body["texts"][1]["text"])
    assert f"/predict 200: 2 text(s), {chars} chars, 2 sentences" in logged and " ms" in logged
    assert SECRET.split()[1] not in logged


def test_create_app_refuses_an_unknown_default_type(tagger):
    with pytest.raises(ValueError, match="--types: 'martian' is not an entity type"):
        create_app(tagger, types=["martian"])


# ------------------------------------------------------------------------------------------------ batching
@contextmanager
def running(app: Any) -> Iterator[str]:
    """The app on a real uvicorn server on 127.0.0.1 (any free port), in a thread."""
    sock = open_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not (server.started and app.state.batcher.ready):
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def test_a_burst_of_64_requests_is_batched_and_answered_as_one_by_one(tagger, client):
    requests = []
    for index in range(64):
        text = TEXTS[index % len(TEXTS)]
        kind = ("/predict", "/redact")[index % 2]
        types = (None, "all", "PER", "LOC,phone")[index % 4 if kind == "/predict" else (index // 2) % 2]
        body = {"texts": [text, TEXTS[(index + 3) % len(TEXTS)]]} if index % 3 == 0 else {"text": text}
        requests.append((kind, {**body, **({"types": types} if types else {})}))
    # references first: one request at a time, and the library itself (the worker is idle meanwhile)
    sequential = [client.post(kind, json=body).json() for kind, body in requests]
    for (kind, body), answer in zip(requests, sequential):
        texts = [body["text"]] if "text" in body else body["texts"]
        documents = tag_documents(tagger, [Document(t) for t in texts],
                                  resolve_types(tagger, body.get("types", "").split(",") if "types" in body else None,
                                                default="model" if kind == "/predict" else "all"))
        results = [answer] if "text" in body else answer["results"]
        if kind == "/predict":
            assert results == [d.to_json() for d in documents]
        else:  # one numbering across the texts of a request
            pseudonyms = Pseudonyms()
            assert [(r["text"], r["spans"]) for r in results] == [redact(d, pseudonyms=pseudonyms) for d in documents]
            assert answer["entities"] == pseudonyms.take_new()

    app = create_app(tagger, max_batch=32, max_wait_ms=50)

    async def burst(url: str) -> list[Any]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            answers = await asyncio.gather(*(http.post(kind, json=body) for kind, body in requests))
        return [answer.json() for answer in answers]

    with running(app) as url:
        together = asyncio.run(burst(url))
    assert together == sequential
    stats = app.state.batcher.stats
    assert stats.jobs == 64 and stats.max_jobs > 1 and stats.merged >= 1
    assert stats.batches < 64  # sentences of several requests went through one forward
    assert max(sentences for jobs, sentences in stats.recent if jobs > 1) <= 32


def test_the_batcher_keeps_max_batch_and_a_failing_request_fails_alone(tagger):
    batcher = DynamicBatcher(tagger, max_batch=4, max_wait_ms=200, warm_up=False)
    batcher.start()
    try:
        broken = Document("broken", units=[[Word(None, 0, 6)]])  # type: ignore[arg-type] - Flair refuses it
        futures = [batcher.submit([Document(text)]) for text in TEXTS[:3]]
        futures.append(batcher.submit([broken]))
        futures.append(batcher.submit([Document(TEXTS[5])]))  # 3 sentences: does not fit, starts the next batch
        results = []
        for future in futures:
            try:
                results.append(future.result(60))
            except TypeError as error:
                results.append(error)
        assert isinstance(results[3], TypeError)
        expected = tag_documents(tagger, [Document(text) for text in TEXTS[:3] + [TEXTS[5]]])
        assert [r[0].spans for r in results[:3] + results[4:]] == [d.spans for d in expected]
        assert all(sentences <= 4 for jobs, sentences in batcher.stats.recent)
        assert batcher.stats.failed == 1 and batcher.ready
    finally:
        batcher.stop(30)
    assert not batcher.ready


# ------------------------------------------------------------------------------------------------ connections
def test_a_client_that_disconnects_does_not_stall_the_others(tagger):
    app = create_app(tagger, max_wait_ms=400, max_batch=64)
    with running(app) as url:
        port = int(url.rsplit(":", 1)[1])
        body = json.dumps({"text": TEXTS[0]}).encode()
        # one client sends half a body and waits; another sends a whole request and leaves at once
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
        gone = socket.create_connection(("127.0.0.1", port))
        gone.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode()
                     + b"\r\n\r\n" + body)
        time.sleep(0.1)
        gone.close()
        started = time.monotonic()
        answer = httpx.post(url + "/predict", json={"text": TEXTS[1]}, timeout=30)
        assert answer.status_code == 200 and time.monotonic() - started < 5
        deadline = time.monotonic() + 5
        while app.state.batcher.stats.cancelled < 1:  # the leaver's job was dropped, not tagged
            assert time.monotonic() < deadline
            time.sleep(0.05)
        slow.close()
        assert httpx.get(url + "/health").json()["batches"]["jobs"] == 1


def test_cli_serve_answers_and_finishes_a_request_in_flight_on_sigterm(model_path, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"}
    command = [sys.executable, "-m", "flair_modernbert.cli", "-v", "serve", str(model_path), "--port", "0",
               "--max-wait-ms", "1000"]
    # files, not pipes: a full pipe would block the server (with -v Flair logs to stdout)
    out, errors = (tmp_path / "stdout.txt").open("w"), (tmp_path / "stderr.txt").open("w")
    process = subprocess.Popen(command, stdout=out, stderr=errors, env=env)
    try:
        deadline = time.monotonic() + 60
        while "serving" not in (tmp_path / "stdout.txt").read_text(encoding="utf-8"):
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "stderr.txt").read_text()
            time.sleep(0.1)
        line = next(line for line in (tmp_path / "stdout.txt").read_text().splitlines() if "serving" in line)
        assert "http://127.0.0.1:" in line
        url = line.split("on ", 1)[1].split()[0]
        while httpx.get(url + "/ready").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        answers: list[Any] = []
        request = threading.Thread(target=lambda: answers.append(
            httpx.post(url + "/redact", json={"text": f"We met {SECRET} and John Smith ."}, timeout=30)))
        request.start()
        time.sleep(0.4)  # the request waits in the batcher (1 s) when the signal comes
        process.send_signal(signal.SIGTERM)
        request.join(30)
        assert answers and answers[0].status_code == 200, answers
        assert "[PER_1]" in answers[0].json()["text"]
        assert process.wait(30) == 0
        log = (tmp_path / "stderr.txt").read_text(encoding="utf-8")
        assert "/redact 200: 1 text(s)" in log and "tagger thread stopped" in log
        assert SECRET.split()[1] not in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        out.close()
        errors.close()


def test_cli_serve_refuses_a_port_in_use(model_path, capsys):
    taken = open_socket("127.0.0.1", 0)
    try:
        assert main(["serve", str(model_path), "--port", str(taken.getsockname()[1])]) == 2
    finally:
        taken.close()
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err
