"""benchmarks/redaction_quality.py: the parts that need neither presidio-evaluator's environment nor spaCy's model."""

import importlib.util
import json
from pathlib import Path

import pytest

from flair_modernbert.tags import spans_from_tags

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "redaction_quality.py"


@pytest.fixture(scope="module")
def rq():
    spec = importlib.util.spec_from_file_location("redaction_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _column_sentences(path: Path) -> list[tuple[list[str], list[str]]]:
    sentences, words, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            word, tag = line.split("\t")
            words.append(word)
            tags.append(tag)
        elif words:
            sentences.append((words, tags))
            words, tags = [], []
    return sentences


def test_wnut17_records_put_each_tagged_entity_on_its_words(rq, wnut_sample_dir):
    path = wnut_sample_dir / "test.conll"
    records = rq.wnut17_records(path)
    sentences = _column_sentences(path)
    assert len(records) == len(sentences)
    assert sum(len(record["spans"]) for record in records) > 20
    for record, (words, tags) in zip(records, sentences):
        assert record["text"] == " ".join(words)
        expected = [(" ".join(words[start:end]), kind) for start, end, kind in spans_from_tags(tags)]
        got = [(record["text"][span["start"]:span["end"]], span["type"]) for span in record["spans"]]
        assert got == expected


def test_lowercase_records_keep_every_offset(rq):
    records = [{"text": "Dr. İlker ÖZ at ẞ-Street", "spans": [{"start": 4, "end": 12, "type": "PERSON"}]}]
    lowered = rq.lowercase_records(records)
    # 'İ'.lower() is two code points: it keeps its case so that the spans still fit; 'ẞ' lowers to one ('ß')
    assert lowered == [{"text": "dr. İlker öz at ß-street", "spans": records[0]["spans"]}]
    assert records[0]["text"].startswith("Dr.")  # a copy, the input unchanged


def test_preliminary_leak_rates_count_any_visible_letter_or_digit(rq):
    gold = [
        {"text": "Call Ann Lee at 555-0199 .", "spans": [{"start": 5, "end": 12, "type": "PERSON"},
                                                     {"start": 16, "end": 24, "type": "PHONE_NUMBER"}]},
        {"text": "Bob lives here", "spans": [{"start": 0, "end": 3, "type": "PERSON"}]},
    ]
    predicted = [
        # the name hidden under another type; the phone's '-' visible (not a letter or digit), its digits hidden
        {"text": gold[0]["text"], "spans": [{"start": 5, "end": 12, "type": "LOCATION"},
                                            {"start": 16, "end": 19, "type": "X"},
                                            {"start": 20, "end": 24, "type": "X"}]},
        # one letter of Bob stays visible
        {"text": gold[1]["text"], "spans": [{"start": 0, "end": 2, "type": "PERSON"}]},
    ]
    rates = rq.preliminary_leak_rates(gold, predicted)
    assert rates == {
        "PERSON": {"entities": 2, "leaked": 1, "leak_rate": 0.5},
        "PHONE_NUMBER": {"entities": 1, "leaked": 0, "leak_rate": 0.0},
        "core": {"entities": 3, "leaked": 1, "leak_rate": 0.3333},
        "all": {"entities": 3, "leaked": 1, "leak_rate": 0.3333},
    }
    with pytest.raises(ValueError, match="record 2: the predicted text differs"):
        rq.preliminary_leak_rates(gold, [predicted[0], {"text": "bob", "spans": []}])


def test_read_jsonl_names_file_and_line(rq, tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps({"text": "a", "spans": []}) + "\n\n{broken\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"gold.jsonl, line 3: not JSON"):
        rq.read_jsonl(path)


def test_canonical_type_reads_rules_type_groups(rq):
    assert [rq.canonical_type(name) for name in ("PERSON", "GPE", "STREET_ADDRESS", "PHONE_NUMBER", "US_SSN")] == [
        "person", "location", "street_address", "phone", "ssn"]
    assert rq.canonical_type("NRP") is None
