"""Tagging raw text with a trained model: entity spans with character offsets, and redaction.

Input is one document per line, either plain text or a JSON object with a ``"text"`` field (JSON lines; other
fields are passed through). Each document is split into sentences (Flair's segtok splitter) that keep their
document context, so a model trained with ``use_context`` sees the neighbouring sentences. Spans come back with
character offsets into the document line.

Redaction replaces the spans of chosen types with ``[TYPE]`` placeholders, right to left so offsets stay
valid, and can return the span map (what was replaced where) for an audited reversal.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator, Optional, Sequence

from flair.data import Sentence
from flair.splitter import SegtokSentenceSplitter

logger = logging.getLogger(__name__)


@dataclass
class EntitySpan:
    """One predicted entity in a document."""

    start: int
    end: int
    type: str
    text: str
    score: float


@dataclass
class Document:
    """A document line and what the tagger found in it."""

    text: str
    spans: list[EntitySpan]
    extra: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, "text": self.text, "spans": [asdict(s) for s in self.spans]}


def parse_line(line: str, line_number: int, source: str = "<input>", fmt: str = "auto") -> tuple[str, dict]:
    """Read one input line as plain text or as a JSON object with a ``"text"`` field.

    Args:
        line: the line, without its newline.
        line_number: 1-based, for error messages.
        source: file name for error messages.
        fmt: ``auto`` (JSON when the line starts with ``{``), ``text`` or ``jsonl``.

    Raises:
        ValueError: naming file and line for malformed JSON or a missing ``"text"``.
    """
    stripped = line.strip()
    if fmt == "text" or (fmt == "auto" and not stripped.startswith("{")):
        return line, {}
    try:
        record = json.loads(stripped)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}, line {line_number}: not valid JSON ({error.msg})") from error
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError(f'{source}, line {line_number}: a JSON line needs a string field "text"')
    text = record.pop("text")
    record.pop("spans", None)
    return text, record


def _type_matches(value: str, types: Optional[set[str]]) -> bool:
    return types is None or value.lower() in types


def tag_documents(
    tagger: Any,
    documents: Sequence[tuple[str, dict]],
    label_type: Optional[str] = None,
    types: Optional[Iterable[str]] = None,
    mini_batch_size: int = 32,
    progress: bool = False,
) -> list[Document]:
    """Predict entity spans for documents.

    Args:
        tagger: a Flair ``SequenceTagger``.
        documents: ``(text, extra_fields)`` pairs, as :func:`parse_line` returns them.
        label_type: the label to predict; the tagger's own by default.
        types: keep only these entity types (case-insensitive); all by default.
        mini_batch_size: sentences per forward pass.
        progress: show a progress bar (stderr).

    Returns:
        One :class:`Document` per input, spans sorted by position.
    """
    from tqdm import tqdm

    label_type = label_type or tagger.label_type
    wanted = {t.lower() for t in types} if types else None
    splitter = SegtokSentenceSplitter()
    results = []
    for text, extra in tqdm(documents, desc="tagging", unit="doc", disable=not progress):
        sentences: list[Sentence] = [s for s in splitter.split(text) if len(s) > 0] if text.strip() else []
        if sentences:
            tagger.predict(sentences, mini_batch_size=mini_batch_size, label_name=label_type)
        spans = []
        for sentence in sentences:
            offset = sentence.start_position
            for span in sentence.get_spans(label_type):
                label = span.get_label(label_type)
                if not _type_matches(label.value, wanted):
                    continue
                start, end = offset + span.start_position, offset + span.end_position
                spans.append(EntitySpan(start, end, label.value, text[start:end], round(float(label.score), 4)))
        results.append(Document(text, sorted(spans, key=lambda s: s.start), extra))
    return results


def redact(document: Document, placeholder: str = "[{type}]") -> tuple[str, list[dict[str, Any]]]:
    """Replace a document's spans with placeholders.

    Args:
        document: a tagged document.
        placeholder: format string with ``{type}`` (and optionally ``{index}``, the span's number).

    Returns:
        The redacted text and the span map: one entry per replaced span with the original text, its
        offsets in the original, the placeholder and the placeholder's offsets in the redacted text.
    """
    pieces, mapping, cursor, shift = [], [], 0, 0
    for index, span in enumerate(document.spans):
        if span.start < cursor:  # overlapping spans: the earlier one already covers this text
            continue
        mask = placeholder.format(type=span.type.upper(), index=index)
        pieces.append(document.text[cursor : span.start])
        new_start = span.start + shift
        pieces.append(mask)
        mapping.append(
            {
                "placeholder": mask,
                "type": span.type,
                "text": span.text,
                "start": span.start,
                "end": span.end,
                "redacted_start": new_start,
                "redacted_end": new_start + len(mask),
            }
        )
        shift += len(mask) - (span.end - span.start)
        cursor = span.end
    pieces.append(document.text[cursor:])
    return "".join(pieces), mapping


def read_documents(lines: Iterable[str], source: str = "<input>", fmt: str = "auto") -> Iterator[tuple[str, dict]]:
    """Parse input lines (see :func:`parse_line`); blank lines are kept as empty documents."""
    for number, line in enumerate(lines, start=1):
        yield parse_line(line.rstrip("\n").rstrip("\r"), number, source, fmt)
