"""Redaction people can trust: exact offsets whatever the Unicode, safe model loading, no silent misses, nothing
lost, 1:1 lines, streaming, and errors that name the file and line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flair_modernbert.cli import main
from flair_modernbert.inference import Document, load_tagger, redact, tag_documents
from flair_modernbert.segmentation import sentences, words
from flair_modernbert.tagging.loading import UnsafeModelError, load_checkpoint

#: characters users paste: zero-width and joiners, BOM, variation selector, NBSP, direction marks and overrides,
#: control characters, ideographic space; and words: emoji with a selector, CJK, RTL, a combining accent
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\ufe0f", "\u00a0", "\u200e", "\u202e", "\x00",
             "\x07", "\x1b", "\u3000", " "]
VISIBLE = ["❤️", "👍🏽", "北京", "東京タワー", "שלום", "مرحبا", "é", "\u0301"]
NAMES = ["John Smith", "Mary Jones", "Peter Brown", "Lisa Miller", "Anna"]


@pytest.fixture(scope="module")
def tagger(names_model):
    return load_tagger(names_model[0])


def _cli_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"}


def _console() -> list[str]:
    script = Path(sys.executable).parent / "flair-modernbert"
    return [str(script)] if script.exists() else [sys.executable, "-m", "flair_modernbert.cli"]


# ------------------------------------------------------------------------------------------------ offsets
def test_segmentation_offsets_point_into_the_original_text():
    text = "❤️❤️❤️❤️ John Smith in Paris ." + "\u200b" * 12 + "Jane.Doe@mail.com"
    found = words(text)
    assert all(text[w.start : w.end] == w.text for w in found)
    assert [w.text for w in found] == ["❤"] * 4 + ["John", "Smith", "in", "Paris", ".", "Jane.Doe@mail.com"]
    assert [len(s) for s in sentences("Hi there. How are you ?\nFine")] == [3, 4, 1]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(NAMES),
    before=st.lists(st.sampled_from(INVISIBLE), max_size=12).map("".join),
    after=st.lists(st.sampled_from(INVISIBLE), max_size=6).map("".join),
    words_before=st.lists(st.sampled_from(VISIBLE), max_size=2),
    template=st.sampled_from(["We met {} in Paris .", "My name is {} .", "Please call {} today ."]),
)
def test_spans_are_located_in_the_original_string_and_names_are_gone(tagger, name, before, after, words_before,
                                                                      template):
    prefix = " ".join(words_before) + (" " if words_before else "")
    text = prefix + template.format(before + name + after)
    [document] = tag_documents(tagger, [Document(text)])
    for span in document.spans:
        assert text[span.start : span.end] == span.text
    assert any(span.text == name and span.type == "PER" for span in document.spans), (text, document.spans)
    redacted, mapping = redact(document)
    assert name not in redacted and "[PER_1]" in redacted
    # the span map puts the original back, byte for byte
    restored = redacted
    for entry in reversed(mapping):
        restored = restored[: entry["redacted_start"]] + entry["text"] + restored[entry["redacted_end"] :]
    assert restored == text


def test_the_reported_examples_redact_the_whole_name(tagger, capsys, names_model):
    lines = ["❤️❤️❤️❤️ John Smith in Paris .", "\u200b" * 12 + "John Smith lives in Paris ."]
    for text in lines:
        [document] = tag_documents(tagger, [Document(text)])
        redacted, _ = redact(document)
        assert "John" not in redacted and "Smith" not in redacted and "mith" not in redacted, redacted
        assert redacted.endswith("[PER_1] in [LOC_1] .") or redacted.endswith("[PER_1] lives in [LOC_1] .")


# ------------------------------------------------------------------------------------------------ model files
class _Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def test_a_model_file_cannot_run_code_and_is_refused_clearly(tmp_path, capsys):
    marker = tmp_path / "pwned"
    hostile = tmp_path / "final-model.pt"
    torch.save({"embeddings": _Hostile(marker), "tag_dictionary": None}, hostile, pickle_protocol=4)
    assert main(["predict", str(hostile), "-", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "refers to posix.makedirs" in err or "refers to os.makedirs" in err
    assert "nothing in it ran" in err and "--trust-model" in err
    assert not marker.exists()
    with pytest.raises(UnsafeModelError):
        load_checkpoint(hostile)
    assert not marker.exists()


def test_non_model_and_truncated_files_are_named(names_model, tmp_path, capsys):
    text = tmp_path / "notes.pt"
    text.write_text("hello", encoding="utf-8")
    truncated = tmp_path / "half.pt"
    data = (names_model[0] / "final-model.pt").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(2), tensor)
    for path, message in [(text, "not a model file"), (truncated, "not a model file"), (tensor, "not a model file")]:
        assert main(["predict", str(path), "-", "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: {message}"), err


def test_trusted_loading_is_an_explicit_opt_in(names_model):
    trusted = load_tagger(names_model[0], trust=True)
    safe = load_tagger(names_model[0])
    assert trusted.label_dictionary.get_items() == safe.label_dictionary.get_items()


# ------------------------------------------------------------------------------------------------ types
def test_unknown_types_are_an_error_listing_the_models_types(names_model, tmp_path, capsys, caplog):
    source = tmp_path / "in.txt"
    source.write_text("We met John Smith in Paris .\n", encoding="utf-8")
    assert main(["redact", str(names_model[0]), str(source), "--no-progress", "--types", "person,EVENT"]) == 2
    err = capsys.readouterr().err
    assert ("--types: 'EVENT' is not an entity type of this model nor a pattern type; the model's types are: PER, LOC; "
            "the pattern types are: url, email, iban, credit_card, ip, ssn, phone (or 'all')") in err
    # aliases are explicit: 'person' reads as the model's PER, and the user is told
    assert main(["redact", str(names_model[0]), str(source), "--no-progress", "--types", "person"]) == 0
    assert capsys.readouterr().out == "We met [PER_1] in Paris .\n"
    assert "'person' is read as the model's 'PER'" in caplog.text


# ------------------------------------------------------------------------------------------------ nothing lost
def test_the_span_map_is_never_truncated_by_a_failing_run(names_model, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "We met Anna in Paris ."}\n{"text": broken\n', encoding="utf-8")
    span_map = tmp_path / "map.jsonl"
    span_map.write_text("earlier redactions\n", encoding="utf-8")
    assert main(["redact", str(names_model[0]), str(source), "--no-progress", "--span-map", str(span_map)]) == 2
    assert "exists" in capsys.readouterr().err and span_map.read_text() == "earlier redactions\n"
    assert main(["redact", str(names_model[0]), str(source), "--no-progress", "--span-map", str(span_map),
                 "--force"]) == 2
    assert f"{source}, line 2: not valid JSON" in capsys.readouterr().err
    assert span_map.read_text() == "earlier redactions\n"  # the failed run replaced nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "map.jsonl"]  # no temporary file left
    source.write_text('{"text": "We met Anna in Paris ."}\n', encoding="utf-8")
    assert main(["redact", str(names_model[0]), str(source), "--no-progress", "--span-map", str(span_map),
                 "--force"]) == 0
    records = [json.loads(line) for line in span_map.read_text().splitlines()]
    assert records[0]["format"] == "flair-modernbert-span-map" and records[-1]["spans"][0]["text"] == "Anna"


def test_output_lines_stay_one_to_one_with_input_lines(names_model, tmp_path):
    source = tmp_path / "in.txt"
    lines = ["We met Anna\rin Paris .", '{"text": "line one\\nline two with Anna"}', "", "\x00 NUL and RTL שלום",
             "no entities here"]
    source.write_bytes(("\n".join(lines) + "\r\n").encode("utf-8"))
    for command in ("predict", "redact"):
        done = subprocess.run([*_console(), command, str(names_model[0]), str(source), "--no-progress"],
                              capture_output=True, env=_cli_env(), timeout=300)
        assert done.returncode == 0, done.stderr
        out = done.stdout.decode("utf-8").split("\n")
        assert out[-1] == "" and len(out) - 1 == len(lines), out
        first = json.loads(out[0])["text"] if command == "predict" else out[0]
        assert first == "We met Anna\rin Paris ." if command == "predict" else first == "We met [PER_1]\rin [LOC_1] ."
        record = json.loads(out[1])
        assert record["text"].startswith("line one\n")  # JSON in, JSON out, even with only "text"


def test_predict_streams_output_before_the_input_ends(names_model):
    process = subprocess.Popen([*_console(), "predict", str(names_model[0]), "-", "--batch-size", "2"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=_cli_env())
    try:
        for _ in range(20):
            process.stdin.write("We met Anna in Paris .\n".encode())
        process.stdin.flush()
        first = process.stdout.readline()  # stdin is still open: only a streaming reader can answer
        assert json.loads(first)["spans"][0]["text"] == "Anna"
    finally:
        process.stdin.close()
        rest = process.stdout.read().decode().splitlines()
        process.wait(timeout=120)
    assert process.returncode == 0 and len(rest) == 19


# ------------------------------------------------------------------------------------------------ errors
def test_invalid_utf8_and_bad_placeholders_are_named_before_any_tagging(names_model, tmp_path):
    source = tmp_path / "in.txt"
    source.write_bytes(b"fine line\nsecond line\ncaf\xe9\n")
    done = subprocess.run([*_console(), "predict", str(names_model[0]), str(source), "--no-progress"],
                          capture_output=True, env=_cli_env(), timeout=300)
    assert done.returncode == 2 and f"{source}, line 3: not valid UTF-8".encode() in done.stderr
    done = subprocess.run([*_console(), "predict", str(names_model[0]), "-"], input=b"ok\n\xff\n",
                          capture_output=True, env=_cli_env(), timeout=300)
    assert done.returncode == 2 and b"<stdin>, line 2: not valid UTF-8" in done.stderr
    assert b"Traceback" not in done.stderr
    for placeholder in ("{0}", "{text}", "{type"):
        done = subprocess.run([*_console(), "redact", str(tmp_path / "no-model"), "-", "--placeholder", placeholder],
                              input=b"x\n", capture_output=True, env=_cli_env(), timeout=300)
        assert done.returncode == 2 and b"--placeholder" in done.stderr and b"no model" not in done.stderr


def test_long_lines_and_blank_lines_keep_their_place(tagger):
    long_line = " ".join(["word"] * 20_000) + " Anna"
    documents = tag_documents(tagger, [Document(""), Document(long_line), Document("We met Anna in Paris .")])
    assert documents[0].spans == []
    assert documents[1].spans and documents[1].spans[-1].text == "Anna"
    assert long_line[documents[1].spans[-1].start :] == "Anna"
    assert [span.text for span in documents[2].spans] == ["Anna", "Paris"]


def test_lines_never_give_each_other_context(tiny_model_dir):
    """A tagger trained with context sees the sentences of its own line only, however lines are batched."""
    from flair.data import Dictionary
    from flair.models import SequenceTagger

    from flair_modernbert import ModernBertEmbeddings

    torch.manual_seed(0)
    types = Dictionary(add_unk=False)
    for kind in ("PER", "LOC", "ORG"):
        types.add_item(kind)
    types.span_labels = True
    embeddings = ModernBertEmbeddings(str(tiny_model_dir), use_context=True)
    tagger = SequenceTagger(embeddings=embeddings, tag_dictionary=types, tag_type="ner", use_crf=False,
                            use_rnn=False, reproject_embeddings=False)
    tagger.eval()  # as load_tagger gives it
    line = "Anna met Peter Brown in Paris ."
    alone = tag_documents(tagger, [Document(line)])[0].spans
    batched = tag_documents(tagger, [Document("Completely different words come first here ."), Document(line),
                                     Document("And another line after it .")])[1].spans
    assert alone and batched == alone
