"""Seeded synthetic PII records: templates filled with Faker values, text and spans built together.

A record is ``{"text": str, "spans": [{"start", "end", "type"}]}`` (code-point offsets, end exclusive, sorted, not
overlapping), the span JSON lines format that ``predict`` writes and recipes read. Text is assembled from pieces,
each a value with its type or a piece of template text, so a span covers exactly its value's characters; nothing
is searched for afterwards. Case variants and long documents act on the pieces, so offsets stay exact even where
``str.lower`` changes a length (``İ``).

Determinism: one ``random.Random(seed)`` draws every choice in order and seeds one Faker per locale; nothing
depends on hash randomisation or set order, so a seed gives the same records in every process.
"""

from __future__ import annotations

import logging
import random
import re
from typing import Callable, Collection, Iterator, Optional, Sequence, Union

import faker.providers.company.en_US
import faker.providers.lorem.en_US

from flair_modernbert.redaction.types import canonical_type
from flair_modernbert.segmentation import words
from flair_modernbert.synthetic.templates import TEMPLATES, THREAD_HEADERS, Template
from flair_modernbert.synthetic.values import IBAN_LOCALES, LocaleValues, Person, check_locales

logger = logging.getLogger(__name__)

__all__ = ["TYPES", "generate_records", "canonical_types"]

#: The span types the generator writes: the canonical names (first names of ``rules.json``'s type_groups).
TYPES = ("person", "location", "organization", "street_address", "date", "email", "phone", "url", "ip",
         "credit_card", "iban", "ssn")

#: A piece of a record: text and its span type (``None``: template text, no span).
Piece = tuple[str, Optional[str]]

_SLOT = re.compile(r"\{([a-z_]+?)(\d?)\}")
_PRODUCTS = ["laptop", "coffee machine", "desk lamp", "headset", "office chair", "monitor", "printer", "backpack",
             "phone case", "router", "keyboard", "winter jacket", "bicycle helmet", "blender"]
# Plain English without personal data (Faker's en_US word lists): the model must see common nouns, title-case
# headlines and jargon as O, or a recall bias turns "songwriters" or "the computer industry" into an organisation.
_WORDS = tuple(faker.providers.lorem.en_US.Provider.word_list)
_CATCH = faker.providers.company.en_US.Provider.catch_phrase_words
_BS = faker.providers.company.en_US.Provider.bsWords
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _compile(template: Template) -> list[Union[str, tuple[str, int]]]:
    parts: list[Union[str, tuple[str, int]]] = []
    position = 0
    for match in _SLOT.finditer(template.text):
        if match.start() > position:
            parts.append(template.text[position:match.start()])
        parts.append((match.group(1), int(match.group(2) or 1)))
        position = match.end()
    if position < len(template.text):
        parts.append(template.text[position:])
    return parts


class _Filler:
    """Fills the slots of one record: the people, and every value, drawn once per slot and reused."""

    def __init__(self, values: LocaleValues, rng: random.Random) -> None:
        self.values = values
        self.rng = rng
        self.people: dict[int, Person] = {}
        self.cache: dict[tuple[str, int], list[Piece]] = {}

    def person(self, index: int) -> Person:
        if index not in self.people:
            self.people[index] = self.values.person(self.rng)
        return self.people[index]

    def fill(self, name: str, index: int) -> list[Piece]:
        key = (name, index)
        if key not in self.cache:
            if name not in _SLOTS:
                raise ValueError(f"template slot {{{name}}} is unknown")
            self.cache[key] = _SLOTS[name](self, index)
        return self.cache[key]


def _title(filler: _Filler, index: int, full: bool) -> list[Piece]:
    person = filler.person(index)
    key = ("title", index)
    if key not in filler.cache:
        filler.cache[key] = [(filler.values.title(person, filler.rng), None)]
    title = filler.cache[key][0][0]
    return [(title + " ", None), (person.full if full else person.last, "person")]


def _address_block(filler: _Filler, index: int) -> list[Piece]:
    pieces: list[Piece] = []
    for line in filler.values.address_lines():
        if pieces:
            pieces.append(("\n", None))
        pieces.append((line, "street_address"))
    return pieces


def _filler_time(rng: random.Random) -> str:
    hour, minute = rng.randint(7, 20), rng.choice([0, 15, 30, 45, rng.randint(0, 59)])
    if rng.random() < 0.25:
        return f"{(hour - 1) % 12 + 1}:{minute:02d} {'pm' if hour >= 12 else 'am'}"
    return f"{hour:02d}:{minute:02d}" + (f":{rng.randint(0, 59):02d}" if rng.random() < 0.3 else "")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(5, 14))]
    return " ".join(words).capitalize() + rng.choice([".", ".", ".", "!", "?"])


def _phrase(rng: random.Random, headline: bool) -> str:
    if rng.random() < 0.5:
        words = [rng.choice(group) for group in _CATCH]
    else:
        words = [rng.choice(_WORDS) for _ in range(rng.randint(2, 6))]
    return " ".join(words).title() if headline else " ".join(words).lower()


def _code(rng: random.Random) -> str:
    return "".join(rng.choice(_LETTERS) for _ in range(rng.randint(2, 3))) + "-" + str(rng.randint(1000, 99999))


_SLOTS: dict[str, Callable[[_Filler, int], list[Piece]]] = {
    "name": lambda f, i: [(f.person(i).full, "person")],
    "first": lambda f, i: [(f.person(i).first, "person")],
    "last": lambda f, i: [(f.person(i).last, "person")],
    "tname": lambda f, i: _title(f, i, full=False),
    "tfull": lambda f, i: _title(f, i, full=True),
    "email": lambda f, i: [(f.values.email_of(f.person(i), f.rng), "email")],
    "phone": lambda f, i: [(f.values.phone(f.rng), "phone")],
    "mobile": lambda f, i: [(f.values.phone(f.rng), "phone")],
    "dob": lambda f, i: [(f.values.birth_date(f.rng), "date")],
    "address": lambda f, i: [(", ".join(f.values.address_lines()), "street_address")],
    "address_block": _address_block,
    "street": lambda f, i: [(f.values.street(), "street_address")],
    "city": lambda f, i: [(f.values.city(), "location")],
    "ssn": lambda f, i: [(f.values.ssn(f.rng), "ssn")],
    "card": lambda f, i: [(f.values.card(f.rng), "credit_card")],
    "iban": lambda f, i: [(f.values.iban(f.rng), "iban")],
    "profile": lambda f, i: [(f.values.url(f.rng, f.person(i)), "url")],
    "company": lambda f, i: [(f.values.company(), "organization")],
    "country": lambda f, i: [(f.values.country(), "location")],
    "place": lambda f, i: [(f.values.place(f.rng), "location")],
    "date": lambda f, i: [(f.values.date(f.rng), "date")],
    "url": lambda f, i: [(f.values.url(f.rng), "url")],
    "ip": lambda f, i: [(f.values.ip(f.rng), "ip")],
    "mail": lambda f, i: [(f.values.email(f.rng), "email")],
    # filler: text without a span
    "num": lambda f, i: [(str(f.rng.randint(2, 99)), None)],
    "amount": lambda f, i: [(f.rng.choice(["$", "€", "£", "EUR ", "USD "]) + f"{f.rng.randint(5, 4999)}."
                             f"{f.rng.randint(0, 99):02d}", None)],
    "time": lambda f, i: [(_filler_time(f.rng), None)],
    "ticket": lambda f, i: [(f.rng.choice(["#", "TCK-", "INC", "#"]) + str(f.rng.randint(10000, 999999)), None)],
    "order": lambda f, i: [(f.rng.choice(["ORD-", "#A", "PO-"]) + str(f.rng.randint(100000, 9999999)), None)],
    "product": lambda f, i: [(f.rng.choice(_PRODUCTS), None)],
    "job": lambda f, i: [(" ".join(f.values.faker.job().split()), None)],
    "weekday": lambda f, i: [(f.rng.choice(_WEEKDAYS), None)],
    "code": lambda f, i: [(_code(f.rng), None)],
    "sentence": lambda f, i: [(_sentence(f.rng), None)],
    "phrase": lambda f, i: [(_phrase(f.rng, headline=False), None)],
    "headline": lambda f, i: [(_phrase(f.rng, headline=True), None)],
    "bs": lambda f, i: [(" ".join(f.rng.choice(group) for group in _BS), None)],
}

_COMPILED = [(template, _compile(template)) for template in TEMPLATES]
_HEADERS = [(template, _compile(template)) for template in THREAD_HEADERS]


def _fill(parts: list[Union[str, tuple[str, int]]], filler: _Filler) -> list[Piece]:
    pieces: list[Piece] = []
    for part in parts:
        if isinstance(part, str):
            # "Acme Inc." at the end of a sentence: one full stop, not two
            if part.startswith(".") and pieces and pieces[-1][0].endswith("."):
                part = part[1:]
            if part:
                pieces.append((part, None))
        else:
            for text, kind in filler.fill(*part):
                if kind is not None and (not text or text != text.strip()):
                    raise AssertionError(f"value {text!r} of type {kind} is empty or padded")  # a bug of ours
                pieces.append((text, kind))
    return pieces


def _case(pieces: list[Piece], mode: Optional[str], style: str, rng: random.Random) -> list[Piece]:
    """The case variants: lower-cased or upper-cased names (and now and then places), or the whole record."""
    if mode is None:
        return pieces
    change = str.lower if mode == "lower" else str.upper
    whole = (style == "chat" and mode == "lower") or rng.random() < (0.3 if mode == "lower" else 0.2)
    kinds = {"person"} | ({"location"} if rng.random() < 0.5 else set())
    return [(change(text), kind) if whole or kind in kinds else (text, kind) for text, kind in pieces]


def _pieces_to_record(pieces: list[Piece], keep: Optional[frozenset]) -> dict:
    text: list[str] = []
    spans: list[dict] = []
    position = 0
    for piece, kind in pieces:
        if kind is not None and (keep is None or kind in keep):
            spans.append({"start": position, "end": position + len(piece), "type": kind})
        text.append(piece)
        position += len(piece)
    return {"text": "".join(text), "spans": spans}


def canonical_types(types: Optional[Collection[str]]) -> Optional[frozenset]:
    """``types`` as canonical names (aliases from ``rules.json``'s type_groups, any case); ``None`` keeps all."""
    if types is None:
        return None
    if isinstance(types, str):
        types = [types]
    chosen = []
    for name in types:
        kind = canonical_type(name)
        if kind not in TYPES:
            raise ValueError(f"unknown type {name!r} for synthetic data; choose from {', '.join(TYPES)}")
        chosen.append(kind)
    return frozenset(chosen)


def _ratio(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a ratio from 0 to 1, got {value}")
    return float(value)


class _Generator:
    def __init__(self, seed: int, locales: tuple[str, ...]) -> None:
        self.rng = random.Random(seed)
        seeds = {locale: self.rng.getrandbits(63) for locale in locales}
        borrowed = []
        if any(locale not in IBAN_LOCALES for locale in locales):
            from faker import Faker

            for locale in IBAN_LOCALES:
                faker = Faker(locale)
                faker.seed_instance(self.rng.getrandbits(63))
                borrowed.append(faker)
        self.values = [LocaleValues(locale, seeds[locale], borrowed) for locale in locales]

    def record(self, mode: Optional[str]) -> tuple[list[Piece], Template]:
        rng = self.rng
        values = self.values[rng.randrange(len(self.values))]
        template, parts = _COMPILED[rng.randrange(len(_COMPILED))]
        pieces = _fill(parts, _Filler(values, rng))
        return _case(pieces, mode, template.style, rng), template

    def long_document(self, max_words: int, lowercase: float, uppercase: float) -> list[Piece]:
        """Records joined with blank lines, as a thread with headers, or as pages, up to a drawn word count."""
        rng = self.rng
        target = rng.randint(max_words // 2, max_words)
        threaded = rng.random() < 0.5
        pieces: list[Piece] = []
        total, misses = 0, 0
        while misses < 5:
            part = self.record(_mode(rng, lowercase, uppercase))[0]
            if threaded:
                header, parts = _HEADERS[rng.randrange(len(_HEADERS))]
                values = self.values[rng.randrange(len(self.values))]
                part = _fill(parts, _Filler(values, rng)) + [("\n", None)] + part
            count = len(words("".join(text for text, _ in part)))
            if total + count > target:
                misses += 1
                continue
            if pieces:
                pieces.append(("\n\n", None))
            pieces.extend(part)
            total += count
        return pieces


def _mode(rng: random.Random, lowercase: float, uppercase: float) -> Optional[str]:
    roll = rng.random()
    return "lower" if roll < lowercase else "upper" if roll < lowercase + uppercase else None


def generate_records(
    n: int,
    *,
    seed: int = 0,
    locales: Sequence[str] = ("en_US",),
    lowercase: float = 0.1,
    uppercase: float = 0.05,
    long_documents: float = 0.0,
    types: Optional[Collection[str]] = None,
    long_max_words: int = 5000,
) -> Iterator[dict]:
    """Yield ``n`` synthetic records ``{"text", "spans"}`` with personal data of the canonical :data:`TYPES`.

    Args:
        n: number of records.
        seed: fixes every record; the same seed and arguments give the same records in any process.
        locales: Faker locales the values come from (see ``values.LOCALES``), one drawn per record.
        lowercase: share of records with lower-cased names (sometimes places, sometimes the whole record; chat
            messages always whole).
        uppercase: share of records with upper-cased names (sometimes places or the whole record).
        long_documents: share of records that are long documents made of many records (a thread, pages),
            each between ``long_max_words / 2`` and ``long_max_words`` words of the segmentation rule.
        types: keep only spans of these types (canonical names or their aliases); the text is unchanged.
        long_max_words: the most words of a long document (5,000 words are about 8,000 subtokens).

    Raises:
        ValueError: an unknown locale or type, a ratio outside [0, 1], ``lowercase + uppercase > 1``, a negative
            ``n`` or a ``long_max_words`` under 200.
    """
    locales = tuple(locales) if not isinstance(locales, str) else (locales,)
    check_locales(locales)
    lowercase, uppercase = _ratio("lowercase", lowercase), _ratio("uppercase", uppercase)
    long_documents = _ratio("long_documents", long_documents)
    if lowercase + uppercase > 1:
        raise ValueError(f"lowercase + uppercase must be at most 1, got {lowercase} + {uppercase}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if long_max_words < 200:
        raise ValueError(f"long_max_words must be at least 200, got {long_max_words}")
    keep = canonical_types(types)
    return _records(n, seed, locales, lowercase, uppercase, long_documents, keep, long_max_words)


def _records(n: int, seed: int, locales: tuple[str, ...], lowercase: float, uppercase: float,
             long_documents: float, keep: Optional[frozenset], long_max_words: int) -> Iterator[dict]:
    generator = _Generator(seed, locales)
    rng = generator.rng
    for _ in range(n):
        if long_documents and rng.random() < long_documents:
            pieces = generator.long_document(long_max_words, lowercase, uppercase)
        else:
            pieces = generator.record(_mode(rng, lowercase, uppercase))[0]
        yield _pieces_to_record(pieces, keep)
