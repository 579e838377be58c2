"""How much personal data a redaction leaves visible: gold spans + predicted spans + text -> scores, no model.

Redaction hides every character of every predicted span, whatever type the span was given; what matters is which
letters and digits (Unicode categories ``L*`` and ``N*``, i.e. ``\\p{L}\\p{N}``) stay visible. Spaces, punctuation,
symbols and combining marks are not counted anywhere: a name whose trailing full stop stays visible has not leaked.

Per gold type and overall:

- **entity leak rate**: a gold entity leaks when any of its letters or digits is not covered by a predicted span.
  A gold entity without letters or digits (``--``, an emoji) cannot leak and is counted apart
  (``without_letters``), not in the rate.
- **character recall**: covered letters and digits of gold spans / all letters and digits of gold spans.
- **typed precision / recall / F1**: exact matches of ``(start, end, type)``, types canonicalised through
  ``rules.json``'s ``type_groups`` (``PER`` and ``PERSON`` are ``person``, ``PHONE_NUMBER`` is ``phone``). A span
  that is off by one character, or a name tagged as an organisation, is no match here although it leaks nothing.

Overall only (they need the text outside the gold spans):

- **over-redaction**: hidden letters and digits outside every gold span / all letters and digits outside them.
- **character precision** and **F2** (recall weighted, beta = 2) over letters and digits.

The *core* row sums the types of :data:`CORE_TYPES` (the personal data a redaction must hide; issue 25's goals).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Optional, Protocol, Sequence

from flair_modernbert.config.schema import canonical_type
from flair_modernbert.leaks.predictions import Span, as_spans

logger = logging.getLogger(__name__)

__all__ = [
    "CORE_TYPES",
    "GoldDocument",
    "TypeScores",
    "OverallScores",
    "LeakReport",
    "score_redaction",
]

#: The personal data every redaction must hide (canonical names); their sum is the report's ``core`` row.
CORE_TYPES = ("person", "email", "phone", "credit_card", "iban", "ip", "url", "street_address", "ssn", "location",
              "organization", "date")


class GoldDocument(Protocol):
    """What the scorer needs of a gold document (``flair_modernbert.data.spans.SpanDocument`` is one)."""

    text: str
    spans: Sequence[tuple[int, int, str]]


def _canonical(name: str) -> str:
    """``rules.json``'s canonical name of a type (``PER`` -> ``person``), else the name case-folded (``NRP`` -> ``nrp``)."""
    return canonical_type(name) or name.strip().casefold()


def _is_letter_or_digit(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


@dataclass
class TypeScores:
    """Counts for one gold type (or a sum of types); the rates are properties (``None`` where undefined, 0/0).

    Attributes:
        gold: gold spans of the type.
        entities: gold spans with at least one letter or digit (the leak rate's denominator).
        without_letters: gold spans without letters or digits (not in the leak rate).
        leaked: entities with a letter or digit left visible.
        letters: letters and digits inside the gold spans.
        covered: of those, the ones a predicted span hides.
        predicted: predicted spans of the type (canonical), for typed precision.
        exact: predicted spans equal to a gold span, type included.
    """

    gold: int = 0
    entities: int = 0
    without_letters: int = 0
    leaked: int = 0
    letters: int = 0
    covered: int = 0
    predicted: int = 0
    exact: int = 0

    def add(self, other: "TypeScores") -> None:
        """Add another type's counts (the ``core`` and ``overall`` rows are sums)."""
        for name in TypeScores.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def leak_rate(self) -> Optional[float]:
        return _ratio(self.leaked, self.entities)

    @property
    def char_recall(self) -> Optional[float]:
        return _ratio(self.covered, self.letters)

    @property
    def precision(self) -> Optional[float]:
        return _ratio(self.exact, self.predicted)

    @property
    def recall(self) -> Optional[float]:
        return _ratio(self.exact, self.gold)

    @property
    def f1(self) -> Optional[float]:
        return _f_beta(self.precision, self.recall, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """Counts and rates."""
        return {**asdict(self), "leak_rate": self.leak_rate, "char_recall": self.char_recall,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass
class OverallScores(TypeScores):
    """All gold types together, and the characters outside the gold spans.

    Attributes:
        outside: letters and digits outside every gold span.
        hidden_outside: of those, the ones a predicted span hides (over-redaction).
    """

    outside: int = 0
    hidden_outside: int = 0

    @property
    def over_redaction(self) -> Optional[float]:
        return _ratio(self.hidden_outside, self.outside)

    @property
    def char_precision(self) -> Optional[float]:
        return _ratio(self.covered, self.covered + self.hidden_outside)

    @property
    def char_f2(self) -> Optional[float]:
        return _f_beta(self.char_precision, self.char_recall, 2.0)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "outside": self.outside, "hidden_outside": self.hidden_outside,
                "over_redaction": self.over_redaction, "char_precision": self.char_precision,
                "char_f2": self.char_f2}


@dataclass
class LeakReport:
    """Scores of one redaction of one data set.

    Attributes:
        documents: documents scored.
        per_type: scores per canonical type (gold types, and types only predicted), sorted by name.
        core: the sum over :data:`CORE_TYPES` present in the gold data or the predictions.
        overall: every type, plus over-redaction, character precision and F2.
        recall_bias: the tagger's recall bias (``None``: none applied, or spans predicted elsewhere).
        variant: ``cased`` (the data as given) or ``lowercased`` (see :func:`flair_modernbert.leaks.run.lowercased`).
        meta: what was scored with what (model, data, types, ...), as the caller gives it.
        examples: per type, the first leaked entities: ``where`` (file, line), ``text``, and ``shown`` (the entity
            as the redaction leaves it, hidden characters as ``█``).
    """

    documents: int
    per_type: dict[str, TypeScores]
    core: TypeScores
    overall: OverallScores
    recall_bias: Optional[float] = None
    variant: str = "cased"
    meta: dict[str, Any] = field(default_factory=dict)
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Every number, JSON-ready (rates ``None`` where 0/0)."""
        return {
            "variant": self.variant,
            "recall_bias": self.recall_bias,
            "documents": self.documents,
            **({"meta": self.meta} if self.meta else {}),
            "overall": self.overall.to_dict(),
            "core": {**self.core.to_dict(), "types": [kind for kind in CORE_TYPES if kind in self.per_type]},
            "per_type": {kind: scores.to_dict() for kind, scores in self.per_type.items()},
            "leaked_examples": self.examples,
        }


def _ratio(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


def _f_beta(precision: Optional[float], recall: Optional[float], beta: float) -> Optional[float]:
    if precision is None or recall is None:
        return None
    if precision == 0 and recall == 0:
        return 0.0
    return (1 + beta * beta) * precision * recall / (beta * beta * precision + recall)


def _check(spans: Sequence[Span], length: int, what: str) -> None:
    for start, end, kind in spans:
        if not (0 <= start <= end <= length):
            raise ValueError(f"{what}: span ({start}, {end}, {kind!r}) lies outside the text ({length} characters)")


def _where(document: Any, index: int) -> str:
    source, line = getattr(document, "source", None), getattr(document, "line", None)
    return f"{source}, line {line}" if source and line else f"document {index + 1}"


def score_redaction(documents: Sequence[GoldDocument], predicted: Sequence[Iterable[Any]],
                    examples: int = 10) -> LeakReport:
    """Score predicted spans against gold spans (see the module's docstring for the definitions).

    Args:
        documents: gold documents: ``text`` and ``spans`` as ``(start, end, type)`` character offsets (code points),
            e.g. from :func:`flair_modernbert.data.spans.read_span_documents`.
        predicted: for each document, its predicted spans: ``(start, end, type)`` tuples, ``EntitySpan``\\ s,
            dicts with ``start``/``end``/``type`` (or ``entity_type``), Presidio ``RecognizerResult``\\ s
            (:func:`~flair_modernbert.leaks.predictions.as_spans`).
        examples: leaked entities kept per type for :attr:`LeakReport.examples` (the first ones, in order).

    Returns:
        The report; ``recall_bias``, ``variant`` and ``meta`` are left for the caller to set.

    Raises:
        ValueError: as many predictions as documents are needed; a span outside its text; gold spans that overlap
            (their characters would count twice).
    """
    if len(predicted) != len(documents):
        raise ValueError(f"{len(documents)} gold documents but predictions for {len(predicted)}")
    per_type: dict[str, TypeScores] = {}
    shown: dict[str, list[dict[str, str]]] = {}
    outside = hidden_outside = 0
    for index, (document, found) in enumerate(zip(documents, predicted)):
        text = document.text
        where = _where(document, index)
        gold = sorted((start, end, _canonical(kind)) for start, end, kind in document.spans)
        spans = [(start, end, _canonical(kind)) for start, end, kind in as_spans(found)]
        _check(gold, len(text), f"{where}: gold")
        _check(spans, len(text), f"{where}: predicted")
        for before, after in zip(gold, gold[1:]):
            if after[0] < before[1]:
                raise ValueError(f"{where}: gold spans {before} and {after} overlap")
        hidden = bytearray(len(text))
        for start, end, _ in spans:
            hidden[start:end] = b"\x01" * (end - start)
        in_gold = bytearray(len(text))
        for start, end, kind in gold:
            in_gold[start:end] = b"\x01" * (end - start)
            scores = per_type.setdefault(kind, TypeScores())
            scores.gold += 1
            letters = [i for i in range(start, end) if _is_letter_or_digit(text[i])]
            if not letters:
                scores.without_letters += 1
                continue
            covered = sum(hidden[i] for i in letters)
            scores.entities += 1
            scores.letters += len(letters)
            scores.covered += covered
            if covered < len(letters):
                scores.leaked += 1
                kept = shown.setdefault(kind, [])
                if len(kept) < examples:
                    masked = "".join("\u2588" if hidden[i] else text[i] for i in range(start, end))
                    kept.append({"where": where, "text": text[start:end], "shown": masked})
        for i, char in enumerate(text):
            if not in_gold[i] and _is_letter_or_digit(char):
                outside += 1
                hidden_outside += hidden[i]
        gold_set = set(gold)
        for span in set(spans):
            scores = per_type.setdefault(span[2], TypeScores())
            scores.predicted += 1
            scores.exact += span in gold_set
    per_type = dict(sorted(per_type.items()))
    core = TypeScores()
    overall = OverallScores(outside=outside, hidden_outside=hidden_outside)
    for kind, scores in per_type.items():
        overall.add(scores)
        if kind in CORE_TYPES:
            core.add(scores)
    return LeakReport(documents=len(documents), per_type=per_type, core=core, overall=overall,
                      examples=dict(sorted(shown.items())))
