"""Span-annotated corpora: every reader (our JSON lines, doccano, Label Studio, presidio-evaluator), errors with
file and line, word alignment, sentence splitting, label_map on every corpus type, `type: spans` recipes, synthetic
documents mixed into each split, and the round trip spans -> tags -> predicted spans on a memorising tagger."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from flair_modernbert.config import ConfigError, load_recipe, recipe_from_dict, save_recipe
from flair_modernbert.data import (
    SPAN_FORMATS,
    CorpusFormatError,
    SpanDocument,
    load_corpus,
    read_span_documents,
    sentences_from_span_documents,
    write_span_documents,
)
from flair_modernbert.data import corpora
from flair_modernbert.data.spans import detect_format


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def lines(*records) -> str:
    return "".join((json.dumps(r, ensure_ascii=False) if not isinstance(r, str) else r) + "\n" for r in records)


def labelled(sentence, label_type: str = "ner") -> list[tuple[str, str]]:
    return [(span.text, span.get_label(label_type).value) for span in sentence.get_spans(label_type)]


def error_of(path: Path, fmt: str = "auto") -> CorpusFormatError:
    with pytest.raises(CorpusFormatError) as info:
        read_span_documents(path, fmt)
    return info.value


TEXT = "Jane Doe lives in Berlin."
GOLD = ((0, 8, "person"), (18, 24, "location"))


# ------------------------------------------------------------------------------------------------ readers
def test_our_json_lines_read_what_predict_writes(tmp_path):
    file = write(tmp_path / "p.jsonl", lines(
        {"id": 7, "text": TEXT, "spans": [{"start": 18, "end": 24, "type": "location", "text": "Berlin", "score": 0.9},
                                          {"start": 0, "end": 8, "type": "person", "text": "Jane Doe", "score": 1.0}]},
        "",
        {"text": "Nothing here."},
    ))
    documents = read_span_documents(file)
    assert documents == [SpanDocument(TEXT, GOLD, str(file), 1), SpanDocument("Nothing here.", (), str(file), 3)]
    assert detect_format(file) == "jsonl"
    # written back and read again: the same documents
    again = read_span_documents(write_span_documents(documents, tmp_path / "out.jsonl"))
    assert [(d.text, d.spans) for d in again] == [(d.text, d.spans) for d in documents]
    assert json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])["spans"][0] == {
        "start": 0, "end": 8, "type": "person", "text": "Jane Doe"}
    dicts = write_span_documents([{"text": TEXT, "spans": [{"start": 0, "end": 8, "type": "person"}]}], tmp_path / "d.jsonl")
    assert read_span_documents(dicts)[0].spans == ((0, 8, "person"),)


def test_doccano_jsonl_in_every_form(tmp_path):
    file = write(tmp_path / "doccano.jsonl", lines(
        {"id": 1, "text": TEXT, "label": [[18, 24, "LOC"], [0, 8, "PER"]]},
        {"id": 2, "text": TEXT, "labels": [[0, 8, "PER"]]},
        {"text": TEXT, "entities": [{"id": 3, "start_offset": 18, "end_offset": 24, "label": "LOC"}], "relations": []},
    ))
    for fmt in ("auto", "doccano"):
        documents = read_span_documents(file, fmt)
        assert [(d.spans, d.line) for d in documents] == [
            (((0, 8, "PER"), (18, 24, "LOC")), 1), (((0, 8, "PER"),), 2), (((18, 24, "LOC"),), 3)]
    assert detect_format(file) == "doccano"
    # a text-classification export is not a span file
    bad = write(tmp_path / "cls.jsonl", lines({"text": TEXT, "label": ["positive"]}))
    assert "cls.jsonl:1: each entry of \"label\" must be [start, end, \"TYPE\"]" in str(error_of(bad))


def test_label_studio_export_first_annotation_not_cancelled(tmp_path, caplog):
    tasks = [
        {"id": 1, "data": {"text": TEXT}, "annotations": [
            {"was_cancelled": True, "result": [{"value": {"start": 0, "end": 4, "text": "Jane", "labels": ["X"]}}]},
            {"was_cancelled": False, "result": [
                {"from_name": "label", "to_name": "text", "type": "labels",
                 "value": {"start": 0, "end": 8, "text": "Jane Doe", "labels": ["PER"]}},
                {"from_name": "label", "to_name": "text", "type": "labels",
                 "value": {"start": 18, "end": 24, "text": "Berlin", "labels": ["LOC"]}},
                {"from_name": "sentiment", "type": "choices", "value": {"choices": ["neutral"]}},
            ]},
        ]},
        {"id": 2, "data": {"dialogue": "Ask 😀 Jo Li.", "meta": 3}, "annotations": [
            # Label Studio counts UTF-16 units: 'Jo Li' starts at unit 7 (code point 6)
            {"result": [{"value": {"start": 7, "end": 12, "text": "Jo Li", "labels": ["PER"]}}]}]},
        {"id": 3, "data": {"text": "Not annotated yet."}, "annotations": []},
    ]
    file = write(tmp_path / "export.json", json.dumps(tasks))
    with caplog.at_level(logging.WARNING):
        documents = read_span_documents(file)
    assert [(d.text, d.spans, d.line) for d in documents] == [
        (TEXT, ((0, 8, "PER"), (18, 24, "LOC")), 1), ("Ask 😀 Jo Li.", ((6, 11, "PER"),), 2)]
    assert "1 tasks without an annotation (or only cancelled ones) skipped" in caplog.text
    assert "1 results that are not text spans" in caplog.text
    assert "export.json:2: offsets count UTF-16 units" in caplog.text
    assert detect_format(file) == "label_studio"


def test_label_studio_json_min_export(tmp_path):
    records = [{"text": TEXT, "id": 1, "annotator": 1, "annotation_id": 4,
                "label": [{"start": 0, "end": 8, "text": "Jane Doe", "labels": ["PER"]}]}]
    file = write(tmp_path / "min.json", json.dumps(records))
    assert read_span_documents(file)[0].spans == ((0, 8, "PER"),)
    assert read_span_documents(file, "label_studio")[0].spans == ((0, 8, "PER"),)


def test_presidio_evaluator_dataset(tmp_path):
    samples = [{"full_text": TEXT, "masked": "{{name}} lives in {{city}}.", "template_id": 3, "tokens": [], "tags": [],
                "spans": [{"entity_type": "PERSON", "entity_value": "Jane Doe", "start_position": 0, "end_position": 8},
                          {"entity_type": "LOCATION", "entity_value": "Berlin", "start_position": 18,
                           "end_position": 24}]}]
    file = write(tmp_path / "presidio.json", json.dumps(samples, indent=2))
    assert read_span_documents(file) == [SpanDocument(TEXT, ((0, 8, "PERSON"), (18, 24, "LOCATION")), str(file), 1)]
    assert detect_format(file) == "presidio"
    samples[0]["spans"][1]["entity_value"] = "Berlin."
    bad = write(tmp_path / "bad.json", json.dumps(samples))
    message = str(error_of(bad))
    assert "bad.json, record 1: span (18, 24, 'LOCATION'): the text at these offsets is 'Berlin', the span says " \
           "'Berlin.'" in message
    assert "records are numbered from 1" in message


def test_unknown_format_names_the_file(tmp_path):
    for name, content in (("rows.csv", "text,label\nhello,O\n"), ("other.json", json.dumps([{"sentence": "x"}])),
                          ("keys.jsonl", lines({"sentence": "x"}))):
        message = str(error_of(write(tmp_path / name, content)))
        assert str(tmp_path / name) in message
        assert ("cannot tell the span format" in message) or ('a JSON line needs a string field "text"' in message)
    with pytest.raises(CorpusFormatError, match=r"rows\.csv.*cannot tell the span format"):
        detect_format(tmp_path / "rows.csv")
    with pytest.raises(ValueError, match="format: expected auto or one of jsonl, doccano, label_studio, presidio"):
        read_span_documents(tmp_path / "rows.csv", "csv")
    assert SPAN_FORMATS == ("jsonl", "doccano", "label_studio", "presidio")


@pytest.mark.parametrize("record, problem", [
    ({"text": TEXT, "spans": [{"start": 0, "end": 8, "type": "person"}, {"start": 5, "end": 14, "type": "x"}]},
     "overlapping gold spans (0, 8, 'person') 'Jane Doe' and (5, 14, 'x') 'Doe lives'"),
    ({"text": TEXT, "spans": [{"start": 18, "end": 40, "type": "location"}]}, "offsets must satisfy 0 <= start < end <= 25"),
    ({"text": TEXT, "spans": [{"start": -1, "end": 4, "type": "person"}]}, "offsets must satisfy"),
    ({"text": TEXT, "spans": [{"start": 4, "end": 4, "type": "person"}]}, "offsets must satisfy"),
    ({"text": TEXT, "spans": [{"start": 0, "end": 8, "type": "person", "text": "John Doe"}]},
     "the text at these offsets is 'Jane Doe', the span says 'John Doe'"),
    ({"spans": []}, 'missing the string field "text"'),
    ({"text": TEXT, "spans": [{"start": 0, "end": 8}]}, 'each span needs "start", "end" and "type"'),
    ('{"text": "broken", "spans": [', "not valid JSON"),
])
def test_bad_records_name_file_and_line(tmp_path, record, problem):
    file = write(tmp_path / "bad.jsonl", lines({"text": "A fine first line."}, "", record))
    error = error_of(file)
    assert f"{file}:3: " in str(error) and problem in str(error), str(error)
    assert error.line == 3


def test_bad_json_array_names_the_line(tmp_path):
    file = write(tmp_path / "broken.json", '[\n  {"full_text": "a",\n   "spans": [}\n]\n')
    assert f"{file}:3: not valid JSON" in str(error_of(file, "presidio"))


# ------------------------------------------------------------------------------------------------ sentences
def test_spans_become_word_labels_and_documents_link_their_sentences():
    documents = [SpanDocument("Jane Doe lives in Berlin. Call Jane at noon.", ((0, 8, "person"), (18, 24, "location"),
                                                                              (31, 35, "person"))),
                 SpanDocument("Bob  works\u200b.", ((0, 3, "person"),))]
    sentences = sentences_from_span_documents(documents)
    assert [labelled(s) for s in sentences] == [[("Jane Doe", "person"), ("Berlin", "location")], [("Jane", "person")],
                                                [("Bob", "person")]]
    assert [s.to_tokenized_string() for s in sentences] == ["Jane Doe lives in Berlin .", "Call Jane at noon .",
                                                            "Bob works ."]
    # context within a document, never across documents
    assert sentences[1]._previous_sentence is sentences[0] and sentences[0]._next_sentence is sentences[1]
    assert sentences[2]._previous_sentence is None and sentences[1]._next_sentence is None


def test_misaligned_spans_expand_with_a_warning_or_raise(caplog):
    document = SpanDocument("Call Annabel Lee-Smith now.", ((5, 11, "person"), (17, 22, "person")), "a.jsonl", 4)
    with caplog.at_level(logging.WARNING):
        sentences = sentences_from_span_documents([document])
    assert labelled(sentences[0]) == [("Annabel", "person"), ("Lee-Smith", "person")]
    assert "a.jsonl:4: span (5, 11, 'person') 'Annabe' does not fall on word boundaries; widened to 'Annabel'" in caplog.text
    assert "2 widened to word boundaries" in caplog.text
    with pytest.raises(CorpusFormatError) as info:
        sentences_from_span_documents([document], alignment="error")
    assert "a.jsonl:4: span (5, 11, 'person') 'Annabe' does not fall on word boundaries" in str(info.value)
    with pytest.raises(ValueError, match="alignment: expected one of expand, error"):
        sentences_from_span_documents([document], alignment="snap")


def test_spans_widened_into_one_word_are_an_error():
    document = SpanDocument("Mail jane.doe@x.org today.", ((5, 9, "person"), (10, 13, "person")), "m.jsonl", 2)
    with pytest.raises(CorpusFormatError, match=r"m\.jsonl:2: span .* overlaps another span"):
        sentences_from_span_documents([document])


def test_a_span_of_separators_only_is_reported_not_dropped_silently(caplog):
    document = SpanDocument("Jane \u200b\u200b Doe", ((5, 7, "person"), (0, 4, "person")), "s.jsonl", 9)
    with caplog.at_level(logging.WARNING):
        sentences = sentences_from_span_documents([document])
    assert labelled(sentences[0]) == [("Jane", "person")]
    assert "s.jsonl:9: span (5, 7, 'person') '\\u200b\\u200b' covers no word (only separators); left out" in caplog.text
    assert "1 covering no word" in caplog.text
    with pytest.raises(CorpusFormatError, match=r"s\.jsonl:9: span .* covers no word"):
        sentences_from_span_documents([document], alignment="error")


def test_a_span_across_sentences_is_split_into_its_parts(caplog):
    # a title's dot does not end a sentence (segmentation.ABBREVIATIONS); a real sentence end and a line break do
    document = SpanDocument("We met Dr. Ann Lee. Jo\nSmith here.", ((7, 28, "person"),), "x.jsonl", 1)
    with caplog.at_level(logging.WARNING):
        sentences = sentences_from_span_documents([document])
    assert [labelled(s) for s in sentences] == [[("Dr . Ann Lee .", "person")], [("Jo", "person")],
                                                 [("Smith", "person")]]
    assert "x.jsonl:1: span (7, 28, 'person') 'Dr. Ann Lee. Jo\\nSmith' crosses 3 sentences; split into one span " \
           "per sentence" in caplog.text


def test_label_map_renames_and_drops_and_canonical_types():
    document = SpanDocument(TEXT, ((0, 8, "PER"), (18, 24, "GPE")))
    assert labelled(sentences_from_span_documents([document], label_map={"GPE": None})[0]) == [("Jane Doe", "PER")]
    assert labelled(sentences_from_span_documents([document], label_map={"PER": "O", "GPE": "city"})[0]) == [
        ("Berlin", "city")]
    assert labelled(sentences_from_span_documents([document], canonical_types=True)[0]) == [
        ("Jane Doe", "person"), ("Berlin", "location")]
    assert labelled(sentences_from_span_documents([document], label_type="pii")[0], "pii") == [
        ("Jane Doe", "PER"), ("Berlin", "GPE")]


# ------------------------------------------------------------------------------------------------ recipes
CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
, , O O
says VBZ B-VP O
Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER
in IN B-PP O
BRUSSELS NNP B-NP I-LOC
. . O O
"""


def test_label_map_on_a_conll03_column_folder(tmp_path, caplog):
    for name in ("eng.train", "eng.testa", "eng.testb"):
        write(tmp_path / "conll" / name, CONLL)
    recipe = recipe_from_dict({"corpus": {
        "type": "column", "path": str(tmp_path / "conll"), "columns": {0: "text", 1: "pos", 2: "chunk", 3: "ner"},
        "tag_scheme": "IOB1", "document_separator": "-DOCSTART-",
        "label_map": {"PER": "person", "LOC": "location", "ORG": "organization", "MISC": None, "DATE": "date"}}})
    # a handler on the module's own logger: earlier tests in the same process may change levels, propagation or
    # logging.disable, and this test is about what the loader reports, not about logging set-up
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    log = logging.getLogger("flair_modernbert.data.corpora")
    saved = (log.level, log.disabled, logging.root.manager.disable)
    log.setLevel(logging.INFO)
    log.disabled = False
    logging.disable(logging.NOTSET)
    log.addHandler(handler)
    try:
        corpus = load_corpus(recipe.corpus)
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.disabled = saved[1]
        logging.disable(saved[2])
    text = "\n".join(record.getMessage() for record in records)
    for split in (corpus.train, corpus.dev, corpus.test):
        sentence = next(s for s in split if len(s) > 1)
        assert labelled(sentence) == [("EU", "organization"), ("Peter Blackburn", "person"), ("BRUSSELS", "location")]
    assert "the corpus has no DATE spans" in text
    assert "MISC -> dropped (3 spans)" in text
    assert set(corpus.make_label_dictionary("ner", add_unk=False).get_items()) == {"organization", "person", "location"}


def test_spans_recipe_reads_a_folder_relative_to_the_recipe(tmp_path, monkeypatch):
    data = tmp_path / "project" / "data"
    write(data / "train.jsonl", lines(*[{"text": TEXT, "spans": [{"start": 0, "end": 8, "type": "PER"}]}] * 4))
    write(data / "dev.json", json.dumps([{"full_text": "Ann in Rome.", "spans": [
        {"entity_type": "PERSON", "entity_value": "Ann", "start_position": 0, "end_position": 3}]}]))
    write(data / "test.jsonl", lines({"text": "Bo Li. Yes.", "label": [[0, 5, "PER"]]}))
    recipe_file = write(tmp_path / "project" / "recipe.yaml", yaml.safe_dump({"corpus": {
        "type": "spans", "path": "data", "label_map": {"PERSON": "PER"}, "alignment": "error"}}))
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe(recipe_file)
    assert recipe.corpus.path == str(data) and recipe.corpus.format == "auto"
    corpus = load_corpus(recipe.corpus)
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (4, 1, 2)
    assert labelled(corpus.dev[0]) == [("Ann", "PER")] and labelled(corpus.test[0]) == [("Bo Li", "PER")]
    assert corpus.test[1]._previous_sentence is corpus.test[0]
    # explicit names and format; a wrong name says what the folder holds
    named = load_corpus(load_recipe(recipe_file, ["corpus.train_file=train.jsonl", "corpus.test_file=test.jsonl",
                                                  "corpus.dev_file=test.jsonl"]).corpus)
    assert len(named.dev) == 2
    with pytest.raises(CorpusFormatError, match=r"train\.jsonl:1: the record holds jsonl spans \('spans'\), not doccano"):
        load_corpus(load_recipe(recipe_file, ["corpus.format=doccano"]).corpus)
    with pytest.raises(FileNotFoundError, match="corpus.dev_file: .*nope.jsonl does not exist; .* holds: dev.json"):
        load_corpus(load_recipe(recipe_file, ["corpus.dev_file=nope.jsonl"]).corpus)


def test_spans_recipe_with_one_file_samples_dev_and_test(tmp_path):
    file = write(tmp_path / "all.jsonl", lines(*[{"text": f"Item {i} of Jane Doe.",
                                                   "spans": [{"start": 9 + len(str(i)), "end": 17 + len(str(i)),
                                                              "type": "person"}]} for i in range(40)]))
    corpus = load_corpus(recipe_from_dict({"corpus": {"type": "spans", "path": str(file), "seed": 1}}).corpus)
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (32, 4, 4)
    assert all(labelled(s) == [("Jane Doe", "person")] for s in corpus.get_all_sentences())
    with pytest.raises(ValueError, match="is a file .* name files inside a folder"):
        load_corpus(recipe_from_dict({"corpus": {"type": "spans", "path": str(file), "dev_file": "x"}}).corpus)
    with pytest.raises(FileNotFoundError, match="corpus.path: .*missing.jsonl does not exist"):
        load_corpus(recipe_from_dict({"corpus": {"type": "spans", "path": str(tmp_path / "missing.jsonl")}}).corpus)


def test_schema_checks_and_round_trip(tmp_path):
    data = {"corpus": {"type": "spans", "path": str(tmp_path), "format": "label_studio", "alignment": "error",
                       "label_map": {"PER": "person", "MISC": None}},
            "tagger": {"recall_bias": 1.5},
            "synthetic": {"train": 100, "dev": 10, "locales": ["en_US", "de_DE"], "seed": 3, "types": ["PER", "phone"]}}
    recipe = recipe_from_dict(data)
    assert recipe.synthetic.types == ["person", "phone"] and recipe.tagger.recall_bias == 1.5
    assert recipe_from_dict({"corpus": {"type": "spans", "path": "x"}}).synthetic is None
    again = load_recipe(save_recipe(recipe, tmp_path / "recipe.yaml"))
    assert again == recipe and again.to_dict()["synthetic"]["test"] == 0
    for key, value, message in (
        ("synthetic", {"lowercase": 0.8, "uppercase": 0.3}, "synthetic.uppercase: lowercase (0.8) + uppercase (0.3)"),
        ("synthetic", {"types": ["passport"]}, "synthetic.types: 'passport' is not a PII type"),
        ("synthetic", {"locales": ["English"]}, "synthetic.locales[0]: expected a Faker locale"),
        ("synthetic", {"dev": -1}, "synthetic.dev: must be >= 0"),
        ("synthetic", {"long_documents": 1.5}, "synthetic.long_documents"),
        ("tagger", {"recall_bias": float("nan")}, "tagger.recall_bias: must be a finite number"),
        ("corpus", {"type": "spans", "path": "x", "format": "brat"}, "corpus.format: expected one of 'auto', 'jsonl'"),
        ("corpus", {"type": "spans", "path": "x", "columns": {0: "text"}}, "corpus.columns: not used by corpus type 'spans'"),
        ("corpus", {"type": "hf", "name": "x", "label_map": {"PER": "a person"}}, "must be a non-empty name without white"),
    ):
        with pytest.raises(ConfigError) as info:
            recipe_from_dict({**data, key: value})
        assert message in str(info.value), str(info.value)


# ------------------------------------------------------------------------------------------------ synthetic
def test_synthetic_documents_join_each_split_with_their_own_seed(tmp_path, monkeypatch, caplog):
    """The mixing, with a stand-in generator that records its calls (the real one is tested below)."""
    calls = []

    def generate(n, *, seed, locales, lowercase, uppercase, long_documents, types):
        calls.append((n, seed, locales, lowercase, uppercase, long_documents, types))
        for i in range(n):
            name = f"Name{seed}x{i}"
            yield {"text": f"Hello {name}. Bye.", "spans": [{"start": 6, "end": 6 + len(name), "type": "person"}]}

    monkeypatch.setattr(corpora, "generate_synthetic_records", generate)
    file = write(tmp_path / "train.jsonl", lines(*[{"text": TEXT, "spans": [{"start": 0, "end": 8, "type": "PER"}]}] * 20))
    recipe = recipe_from_dict({"corpus": {"type": "spans", "path": str(file), "label_map": {"PER": "person"}},
                               "synthetic": {"train": 5, "test": 2, "seed": 10, "locales": ["de_DE"], "lowercase": 0.5,
                                             "uppercase": 0.0, "types": ["person"]}})
    with caplog.at_level(logging.INFO):
        corpus = load_corpus(recipe)
    assert calls == [(5, 10, ("de_DE",), 0.5, 0.0, 0.0, ["person"]), (2, 12, ("de_DE",), 0.5, 0.0, 0.0, ["person"])]
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (16 + 10, 2, 2 + 4)
    assert labelled(corpus.train[16]) == [("Name10x0", "person")]
    assert labelled(corpus.test[-2]) == [("Name12x1", "person")]
    assert corpus.train[17]._previous_sentence is corpus.train[16]
    assert "train: 5 documents, 10 sentences (seed 10)" in caplog.text and "test: 2 documents, 4 sentences (seed 12)" \
        in caplog.text
    # the corpus section alone: no synthetic documents
    assert len(load_corpus(recipe.corpus).train) == 16


def test_real_synthetic_generator_mixes_deterministically(tmp_path):
    from flair_modernbert.synthetic import generate_records

    file = write(tmp_path / "train.jsonl", lines(*[{"text": TEXT, "spans": [{"start": 0, "end": 8, "type": "person"}]}] * 10))
    recipe = recipe_from_dict({"corpus": {"type": "spans", "path": str(file)},
                               "synthetic": {"train": 30, "dev": 5, "test": 5, "seed": 4}})
    first, second = load_corpus(recipe), load_corpus(recipe)
    assert [s.to_tagged_string() for s in first.train] == [s.to_tagged_string() for s in second.train]
    def sentences(n, seed):
        records = list(generate_records(n, seed=seed))
        documents = [SpanDocument(r["text"], tuple(sorted((s["start"], s["end"], s["type"]) for s in r["spans"])))
                     for r in records]
        return [s.to_tagged_string() for s in sentences_from_span_documents(documents)], {r["text"] for r in records}

    (train, train_texts), (dev, dev_texts), (test, _) = sentences(30, 4), sentences(5, 5), sentences(5, 6)
    assert [s.to_tagged_string() for s in first.train][-len(train):] == train
    assert [s.to_tagged_string() for s in first.dev][-len(dev):] == dev
    assert [s.to_tagged_string() for s in first.test][-len(test):] == test
    assert not train_texts & dev_texts  # another seed: dev does not repeat train
    types = {label.value for s in first.train for label in s.get_labels("ner")}
    assert types <= {"person", "location", "organization", "street_address", "date", "email", "phone", "url", "ip",
                     "credit_card", "iban", "ssn"}


# ------------------------------------------------------------------------------------------------ round trip
ROUND_TRIP = [
    ("Jane Doe lives in Berlin.", [(0, 8, "person"), (18, 24, "location")]),
    ("Call Omar Haddad at home today.", [(5, 16, "person")]),
    ("The office in Lyon is closed.", [(14, 18, "location")]),
    ("Write to Ana Lima, Porto.", [(9, 17, "person"), (19, 24, "location")]),
    ("Nothing to see here.", []),
    ("Ask Li Wei 😀 about Oslo tomorrow.", [(4, 10, "person"), (19, 23, "location")]),
    ("We flew from Quito to Lima. Then Kim Park met us.", [(13, 18, "location"), (22, 26, "location"),
                                                          (33, 41, "person")]),
    ("meet john smith in paris", [(5, 15, "person"), (19, 24, "location")]),
    ("Greetings from Nairobi, says Wanjiru Kamau.", [(15, 22, "location"), (29, 42, "person")]),
    ("Bye.", []),
]


def test_spans_tags_and_predicted_spans_round_trip(tmp_path, one_torch_thread):
    """A tiny tagger trained on span JSON lines until it memorises them predicts exactly the gold spans."""
    from flair_modernbert.inference import Document, load_tagger, tag_documents
    from flair_modernbert.training import train_recipe

    for text, spans in ROUND_TRIP:
        assert all(text[s:e].strip() == text[s:e] for s, e, _ in spans)
    file = write_span_documents([SpanDocument(text, tuple(spans)) for text, spans in ROUND_TRIP], tmp_path / "gold.jsonl")
    (tmp_path / "split").mkdir()
    for split in ("train", "dev", "test"):
        (tmp_path / "split" / f"{split}.jsonl").write_bytes(file.read_bytes())
    recipe = recipe_from_dict({
        "corpus": {"type": "spans", "path": str(tmp_path / "split"), "alignment": "error"},
        "embeddings": {"model": "random:tiny", "use_context": False},
        "tagger": {"head": "crf", "locked_dropout": 0.0, "word_dropout": 0.0},
        "training": {"learning_rate": 5e-3, "decoder_learning_rate": 5e-2, "mini_batch_size": 4, "max_epochs": 20,
                     "warmup_fraction": 0.0},
    })
    summary = train_recipe(recipe, output_dir=tmp_path / "run", progress=False)
    tagger = load_tagger(summary.runs[0].output_dir / "final-model.pt")
    documents = tag_documents(tagger, [Document(text) for text, _ in ROUND_TRIP])
    assert [[(s.start, s.end, s.type) for s in d.spans] for d in documents] == [spans for _, spans in ROUND_TRIP]
