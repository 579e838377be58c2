"""Tagging raw text with a trained model: entity spans with exact character offsets, and redaction.

Input is one document per line: plain text, or a JSON object with a ``"text"`` field (other fields are passed
through). Lines end at ``\\n`` only (a ``\\r\\n`` ending loses its ``\\r``; a lone ``\\r`` stays inside the line),
so output lines stay 1:1 with input lines. A JSON line gives a JSON line back, always.

Each document is split into sentences and words by :mod:`flair_modernbert.segmentation`; spans come back
with offsets into the document (``text[start:end] == span.text``, whatever Unicode it holds). With
``unit="document"`` a line is tagged as one sequence (long ones in the encoder's overlapping windows).

Documents are read, tagged and written in chunks (:func:`stream_documents`): the sentences of many lines go
through the tagger together, one packed forward per ``mini_batch_size`` sentences, and memory stays flat
whatever the input size.

Redaction replaces the spans of chosen types with placeholders and returns the span map (what was
replaced where), so a redaction can be audited or reversed locally. Loading a model never runs code from
the file (:func:`load_tagger`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO, Iterable, Iterator, Optional, Sequence

from flair_modernbert.segmentation import Word, sentences as split_sentences, words as split_words
from flair_modernbert.tagging.loading import load_tagger

logger = logging.getLogger(__name__)

__all__ = [
    "EntitySpan",
    "Document",
    "InputError",
    "load_tagger",
    "read_lines",
    "parse_line",
    "model_types",
    "resolve_types",
    "check_placeholder",
    "tag_documents",
    "stream_documents",
    "redact",
]

#: Common names of entity types, for ``--types`` when the model's own names differ (``PER`` -> ``person``).
TYPE_ALIASES = {
    "per": ("person", "persons", "people", "per"),
    "loc": ("location", "loc", "gpe"),
    "org": ("organization", "organisation", "org", "corporation"),
    "misc": ("miscellaneous", "misc"),
}


class InputError(ValueError):
    """An input line cannot be read; the message names the source and the line."""


@dataclass
class EntitySpan:
    """One predicted entity in a document: ``text[start:end]``."""

    start: int
    end: int
    type: str
    text: str
    score: float


@dataclass
class Document:
    """A document line and what the tagger found in it.

    Attributes:
        text: the document.
        spans: its entity spans, by position.
        extra: the other fields of a JSON line.
        json: whether the line was JSON (the output line is JSON too).
        units: the words of each sequence the tagger sees (sentences, or the whole document), once segmented.
    """

    text: str
    spans: list[EntitySpan] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    json: bool = False
    units: Optional[list[list[Word]]] = field(default=None, repr=False, compare=False)

    def segment(self, unit: str = "sentence") -> list[list[Word]]:
        """The words of each sequence to tag: the sentences, or (``unit="document"``) all words as one."""
        if self.units is None:
            if unit == "document":
                found = split_words(self.text)
                self.units = [found] if found else []
            else:
                self.units = split_sentences(self.text)
        return self.units

    def to_json(self) -> dict[str, Any]:
        """What ``predict`` prints for the document."""
        return {**self.extra, "text": self.text, "spans": [asdict(span) for span in self.spans]}


# ------------------------------------------------------------------------------------------------ input
def read_lines(stream: BinaryIO, source: str = "<input>") -> Iterator[tuple[int, str]]:
    """Numbered lines of a byte stream, split at ``\\n`` only and decoded as UTF-8.

    Raises:
        InputError: a line that is not UTF-8 (source and line named).
    """
    for number, raw in enumerate(stream, start=1):
        if raw.endswith(b"\n"):
            raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(f"{source}, line {number}: not valid UTF-8 ({error.reason} at byte {error.start})") from None


def parse_line(line: str, line_number: int, source: str = "<input>", fmt: str = "auto") -> Document:
    """Read one input line as plain text or as a JSON object with a ``"text"`` field.

    Args:
        line: the line, without its line ending.
        line_number: 1-based, for error messages.
        source: file name for error messages.
        fmt: ``auto`` (JSON when the line starts with ``{``), ``text`` or ``jsonl``.

    Raises:
        InputError: naming source and line for malformed JSON or a missing ``"text"``.
    """
    stripped = line.strip()
    if fmt == "text" or (fmt == "auto" and not stripped.startswith("{")):
        return Document(line)
    try:
        record = json.loads(stripped)
    except json.JSONDecodeError as error:
        raise InputError(f"{source}, line {line_number}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise InputError(f'{source}, line {line_number}: a JSON line needs a string field "text"')
    text = record.pop("text")
    record.pop("spans", None)
    return Document(text, extra=record, json=True)


# ------------------------------------------------------------------------------------------------ types
def model_types(tagger: Any) -> list[str]:
    """The entity types a tagger predicts (``person``, ``location``, ...), in its dictionary's order."""
    found: list[str] = []
    for tag in tagger.label_dictionary.get_items():
        if tag in ("O", "<unk>", "<START>", "<STOP>"):
            continue
        kind = tag[2:] if tag[:2] in ("B-", "I-", "E-", "S-") else tag
        if kind not in found:
            found.append(kind)
    return found


def resolve_types(tagger: Any, requested: Optional[Iterable[str]]) -> Optional[set[str]]:
    """The model's types that ``--types`` names: case-insensitive, with common aliases (``PER`` -> ``person``).

    Returns:
        The model's type names, or ``None`` for all types.

    Raises:
        ValueError: a requested type the model does not predict (its types are listed).
    """
    if not requested:
        return None
    known = model_types(tagger)
    by_folded = {kind.casefold(): kind for kind in known}
    chosen: set[str] = set()
    for name in requested:
        folded = name.strip().casefold()
        if folded in by_folded:
            chosen.add(by_folded[folded])
            continue
        group = next((names for key, names in TYPE_ALIASES.items() if folded == key or folded in names), ())
        matches = [by_folded[alias] for alias in group if alias in by_folded]
        if not matches:
            raise ValueError(
                f"--types: {name.strip()!r} is not an entity type of this model; its types are: {', '.join(known)}"
            )
        logger.warning("--types: %r is read as the model's %s", name.strip(), ", ".join(repr(m) for m in matches))
        chosen.update(matches)
    return chosen


def check_placeholder(placeholder: str) -> str:
    """Check a redaction placeholder before any text is tagged.

    Raises:
        ValueError: the placeholder names a field other than ``{type}`` and ``{index}``, or is malformed.
    """
    try:
        placeholder.format(type="PERSON", index=0)
    except (KeyError, IndexError, ValueError, AttributeError) as error:
        raise ValueError(
            f"--placeholder {placeholder!r}: {type(error).__name__} {error}; a placeholder may use {{type}} and "
            "{index} only (write {{ and }} for literal braces)"
        ) from None
    return placeholder


# ------------------------------------------------------------------------------------------------ tagging
def _flair_sentences(document: Document, unit: str) -> tuple[list[Any], list[list[Word]]]:
    from flair.data import Sentence

    groups = document.segment(unit)
    sentences = [Sentence([word.text for word in group]) for group in groups]
    # context stays inside the document: a line's sentences are linked to each other and to nothing else (a
    # sentence left unlinked would be chained to its batch neighbours, i.e. other lines, by Flair's predict)
    Sentence.set_context_for_sentences(sentences)
    return sentences, groups


def tag_documents(
    tagger: Any,
    documents: Sequence[Document],
    types: Optional[set[str]] = None,
    mini_batch_size: int = 32,
    unit: str = "sentence",
) -> list[Document]:
    """Predict the entity spans of documents, all their sentences in one ``predict`` call.

    Args:
        tagger: a Flair ``SequenceTagger``.
        documents: documents as :func:`parse_line` returns them (their ``spans`` are filled in).
        types: keep only these of the model's types (:func:`resolve_types`); all by default.
        mini_batch_size: sentences per forward pass.
        unit: ``sentence`` (split each document into sentences) or ``document`` (one sequence per document).

    Returns:
        ``documents``, each with its spans sorted by position.
    """
    if unit not in ("sentence", "document"):
        raise ValueError(f"unit: expected 'sentence' or 'document', got {unit!r}")
    label_type = tagger.label_type
    prepared = [_flair_sentences(document, unit) for document in documents]
    flat = [sentence for sentences, _ in prepared for sentence in sentences]
    if flat:
        tagger.predict(flat, mini_batch_size=mini_batch_size, label_name=label_type)
    for document, (sentences, groups) in zip(documents, prepared):
        spans = []
        for sentence, group in zip(sentences, groups):
            for span in sentence.get_spans(label_type):
                label = span.get_label(label_type)
                if types is not None and label.value not in types:
                    continue
                first, last = group[span.tokens[0].idx - 1], group[span.tokens[-1].idx - 1]
                text = document.text[first.start : last.end]
                spans.append(EntitySpan(first.start, last.end, label.value, text, round(float(label.score), 4)))
        document.spans = sorted(spans, key=lambda s: s.start)
    return documents


def stream_documents(
    tagger: Any,
    lines: Iterable[tuple[int, str]],
    source: str = "<input>",
    fmt: str = "auto",
    types: Optional[set[str]] = None,
    mini_batch_size: int = 32,
    unit: str = "sentence",
    chunk_sentences: Optional[int] = None,
) -> Iterator[Document]:
    """Tag numbered input lines chunk by chunk and yield one document per line, in order.

    A chunk holds the lines whose sentences reach ``chunk_sentences`` (default ``8 * mini_batch_size``): it is
    tagged with one ``predict`` call, so batches are full whatever the line lengths, and memory does not grow
    with the input.
    """
    limit = chunk_sentences or 8 * mini_batch_size
    chunk: list[Document] = []
    pending = 0
    for number, line in lines:
        document = parse_line(line, number, source, fmt)
        chunk.append(document)
        pending += max(1, len(document.segment(unit)))
        if pending >= limit:
            yield from tag_documents(tagger, chunk, types, mini_batch_size, unit)
            chunk, pending = [], 0
    if chunk:
        yield from tag_documents(tagger, chunk, types, mini_batch_size, unit)


# ------------------------------------------------------------------------------------------------ redaction
def redact(document: Document, placeholder: str = "[{type}]") -> tuple[str, list[dict[str, Any]]]:
    """Replace a document's spans with placeholders.

    Args:
        document: a tagged document.
        placeholder: format string with ``{type}`` (upper-cased type) and optionally ``{index}`` (the span's
            number in the document).

    Returns:
        The redacted text and the span map: per replaced span its original text and offsets, the
        placeholder and the placeholder's offsets in the redacted text.
    """
    pieces, mapping, cursor, shift = [], [], 0, 0
    for index, span in enumerate(document.spans):
        if span.start < cursor:  # overlapping spans: the earlier one already covers this text
            continue
        mask = placeholder.format(type=span.type.upper(), index=index)
        pieces.append(document.text[cursor : span.start])
        new_start = span.start + shift
        pieces.append(mask)
        mapping.append({
            "placeholder": mask,
            "type": span.type,
            "text": span.text,
            "start": span.start,
            "end": span.end,
            "redacted_start": new_start,
            "redacted_end": new_start + len(mask),
        })
        shift += len(mask) - (span.end - span.start)
        cursor = span.end
    pieces.append(document.text[cursor:])
    return "".join(pieces), mapping
