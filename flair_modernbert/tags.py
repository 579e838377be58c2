"""The one place where entity spans and tags are converted into each other.

Spans are ``(start, end, type)`` token spans with ``end`` exclusive. Tags are decoded with Flair's own
``get_spans_from_bio`` (what Flair's ``ColumnCorpus`` uses), which reads BIO (IOB2), IOB1 and BIOES alike:
``B-``/``S-`` start a span, an ``I-`` that does not continue a span of its type starts one. Tags are written
as ``BIO`` or ``BIOES``.
"""

from __future__ import annotations

import logging
from typing import Iterable, Sequence

from flair.data import Sentence, get_spans_from_bio

logger = logging.getLogger(__name__)

__all__ = ["TAG_FORMATS", "Span", "entity_types", "spans_from_tags", "tags_from_spans", "spans_of", "sentence_tags",
           "add_spans"]

TAG_FORMATS = ("BIO", "BIOES")

#: ``(start, end_exclusive, type)``
Span = tuple[int, int, str]


def spans_from_tags(tags: Sequence[str]) -> list[Span]:
    """The spans of BIO, IOB1 or BIOES tags (Flair's decoding), in order."""
    decoded = get_spans_from_bio(list(tags))  # Flair appends to the list it is given: pass a copy
    return [(indices[0], indices[-1] + 1, kind) for indices, _, kind in decoded if kind != "O"]


def tags_from_spans(length: int, spans: Iterable[Span], tag_format: str = "BIO") -> list[str]:
    """Tags of ``length`` tokens holding ``spans``, in ``BIO`` or ``BIOES``.

    Raises:
        ValueError: an unknown ``tag_format``, a span outside the tokens, overlapping spans, or a type that
            cannot be written in a column (empty, or holding whitespace).
    """
    if tag_format not in TAG_FORMATS:
        raise ValueError(f"tag_format: expected one of {', '.join(TAG_FORMATS)}, got {tag_format!r}")
    tags = ["O"] * length
    for start, end, kind in spans:
        if not 0 <= start < end <= length:
            raise ValueError(f"span {(start, end, kind)} lies outside the {length} tokens")
        if any(tag != "O" for tag in tags[start:end]):
            raise ValueError(f"span {(start, end, kind)} overlaps another span")
        if not kind or any(c.isspace() for c in kind):
            raise ValueError(f"entity type {kind!r} cannot be written as a tag")
        if tag_format == "BIOES" and end - start == 1:
            tags[start] = f"S-{kind}"
            continue
        tags[start] = f"B-{kind}"
        for index in range(start + 1, end):
            tags[index] = f"I-{kind}"
        if tag_format == "BIOES":
            tags[end - 1] = f"E-{kind}"
    return tags


def spans_of(sentence: Sentence, label_type: str) -> list[Span]:
    """The token spans of a sentence's ``label_type`` labels, by position.

    Overlapping spans (not representable as tags) keep the first, longest one; the others are logged.
    """
    found = []
    for label in sentence.get_labels(label_type):
        tokens = getattr(label.data_point, "tokens", None)
        if not tokens or label.value == "O":
            continue
        found.append((tokens[0].idx - 1, tokens[-1].idx, label.value))
    found.sort(key=lambda span: (span[0], -(span[1] - span[0])))
    kept: list[Span] = []
    for span in found:
        if kept and span[0] < kept[-1][1]:
            logger.debug("overlapping span %s dropped in favour of %s", span, kept[-1])
            continue
        kept.append(span)
    return kept


def sentence_tags(sentence: Sentence, label_type: str, tag_format: str = "BIO") -> list[str]:
    """The tags of a sentence's ``label_type`` spans, one per token."""
    return tags_from_spans(len(sentence), spans_of(sentence, label_type), tag_format)


def add_spans(sentence: Sentence, spans: Iterable[Span], label_type: str) -> Sentence:
    """Label the token spans of ``sentence`` (in place) and return it."""
    for start, end, kind in spans:
        sentence[start:end].add_label(label_type, kind)
    return sentence


def entity_types(tags: Iterable[str]) -> list[str]:
    """The entity types of a tag dictionary (``B-person``, ``S-person`` → ``person``), in first-seen order;
    ``O`` and Flair's ``<unk>``, ``<START>``, ``<STOP>`` are not types."""
    found: dict[str, None] = {}
    for tag in tags:
        if tag in ("O", "<unk>", "<START>", "<STOP>"):
            continue
        found[tag[2:] if tag[:2] in ("B-", "I-", "E-", "S-") else tag] = None
    return list(found)
