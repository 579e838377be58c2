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

Structured PII (e-mail, phone, URL, IP, card, IBAN) is found next to the model's spans by the patterns of
:mod:`flair_modernbert.redaction` when ``types`` asks for it; overlapping spans are merged (docs/redaction.md).
Redaction replaces the spans with one numbered placeholder per entity and returns what was replaced where, so
that :func:`restore` can put the original text back into an LLM's answer. Loading a model never runs code from
the file (:func:`load_tagger`).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO, Iterable, Iterator, Optional, Sequence, Union

from flair_modernbert.redaction.patterns import find_pii
from flair_modernbert.redaction.pseudonyms import Pseudonyms, check_placeholder, redact_spans
from flair_modernbert.redaction.restore import Restored, SpanMap, restore
from flair_modernbert.redaction.spans import EntitySpan, merge_spans
from flair_modernbert.redaction.types import TypeSelection, select_types
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
    "apply_types",
    "stream_documents",
    "paced",
    "PAUSE",
    "redact",
    "restore",
    "Restored",
    "SpanMap",
    "Pseudonyms",
    "TypeSelection",
]


class InputError(ValueError):
    """An input line cannot be read; the message names the source and the line."""


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


def resolve_types(tagger: Any, requested: Optional[Iterable[str]], default: str = "model") -> TypeSelection:
    """The model's types and the pattern types that ``--types`` names (see
    :func:`flair_modernbert.redaction.types.select_types`): case-insensitive, aliases (``PER`` -> ``person``,
    ``card`` -> ``credit_card``), ``all`` for everything.

    Args:
        tagger: the tagger whose types are chosen from.
        requested: names, or ``None``/empty for ``default``.
        default: ``model`` (the model's types only) or ``all`` (also every pattern type).

    Raises:
        ValueError: a requested type that is neither the model's nor a pattern type (both are listed).
    """
    return select_types(model_types(tagger), requested, default)


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
    types: Union[TypeSelection, set[str], None] = None,
    mini_batch_size: int = 32,
    unit: str = "sentence",
) -> list[Document]:
    """Predict the entity spans of documents, all their sentences in one ``predict`` call.

    Args:
        tagger: a Flair ``SequenceTagger``.
        documents: documents as :func:`parse_line` returns them (their ``spans`` are filled in).
        types: the model's types to keep and the pattern types to find (:func:`resolve_types`; a plain set names
            model types only); all the model's types and no patterns by default.
        mini_batch_size: sentences per forward pass.
        unit: ``sentence`` (split each document into sentences) or ``document`` (one sequence per document).

    Returns:
        ``documents``, each with its spans sorted by position.
    """
    if unit not in ("sentence", "document"):
        raise ValueError(f"unit: expected 'sentence' or 'document', got {unit!r}")
    selection = _selection(types)
    label_type = tagger.label_type
    prepared = [_flair_sentences(document, unit) for document in documents]
    # only pattern types asked for (`--types email,phone`): no forward at all
    flat = [sentence for sentences, _ in prepared for sentence in sentences] if selection.model != frozenset() else []
    if flat:
        tagger.predict(flat, mini_batch_size=mini_batch_size, label_name=label_type)
    for document, (sentences, groups) in zip(documents, prepared):
        spans = []
        for sentence, group in zip(sentences, groups):
            for span in sentence.get_spans(label_type):
                label = span.get_label(label_type)
                first, last = group[span.tokens[0].idx - 1], group[span.tokens[-1].idx - 1]
                text = document.text[first.start : last.end]
                spans.append(EntitySpan(first.start, last.end, label.value, text, round(float(label.score), 4)))
        document.spans = sorted(spans, key=lambda s: s.start)
        apply_types(document, selection)
    return documents


def _selection(types: Union[TypeSelection, set[str], None]) -> TypeSelection:
    """A plain set names model types only (the API before pattern types)."""
    if isinstance(types, TypeSelection):
        return types
    return TypeSelection(None if types is None else frozenset(types), frozenset())


def apply_types(document: Document, types: Union[TypeSelection, set[str], None]) -> Document:
    """Keep the chosen model types of a document's spans and add the chosen pattern types, merged
    (docs/redaction.md, sections 1-2): what :func:`tag_documents` does after the forward, also for documents
    tagged with every type at once (the service batches requests that chose different types).

    Args:
        document: a document whose spans are all the model's spans, sorted by start.
        types: as for :func:`tag_documents`.

    Returns:
        ``document``, its spans replaced.
    """
    selection = _selection(types)
    spans = [span for span in document.spans if selection.keeps(span.type)]
    if selection.patterns:
        spans = merge_spans(spans, find_pii(document.text, selection.patterns))
    document.spans = spans
    return document


#: What :func:`paced` yields when the input pauses: tag what has arrived.
PAUSE = object()


def paced(lines: Iterable[Any], pause: float = 0.1) -> Iterator[Any]:
    """Items of a blocking iterable (lines of a pipe), with :data:`PAUSE` whenever none arrived for ``pause`` s.

    The iterable is read on a background thread, so a consumer answers what a person or another program has sent
    so far instead of waiting for a full chunk or the end of the input.
    """
    items: "queue.Queue[Any]" = queue.Queue(maxsize=4096)
    done = object()

    def read() -> None:
        try:
            for item in lines:
                items.put(item)
        except BaseException as error:  # handed to the consumer, raised there
            items.put(error)
        items.put(done)

    threading.Thread(target=read, name="paced-input", daemon=True).start()
    waiting = False
    while True:
        try:
            item = items.get(timeout=pause) if waiting else items.get()
        except queue.Empty:
            waiting = False
            yield PAUSE
            continue
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        waiting = True
        yield item


def stream_documents(
    tagger: Any,
    lines: Iterable[Any],
    source: str = "<input>",
    fmt: str = "auto",
    types: Union[TypeSelection, set[str], None] = None,
    mini_batch_size: int = 32,
    unit: str = "sentence",
    chunk_sentences: Optional[int] = None,
) -> Iterator[Document]:
    """Tag numbered input lines chunk by chunk and yield one document per line, in order.

    A chunk holds the lines whose sentences reach ``chunk_sentences`` (default ``8 * mini_batch_size``): it is
    tagged with one ``predict`` call, so batches are full whatever the line lengths, and memory does not grow
    with the input. A :data:`PAUSE` among the lines (see :func:`paced`) tags what has arrived at once.
    """
    limit = chunk_sentences or 8 * mini_batch_size
    chunk: list[Document] = []
    pending = 0
    for item in lines:
        if item is PAUSE:
            if chunk:
                yield from tag_documents(tagger, chunk, types, mini_batch_size, unit)
                chunk, pending = [], 0
            continue
        number, line = item
        document = parse_line(line, number, source, fmt)
        chunk.append(document)
        pending += max(1, len(document.segment(unit)))
        if pending >= limit:
            yield from tag_documents(tagger, chunk, types, mini_batch_size, unit)
            chunk, pending = [], 0
    if chunk:
        yield from tag_documents(tagger, chunk, types, mini_batch_size, unit)


# ------------------------------------------------------------------------------------------------ redaction
def redact(
    document: Document,
    placeholder: Optional[str] = None,
    pseudonyms: Optional[Pseudonyms] = None,
    join_partial: bool = True,
) -> tuple[str, list[dict[str, Any]]]:
    """Replace a tagged document's spans with one numbered placeholder per entity (docs/redaction.md).

    Args:
        document: a tagged document (its spans are the ones replaced).
        placeholder: template with ``{type}`` (upper-cased) and ``{n}`` (the entity's number); default
            ``[{type}_{n}]``. Ignored when ``pseudonyms`` is given (it has its own).
        pseudonyms: the entities seen so far, to number across documents; a fresh one (numbering within this
            document) by default.
        join_partial: with a fresh ``pseudonyms``: let ``Doe`` join an earlier ``Jane Doe``.

    Returns:
        The redacted text and one record per replaced mention: its placeholder, type, original text and offsets,
        and the placeholder's offsets in the redacted text.
    """
    if pseudonyms is None:
        pseudonyms = Pseudonyms(placeholder, join_partial=join_partial)
    return redact_spans(document.text, document.spans, pseudonyms)
