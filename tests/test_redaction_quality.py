"""benchmarks/redaction_quality.py: the parts that need neither presidio-evaluator's environment nor spaCy's model."""

import json
from pathlib import Path

import pytest

from flair_modernbert.tags import spans_from_tags



@pytest.fixture(scope="module")
def rq(load_benchmark):
    return load_benchmark("redaction_quality")


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


def test_side_by_side_table_gives_leak_rates_per_type_and_system(rq):
    from flair_modernbert.data.spans import SpanDocument
    from flair_modernbert.leaks import score_redaction

    gold = [SpanDocument("Call Ann Lee at 555-0199 .", ((5, 12, "PERSON"), (16, 24, "PHONE_NUMBER")), "g", 1),
            SpanDocument("Bob lives here", ((0, 3, "PERSON"),), "g", 2)]
    # the name hidden under another type; the phone's '-' visible (not a letter or digit); one letter of Bob visible
    first = score_redaction(gold, [[(5, 12, "LOCATION"), (16, 19, "X"), (20, 24, "X")], [(0, 2, "PERSON")]])
    second = score_redaction(gold, [[(5, 24, "PERSON")], []])
    table = rq.side_by_side({"A": {"cased": [first, first]}, "B": {"cased": [first, second]}}, "cased")
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]] for line in table.splitlines()}
    assert rows["person"] == ["4", "50.0 ± 0.0", "50.0 ± 0.0"]  # entities summed over the sets of the first system
    assert rows["phone"] == ["2", "0.0 ± 0.0", "0.0 ± 0.0"]
    assert rows["**core PII**"] == ["6", "33.3 ± 0.0", "33.3 ± 0.0"]
    # outside gold: Call, at, lives, here = 15 letters; set 2 of B hides "at": 2/15 = 13.3 %, mean of 0 and 13.3
    assert rows["over-redaction %"][1:] == ["0.0 ± 0.0", "6.7 ± 9.4"]


def test_same_spans_counts_equal_lines(rq, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    rq.write_jsonl(a, [{"text": "x", "spans": [{"start": 0, "end": 1, "type": "t"}]}, {"text": "y", "spans": []}])
    rq.write_jsonl(b, [{"text": "x", "spans": [{"start": 0, "end": 1, "type": "t", "score": 1}]},
                       {"text": "y", "spans": [{"start": 0, "end": 1, "type": "t"}]}])
    assert rq.same_spans(a, b) == (1, 2)


def test_read_jsonl_names_file_and_line(rq, tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps({"text": "a", "spans": []}) + "\n\n{broken\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"gold.jsonl, line 3: not JSON"):
        rq.read_jsonl(path)


def test_canonical_type_reads_rules_type_groups(rq):
    assert [rq.canonical_type(name) for name in ("PERSON", "GPE", "STREET_ADDRESS", "PHONE_NUMBER", "US_SSN")] == [
        "person", "location", "street_address", "phone", "ssn"]
    assert rq.canonical_type("NRP") is None
