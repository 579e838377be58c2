"""Spans predicted elsewhere, as the leak scorer reads them.

- JSON lines as ``flair-modernbert predict`` and the JavaScript export's ``node predict.mjs`` write them: one
  ``{"text": ..., "spans": [{"start", "end", "type", ...}, ...]}`` per gold document, in the same order. The line's
  text must equal the gold document's (offsets mean nothing on another text); a span may name its type
  ``entity_type`` instead (Presidio's ``RecognizerResult.to_dict()``).
- Presidio's ``RecognizerResult``\\ s (objects with ``entity_type``, ``start``, ``end``) or their dicts.
- ``(start, end, type)`` tuples and :class:`~flair_modernbert.redaction.spans.EntitySpan`\\ s.

Offsets are code points, as Python, Presidio and the JavaScript export count them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

logger = logging.getLogger(__name__)

__all__ = ["Span", "as_span", "as_spans", "read_predictions"]

#: ``(start, end, type)``, character offsets into the document's text.
Span = tuple[int, int, str]


def as_span(item: Any) -> Span:
    """One predicted span as ``(start, end, type)``.

    Args:
        item: a ``(start, end, type)`` sequence; a mapping with ``start``, ``end`` and ``type`` or ``entity_type``;
            an object with those attributes (``EntitySpan``, Presidio's ``RecognizerResult``).

    Raises:
        ValueError: none of these shapes, or offsets that are not integers.
    """
    if isinstance(item, dict):
        start, end, kind = item.get("start"), item.get("end"), item.get("type", item.get("entity_type"))
    elif isinstance(item, (tuple, list)) and len(item) >= 3:
        start, end, kind = item[0], item[1], item[2]
    else:
        start, end = getattr(item, "start", None), getattr(item, "end", None)
        kind = getattr(item, "type", None) or getattr(item, "entity_type", None)
    if isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int) or not isinstance(end, int) \
            or not isinstance(kind, str):
        raise ValueError(f"a predicted span needs integer start and end and a string type (or entity_type), got "
                         f"{item!r}")
    return start, end, kind


def as_spans(items: Iterable[Any]) -> list[Span]:
    """:func:`as_span` of each item, sorted by position."""
    return sorted(as_span(item) for item in items)


def read_predictions(path: Union[str, Path], documents: Sequence[Any]) -> list[list[Span]]:
    """The spans of a predictions file, one line per gold document, each line's text checked against its document.

    Args:
        path: JSON lines of ``{"text", "spans"}`` (``flair-modernbert predict`` or ``node predict.mjs`` output, run
            on the gold documents' texts in their order).
        documents: the gold documents (``text``; ``source`` and ``line`` when they have them, for messages).

    Returns:
        For each document, its predicted spans.

    Raises:
        ValueError: naming the file and line: not JSON, no ``text``/``spans``, a text that differs from its gold
            document (where it starts to differ), a bad span, or fewer or more lines than documents.
    """
    path = Path(path)
    found: list[list[Span]] = []
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            where = f"{path}, line {number}"
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                raise ValueError(f"{where}: not valid UTF-8 ({error.reason} at byte {error.start})") from None
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: not valid JSON ({error.msg}); expected one "
                                 '{"text": ..., "spans": [...]} per line') from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str) \
                    or not isinstance(record.get("spans"), list):
                raise ValueError(f'{where}: expected a JSON object with "text" (a string) and "spans" (a list)')
            if number > len(documents):
                raise ValueError(f"{where}: more prediction lines than gold documents ({len(documents)})")
            document = documents[number - 1]
            if record["text"] != document.text:
                raise ValueError(f"{where}: the text differs from {_gold_where(document, number)} "
                                 f"{_difference(record['text'], document.text)}; predict the gold texts in their order")
            try:
                found.append(as_spans(record["spans"]))
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
    if len(found) < len(documents):
        raise ValueError(f"{path}: {len(found)} lines, but there are {len(documents)} gold documents "
                         f"(line {len(found) + 1} is missing; {_gold_where(documents[len(found)], len(found) + 1)})")
    return found


def _gold_where(document: Any, number: int) -> str:
    source, line = getattr(document, "source", None), getattr(document, "line", None)
    return f"gold document {number} ({source}, line {line})" if source and line else f"gold document {number}"


def _difference(text: str, gold: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(text, gold)) if a != b), min(len(text), len(gold)))
    return f"at character {at}: {text[at:at + 20]!r} instead of {gold[at:at + 20]!r}"
