"""Redact, ask, restore from the command line, as a user runs it around a hosted LLM (docs/redaction.md):
`redact --types all --span-map` | an LLM's mangling | `restore` gives back the original lines, no structured PII
survives, and `predict -` / `redact -` answer a line while the input pauses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from flair_modernbert.cli import main

#: Valid values from public test-number lists (and the issue's example): none may survive `redact --types all`.
SECRETS = [
    "jane.doe@acme.com", "+49 30 1234567", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005",
    "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "(555) 123-4567", "020 7946 0958", "192.168.0.1",
    "2001:db8::8a2e:370:7334", "https://intranet.acme.com/people/jane", "CH93 0076 2011 6238 5295 7",
]

NOTES = [
    "Mail jane.doe@acme.com or call +49 30 1234567, card 4111 1111 1111 1111",
    "We met John Smith in Paris . John Smith paid with 5555-5555-5555-4444 and Smith sent 378282246310005 .",
    "My name is Anna . IBAN DE89 3704 0044 0532 0130 00 or GB82WEST12345698765432 , ask (555) 123-4567 .",
    "Lisa Miller lives in New York ; her office 020 7946 0958 , host 192.168.0.1 and 2001:db8::8a2e:370:7334 .",
    '{"id": 5, "text": "See https://intranet.acme.com/people/jane and CH93 0076 2011 6238 5295 7 ."}',
    "",
    "Nothing to hide here .",
]

#: What LLMs do to placeholders (docs/redaction.md, section 5), each applied to every placeholder of a line.
MANGLINGS = {
    "exact": lambda m: m.group(0),
    "lower case": lambda m: m.group(0).lower(),
    "bold": lambda m: f"**{m.group(0)}**",
    "italic lower": lambda m: f"*{m.group(0).lower()}*",
    "backticks": lambda m: f"`{m.group(0)}`",
    "quotes": lambda m: f'"{m.group(0)}"',
    "angle brackets": lambda m: f"<{m.group(1)}_{m.group(2)}>",
    "parentheses, dash": lambda m: f"({m.group(1)}-{m.group(2)})",
    "no brackets": lambda m: f"{m.group(1)}_{m.group(2)}",
    "doubled brackets": lambda m: f"[{m.group(0)}]",
    "markdown escapes": lambda m: f"\\[{m.group(1).replace('_', chr(92) + '_')}\\_{m.group(2)}\\]",
    "title case, space": lambda m: f"[{m.group(1).title()} {m.group(2)}]",
}
PLACEHOLDER = re.compile(r"\[([A-Z_]+)_([0-9]+)\]")


def _run(capsys, *argv: str) -> tuple[str, str]:
    assert main(list(argv)) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


@pytest.fixture(scope="module")
def redacted_notes(names_model, tmp_path_factory):
    """The notes redacted once with `--types all --span-map` (in a fresh process, as a user runs it)."""
    out, _ = names_model
    folder = tmp_path_factory.mktemp("round-trip")
    notes = folder / "notes.txt"
    notes.write_text("\n".join(NOTES) + "\n", encoding="utf-8")
    span_map = folder / "map.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "flair_modernbert.cli", "redact", str(out), str(notes), "--types", "all",
         "--span-map", str(span_map), "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out, notes, span_map, done.stdout


def test_redact_all_leaves_no_structured_pii_and_numbers_entities_across_the_input(redacted_notes):
    _, _, span_map, redacted = redacted_notes
    lines = redacted.splitlines()
    assert len(lines) == len(NOTES)
    for secret in SECRETS:
        assert secret not in redacted, secret
    # the tiny names model may tag a word next to a pattern too: the merged span then takes the pattern's type
    assert all(f"[{kind}_1]" in lines[0] for kind in ("EMAIL", "PHONE", "CREDIT_CARD")), lines[0]
    assert "[CREDIT_CARD_2]" in lines[1] and "[CREDIT_CARD_3]" in lines[1]
    assert "[IBAN_1]" in lines[2] and "[IBAN_2]" in lines[2] and "[PHONE_2]" in lines[2]
    record = json.loads(lines[4])
    assert record["id"] == 5 and "[URL_1]" in record["text"] and "[IBAN_3]" in record["text"]
    assert lines[5] == ""
    records = [json.loads(line) for line in span_map.read_text(encoding="utf-8").splitlines()]
    entities = [r for r in records if "entity" in r]
    assert len({r["entity"] for r in entities}) == len(entities)  # each entity recorded once
    assert {"entity": "[IBAN_1]", "type": "iban", "text": "DE89 3704 0044 0532 0130 00"} in entities
    # mentions with the same text (whatever the tiny model tagged) share one placeholder across the whole input
    by_text: dict = {}
    for mention in (s for r in records if "line" in r for s in r["spans"]):
        by_text.setdefault((mention["type"], mention["text"].casefold()), set()).add(mention["placeholder"])
    assert by_text and all(len(placeholders) == 1 for placeholders in by_text.values()), by_text


@pytest.mark.parametrize("mangling", sorted(MANGLINGS))
def test_redact_mangle_restore_gives_the_original_lines_byte_for_byte(redacted_notes, mangling, tmp_path, capsys):
    _, notes, span_map, redacted = redacted_notes
    answer = tmp_path / "answer.txt"
    mangled = []
    for line in redacted.splitlines():
        if line.startswith("{"):  # an LLM changes the text, the JSON around it stays valid
            record = json.loads(line)
            record["text"] = PLACEHOLDER.sub(MANGLINGS[mangling], record["text"])
            mangled.append(json.dumps(record, ensure_ascii=False))
        else:
            mangled.append(PLACEHOLDER.sub(MANGLINGS[mangling], line))
    answer.write_text("\n".join(mangled) + "\n", encoding="utf-8")
    out, err = _run(capsys, "restore", str(span_map), str(answer))
    assert out == notes.read_text(encoding="utf-8")
    assert err == ""


def test_restore_answers_reports_unknown_placeholders_and_restores_json_lines(redacted_notes, tmp_path, capsys):
    _, _, span_map, _ = redacted_notes
    records = [json.loads(line) for line in span_map.read_text(encoding="utf-8").splitlines()]
    answer = tmp_path / "answer.txt"
    answer.write_text(
        "Dear **[per_1]**, we charged [CREDIT_CARD_1] and wrote to <EMAIL_1>; ask [PHONE_9].\n"
        '{"reply": true, "text": "Visit [URL_1] now"}\n'
        "The card was [CREDIT_CARD_\n1].\n", encoding="utf-8")
    out, err = _run(capsys, "restore", str(span_map), str(answer))
    lines = out.splitlines()
    assert "[per_1]" not in lines[0] and "4111 1111 1111 1111" in lines[0] and "jane.doe@acme.com" in lines[0]
    assert lines[0].endswith("ask [PHONE_9].")
    url = next(r["text"] for r in records if r.get("entity") == "[URL_1]")  # the tiny model may widen a span
    assert url.startswith("https://intranet.acme.com/people/jane")
    assert json.loads(lines[1]) == {"reply": True, "text": f"Visit {url} now"}
    assert lines[2:] == ["The card was [CREDIT_CARD_", "1]."]  # line by line: a split placeholder needs --whole
    assert err == "restore: line 1: unknown placeholder [PHONE_9]\n"
    out, err = _run(capsys, "restore", str(span_map), str(answer), "--whole")
    card = next(r["text"] for r in records if r.get("entity") == "[CREDIT_CARD_1]")
    assert out.endswith(f"The card was {card}.\n") and "unknown placeholder [PHONE_9]" in err


def test_restore_errors_name_the_file_and_line(redacted_notes, tmp_path, capsys):
    _, _, span_map, _ = redacted_notes
    bad = tmp_path / "bad.jsonl"
    bad.write_text(span_map.read_text(encoding="utf-8").splitlines()[0] + "\n[1, 2]\n", encoding="utf-8")
    assert main(["restore", str(bad), "-"]) == 2
    assert f"error: {bad}, line 2: not a JSON object" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "none.jsonl"), "-"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_redact_refuses_unknown_types_and_bad_placeholders(names_model, capsys):
    out, _ = names_model
    assert main(["redact", str(out), "-", "--types", "person,pets"]) == 2
    err = capsys.readouterr().err
    assert "'pets' is not an entity type of this model nor a pattern type" in err and "credit_card" in err
    assert main(["redact", str(out), "-", "--placeholder", "[{kind}]"]) == 2
    assert "may use {type} and {n} only" in capsys.readouterr().err


def test_predict_reports_pattern_types_only_when_asked(names_model, tmp_path, capsys):
    out, _ = names_model
    source = tmp_path / "in.txt"
    source.write_text("We met John Smith in Paris , mail john@smith.org .\n", encoding="utf-8")
    plain, _ = _run(capsys, "predict", str(out), str(source), "--no-progress")
    assert {span["type"] for span in json.loads(plain)["spans"]} <= {"PER", "LOC"}
    asked, _ = _run(capsys, "predict", str(out), str(source), "--no-progress", "--types", "email,PER")
    spans = json.loads(asked)["spans"]
    assert {"start": 34, "end": 48, "type": "email", "text": "john@smith.org", "score": 1.0} in spans
    assert {span["type"] for span in spans} <= {"PER", "email"}


@pytest.mark.parametrize("command", ["predict", "redact"])
def test_a_pipe_that_pauses_is_answered_line_by_line(names_model, command):
    """A program writes one line and waits: the answer comes while the input is still open, well within 0.5 s
    of tagging time after the line arrived (the model is loaded before the timed line)."""
    out, _ = names_model
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "flair_modernbert.cli", command, str(out), "-", "--types", "all"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        process.stdin.write("We met John Smith in Paris .\n".encode())
        process.stdin.flush()
        first = process.stdout.readline().decode()  # after start-up and model load
        assert "John Smith" not in first if command == "redact" else '"PER"' in first
        delays = []
        for text in ("Mail anna@acme.com .", "My name is Anna ."):
            started = time.perf_counter()
            process.stdin.write((text + "\n").encode())
            process.stdin.flush()
            answer = process.stdout.readline().decode()
            delays.append(time.perf_counter() - started)
            assert answer.strip(), answer
        assert process.poll() is None  # the input is still open: nothing waited for its end
        assert max(delays) < 2.0, delays  # 0.1 s pause + tagging one line; generous for a busy CI machine
    finally:
        process.stdin.close()
        process.wait(timeout=60)
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0


def test_pattern_types_alone_run_no_forward(names_model, monkeypatch):
    from flair_modernbert.inference import Document, load_tagger, resolve_types, tag_documents

    tagger = load_tagger(names_model[0])
    calls = []
    real = tagger.predict
    monkeypatch.setattr(tagger, "predict", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    text = "We met John Smith in Paris , mail john@smith.org ."
    (document,) = tag_documents(tagger, [Document(text)], resolve_types(tagger, ["email"]))
    assert [(s.type, s.text) for s in document.spans] == [("email", "john@smith.org")] and calls == []
    (document,) = tag_documents(tagger, [Document(text)], resolve_types(tagger, ["email", "PER"]))
    assert calls == [1] and {s.type for s in document.spans} <= {"email", "PER"}
