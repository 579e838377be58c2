"""The redaction rules in Python (docs/redaction.md): patterns and validators, the overlap rule, one placeholder per
entity, span maps and restore. No model is needed: these are the rules themselves; the command line and the
JavaScript module are checked against the same rules in test_round_trip.py and test_redaction_js.py."""

from __future__ import annotations

import json
import re

import pytest

from flair_modernbert.redaction import (
    EntitySpan,
    Pseudonyms,
    SpanMap,
    TypeSelection,
    check_placeholder,
    find_pii,
    merge_spans,
    redact_spans,
    restore,
)
from flair_modernbert.redaction.patterns import (
    PATTERN_TYPES,
    credit_card_valid,
    iban_valid,
    ipv6_valid,
    luhn_valid,
    phone_valid,
    ssn_valid,
)
from flair_modernbert.redaction.pseudonyms import entity_key, format_placeholder
from flair_modernbert.redaction.types import select_types


# ------------------------------------------------------------------------------------------------ patterns
@pytest.mark.parametrize("value, kind", [
    ("jane.doe@acme.com", "email"), ("Zoë.Ærø@exämple.de", "email"), ("a+tag@sub.mail.co.uk", "email"),
    ("4111 1111 1111 1111", "credit_card"), ("5555-5555-5555-4444", "credit_card"), ("378282246310005", "credit_card"),
    ("3782 822463 10005", "credit_card"), ("4222222222222", "credit_card"), ("6011 1111 1111 1117", "credit_card"),
    ("DE89 3704 0044 0532 0130 00", "iban"), ("GB82WEST12345698765432", "iban"), ("fr14 2004 1010 0505 0001 3m02 606", "iban"),
    ("+49 30 1234567", "phone"), ("+1 (555) 123-4567", "phone"), ("+49 (0) 30 1234567", "phone"), ("030 1234567", "phone"),
    ("020 7946 0958", "phone"), ("(555) 123-4567", "phone"), ("555.123.4567", "phone"),
    ("192.168.0.1", "ip"), ("2001:db8::8a2e:370:7334", "ip"), ("::ffff:192.0.2.128", "ip"), ("fe80::1", "ip"),
    ("https://example.com/a?b=c", "url"), ("www.acme.org/x", "url"),
])
def test_valid_values_are_found_whole_inside_a_sentence(value, kind):
    text = f"Please use {value}, thanks."
    assert [(span.type, span.text) for span in find_pii(text)] == [(kind, value)]
    (span,) = find_pii(text)
    assert text[span.start : span.end] == value and span.score == 1.0


@pytest.mark.parametrize("text, kind", [
    ("card 4111 1111 1111 1112 ok", "credit_card"),   # Luhn fails
    ("card 4111-1111 1111-1111 ok", "credit_card"),   # mixed separators
    ("card 0000 0000 0000 0000 ok", "credit_card"),   # all zeros pass Luhn but are no card
    ("iban DE89 3704 0044 0532 0130 01 ok", "iban"),  # mod 97 fails
    ("iban DE89 3704 0044 0532 0130 0 ok", "iban"),   # wrong length for DE
    ("iban XX89 3704 0044 0532 0130 00 ok", "iban"),  # no such country
    ("at 12:30:45 today", "ip"), ("mac 00:1A:2B:3C:4D:5E", "ip"), ("v 256.1.1.1 x", "ip"), ("std::vector", "ip"),
    ("on 2024-01-15 at 15.01.2024", "phone"), ("order 12345 zip 10115", "phone"), ("version 1.2.3.4.5", "ip"),
    ("call +4 12", "phone"),
    ("mail jane@localhost", "email"), ("name@@example.com", "email"),
])
def test_invalid_values_and_near_misses_are_not_of_that_type(text, kind):
    assert [span.text for span in find_pii(text) if span.type == kind] == []


def test_validators():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert credit_card_valid("4111 1111 1111 1111") and not credit_card_valid("4111 1111 1111")
    # 12 digits (Maestro): contiguous or in groups of four only; 19 digits
    assert credit_card_valid("503891417779") and credit_card_valid("5038 9141 7779") and credit_card_valid("5038-9141-7779")
    assert not credit_card_valid("503 891 417 779") and not credit_card_valid("50389 1417779")
    assert not credit_card_valid("50389141777") and credit_card_valid("6799990100000000019")
    assert iban_valid("NO9386011117947") and iban_valid("CH93 0076 2011 6238 5295 7") and not iban_valid("NO938601111794")
    assert ipv6_valid("1:2:3:4:5:6:7:8") and ipv6_valid("1::") and ipv6_valid("1:2:3:4:5:6:1.2.3.4")
    assert not ipv6_valid("::") and not ipv6_valid("1:2:3:4:5:6:7") and not ipv6_valid("1::2::3")
    assert not ipv6_valid("12345::1") and not ipv6_valid("::1.2.3.256")


@pytest.mark.parametrize("number, valid", [
    ("536-22-8726", True), ("536 22 8726", True), ("536228726", True), ("001-01-0001", True), ("899-99-9999", True),
    ("665-12-3456", True), ("667-12-3456", True), ("078-05-1121", True),
    ("000-22-8726", False), ("666-22-8726", False), ("900-22-8726", False), ("999-22-8726", False),  # areas never issued
    ("536-00-8726", False), ("536-22-0000", False),  # group 00, serial 0000
    ("111-11-1111", False), ("888 88 8888", False),  # one digit repeated
    ("078-05-1120", False), ("219-09-9999", False), ("123-45-6789", False),  # known fakes
    ("536-22 8726", False), ("53622872", False), ("5362287261", False), ("536-22-87266", False),  # separators, length
])
def test_ssn_validator(number, valid):
    assert ssn_valid(number) is valid


def test_ssns_are_found_with_separators_anywhere_and_bare_only_after_a_cue():
    def found(text):
        return [(span.text, span.type) for span in find_pii(text)]

    assert found("SSN 536-22-8726, id 536 22 8726.") == [("536-22-8726", "ssn"), ("536 22 8726", "ssn")]
    # nine bare digits are order numbers as often as SSNs: only after "SSN" or "social security (number|no.)"
    assert found("order 536228726") == [] and found("SSN: 536228726") == [("536228726", "ssn")]
    assert found("ssn#536228726, Social Security No. 536228727") == [("536228726", "ssn"), ("536228727", "ssn")]
    assert found("my social security number is 536228726") == [("536228726", "ssn")]
    assert found("SSN 1536228726") == [] and found("SSN 53622872") == [] and found("SSN: 666228726") == [] and found("ssnx 536228726") == []
    # never the middle of a longer run of groups
    assert found("ref 12 536-22-8726") == [] and found("ref 536-22-8726-1") == [] and found("1 536 22 8726 2") == []


@pytest.mark.parametrize("text, spans", [
    ("call 555-123-4567x6350 now", [("555-123-4567x6350", "phone")]),
    ("call 555-123-4567 ext. 12 now", [("555-123-4567 ext. 12", "phone")]),
    ("call (555) 123-4567 Extension 9 now", [("(555) 123-4567 Extension 9", "phone")]),
    ("call 001-555-123-4567 or 0044 20 7946 0958", [("001-555-123-4567", "phone"), ("0044 20 7946 0958", "phone")]),
    ("call +41 44 668 18 00 or +41 (0)44 668 18 00", [("+41 44 668 18 00", "phone"), ("+41 (0)44 668 18 00", "phone")]),
    ("ruf (030) 1234567 oder (0131) 496 0423 an", [("(030) 1234567", "phone"), ("(0131) 496 0423", "phone")]),
    ("call 5551234567 or 555 123 4567", [("5551234567", "phone"), ("555 123 4567", "phone")]),
    # 00 with digits only is an order number as often as a phone; "#" starts ids; 10 digits from 1 are timestamps
    ("order 0012345678901, #5551234567, at 1709251200", []),
    ("size 1920x1080, 2 x 500 mg, 24/7, 1 000 000 people", []),
])
def test_phone_numbers_the_way_the_world_writes_them(text, spans):
    assert [(span.text, span.type) for span in find_pii(text)] == spans
    for text_, _ in spans:
        assert phone_valid(text_)


#: Faker phone numbers that no rule finds, by design (docs/redaction.md): national numbers whose "area code" begins
#: with 00 (the international prefix; no country has such numbers) and Italian-looking bare numbers of 9 or 11 digits
#: from 3 (a bare number not from 0 is a phone only with 10 digits).
FAKER_EXCEPTIONS = re.compile(r"\(?00[0-9 ()\-]*|3[0-9]{8}|3[0-9]{10}")


@pytest.mark.parametrize("locale", ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "de_CH"])
def test_faker_phone_numbers_are_found_whole(locale):
    import faker  # an install requirement (the synthetic generator)
    fake = faker.Faker(locale)
    fake.seed_instance(2025)
    missed = []
    for _ in range(200):
        number = fake.phone_number()
        text = f"Call {number}, please."
        if [(span.text, span.type) for span in find_pii(text)] != [(number, "phone")]:
            missed.append(number)
    assert [number for number in missed if not FAKER_EXCEPTIONS.fullmatch(number)] == []
    assert len(missed) <= 0.15 * 200, missed


def test_faker_cards_ssns_and_ibans_are_found_whole():
    import faker  # an install requirement (the synthetic generator)
    fake = faker.Faker("en_US")
    fake.seed_instance(2025)
    values = [(fake.credit_card_number(network), "credit_card") for network in
              ("maestro", "visa13", "visa16", "visa19", "amex", "discover", "mastercard", "jcb15", "jcb16", "diners")
              for _ in range(20)]
    values += [(fake.ssn(), "ssn") for _ in range(100)] + [(fake.iban(), "iban") for _ in range(50)]
    for value, kind in values:
        assert [(span.text, span.type) for span in find_pii(f"Number: {value}.")] == [(value, kind)]


def test_patterns_do_not_overlap_and_types_filter():
    text = "IBAN DE89 3704 0044 0532 0130 00, mail a@b.de, call 030 1234567"
    assert [s.type for s in find_pii(text)] == ["iban", "email", "phone"]
    assert [s.type for s in find_pii(text, {"phone"})] == ["phone"]
    assert find_pii("") == [] and find_pii(text, set()) == []


# ------------------------------------------------------------------------------------------------ overlap rule
def test_overlapping_model_and_pattern_spans_become_one_span_of_the_pattern_type():
    text = "Write to jane.doe@acme.com or Jane Doe"
    model = [EntitySpan(9, 17, "person", "jane.doe", 0.6), EntitySpan(30, 38, "person", "Jane Doe", 0.9)]
    merged = merge_spans(model, find_pii(text))
    assert [(s.start, s.end, s.type, s.text, s.score) for s in merged] == [
        (9, 26, "email", "jane.doe@acme.com", 1.0), (30, 38, "person", "Jane Doe", 0.9)]
    # a chain: model span overlapping two pattern spans covers all three; the earliest pattern names the type
    text = "x 030 1234567 a@b.de y"
    chain = merge_spans([EntitySpan(6, 16, "person", text[6:16], 0.5)], find_pii(text))
    assert [(s.start, s.end, s.type, s.text) for s in chain] == [(2, 20, "phone", "030 1234567 a@b.de")]
    # no overlap: both stay
    assert len(merge_spans([EntitySpan(0, 1, "person", "x", 0.5)], find_pii(text))) == 3


# ------------------------------------------------------------------------------------------------ types
def test_types_resolve_against_model_and_patterns():
    model = ["PER", "LOC", "GPE"]
    assert select_types(model, None) == TypeSelection(None, frozenset())
    assert select_types(model, None, default="all") == TypeSelection(None, frozenset(PATTERN_TYPES))
    assert select_types(model, ["ALL"]) == TypeSelection(None, frozenset(PATTERN_TYPES))
    assert select_types(model, ["person", "E-Mail", "card"]) == TypeSelection(frozenset({"PER"}),
                                                                             frozenset({"email", "credit_card"}))
    assert select_types(model, ["loc"]).model == frozenset({"LOC"})  # the exact name wins over its group (GPE)
    assert select_types(model, ["phone"]) == TypeSelection(frozenset(), frozenset({"phone"}))
    with pytest.raises(ValueError, match="'pets' is not an entity type of this model.*PER, LOC, GPE.*url, email"):
        select_types(model, ["pets"])
    assert select_types(model, ["phone", "PER"]).names(model) == ["PER", "phone"]


# ------------------------------------------------------------------------------------------------ pseudonyms
def _redact(text: str, spans: list[tuple[int, int, str]], **options) -> tuple[str, list[dict]]:
    found = [EntitySpan(a, b, kind, text[a:b], 0.9) for a, b, kind in spans]
    return redact_spans(text, found, Pseudonyms(**options))


def _spans_of(text: str, *mentions: tuple[str, str]) -> list[tuple[int, int, str]]:
    found, cursor = [], 0
    for mention, kind in mentions:
        start = text.index(mention, cursor)
        found.append((start, start + len(mention), kind))
        cursor = start + len(mention)
    return found


def test_one_placeholder_per_entity_with_case_whitespace_and_partial_mentions():
    text = "Jane Doe met JANE \u00a0DOE, Doe and Jane; John Smith, Smith John, Doe Jane and Berlin."
    spans = _spans_of(text, ("Jane Doe", "person"), ("JANE \u00a0DOE", "person"), ("Doe", "person"), ("Jane", "person"),
                      ("John Smith", "person"), ("Smith John", "person"), ("Doe Jane", "person"), ("Berlin", "location"))
    redacted, records = _redact(text, spans)
    assert redacted == ("[PERSON_1] met [PERSON_1], [PERSON_1] and [PERSON_1]; [PERSON_2], [PERSON_3], [PERSON_4] and "
                        "[LOCATION_1].")
    assert [r["text"] for r in records][:4] == ["Jane Doe", "JANE \u00a0DOE", "Doe", "Jane"]
    # partial joining off: Doe and Jane are entities of their own
    redacted, _ = _redact(text, spans, join_partial=False)
    assert redacted.startswith("[PERSON_1] met [PERSON_1], [PERSON_2] and [PERSON_3]; [PERSON_4]")


def test_partial_mentions_join_the_entity_created_last_and_never_a_shorter_one():
    text = "Doe . Jane Doe . John Doe . Doe . Ann Lee . Lee"
    spans = _spans_of(text, ("Doe", "person"), ("Jane Doe", "person"), ("John Doe", "person"), ("Doe", "person"),
                      ("Ann Lee", "person"), ("Lee", "location"))
    redacted, _ = _redact(text, spans)
    # a longer mention after a shorter one is new; "Doe" matches Doe exactly (rule 1 before rule 2)
    assert redacted == "[PERSON_1] . [PERSON_2] . [PERSON_3] . [PERSON_1] . [PERSON_4] . [LOCATION_1]"
    text = "Jane Doe . John Doe . Doe"
    redacted, _ = _redact(text, _spans_of(text, ("Jane Doe", "person"), ("John Doe", "person"), ("Doe", "person")))
    assert redacted == "[PERSON_1] . [PERSON_2] . [PERSON_2]"


def test_keys_fold_case_and_unicode_the_same_way_as_javascript():
    assert entity_key("STRASSE") == entity_key("Straße") == "strasse"
    assert entity_key("Jose\u0301") == entity_key("José")
    assert entity_key("\u200bJane\t\n Doe ") == "jane doe"


def test_placeholder_templates():
    assert format_placeholder("<{type}-{n}>", "credit_card", 3) == "<CREDIT_CARD-3>"
    assert format_placeholder("{{{type}}}#{index}", "per", 2) == "{PER}#2"
    for bad in ("[{kind}]", "[{type", "{0}", "[{type!r}]", "}{type}"):
        with pytest.raises(ValueError, match="may use {type} and {n} only"):
            check_placeholder(bad)
    redacted, _ = _redact("Ann and Bob", [(0, 3, "person"), (8, 11, "person")], placeholder="<{type}>")
    assert redacted == "<PERSON> and <PERSON>"


def test_pseudonyms_number_across_documents_and_report_new_entities_once():
    pseudonyms = Pseudonyms()
    assert pseudonyms.placeholder_for("person", "Ann Lee") == "[PERSON_1]"
    assert pseudonyms.take_new() == [{"entity": "[PERSON_1]", "type": "person", "text": "Ann Lee"}]
    assert pseudonyms.placeholder_for("person", "ann lee") == "[PERSON_1]"
    assert pseudonyms.placeholder_for("email", "a@b.de") == "[EMAIL_1]"
    assert pseudonyms.take_new() == [{"entity": "[EMAIL_1]", "type": "email", "text": "a@b.de"}]
    assert pseudonyms.take_new() == []


# ------------------------------------------------------------------------------------------------ restore
MAPPING = {"[PERSON_1]": "Jane Doe", "[PERSON_2]": "John Smith", "[PERSON_10]": "Ann Lee",
           "[EMAIL_1]": "jane@acme.com", "[CREDIT_CARD_1]": "4111 1111 1111 1111"}

#: An LLM's answer -> the restored text (docs/redaction.md, section 5).
RESTORE_TABLE = [
    ("[PERSON_1] wrote.", "Jane Doe wrote."),
    ("[person_1] wrote.", "Jane Doe wrote."),
    ("[Person_1] wrote.", "Jane Doe wrote."),
    ("**[PERSON_1]** wrote.", "**Jane Doe** wrote."),
    ("*[PERSON_1]* wrote.", "*Jane Doe* wrote."),
    ("`[PERSON_1]` wrote.", "`Jane Doe` wrote."),
    ('"[PERSON_1]" wrote.', '"Jane Doe" wrote.'),
    ("“[PERSON_1]” wrote.", "“Jane Doe” wrote."),
    ("'[PERSON_1]' wrote.", "'Jane Doe' wrote."),
    ("<PERSON_1> wrote.", "Jane Doe wrote."),
    ("(PERSON_1) wrote.", "Jane Doe wrote."),
    ("{PERSON_1} wrote.", "Jane Doe wrote."),
    ("PERSON_1 wrote.", "Jane Doe wrote."),
    ("[[PERSON_1]] wrote.", "Jane Doe wrote."),
    ("\\[PERSON\\_1\\] wrote.", "Jane Doe wrote."),
    ("[PERSON-1] wrote.", "Jane Doe wrote."),
    ("[PERSON 1] wrote.", "Jane Doe wrote."),
    ("[PERSON1] wrote.", "Jane Doe wrote."),
    ("[PERSON_\n1] wrote.", "Jane Doe wrote."),
    ("[PERSON_1]'s car", "Jane Doe's car"),
    ("[PERSON_1]’s car", "Jane Doe’s car"),
    ("PERSON_1's car", "Jane Doe's car"),
    ("the [PERSON_1]s", "the Jane Does"),
    ("[PERSON_10] and [PERSON_1]", "Ann Lee and Jane Doe"),
    ("PERSON_10 and PERSON_1", "Ann Lee and Jane Doe"),
    ("([PERSON_2] is here)", "(John Smith is here)"),
    ("see ([PERSON_2])", "see (John Smith)"),
    ("XPERSON_1 and PERSON_1X stay", "XPERSON_1 and PERSON_1X stay"),
    ("Mail **<email_1>** or pay with `[CREDIT_CARD_1]`.", "Mail **jane@acme.com** or pay with `4111 1111 1111 1111`."),
    ("[CREDIT-CARD-1]", "4111 1111 1111 1111"),
    ("[credit card 1]", "4111 1111 1111 1111"),
    ("Nothing to do here.", "Nothing to do here."),
    ("", ""),
]


@pytest.mark.parametrize("answer, expected", RESTORE_TABLE)
def test_restore_puts_placeholders_back_the_way_llms_return_them(answer, expected):
    restored = restore(answer, MAPPING)
    assert restored.text == expected
    assert restored.unknown == []


def test_unknown_placeholders_are_left_and_reported():
    restored = restore("Ask [PERSON_7] and **<person_3>** about [PERSON_1] and [EMAIL_2]; PERSON_12.", MAPPING)
    assert restored.text == "Ask [PERSON_7] and **<person_3>** about Jane Doe and [EMAIL_2]; PERSON_12."
    assert restored.unknown == ["[PERSON_7]", "<person_3>", "[EMAIL_2]", "PERSON_12"]


def test_a_redacted_line_comes_back_byte_for_byte_with_its_own_mentions():
    text = "Jane Doe met JANE DOE; Doe paid with 4111 1111 1111 1111."
    spans = [EntitySpan(s.start, s.end, s.type, s.text, 1.0) for s in find_pii(text)]
    spans += [EntitySpan(a, b, kind, text[a:b], 0.9) for a, b, kind in
              _spans_of(text, ("Jane Doe", "person"), ("JANE DOE", "person"), ("Doe", "person"))]
    redacted, records = redact_spans(text, sorted(spans, key=lambda s: s.start), Pseudonyms())
    assert redacted == "[PERSON_1] met [PERSON_1]; [PERSON_1] paid with [CREDIT_CARD_1]."
    assert restore(redacted, records).text == text
    mangled = "**[person_1]** met <PERSON-1>; `PERSON_1` paid with [credit_card_1]."
    assert restore(mangled, records).text == "**Jane Doe** met JANE DOE; `Doe` paid with 4111 1111 1111 1111."
    # another order of placeholders than the line's: each becomes its entity's first mention
    assert restore("[PERSON_1] paid with [CREDIT_CARD_1]", records).text == "Jane Doe paid with 4111 1111 1111 1111"


def test_span_map_files_are_read_with_errors_naming_file_and_line(tmp_path):
    path = tmp_path / "map.jsonl"
    records = [
        {"format": "flair-modernbert-span-map", "version": 2, "placeholder": "<{type}#{n}>", "scope": "input",
         "types": ["person", "email"]},
        {"entity": "<PERSON#1>", "type": "person", "text": "Jane Doe"},
        {"line": 1, "spans": [{"placeholder": "<PERSON#1>", "type": "person", "text": "Jane", "start": 0, "end": 4,
                               "redacted_start": 0, "redacted_end": 10}]},
        {"line": 2, "spans": []},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    span_map = SpanMap.read(path)
    assert span_map.entities == {"<PERSON#1>": "Jane Doe"} and span_map.placeholder == "<{type}#{n}>"
    assert restore("<PERSON#1> hi", span_map, line=1).text == "Jane hi"
    assert restore("[person 1] hi <EMAIL#4>", span_map, line=2) == ("Jane Doe hi <EMAIL#4>", ["<EMAIL#4>"])
    # a version-1 map (line records only) still restores
    path.write_text(json.dumps(records[2]) + "\n", encoding="utf-8")
    assert restore("<PERSON#1>!", SpanMap.read(path)).text == "Jane!"
    path.write_text(json.dumps(records[1]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"{path}, line 2: "):
        SpanMap.read(path)
    path.write_text('{"something": 1}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: not a span-map record"):
        SpanMap.read(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SpanMap.read(tmp_path / "missing.jsonl")
    with pytest.raises(TypeError, match="mapping: expected"):
        restore("x", 42)


def test_wrappers_added_around_placeholders_of_a_redacted_line_come_off():
    text = 'Jane Doe (CEO) met "Doe" at *noon*; mail jane@acme.com.'
    spans = [EntitySpan(s.start, s.end, s.type, s.text, 1.0) for s in find_pii(text)]
    spans += [EntitySpan(a, b, kind, text[a:b], 0.9) for a, b, kind in
              _spans_of(text, ("Jane Doe", "person"), ("Doe", "person"))]
    result = redact_spans(text, sorted(spans, key=lambda s: s.start), Pseudonyms())
    assert result[0] == '[PERSON_1] (CEO) met "[PERSON_1]" at *noon*; mail [EMAIL_1].'
    for mangled in ['**[person_1]** (CEO) met "**<PERSON-1>**" at *noon*; mail `[EMAIL_1]`.',
                    '*PERSON_1* (CEO) met "(PERSON_1)" at *noon*; mail \\[EMAIL\\_1\\].',
                    '[PERSON_1] (CEO) met "[PERSON_1]" at *noon*; mail [EMAIL_1].']:
        assert restore(mangled, result) == (text, [])
    # other changes than wrappers: each placeholder is replaced, the wrappers stay
    assert restore("**[PERSON_1]** (CEO) met [PERSON_1] at noon; [EMAIL_1]", result).text == (
        "**Jane Doe** (CEO) met Doe at noon; jane@acme.com")
    # wrappers before the first placeholder of a line that starts with it are not the line's
    assert restore('x[PERSON_1] (CEO) met "[PERSON_1]" at *noon*; mail [EMAIL_1].', result).text.startswith("xJane")


def test_restore_of_a_line_without_mentions_and_letterless_placeholders():
    assert restore("hello [PERSON_1]", ("hello", [])) == ("hello [PERSON_1]", [])
    # a placeholder without letters is only found as written, never inside a longer number
    assert restore("#1, #10 and (#1)", {"#1": "Ann"}) == ("Ann, #10 and (Ann)", [])
