"""Presidio integration: our tagger as an EntityRecognizer next to Presidio's own, real presidio-analyzer and
presidio-anonymizer, offline (a blank spaCy pipeline instead of en_core_web_lg)."""

from __future__ import annotations

import importlib
import sys

import pytest
from presidio_anonymizer import AnonymizerEngine, DeanonymizeEngine
from presidio_anonymizer.entities import OperatorConfig

from flair_modernbert.inference import Document, load_tagger, tag_documents
from flair_modernbert.integrations.presidio import (
    FlairModernBertRecognizer,
    build_analyzer,
    presidio_entity_name,
)
from flair_modernbert.redaction import PATTERN_TYPES, TypeSelection

# the names corpus's templates, an emoji (two code points) before a full stop, a line break inside the text
TEXT = ("We met John Smith in Berlin .\nMy name is Anna ❤️ . Please call (212) 555-0199 today .\n"
        "I live in Paris . john.smith@example.com")
EMAIL, PHONE = "john.smith@example.com", "(212) 555-0199"
ASKED = ["PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER"]
OURS = {"PER": "PERSON", "LOC": "LOCATION"}


@pytest.fixture(autouse=True)
def _no_public_suffix_download(monkeypatch):
    """Presidio's e-mail recognizer asks tldextract, whose first call downloads the public-suffix list: the tests
    use the snapshot tldextract ships instead, so no request leaves the machine."""
    import tldextract

    monkeypatch.setattr(tldextract.tldextract, "TLD_EXTRACTOR", tldextract.TLDExtract(suffix_list_urls=()))


@pytest.fixture(scope="module")
def tagger(names_model):
    return load_tagger(names_model[0])


@pytest.fixture(scope="module")
def analyzer(tagger, tmp_path_factory):
    return build_analyzer(FlairModernBertRecognizer(tagger), spacy_dir=tmp_path_factory.mktemp("spacy") / "blank-en")


def _ours(results, name="FlairModernBertRecognizer"):
    return sorted((r.entity_type, r.start, r.end, r.score) for r in results
                  if r.recognition_metadata["recognizer_name"] == name)


def _reference(tagger, text, types=None, mapping=OURS, unit="sentence"):
    spans = tag_documents(tagger, [Document(text)], types, unit=unit)[0].spans
    return sorted((mapping[s.type], s.start, s.end, s.score) for s in spans)


def test_analyzer_finds_our_spans_next_to_presidios_own(tagger, analyzer):
    names = [r.name for r in analyzer.get_recognizers("en")]
    assert "FlairModernBertRecognizer" in names and "EmailRecognizer" in names and "PhoneRecognizer" in names
    assert "SpacyRecognizer" not in names  # the blank pipeline has no NER to report

    results = analyzer.analyze(TEXT, language="en")
    ours = _ours(results)
    assert ours == _reference(tagger, TEXT)  # offsets and scores exactly as tag_documents has them
    found = {(kind, TEXT[start:end]) for kind, start, end, _ in ours}
    assert {("PERSON", "John Smith"), ("PERSON", "Anna"), ("LOCATION", "Berlin"), ("LOCATION", "Paris")} <= found
    assert all(score > 0.5 for *_, score in ours)

    theirs = {(r.entity_type, r.start, r.end) for r in results
              if r.recognition_metadata["recognizer_name"] != "FlairModernBertRecognizer"}
    assert ("EMAIL_ADDRESS", TEXT.index(EMAIL), TEXT.index(EMAIL) + len(EMAIL)) in theirs
    assert ("PHONE_NUMBER", TEXT.index(PHONE), TEXT.index(PHONE) + len(PHONE)) in theirs


def test_anonymizer_replaces_ours_and_presidios(analyzer):
    results = analyzer.analyze(TEXT, language="en", entities=ASKED)
    anonymized = AnonymizerEngine().anonymize(TEXT, results)
    assert anonymized.text == (
        "We met <PERSON> in <LOCATION> .\nMy name is <PERSON> ❤️ . Please call <PHONE_NUMBER> today .\n"
        "I live in <LOCATION> . <EMAIL_ADDRESS>"
    )


def test_encrypt_then_decrypt_gives_the_text_back(analyzer):
    key = "WmZq4t7w!z%C&F)J"  # AES-128
    results = analyzer.analyze(TEXT, language="en", entities=ASKED)
    anonymized = AnonymizerEngine().anonymize(TEXT, results, {"DEFAULT": OperatorConfig("encrypt", {"key": key})})
    for secret in ("John Smith", "Anna", "Berlin", "Paris", EMAIL, PHONE):
        assert secret not in anonymized.text
    assert sorted(item.entity_type for item in anonymized.items) == sorted(
        ["PERSON", "PERSON", "LOCATION", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER"])
    restored = DeanonymizeEngine().deanonymize(
        anonymized.text, anonymized.items, {"DEFAULT": OperatorConfig("decrypt", {"key": key})})
    assert restored.text == TEXT


def test_model_path_mapping_and_entity_filter(names_model, tagger, tmp_path):
    analyzer = build_analyzer(str(names_model[0]), spacy_dir=tmp_path / "blank",
                              entity_mapping={"per": "NAME", "LOC": None})
    recognizer = next(r for r in analyzer.get_recognizers("en") if isinstance(r, FlairModernBertRecognizer))
    assert recognizer.supported_entities == ["NAME"]

    results = analyzer.analyze(TEXT, language="en", entities=["NAME", "EMAIL_ADDRESS"])
    assert _ours(results) == _reference(tagger, TEXT, {"PER"}, {"PER": "NAME"})
    assert {r.entity_type for r in results} == {"NAME", "EMAIL_ADDRESS"}
    # asked for nothing of ours: the tagger does not run, nothing of ours comes back
    assert recognizer.analyze(TEXT, ["PHONE_NUMBER"], None) == []


def test_mapping_key_must_be_a_type(tagger):
    with pytest.raises(ValueError, match=r"'person' is not a type of this model; the model's types are: PER, LOC"):
        FlairModernBertRecognizer(tagger, entity_mapping={"person": "NAME"})
    with pytest.raises(ValueError, match="pattern types are: url, email"):
        FlairModernBertRecognizer(tagger, entity_mapping={"mail": "X"}, include_patterns=True)
    with pytest.raises(ValueError, match="leaves out every type"):
        FlairModernBertRecognizer(tagger, entity_mapping={"PER": None, "LOC": None})


def test_default_entity_names(make_random_tagger, tiny_model_dir):
    # the random tagger's types: person, location, group, product, corporation, creative-work
    recognizer = FlairModernBertRecognizer(make_random_tagger(tiny_model_dir))
    assert recognizer.supported_entities == ["PERSON", "LOCATION", "GROUP", "PRODUCT", "ORGANIZATION", "CREATIVE_WORK"]
    kinds = ("PER", "gpe", "Organisation", "misc", "email", "phone", "iban")
    assert [presidio_entity_name(kind) for kind in kinds] == [
        "PERSON", "LOCATION", "ORGANIZATION", "MISC", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE"]


def test_pattern_types_on_request(tagger):
    recognizer = FlairModernBertRecognizer(tagger, include_patterns=True)
    assert recognizer.supported_entities == ["PERSON", "LOCATION", "URL", "EMAIL_ADDRESS", "IBAN_CODE", "CREDIT_CARD",
                                             "IP_ADDRESS", "US_SSN", "PHONE_NUMBER"]
    results = recognizer.analyze(TEXT, None, None)
    mapping = {**OURS, **{kind: presidio_entity_name(kind) for kind in PATTERN_TYPES}}
    assert _ours(results) == _reference(tagger, TEXT, TypeSelection(None, frozenset(PATTERN_TYPES)), mapping)
    found = {(r.entity_type, TEXT[r.start:r.end]) for r in results}
    assert {("EMAIL_ADDRESS", EMAIL), ("PHONE_NUMBER", PHONE)} <= found
    # only what is asked for is looked for
    only_phone = recognizer.analyze(TEXT, ["PHONE_NUMBER"], None)
    assert [(r.entity_type, TEXT[r.start:r.end], r.score) for r in only_phone] == [("PHONE_NUMBER", PHONE, 1.0)]


def test_whole_document_unit(tagger):
    recognizer = FlairModernBertRecognizer(tagger, unit="document")
    assert _ours(recognizer.analyze(TEXT, None, None)) == _reference(tagger, TEXT, unit="document")


def test_missing_presidio_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)  # what an environment without it looks like
    monkeypatch.delitem(sys.modules, "flair_modernbert.integrations.presidio")
    with pytest.raises(ImportError, match=r'pip install "flair-modernbert\[presidio\]"'):
        importlib.import_module("flair_modernbert.integrations.presidio")
