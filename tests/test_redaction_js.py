"""Redaction in Python and in the exported JavaScript module: the same answers for the same cases (docs/redaction.md).

The cases live in two files both sides read: ``tests/data/pii_cases.json`` (structured PII: public test card numbers
and IBANs, e-mails, phones, IPs, URLs, SSNs, invalid values and near misses; plus seeded Faker phones of eight
locales, cards of every network, SSNs and IBANs when Faker is installed) and ``tests/data/restore_cases.json``
(placeholders the way an LLM returns them, and what restore must make of them). Python computes every answer with
:mod:`flair_modernbert.redaction` (patterns, validators, merging, pseudonyms, redaction, span maps, restore, type
selection), checks it against the expected values the case files give, and writes a fixture;
``flair_modernbert/export/js/test/redaction.test.mjs`` then checks that ``redaction.mjs`` answers exactly the same.
Needs Node (no npm packages); without it the JavaScript test is skipped, unless FLAIR_MODERNBERT_REQUIRE_JS=1.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import pytest

from flair_modernbert.export.folder import JS_DIR
from flair_modernbert.redaction import RULES_PATH, EntitySpan, Pseudonyms, SpanMap, find_pii, merge_spans, restore
from flair_modernbert.redaction.patterns import (
    PATTERN_TYPES,
    credit_card_valid,
    iban_valid,
    ipv6_valid,
    luhn_valid,
    phone_valid,
    ssn_valid,
)
from flair_modernbert.redaction.pseudonyms import entity_key, format_placeholder, redact_spans
from flair_modernbert.redaction.restore import MAP_FORMAT
from flair_modernbert.redaction.types import select_types
from flair_modernbert.segmentation import words as split_words

DATA = Path(__file__).parent / "data"
PII = json.loads((DATA / "pii_cases.json").read_text(encoding="utf-8"))
RESTORE = json.loads((DATA / "restore_cases.json").read_text(encoding="utf-8"))


def _found(text: str, types: Optional[list[str]] = None) -> list[tuple[str, str]]:
    return [(span.text, span.type) for span in find_pii(text, types)]


def _span(span: EntitySpan) -> list[Any]:
    return [span.start, span.end, span.type, span.text, span.score]


def _spans(rows: list[list[Any]]) -> list[EntitySpan]:
    return [EntitySpan(*row) for row in rows]


# ------------------------------------------------------------------------------------------ the case files in Python
@pytest.mark.parametrize("kind", sorted(PII["valid"]))
def test_valid_values_are_found_whole_as_their_type(kind):
    for value in PII["valid"][kind]:
        assert _found(PII["template"].format(value)) == [(value, kind)], value


@pytest.mark.parametrize("kind", sorted(PII["invalid"]))
def test_invalid_values_are_not_found_as_their_type(kind):
    for value in PII["invalid"][kind]:
        found = _found(PII["template"].format(value))
        assert kind not in [k for _, k in found], (value, found)


def test_near_misses_and_texts():
    for value in PII["near_misses"]:
        assert _found(PII["template"].format(value)) == [], value
    for case in PII["texts"]:
        assert _found(case["text"]) == [tuple(pair) for pair in case["spans"]], case["text"]
        for span in find_pii(case["text"]):
            assert case["text"][span.start : span.end] == span.text and span.score == 1.0


def _located(text: str, mentions: list[list[str]]) -> list[EntitySpan]:
    """Spans of the mentions, each the next occurrence of its text after the previous one."""
    spans, cursor = [], 0
    for mention, kind in mentions:
        start = text.index(mention, cursor)
        spans.append(EntitySpan(start, start + len(mention), kind, mention, 1.0))
        cursor = start + len(mention)
    return spans


def build_map(spec: dict) -> tuple[list[dict], list[str]]:
    """The span-map records of redacting the map's lines with one numbering, as ``redact --span-map`` writes them."""
    pseudonyms = Pseudonyms(spec.get("placeholder"))
    records: list[dict] = [{"format": MAP_FORMAT, "version": 2, "placeholder": pseudonyms.placeholder,
                            "scope": "input", "types": spec["types"]}]
    redacted = []
    for number, line in enumerate(spec["lines"], start=1):
        text, spans = redact_spans(line["text"], _located(line["text"], line["mentions"]), pseudonyms)
        records += pseudonyms.take_new()
        records.append({"line": number, "spans": spans, "redacted": text})
        redacted.append(text)
    return records, redacted


MAPS = {name: build_map(spec) for name, spec in RESTORE["maps"].items()}


def mapping_for(case: dict) -> Any:
    """The mapping a restore case passes, in the form it names (``result``: what ``redact`` returns)."""
    records, _ = MAPS[case.get("map", "main")]
    form = case.get("form", "records")
    if form == "records":
        return records
    if form == "dict":
        return {record["entity"]: record["text"] for record in records if "entity" in record}
    if form == "result":
        first = next(record for record in records if record.get("line") == 1)
        return first["redacted"], first["spans"]
    raise ValueError(f"unknown form {form}")


def test_maps_number_entities_across_lines():
    records, redacted = MAPS["main"]
    assert redacted[:2] == ["[PERSON_1] met [PERSON_2] in [LOCATION_1].",
                            "[PERSON_1] wrote to [EMAIL_1] and paid with [CREDIT_CARD_1]."]
    assert redacted[3] == "[PERSON_1] 👩‍👩‍👧 called [PHONE_1] from [IP_1] in [LOCATION_1]."
    entities = {r["entity"]: r["text"] for r in records if "entity" in r}
    assert entities["[PERSON_10]"] == "Hal Joe" and entities["[PERSON_1]"] == "Jane Doe" and len(entities) == 15
    # each entity is recorded once, before the first line that mentions it
    seen: set[str] = set()
    for record in records[1:]:
        if "entity" in record:
            seen.add(record["entity"])
        else:
            assert {span["placeholder"] for span in record["spans"]} <= seen
    # the span map file round trip
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    assert SpanMap.from_records(json.loads(line) for line in lines.splitlines()).entities == entities


@pytest.mark.parametrize("case", RESTORE["cases"], ids=[case["name"] for case in RESTORE["cases"]])
def test_restore_cases(case):
    restored = restore(case["answer"], mapping_for(case), line=case.get("line"))
    assert (restored.text, restored.unknown) == (case["restored"], case["unknown"])


def test_restore_gives_every_line_of_a_map_back():
    for name, (records, redacted) in MAPS.items():
        span_map = SpanMap.from_records(records)
        for number, (text, spec) in enumerate(zip(redacted, RESTORE["maps"][name]["lines"]), start=1):
            assert restore(text, span_map, line=number) == (spec["text"], [])


# ------------------------------------------------------------------------------------------ Python's answers
def _merge_cases() -> list[dict]:
    """Model spans (made up, never overlapping each other, as a tagger's) against the pattern spans of texts."""
    texts = [case["text"] for case in PII["texts"]] + [
        "Mail jane.doe@acme.com to Jane Doe at 👩‍👩‍👧 https://jane.example.org/x or +49 30 1234567 .",
    ]
    rng = random.Random(7)
    cases = []
    hand = [
        # chain: model - pattern - model become one span typed as the pattern
        ("Ask Jane Doe at jane.doe@acme.com today", [[4, 12, "person", "Jane Doe", 0.91], [25, 39, "organization", "acme.com today", 0.5]]),
        # the model tags part of an e-mail: the e-mail wins, all of it
        ("Mail jane.doe@acme.com now", [[5, 13, "person", "jane.doe", 0.8]]),
        # a model span around two patterns: the earliest-starting pattern gives the type
        ("x 8.8.8.8 / 030 1234567 y", [[0, 25, "miscellaneous", "x 8.8.8.8 / 030 1234567 y", 0.3]]),
        # touching is not overlapping
        ("Jane:8.8.8.8", [[0, 5, "person", "Jane:", 0.7]]),
        # code points outside the BMP before and inside the merged span
        ("𝕏 👩‍👩‍👧 jane@acme.com😀x", [[0, 7, "person", "𝕏 👩‍👩‍👧", 0.6], [18, 23, "location", "com😀x", 0.4]]),
    ]
    for text, model in hand:
        cases.append({"text": text, "model": model})
    for text in texts:
        words = split_words(text)
        model, cursor = [], 0
        while cursor < len(words):
            size = rng.randint(1, 3)
            if rng.random() < 0.4 and cursor + size <= len(words):
                first, last = words[cursor], words[cursor + size - 1]
                model.append([first.start, last.end, rng.choice(["person", "location"]), text[first.start : last.end],
                              round(rng.random(), 4)])
            cursor += size
        cases.append({"text": text, "model": model})
    for case in cases:
        for row in case["model"]:
            assert case["text"][row[0] : row[1]] == row[3], row
        patterns = find_pii(case["text"])
        case["patterns"] = [_span(span) for span in patterns]
        case["merged"] = [_span(span) for span in merge_spans(_spans(case["model"]), patterns)]
    return cases


PSEUDONYM_MENTIONS = [
    ["person", "Jane Doe"], ["person", "Doe"], ["person", "Jane"], ["person", "JANE  DOE"], ["person", "Doe Jane"],
    ["location", "Doe"], ["person", "John Doe"], ["person", "Doe"], ["person", "Jane Doe"], ["person", "Jane Mary Doe"],
    ["person", "Mary Doe"], ["person", "Jane Mary"], ["person", "Mary"], ["person", "Straße"], ["person", "STRASSE"],
    ["person", "José"], ["person", "Jose\u0301"], ["person", "Jane\u200bDoe"], ["person", " Jane\n\tDoe "],
    ["person", "ΟΔΥΣΣΕΥΣ"], ["person", "Οδυσσευσ"], ["location", "İstanbul"], ["location", "i̇stanbul"],
    ["email", "jane@acme.com"], ["email", "JANE@ACME.COM"], ["credit_card", "4111 1111 1111 1111"],
    ["credit_card", "4111-1111-1111-1111"], ["person", "👩‍👩‍👧 Zoë"], ["person", "Zoë"],
]
KEY_TEXTS = [mention for _, mention in PSEUDONYM_MENTIONS] + [
    "\ufeffAnn\u00a0Lee\u3000", "ǅemal", "ﬁnn", "Ǆ", "ΣΊΣΥΦΟΣ", "a\u0085b\u2028c", "x\u034fy", "ｆｕｌｌ", "",
]
TEMPLATES = ["[{type}_{n}]", "<{type}-{index}>", "{{{type}#{n}}}", "[{type}]", "[{type}_{n}] ({n})", "{name}", "{", "}",
             "{type", "{}", "{0}", "[{type}_{n}]}", "{n}{n}", "{{}}"]
TYPE_REQUESTS = [
    (["person", "location", "organization", "miscellaneous"], [None, [], ["PER"], ["person", "email"], ["card"],
     ["all"], ["ALL", "person"], ["E-Mail", "ipv4"], [" phone ", ""], ["loc", "org", "misc"], ["bogus"],
     ["person", "nope"], ["Link", "bank_account", "telephone"]]),
    (["PER", "LOC", "ORG", "MISC"], [["person"], ["people"], ["LOC", "url"], ["gpe"], ["IP_ADDRESS"]]),
    (["PERSON", "GPE", "LOC", "ORG", "DATE"], [["LOC"], ["gpe"], ["location"], ["per"], ["date"], ["organisation"]]),
    ([], [["person"], ["email"], None]),
]
VALIDATOR_EXTRA = {
    "ipv6": ["::", "", "1::", "::1", "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "::1.2.3.4", "1::1.2.3.4",
             "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "1:::2", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "g::1",
             "12345::", "::1.2.3", "::1.2.3.256", "1.2.3.4", "::01.2.3.4", "a:b:c:d:e:f:a:b", "A::B:C:D:E:F:1"],
    "luhn": ["0", "18", "79927398713", "79927398710", "4111111111111111", "4111111111111112", "0000000000000000"],
    "phone": ["+1 (0) 555 123 4567", "(555) 123-4567", "0 30 12", "+(0)49 30 1234567", "0301234567", "0044201234567",
              "0044 20 1234567", "00 44 20 1234567", "555-123-4567 X12", "555-123-4567 ext", "(0) 30 1234567",
              "(000) 4786863", "555-123-4567x12x3"],
    "ssn": ["536228726", "536-22-8726", "536 22-8726", "536.22.8726", "53622872", "5362287260", "000228726", "666228726",
            "899228726", "900228726", "536008726", "536220000", "999999999", "078051120", "219099999", "123456789",
            "123456788", "５３６228726"],
    "credit_card": ["4111 1111 1111 1111", "4111\u00a01111\u00a01111\u00a01111", "4111 1111-1111 1111", "503891417779",
                    "5038 9141 7779", "5038\u00a09141\u00a07779", "503 891 417 779", "5038 9141 7779 ", "50389141777",
                    "41111111111111111111", "0000000000000", "4222222222222"],
    "iban": ["gb82west12345698765432", "GB82 WEST 1234 5698 7654 32", "GB82WEST1234569876543", "GB83WEST12345698765432",
             "ZZ82WEST12345698765432", "AD1200012030200359100100"],
}


FAKER_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "de_CH"]


def faker_texts(per_kind: int = 40) -> list[str]:
    """Sentences holding Faker's phone numbers (per locale), card numbers (per network), SSNs and IBANs, seeded; none
    without Faker."""
    try:
        from faker import Faker
    except ImportError:
        return []
    values = []
    for locale in FAKER_LOCALES:
        fake = Faker(locale)
        fake.seed_instance(25)
        values += [fake.phone_number() for _ in range(per_kind)] + [fake.iban() for _ in range(per_kind // 8)]
    fake = Faker("en_US")
    fake.seed_instance(25)
    for network in ("maestro", "visa13", "visa16", "visa19", "amex", "discover", "mastercard", "jcb15", "diners"):
        values += [fake.credit_card_number(network) for _ in range(per_kind // 4)]
    values += [fake.ssn() for _ in range(per_kind)]
    templates = ["Call me at {} tomorrow.", "({})", "{}", "Number: {}; thanks"]
    return [templates[i % len(templates)].format(value) for i, value in enumerate(values)]


@lru_cache(maxsize=1)  # two tests read it; built once
def python_answers() -> dict:
    """Every answer of the Python side that the JavaScript side must repeat."""
    template = PII["template"]
    values = [v for group in ("valid", "invalid") for kind in PII[group] for v in PII[group][kind]] + PII["near_misses"]
    texts = [template.format(v) for v in values] + [case["text"] for case in PII["texts"]]
    find = [{"text": text, "types": None, "spans": [_span(s) for s in find_pii(text)]} for text in texts]
    texts += faker_texts()
    for types in (["phone"], ["ip", "credit_card"], ["url"], [], ["iban", "phone"], ["ssn"]):
        find += [{"text": t, "types": types, "spans": [_span(s) for s in find_pii(t, types)]} for t in texts[::3]]

    validators: dict[str, list] = {}
    functions = {"luhn": luhn_valid, "credit_card": credit_card_valid, "iban": iban_valid, "ipv6": ipv6_valid,
                 "phone": phone_valid, "ssn": ssn_valid}
    for name, function in functions.items():
        candidates = list(dict.fromkeys(VALIDATOR_EXTRA[name] + (
            ["".join(c for c in v if c.isdigit()) for v in values] if name == "luhn" else values)))
        validators[name] = [[value, function(value)] for value in candidates if name != "luhn" or value]

    placeholders = []
    for template_text in TEMPLATES:
        try:
            placeholders.append({"template": template_text, "result": format_placeholder(template_text, "credit_card", 12)})
        except ValueError as error:
            placeholders.append({"template": template_text, "error": str(error)})

    pseudonyms = []
    for placeholder, join in (("[{type}_{n}]", True), ("[{type}_{n}]", False), ("<{type}-{index}>", True),
                              ("[{type}]", True), ("{{{type}#{n}}}", False)):
        state = Pseudonyms(placeholder, join_partial=join)
        given, new = [], []
        for kind, text in PSEUDONYM_MENTIONS:
            given.append(state.placeholder_for(kind, text))
            new.append(state.take_new())
        pseudonyms.append({"placeholder": placeholder, "join_partial": join, "mentions": PSEUDONYM_MENTIONS,
                           "placeholders": given, "new": new})

    types = []
    for model_types, requests in TYPE_REQUESTS:
        for requested in requests:
            for default in ("model", "all"):
                case: dict[str, Any] = {"model_types": model_types, "requested": requested, "default": default}
                try:
                    chosen = select_types(model_types, requested, default)
                    case["model"] = None if chosen.model is None else sorted(chosen.model)
                    case["patterns"] = sorted(chosen.patterns)
                except ValueError as error:
                    case["error"] = str(error)
                types.append(case)

    merges = _merge_cases()
    redactions = []
    for case in merges:
        for placeholder, join in ((None, True), ("<{type}-{n}>", False)):
            state = Pseudonyms(placeholder, join_partial=join)
            text, records = redact_spans(case["text"], _spans(case["merged"]), state)
            redactions.append({"text": case["text"], "spans": case["merged"], "placeholder": placeholder,
                               "join_partial": join, "redacted": text, "records": records})

    restores = []
    for case in RESTORE["cases"]:
        restored = restore(case["answer"], mapping_for(case), line=case.get("line"))
        mapping = mapping_for(case)
        if isinstance(mapping, tuple):  # JavaScript's redact returns {text, spans}
            mapping = {"text": mapping[0], "spans": mapping[1]}
        restores.append({**case, "mapping": mapping, "restored": restored.text, "unknown": restored.unknown})
    for name, (records, redacted) in MAPS.items():
        for number, text in enumerate(redacted, start=1):
            for line in (number, None):
                restored = restore(text, records, line=line)
                restores.append({"name": f"{name} line {number} (line={line})", "answer": text, "mapping": records,
                                 "line": line, "restored": restored.text, "unknown": restored.unknown})

    return {
        "rules": str(RULES_PATH),
        "pattern_types": list(PATTERN_TYPES),
        "find": find,
        "validators": validators,
        "keys": [[text, entity_key(text)] for text in KEY_TEXTS],
        "placeholders": placeholders,
        "pseudonyms": pseudonyms,
        "types": types,
        "merge": merges,
        "redact": redactions,
        "maps": {name: {"spec": RESTORE["maps"][name], "records": records, "redacted": redacted}
                 for name, (records, redacted) in MAPS.items()},
        "restore": restores,
    }


def test_python_answers_hold_what_the_cases_expect():
    answers = python_answers()
    assert len(answers["restore"]) >= 30 and len(answers["find"]) > 150
    # the restore cases' expected values, once more from the fixture's own numbers
    for case, expected in zip(answers["restore"], RESTORE["cases"]):
        assert (case["restored"], case["unknown"]) == (expected["restored"], expected["unknown"]), case["name"]
    assert {row[1] for row in answers["validators"]["ipv6"]} == {True, False}
    assert any(case.get("error") for case in answers["types"]) and any(p.get("error") for p in answers["placeholders"])
    merged_types = {row[2] for case in answers["merge"] for row in case["merged"]}
    assert {"person", "email", "phone"} <= merged_types


def test_javascript_matches_python(node, tmp_path):
    fixture = tmp_path / "redaction-fixture.json"
    fixture.write_text(json.dumps(python_answers(), ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([node, "--test", "--test-reporter=spec", str(JS_DIR / "test" / "redaction.test.mjs")],
                         env={**os.environ, "FLAIR_MODERNBERT_REDACTION_FIXTURE": str(fixture)}, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-3000:]
    assert "ℹ fail 0" in run.stdout and "ℹ pass 0" not in run.stdout
