"""Span-annotated text: reading the formats people annotate in, and labelling Flair sentences from it.

A record is a text with entity spans given as character offsets (Unicode code points, ``end`` exclusive), read
into a :class:`SpanDocument`. Formats (docs/corpora.md):

* ``jsonl`` -- our JSON lines ``{"text", "spans": [{"start", "end", "type"}]}``, exactly what
  ``flair-modernbert predict`` writes (other keys of a span, such as ``text`` and ``score``, are ignored; a
  span's ``text``, when given, must match the text).
* ``doccano`` -- doccano's JSONL: ``{"text", "label": [[start, end, "TYPE"], ...]}`` (older exports:
  ``"labels"``), or the entity form ``{"text", "entities": [{"start_offset", "end_offset", "label"}]}``.
* ``label_studio`` -- Label Studio's JSON export (an array of tasks: ``data.text`` or the first string field
  of ``data``; spans from ``annotations[i].result[*].value.{start, end, labels[0]}`` of the first annotation
  that was not cancelled), or its JSON-MIN export (flat records with the text and a list of
  ``{start, end, labels}``).
* ``presidio`` -- presidio-evaluator's dataset JSON (an array of ``InputSample`` dicts: ``full_text`` and
  ``spans: [{entity_type, entity_value, start_position, end_position}]``).

Records of JSON lines are numbered by their line; records of a JSON array by their position (1-based), which
error messages call ``record N``. Every problem (bad JSON, missing text, offsets outside the text, overlapping
gold spans, a span whose given text differs from the text at its offsets) names the file and line or record.

:func:`sentences_from_span_documents` splits each text with the one segmentation rule
(:mod:`flair_modernbert.segmentation`, as ``predict`` does) and labels the words through the one span/tag
converter (:mod:`flair_modernbert.tags`).
"""

from __future__ import annotations

import json
import logging
from bisect import bisect_left, bisect_right
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from flair.data import Sentence

from flair_modernbert.config.schema import SPAN_ALIGNMENTS, SPAN_FILE_FORMATS, canonical_type
from flair_modernbert.data.columns import CorpusFormatError
from flair_modernbert.segmentation import sentences as split_sentences
from flair_modernbert.tags import add_spans, tags_from_spans

logger = logging.getLogger(__name__)

__all__ = [
    "SPAN_FORMATS",
    "ALIGNMENTS",
    "CharSpan",
    "SpanDocument",
    "read_span_documents",
    "write_span_documents",
    "detect_format",
    "sentences_from_span_documents",
]

#: The span formats :func:`read_span_documents` reads (``format="auto"`` picks one per file).
SPAN_FORMATS = tuple(name for name in SPAN_FILE_FORMATS if name != "auto")
#: What a span whose edges fall inside a word does: widen it to whole words (and warn), or stop.
ALIGNMENTS = SPAN_ALIGNMENTS

#: ``(start, end_exclusive, type)`` in code points of the text
CharSpan = tuple[int, int, str]

_LINE_FORMATS = ("jsonl", "doccano")
_ARRAY_FORMATS = ("label_studio", "presidio")
_LINE_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
#: individual warnings logged per kind and call; the rest are counted in the summary
_SHOWN_WARNINGS = 10
#: JSON-MIN fields that hold strings but are not the text
_LABEL_STUDIO_META = {"annotator", "created_at", "updated_at", "annotation_id", "id", "lead_time"}


@dataclass(frozen=True)
class SpanDocument:
    """One annotated text.

    Attributes:
        text: the text.
        spans: ``(start, end, type)`` character spans (code points, ``end`` exclusive), sorted, not overlapping.
        source: the file the record came from (a name such as ``synthetic:train`` for generated records).
        line: the record's 1-based line in a JSON-lines file; in a JSON array (Label Studio, presidio), the
            record's position (index + 1).
    """

    text: str
    spans: tuple[CharSpan, ...] = ()
    source: str = "<memory>"
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The record as our JSON lines hold it (what ``predict`` writes, with each span's text)."""
        return {
            "text": self.text,
            "spans": [{"start": s, "end": e, "type": t, "text": self.text[s:e]} for s, e, t in self.spans],
        }


# ------------------------------------------------------------------------------------------------ checks
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _utf16_to_code_points(text: str, offset: int) -> Optional[int]:
    """The code-point index of a UTF-16 offset (what JavaScript annotation tools count), if it falls on one."""
    units = 0
    for index, char in enumerate(text):
        if units == offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text) if units == offset else None


class _Problems:
    """Problems of one file, as ``(line, message)`` pairs for :class:`CorpusFormatError`."""

    def __init__(self, path: str, what: str, unit: Optional[str]) -> None:
        self.path, self.what, self.unit = path, what, unit
        self.items: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.items.append((line, message))

    def raise_any(self) -> None:
        if self.items:
            raise CorpusFormatError(self.path, self.items, what=self.what, unit=self.unit)


def _check_spans(
    text: str, raw: list[tuple[Any, Any, Any, Optional[str]]], line: int, problems: _Problems
) -> tuple[CharSpan, ...]:
    """Checked, sorted spans of one record; problems are added, bad spans left out (the file then fails)."""
    spans: list[CharSpan] = []
    bad = False
    utf16 = False
    for start, end, kind, given in raw:
        shown = f"span ({start!r}, {end!r}, {kind!r})"
        if not _is_int(start) or not _is_int(end):
            problems.add(line, f"{shown}: start and end must be integers")
            bad = True
            continue
        if not isinstance(kind, str) or not kind.strip():
            problems.add(line, f"{shown}: the type must be a non-empty string")
            bad = True
            continue
        if given is not None and 0 <= start < end and text[start:end] != given:
            # tools written in JavaScript count UTF-16 units: accept their offsets when they give the same text
            # (checked first: a UTF-16 end can lie past the text's length in code points)
            first, last = _utf16_to_code_points(text, start), _utf16_to_code_points(text, end)
            if first is not None and last is not None and first < last and text[first:last] == given:
                start, end, utf16 = first, last, True
        if start < 0 or start >= end or end > len(text):
            problems.add(line, f"{shown}: offsets must satisfy 0 <= start < end <= {len(text)} (the text's length "
                               "in code points)")
            bad = True
            continue
        if given is not None and text[start:end] != given:
            problems.add(line, f"{shown}: the text at these offsets is {text[start:end]!r}, the span says {given!r}")
            bad = True
            continue
        spans.append((start, end, kind))
    if utf16:
        logger.warning("%s:%d: offsets count UTF-16 units (JavaScript); read as code points", problems.path, line)
    if bad:
        return ()
    spans.sort(key=lambda span: (span[0], span[1]))
    kept: list[CharSpan] = []
    for span in spans:
        if kept and span == kept[-1]:
            logger.warning("%s:%d: span %s is given twice; kept once", problems.path, line, span)
            continue
        if kept and span[0] < kept[-1][1]:
            previous = kept[-1]
            problems.add(line, f"overlapping gold spans {previous} {text[previous[0]:previous[1]]!r} and {span} "
                               f"{text[span[0]:span[1]]!r}: a word carries one tag, so spans must not overlap")
            continue
        kept.append(span)
    return tuple(kept)


# ------------------------------------------------------------------------------------------------ JSON lines
def _record_format(record: Mapping[str, Any]) -> Optional[str]:
    if "spans" in record and "full_text" not in record:
        return "jsonl"
    if any(key in record for key in ("label", "labels", "entities")):
        return "doccano"
    if isinstance(record.get("text"), str):
        return "jsonl"  # a text without annotations: no spans
    return None


def _line_record(record: Any, fmt: str, line: int, problems: _Problems) -> Optional[SpanDocument]:
    if not isinstance(record, dict):
        problems.add(line, f"expected a JSON object with a \"text\" field, got {type(record).__name__}")
        return None
    text = record.get("text")
    if fmt == "doccano" and text is None and isinstance(record.get("data"), str):
        text = record["data"]  # doccano 1.x exports
    if not isinstance(text, str):
        problems.add(line, 'missing the string field "text"')
        return None
    raw: list[tuple[Any, Any, Any, Optional[str]]] = []
    other = _record_format(record)
    if other not in (fmt, None) and not (fmt == "doccano" and other == "jsonl" and "spans" not in record):
        # spans under the other format's key would otherwise be read as none
        problems.add(line, f"the record holds {other} spans ({', '.join(repr(k) for k in record if k != 'text')}), "
                           f"not {fmt}; set the format to auto or {other}")
        return None
    if fmt == "jsonl":
        spans = record.get("spans", [])
        if not isinstance(spans, list):
            problems.add(line, '"spans" must be a list of {"start", "end", "type"}')
            return None
        for span in spans:
            if not isinstance(span, dict) or not {"start", "end", "type"} <= set(span):
                problems.add(line, f'each span needs "start", "end" and "type"; got {span!r}')
                return None
            given = span.get("text")
            raw.append((span["start"], span["end"], span["type"], given if isinstance(given, str) else None))
    else:
        key = next((k for k in ("label", "labels", "entities") if k in record), None)
        items = record.get(key, []) if key else []
        if not isinstance(items, list):
            problems.add(line, f'"{key}" must be a list of spans')
            return None
        for item in items:
            if key == "entities" and isinstance(item, dict) and {"start_offset", "end_offset", "label"} <= set(item):
                raw.append((item["start_offset"], item["end_offset"], item["label"], None))
            elif isinstance(item, (list, tuple)) and len(item) == 3:
                raw.append((item[0], item[1], item[2], None))
            else:
                form = ('{"start_offset", "end_offset", "label"}' if key == "entities" else "[start, end, \"TYPE\"]")
                problems.add(line, f'each entry of "{key}" must be {form}; got {item!r} (a text-classification '
                                   "export has no spans)")
                return None
    return SpanDocument(text, _check_spans(text, raw, line, problems), problems.path, line)


def _read_lines(path: Path, fmt: str, content: str) -> list[SpanDocument]:
    problems = _Problems(str(path), "span file" if fmt == "auto" else f"{fmt} file", None)
    documents = []
    for number, line in enumerate(content.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            problems.add(number, f"not valid JSON ({error.msg} at column {error.colno})")
            continue
        kind = fmt
        if fmt == "auto":
            kind = _record_format(record) if isinstance(record, dict) else "jsonl"
            if kind is None:
                problems.add(number, 'a JSON line needs a string field "text" and its spans ("spans": our JSON '
                                     'lines; "label"/"labels"/"entities": doccano)')
                continue
        document = _line_record(record, kind, number, problems)
        if document is not None:
            documents.append(document)
    problems.raise_any()
    return documents


# ------------------------------------------------------------------------------------------------ JSON arrays
def _label_studio_text(data: Mapping[str, Any]) -> Optional[str]:
    if isinstance(data.get("text"), str):
        return data["text"]
    return next((v for k, v in data.items() if isinstance(v, str) and k not in _LABEL_STUDIO_META), None)


def _label_studio_region(value: Mapping[str, Any]) -> Optional[tuple[Any, Any, Any, Optional[str]]]:
    labels = value.get("labels") or value.get("hypertextlabels")
    if "start" not in value or "end" not in value or not isinstance(labels, list) or not labels:
        return None
    given = value.get("text")
    return value["start"], value["end"], labels[0], given if isinstance(given, str) else None


def _label_studio_record(record: Any, number: int, problems: _Problems, skipped: Counter) -> Optional[SpanDocument]:
    if not isinstance(record, dict):
        problems.add(number, f"expected a task object, got {type(record).__name__}")
        return None
    raw = []
    if isinstance(record.get("data"), dict):  # the full JSON export
        text = _label_studio_text(record["data"])
        annotations = record.get("annotations") or record.get("completions") or []
        chosen = next((a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")), None)
        if chosen is None:
            skipped["tasks without an annotation (or only cancelled ones)"] += 1
            return None
        results = chosen.get("result") or []
        for result in results:
            region = _label_studio_region(result.get("value") or {}) if isinstance(result, dict) else None
            if region is None:
                skipped["results that are not text spans (choices, relations, ...)"] += 1
                continue
            raw.append(region)
    else:  # JSON-MIN: the data fields and, under the labelling tag's name, a list of regions
        text = _label_studio_text(record)
        for value in record.values():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                regions = [_label_studio_region(v) for v in value]
                raw += [region for region in regions if region is not None]
    if not isinstance(text, str):
        problems.add(number, "no text: a task needs data.text (or a string field in data)")
        return None
    return SpanDocument(text, _check_spans(text, raw, number, problems), problems.path, number)


def _presidio_record(record: Any, number: int, problems: _Problems) -> Optional[SpanDocument]:
    if not isinstance(record, dict):
        problems.add(number, f"expected an InputSample object, got {type(record).__name__}")
        return None
    text = record.get("full_text")
    if not isinstance(text, str):
        problems.add(number, 'missing the string field "full_text"')
        return None
    raw = []
    for span in record.get("spans") or []:
        needed = {"entity_type", "start_position", "end_position"}
        if not isinstance(span, dict) or not needed <= set(span):
            problems.add(number, f"each span needs entity_type, start_position and end_position; got {span!r}")
            return None
        given = span.get("entity_value")
        raw.append((span["start_position"], span["end_position"], span["entity_type"],
                    given if isinstance(given, str) else None))
    return SpanDocument(text, _check_spans(text, raw, number, problems), problems.path, number)


def _array_format(records: list[Any]) -> Optional[str]:
    for record in records:
        if not isinstance(record, dict):
            continue
        if "full_text" in record:
            return "presidio"
        if isinstance(record.get("data"), dict) or "annotations" in record:
            return "label_studio"
        if any(isinstance(v, list) and v and all(isinstance(i, dict) and "labels" in i for i in v)
               for v in record.values()):
            return "label_studio"  # JSON-MIN
        # a JSON-MIN task without regions tells nothing: look at the next one
    return None


def _read_array(path: Path, fmt: str, records: list[Any]) -> list[SpanDocument]:
    if fmt == "auto":
        fmt = _array_format(records) or ""
        if not fmt:
            raise CorpusFormatError(str(path), [(0, _unknown(path))], what="span file")
    problems = _Problems(str(path), f"{fmt} file (records are numbered from 1 in the JSON array)", "record")
    skipped: Counter = Counter()
    documents = []
    for number, record in enumerate(records, start=1):
        if fmt == "presidio":
            document = _presidio_record(record, number, problems)
        else:
            document = _label_studio_record(record, number, problems, skipped)
        if document is not None:
            documents.append(document)
    problems.raise_any()
    for what, count in skipped.items():
        logger.warning("%s: %d %s skipped", path, count, what)
    return documents


# ------------------------------------------------------------------------------------------------ public API
def _unknown(path: Path) -> str:
    return (f"cannot tell the span format of {path}: expected JSON lines with \"text\" and \"spans\" (our format) or "
            "\"label\"/\"labels\"/\"entities\" (doccano), or a JSON array of Label Studio tasks or presidio-evaluator "
            f"samples; set the format explicitly (one of {', '.join(SPAN_FORMATS)})")


def detect_format(path: Union[str, os.PathLike]) -> str:
    """The span format of a file, by its extension and content (see the module docstring).

    Raises:
        CorpusFormatError: the file is in none of :data:`SPAN_FORMATS` (the file is named).
    """
    file = Path(path)
    content = file.read_text(encoding="utf-8")
    stripped = content.lstrip("\ufeff \t\r\n")
    if stripped.startswith("[") and file.suffix.lower() not in _LINE_SUFFIXES:
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise CorpusFormatError(str(file), [(error.lineno, f"not valid JSON ({error.msg})")], "span file") from None
        found = _array_format(records) if isinstance(records, list) else None
    else:
        first = next((line for line in stripped.split("\n") if line.strip()), "")
        try:
            record = json.loads(first)
        except json.JSONDecodeError:
            record = None
        found = _record_format(record) if isinstance(record, dict) else None
    if found is None:
        raise CorpusFormatError(str(file), [(0, _unknown(file))], what="span file")
    return found


def read_span_documents(path: Union[str, os.PathLike], format: str = "auto") -> list[SpanDocument]:
    """Read a span-annotated file into documents.

    Args:
        path: the file (UTF-8).
        format: one of :data:`SPAN_FORMATS`, or ``auto``: a JSON array is Label Studio or presidio (by its
            records' keys); otherwise JSON lines, each record read as ours (``"spans"``) or doccano's
            (``"label"``, ``"labels"``, ``"entities"``).

    Returns:
        The documents in file order, spans checked and sorted.

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown ``format``.
        CorpusFormatError: bad JSON, a missing text, offsets outside the text (or ``start >= end``), overlapping
            gold spans, a span whose given text differs from the text, or a file in no known format; the message
            names the file and the line (JSON lines) or record (JSON arrays).
    """
    if format not in ("auto", *SPAN_FORMATS):
        raise ValueError(f"format: expected auto or one of {', '.join(SPAN_FORMATS)}, got {format!r}")
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such span file")
    try:
        content = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = file.read_bytes()[: error.start].count(b"\n") + 1
        raise CorpusFormatError(str(file), [(line, f"not valid UTF-8 ({error.reason})")], "span file") from None
    content = content.lstrip("\ufeff")
    if format == "auto" and content.strip() and not content.lstrip().startswith(("[", "{")):
        raise CorpusFormatError(str(file), [(0, _unknown(file))], what="span file")
    is_array = content.lstrip().startswith("[") and file.suffix.lower() not in _LINE_SUFFIXES
    if format in _ARRAY_FORMATS or (format == "auto" and is_array):
        try:
            records = json.loads(content)
        except json.JSONDecodeError as error:
            raise CorpusFormatError(str(file), [(error.lineno, f"not valid JSON ({error.msg} at column {error.colno})")],
                                    what=f"{format} file" if format != "auto" else "span file") from None
        if not isinstance(records, list):
            raise CorpusFormatError(str(file), [(0, f"expected a JSON array of records, got {type(records).__name__}")],
                                    what=f"{format} file")
        documents = _read_array(file, format, records)
    else:
        documents = _read_lines(file, format, content)
    logger.info("%s: %d documents, %d spans", file, len(documents), sum(len(d.spans) for d in documents))
    return documents


def write_span_documents(
    documents: Iterable[Union[SpanDocument, Mapping[str, Any]]], path: Union[str, os.PathLike]
) -> Path:
    """Write documents as our JSON lines (``{"text", "spans": [{"start", "end", "type", "text"}]}``), one per line.

    Args:
        documents: :class:`SpanDocument` objects, or dicts with ``text`` and ``spans`` (as ``predict`` writes
            them or :func:`flair_modernbert.synthetic.generate_records` yields them; other keys are kept).
        path: the file to write (its folder is created).

    Returns:
        The file written.
    """
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("w", encoding="utf-8", newline="\n") as out:
        for document in documents:
            if isinstance(document, SpanDocument):
                record = document.to_dict()
            else:
                record = dict(document)
                text = record["text"]
                record["spans"] = [
                    {**span, "start": span["start"], "end": span["end"], "type": span["type"],
                     "text": text[span["start"]:span["end"]]}
                    for span in record.get("spans", [])
                ]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return file


# ------------------------------------------------------------------------------------------------ sentences
class _Report:
    """Counts and the first few warnings of one conversion."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def warn(self, kind: str, message: str, *args: Any) -> None:
        self.counts[kind] += 1
        if self.counts[kind] <= _SHOWN_WARNINGS:
            logger.warning(message, *args)


def renamed_type(kind: str, label_map: Optional[Mapping[str, Optional[str]]], canonical: bool) -> Optional[str]:
    """A type after ``label_map`` (``None`` or ``"O"``: dropped, returned as ``None``) and, with ``canonical``,
    its canonical name from ``rules.json``'s type groups: the one renaming rule of every corpus."""
    if label_map and kind in label_map:
        mapped = label_map[kind]
        kind = None if mapped is None or mapped == "O" else mapped
    if kind is not None and canonical:
        kind = canonical_type(kind) or kind
    return kind


def sentences_from_span_documents(
    documents: Iterable[SpanDocument],
    label_type: str = "ner",
    alignment: str = "expand",
    label_map: Optional[Mapping[str, Optional[str]]] = None,
    canonical_types: bool = False,
) -> list[Sentence]:
    """Flair sentences labelled with the documents' spans.

    Each text is split into sentences and words by :func:`flair_modernbert.segmentation.sentences` (the rule
    ``predict`` uses, so training sees the words the model will see), and each span becomes a span label over
    the words it covers (through :func:`flair_modernbert.tags.tags_from_spans`, which checks them, and
    :func:`~flair_modernbert.tags.add_spans`). The sentences of one document are linked as Flair context.

    * A span whose edges fall inside a word: ``alignment="expand"`` widens it to the whole words (a warning
      names file and line); ``"error"`` raises.
    * A span over separators only (white space, invisible characters) covers no word: reported with file and
      line and left out (``"error"``: raised).
    * A span across a sentence boundary is split into one span per sentence (logged).
    * Spans that widen into the same word are an error (a word carries one tag).

    Args:
        documents: the documents (e.g. from :func:`read_span_documents`).
        label_type: the label layer of the spans. Default ``ner``.
        alignment: ``expand`` (default) or ``error``.
        label_map: type -> new type; ``None`` or ``"O"`` drops the type's spans (on purpose, so not reported).
        canonical_types: after ``label_map``, rename types known to ``rules.json``'s ``type_groups`` to their
            canonical names (``PER`` -> ``person``).

    Returns:
        The sentences of all documents, in order; documents without words give none.

    Raises:
        ValueError: an unknown ``alignment``.
        CorpusFormatError: misaligned spans with ``alignment="error"``, spans sharing a word, or a type that
            cannot be a tag (file and line named).
    """
    if alignment not in ALIGNMENTS:
        raise ValueError(f"alignment: expected one of {', '.join(ALIGNMENTS)}, got {alignment!r}")
    report = _Report()
    problems: dict[str, list[tuple[int, str]]] = {}
    result: list[Sentence] = []
    count = 0
    for document in documents:
        count += 1
        where = f"{document.source}:{document.line}"
        groups = split_sentences(document.text)
        per_sentence: list[list[tuple[int, int, str]]] = [[] for _ in groups]
        located = [(index, position, word) for index, group in enumerate(groups) for position, word in enumerate(group)]
        starts = [word.start for _, _, word in located]
        ends = [word.end for _, _, word in located]
        for start, end, kind in document.spans:
            new_kind = renamed_type(kind, label_map, canonical_types)
            if new_kind is None:
                report.counts["dropped by label_map"] += 1
                continue
            shown = f"({start}, {end}, {kind!r}) {document.text[start:end]!r}"
            # the words that share a character with the span: ends after its start, starts before its end
            covered = located[bisect_right(ends, start) : bisect_left(starts, end)]
            if not covered:
                if alignment == "error":
                    problems.setdefault(document.source, []).append(
                        (document.line, f"span {shown} covers no word (only separators)"))
                else:
                    report.warn("covering no word", "%s: span %s covers no word (only separators); left out",
                                where, shown)
                continue
            first, last = covered[0][2], covered[-1][2]
            if first.start < start or last.end > end:
                widened = f"{document.text[first.start:last.end]!r}"
                if alignment == "error":
                    problems.setdefault(document.source, []).append(
                        (document.line, f"span {shown} does not fall on word boundaries (the words are {widened}); "
                                        "fix the offsets or set alignment: expand"))
                    continue
                report.warn("widened to word boundaries", "%s: span %s does not fall on word boundaries; widened to "
                            "%s", where, shown, widened)
            sentence_indices = sorted({i for i, _, _ in covered})
            if len(sentence_indices) > 1:
                report.warn("split at sentence boundaries", "%s: span %s crosses %d sentences; split into one span "
                            "per sentence", where, shown, len(sentence_indices))
            for index in sentence_indices:
                positions = [p for i, p, _ in covered if i == index]
                per_sentence[index].append((positions[0], positions[-1] + 1, new_kind))
        sentences = []
        for group, spans in zip(groups, per_sentence):
            spans.sort()
            try:
                tags_from_spans(len(group), spans)
            except ValueError as error:
                problems.setdefault(document.source, []).append(
                    (document.line, f"{error} in the sentence {' '.join(w.text for w in group)!r} (spans widened "
                                    "to whole words may share a word; a word carries one tag)"))
                continue
            sentences.append(add_spans(Sentence([word.text for word in group]), spans, label_type))
            report.counts["spans"] += len(spans)
        Sentence.set_context_for_sentences(sentences)
        result += sentences
    for source, found in problems.items():
        raise CorpusFormatError(source, found, what="span file")
    summary = ", ".join(f"{n} {kind}" for kind, n in report.counts.items() if kind != "spans")
    warned = any(kind not in ("spans", "dropped by label_map") for kind in report.counts)
    # a summary of repairs is a warning too: the individual warnings stop after the first few
    logger.log(logging.WARNING if warned else logging.INFO, "%d documents -> %d sentences with %d spans%s", count,
               len(result), report.counts["spans"], f" ({summary})" if summary else "")
    return result
