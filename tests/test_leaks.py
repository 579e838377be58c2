"""The leak report: the scorer on hand-counted examples, spans predicted elsewhere (files, Presidio), the recall
sweep and the ``leaks`` command on the names tagger."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from flair_modernbert.cli import main
from flair_modernbert.leaks import (
    choose_recall_bias,
    lowercase_text,
    lowercased_documents,
    read_predictions,
    score_redaction,
)


@dataclass(frozen=True)
class Gold:
    text: str
    spans: tuple
    source: str = "gold.jsonl"
    line: int = 1


def one(text: str, gold, predicted):
    return score_redaction([Gold(text, tuple(gold))], [predicted])


# ------------------------------------------------------------------------------------------------ scoring
def test_partly_hidden_entity_leaks():
    report = one("Call John Smith now", [(5, 15, "PER")], [(5, 9, "person")])
    person = report.per_type["person"]
    assert (person.entities, person.leaked, person.letters, person.covered) == (1, 1, 9, 4)
    assert person.leak_rate == 1.0 and person.char_recall == pytest.approx(4 / 9)
    assert (person.predicted, person.exact, person.precision, person.recall) == (1, 0, 0.0, 0.0)
    assert report.examples == {"person": [{"where": "gold.jsonl, line 1", "text": "John Smith",
                                           "shown": "\u2588\u2588\u2588\u2588 Smith"}]}
    assert report.to_dict()["leaked_examples"] == report.examples


def test_wrong_type_hides_all_and_does_not_leak_but_is_no_typed_match():
    report = one("Call John Smith now", [(5, 15, "PERSON")], [(5, 15, "ORG")])
    assert report.overall.leaked == 0 and report.overall.char_recall == 1.0
    assert report.per_type["person"].recall == 0.0 and report.per_type["organization"].precision == 0.0
    assert report.overall.f1 == 0.0 and report.overall.over_redaction == 0.0


def test_only_letters_and_digits_count():
    # 'J. Smith' with the full stop and the space left visible has not leaked; '--' has no letters at all
    text = "Dr J. Smith, tel -- ok"
    report = one(text, [(3, 11, "person"), (17, 19, "phone")], [(3, 4, "person"), (6, 11, "person")])
    assert report.per_type["person"].leaked == 0 and report.per_type["person"].letters == 6
    phone = report.per_type["phone"]
    assert (phone.gold, phone.entities, phone.without_letters, phone.leak_rate) == (1, 0, 1, None)
    assert report.overall.entities == 1 and report.overall.leak_rate == 0.0
    # typed: neither prediction is the gold span; the unmatched '--' still counts against recall
    assert (report.overall.gold, report.overall.predicted, report.overall.exact) == (2, 2, 0)


def test_over_redaction_char_precision_and_f2_by_hand():
    text = "Call John now, 42!"
    # gold: John (4 letters); outside: Call, now, 42 = 9 letters and digits; hidden outside: Call (4)
    report = one(text, [(5, 9, "person")], [(0, 9, "person")])
    overall = report.overall
    assert (overall.outside, overall.hidden_outside) == (9, 4)
    assert overall.over_redaction == pytest.approx(4 / 9)
    assert overall.char_precision == pytest.approx(4 / 8)
    assert overall.char_recall == 1.0
    assert overall.char_f2 == pytest.approx(5 * 0.5 * 1.0 / (4 * 0.5 + 1.0))  # 0.8333
    assert overall.leak_rate == 0.0


def test_totals_over_documents_and_types_with_aliases():
    documents = [
        Gold("Mail jo@x.org or call 555 1234", ((5, 13, "EMAIL_ADDRESS"), (22, 30, "PHONE_NUMBER"))),
        Gold("Anna lives in Paris", ((0, 4, "PER"), (14, 19, "GPE")), line=2),
    ]
    predicted = [[(5, 13, "email"), (22, 25, "phone")], [(0, 4, "person")]]
    report = score_redaction(documents, predicted)
    assert list(report.per_type) == ["email", "location", "person", "phone"]
    assert report.overall.leak_rate == pytest.approx(2 / 4)  # the phone's 1234 and Paris stay visible
    assert report.per_type["phone"].char_recall == pytest.approx(3 / 7)
    assert report.overall.char_recall == pytest.approx((6 + 3 + 4) / (6 + 7 + 4 + 5))
    assert (report.overall.exact, report.overall.precision, report.overall.recall) == (2, 2 / 3, 2 / 4)
    assert report.core.entities == 4 and report.documents == 2
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["overall"]["leaked"] == 2 and as_dict["per_type"]["location"]["leak_rate"] == 1.0


def test_types_are_canonical_names_of_rules_json():
    text = "Ann, 078-05-1120, 1 May, Swiss"
    gold = [(0, 3, "PER"), (5, 16, "US_SSN"), (18, 23, "DATE_TIME"), (25, 30, "NRP")]
    predicted = [(0, 3, "person"), (5, 16, "ssn"), (18, 23, "DOB"), (25, 30, "nrp")]
    report = one(text, gold, predicted)
    assert list(report.per_type) == ["date", "nrp", "person", "ssn"]  # NRP is in no type group: case-folded
    assert report.overall.exact == 4 and report.core.entities == 3 and report.to_dict()["core"]["types"] == [
        "person", "ssn", "date"]


def test_bad_spans_are_named():
    with pytest.raises(ValueError, match=r"gold.jsonl, line 1: predicted: span \(3, 40, 'person'\) lies outside"):
        one("Hi Anna", [(3, 7, "person")], [(3, 40, "person")])
    with pytest.raises(ValueError, match="gold.jsonl, line 1: gold spans .* overlap"):
        one("Hi Anna Lee", [(3, 7, "person"), (5, 11, "person")], [])
    with pytest.raises(ValueError, match="2 gold documents but predictions for 1"):
        score_redaction([Gold("a", ()), Gold("b", ())], [[]])


def test_lowercase_keeps_offsets():
    assert lowercase_text("İstanbul ÄB Straße") == "İstanbul äb straße"  # 'İ'.lower() is two code points
    copies = lowercased_documents([Gold("Anna LEE", ((0, 8, "person"),))])
    assert copies == [Gold("anna lee", ((0, 8, "person"),))]


def test_choose_recall_bias_takes_the_largest_within_the_limit():
    text = "a b c d e f g h i j k l m n o p q r s t Anna"
    documents = [Gold(text, ((40, 44, "person"),))]
    reports = []
    for bias, hidden in ((0.0, 0), (1.0, 1), (2.0, 2)):  # 1 and 2 of the 20 outside letters hidden
        report = score_redaction(documents, [[(40, 44, "person")] + [(2 * i, 2 * i + 1, "x") for i in range(hidden)]])
        report.recall_bias = bias
        reports.append(report)
    assert [r.overall.over_redaction for r in reports] == [0.0, 0.05, 0.1]
    assert choose_recall_bias(reports) == 1.0
    assert choose_recall_bias(reports, max_over_redaction=0.2) == 2.0
    assert choose_recall_bias(reports[1:], max_over_redaction=0.01) is None


# ------------------------------------------------------------------------------------------------ predictions
def test_predictions_file_is_matched_by_line_and_text(tmp_path):
    documents = [Gold("Anna lives here", ((0, 4, "person"),), "gold.jsonl", 1),
                 Gold("Call 555 1234", ((5, 13, "phone"),), "gold.jsonl", 3)]
    path = tmp_path / "pred.jsonl"
    lines = [{"text": "Anna lives here", "spans": [{"start": 0, "end": 4, "type": "PER", "text": "Anna", "score": 1}]},
             {"text": "Call 555 1234", "spans": [{"entity_type": "PHONE_NUMBER", "start": 5, "end": 13}]}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert read_predictions(path, documents) == [[(0, 4, "PER")], [(5, 13, "PHONE_NUMBER")]]

    path.write_text(json.dumps(lines[0]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}: 1 lines, but there are 2 gold documents \(line 2 is missing; "
                                         r"gold document 2 \(gold.jsonl, line 3\)\)"):
        read_predictions(path, documents)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines * 2), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}, line 3: more prediction lines than gold documents \(2\)"):
        read_predictions(path, documents)
    path.write_text(json.dumps(lines[0]) + "\n" + json.dumps({**lines[1], "text": "Call 555 1235"}) + "\n")
    with pytest.raises(ValueError, match=rf"{path}, line 2: the text differs from gold document 2 \(gold.jsonl, "
                                         r"line 3\) at character 12: '5' instead of '4'"):
        read_predictions(path, documents)
    path.write_text(json.dumps(lines[0]) + "\nnot json\n")
    with pytest.raises(ValueError, match=rf"{path}, line 2: not valid JSON"):
        read_predictions(path, documents)
    path.write_text(json.dumps({"text": "Anna lives here", "spans": [{"start": "0", "end": 4, "type": "x"}]}) + "\n")
    with pytest.raises(ValueError, match=rf"{path}, line 1: a predicted span needs integer start and end"):
        read_predictions(path, documents)


def test_presidio_recognizer_results_score_directly():
    from presidio_analyzer import RecognizerResult

    text = "Call John Smith at 555-123-4567"
    documents = [Gold(text, ((5, 15, "PER"), (19, 31, "phone")))]
    results = [RecognizerResult("PERSON", 5, 9, 0.85), RecognizerResult("PHONE_NUMBER", 19, 31, 0.75)]
    report = score_redaction(documents, [results])
    assert report.per_type["person"].leaked == 1 and report.per_type["phone"].leaked == 0
    assert report.per_type["phone"].exact == 1 and report.overall.precision == 0.5
    assert score_redaction(documents, [[r.to_dict() for r in results]]).to_dict() == report.to_dict()


# ------------------------------------------------------------------------------------------------ with a tagger
NAMES_GOLD = [
    ("My name is ", "John Smith", "PER", " ."),
    ("We met ", "Mary Jones", "PER", " in "), ("", "Paris", "LOC", " ."),
    ("Please call ", "Peter Brown", "PER", " today at "), ("", "+41 44 668 18 00", "phone", " ."),
    ("", "Lisa Miller", "PER", " lives in "), ("", "New York", "LOC", " , write to "), ("", "lisa@example.org", "email", " ."),
    ("I live in ", "Berlin", "LOC", " ."),
    ("", "Anna", "PER", " lives in "), ("", "London", "LOC", " ."),
]
BREAKS = {1, 3, 5, 8, 9, 11}  # a document ends after these many pieces


@pytest.fixture(scope="module")
def gold_file(tmp_path_factory) -> Path:
    """Span JSON lines in the names corpus' style, with a phone number and an e-mail address (pattern types)."""
    lines, text, spans = [], "", []
    for index, (before, entity, kind, after) in enumerate(NAMES_GOLD, start=1):
        text += before
        spans.append({"start": len(text), "end": len(text) + len(entity), "type": kind})
        text += entity + after
        if index in BREAKS:
            lines.append(json.dumps({"text": text.rstrip(), "spans": spans}))
            text, spans = "", []
    path = tmp_path_factory.mktemp("leaks") / "gold.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_leaks_command_sweeps_and_writes_json_and_png(names_model, gold_file, tmp_path, capsys):
    model, _ = names_model
    out = tmp_path / "report"
    assert main(["leaks", str(model), str(gold_file), "--sweep", "0,2,8", "--lowercase", "--output", str(out),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| person " in printed and "| overall " in printed and "recall bias" in printed
    report = json.loads((out / "leaks.json").read_text(encoding="utf-8"))
    assert report["format"] == "flair-modernbert-leaks" and report["recall_biases"] == [0.0, 2.0, 8.0]
    assert report["model"] == str(model) and report["data"] == str(gold_file) and "email" in report["types"]
    assert [(r["variant"], r["recall_bias"]) for r in report["reports"]] == [
        ("cased", 0.0), ("cased", 2.0), ("cased", 8.0), ("lowercased", 0.0), ("lowercased", 2.0), ("lowercased", 8.0)]
    cased = report["reports"][0]
    assert cased["documents"] == 6 and cased["overall"]["entities"] == 11
    # the names tagger knows these names and places; the patterns find the phone number and the address
    assert cased["per_type"]["phone"]["leaked"] == 0 and cased["per_type"]["email"]["leaked"] == 0
    assert cased["overall"]["leak_rate"] <= 2 / 11
    assert report["choice"]["max_over_redaction"] == 0.05
    assert (out / "leaks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_is_monotone_on_the_names_tagger(names_model, gold_file):
    from flair_modernbert.inference import load_tagger
    from flair_modernbert.leaks import load_gold, sweep

    tagger = load_tagger(names_model[0])
    documents = lowercased_documents(load_gold(gold_file))  # lower-cased: the tagger misses names to be recalled
    reports = sweep(tagger, documents, [0.0, 1.0, 2.0, 4.0, 8.0, 16.0])
    hidden = [r.overall.covered + r.overall.hidden_outside for r in reports]
    leaks = [r.overall.leaked for r in reports]
    assert hidden == sorted(hidden) and leaks == sorted(leaks, reverse=True)
    assert hidden[-1] > hidden[0] and leaks[-1] < leaks[0]


def test_leaks_of_predictions_made_elsewhere_equal_the_models(names_model, gold_file, tmp_path, capsys):
    model, _ = names_model
    predicted = tmp_path / "predicted.jsonl"
    assert main(["predict", str(model), str(gold_file), "--types", "all", "--no-progress"]) == 0
    predicted.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["leaks", "-", str(gold_file), "--predictions", str(predicted), "--output", str(tmp_path / "a"),
                 "--no-progress"]) == 0
    assert main(["leaks", str(model), str(gold_file), "--output", str(tmp_path / "b"), "--no-progress"]) == 0
    elsewhere, own = (json.loads((tmp_path / name / "leaks.json").read_text())["reports"][0] for name in "ab")
    assert elsewhere["overall"] == own["overall"] and elsewhere["per_type"] == own["per_type"]
    capsys.readouterr()
    assert main(["leaks", str(model), str(gold_file), "--predictions", str(predicted)]) == 2
    assert "MODEL '-' goes with --predictions" in capsys.readouterr().err
