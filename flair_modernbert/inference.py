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

The recall knob (docs/recall.md): ``recall_bias=B`` lowers the ``O`` tag's emission score by ``B`` before decoding
(CRF Viterbi or softmax arg max), so higher values hide more; 0 is the model's own decoding. A run folder's
``recipe.yaml`` may hold the model's default (``tagger.recall_bias``), which :func:`load_tagger` reads.
"""

from __future__ import annotations

import json
import logging
import queue
import math
import threading
import weakref
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Optional, Sequence, Union

from flair_modernbert.redaction.patterns import find_pii
from flair_modernbert.redaction.pseudonyms import Pseudonyms, check_placeholder, redact_spans
from flair_modernbert.redaction.restore import Restored, SpanMap, restore
from flair_modernbert.redaction.spans import EntitySpan, merge_spans
from flair_modernbert.redaction.types import TypeSelection, select_types
from flair_modernbert.tags import entity_types
from flair_modernbert.segmentation import Word, sentences as split_sentences, words as split_words
from flair_modernbert.tagging.loading import load_tagger as _load_model

logger = logging.getLogger(__name__)

__all__ = [
    "EntitySpan",
    "Document",
    "InputError",
    "load_tagger",
    "run_recall_bias",
    "check_recall_bias",
    "default_recall_bias",
    "resolve_recall_bias",
    "recall_bias_applied",
    "read_lines",
    "strip_line_end",
    "decode_line",
    "parse_line",
    "model_types",
    "resolve_types",
    "check_placeholder",
    "tag_documents",
    "apply_types",
    "stream_documents",
    "Untagged",
    "StreamRedactor",
    "output_line",
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
        recall_bias: the recall bias the spans were decoded with (set by :func:`tag_documents`).
        line: the 1-based input line (or row) the document came from, when read from one.
        text_field: the JSON field the text came from (the redacted text goes back to it).
    """

    text: str
    spans: list[EntitySpan] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    json: bool = False
    units: Optional[list[list[Word]]] = field(default=None, repr=False, compare=False)
    recall_bias: Optional[float] = field(default=None, compare=False)
    line: Optional[int] = field(default=None, compare=False)
    text_field: str = field(default="text", compare=False)

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
        yield number, decode_line(raw, number, source)


def strip_line_end(raw: bytes) -> bytes:
    """A raw line without its ``\\n`` or ``\\r\\n`` ending (a lone ``\\r`` stays)."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
    return raw


def decode_line(raw: bytes, number: int, source: str = "<input>") -> str:
    """One raw line (ending included or not) as text.

    Raises:
        InputError: the line is not UTF-8 (source and line named).
    """
    raw = strip_line_end(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{source}, line {number}: not valid UTF-8 ({error.reason} at byte {error.start})") from None


def parse_line(line: str, line_number: int, source: str = "<input>", fmt: str = "auto",
               text_field: str = "text") -> Document:
    """Read one input line as plain text or as a JSON object with a text field.

    Args:
        line: the line, without its line ending.
        line_number: 1-based, for error messages.
        source: file name for error messages.
        fmt: ``auto`` (JSON when the line starts with ``{``), ``text`` or ``jsonl``.
        text_field: the JSON field holding the text (the other fields are passed through, except ``"spans"``).

    Raises:
        InputError: naming source and line for malformed JSON or a missing or non-string text field.
    """
    stripped = line.strip()
    if fmt == "text" or (fmt == "auto" and not stripped.startswith("{")):
        return Document(line, line=line_number)
    try:
        record = json.loads(stripped)
    except json.JSONDecodeError as error:
        raise InputError(f"{source}, line {line_number}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise InputError(f"{source}, line {line_number}: a JSON line must be an object with a string field "
                         f"{text_field!r}, got {type(record).__name__}")
    if not isinstance(record.get(text_field), str):
        found = "is missing" if text_field not in record else f"is {type(record[text_field]).__name__}, not a string"
        raise InputError(f"{source}, line {line_number}: a JSON line needs a string field {text_field!r} (it {found})")
    text = record.pop(text_field)
    record.pop("spans", None)
    return Document(text, extra=record, json=True, line=line_number, text_field=text_field)


# ------------------------------------------------------------------------------------------------ types
def model_types(tagger: Any) -> list[str]:
    """The entity types a tagger predicts (``person``, ``location``, ...), in its dictionary's order."""
    return entity_types(tagger.label_dictionary.get_items())


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


# ------------------------------------------------------------------------------------------------ recall knob
def check_recall_bias(value: Any, what: str = "recall_bias") -> float:
    """A recall bias as a float: any finite number (0: the model's own decoding; higher hides more).

    Raises:
        ValueError: not a number, or not finite (``what`` names the option or file).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{what}: expected a number (0 = the model's own decoding), got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{what}: expected a finite number, got {value}")
    return float(value)


def run_recall_bias(model: Union[str, Path]) -> Optional[float]:
    """The default recall bias a training run folder records: ``tagger.recall_bias`` of its ``recipe.yaml``.

    Args:
        model: a run folder, or a model file inside one (``final-model.pt``).

    Returns:
        The value, or ``None`` when there is no ``recipe.yaml`` next to the model or it sets none.

    Raises:
        ValueError: the recipe sets a value that is not a finite number (file named).
    """
    from flair_modernbert.config.yamlfiles import read_yaml

    path = Path(model)
    recipe = (path if path.is_dir() else path.parent) / "recipe.yaml"
    if not recipe.is_file():
        return None
    data = read_yaml(recipe, "recipe")
    section = data.get("tagger") if isinstance(data, dict) else None
    value = section.get("recall_bias") if isinstance(section, dict) else None
    return None if value is None else check_recall_bias(value, f"{recipe}: tagger.recall_bias")


def load_tagger(path: Union[str, Path], trust: bool = False) -> Any:
    """Load a trained tagger (see :func:`flair_modernbert.tagging.loading.load_tagger`: no code from the file
    runs) and set its default recall bias, ``tagger.recall_bias``, from the run folder's ``recipe.yaml``
    (:func:`run_recall_bias`; ``None`` when it sets none).

    Args:
        path: ``final-model.pt`` or the output folder of a training run.
        trust: load any Flair model with Flair's own loader (runs code the file may contain).
    """
    tagger = _load_model(path, trust=trust)
    tagger.recall_bias = run_recall_bias(path)
    return tagger


def default_recall_bias(tagger: Any) -> float:
    """The tagger's default recall bias: ``tagger.recall_bias`` (set by :func:`load_tagger`), else 0."""
    value = getattr(tagger, "recall_bias", None)
    return 0.0 if value is None else check_recall_bias(value, "tagger.recall_bias")


def resolve_recall_bias(tagger: Any, recall_bias: Optional[float]) -> float:
    """The bias to decode with: ``recall_bias``, or the tagger's default when it is ``None``."""
    return default_recall_bias(tagger) if recall_bias is None else check_recall_bias(recall_bias)


def _outside_index(tagger: Any) -> int:
    tags = tagger.label_dictionary.get_items()
    if "O" not in tags:
        raise ValueError(f"recall_bias: the tagger has no O tag (its tags: {', '.join(tags)})")
    return tags.index("O")


@contextmanager
def recall_bias_applied(tagger: Any, recall_bias: float) -> Iterator[None]:
    """Within the block, the tagger's head gives the ``O`` tag's emission score lowered by ``recall_bias``.

    A forward hook on ``tagger.linear`` (the emission scores, before the CRF adds its transitions or the softmax),
    removed on leaving: nothing of the tagger changes for later calls. 0 adds no hook (the model's own output).
    The hook is on the tagger object, so the block holds the tagger's lock: a call from another thread (with
    another bias, or none) waits until the block ends rather than seeing this bias.

    Raises:
        ValueError: a bias that is not a finite number, or a tagger without an ``O`` tag.
    """
    bias = check_recall_bias(recall_bias)
    with _tagger_lock(tagger):
        if bias == 0.0:
            yield
            return
        with _lowered_outside(tagger, bias):
            yield


#: one lock per tagger object (a lock cannot be an attribute: the tagger is pickled by torch.save)
_LOCKS: "weakref.WeakKeyDictionary[Any, threading.RLock]" = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _tagger_lock(tagger: Any) -> "threading.RLock":
    with _LOCKS_GUARD:
        lock = _LOCKS.get(tagger)
        if lock is None:
            lock = _LOCKS[tagger] = threading.RLock()
        return lock


@contextmanager
def _lowered_outside(tagger: Any, bias: float) -> Iterator[None]:
    import torch

    shift = torch.zeros(tagger.linear.out_features, dtype=torch.float32)
    # a float32 bias: O's score becomes float32(score - float32(B)), what the JavaScript decoder computes too
    shift[_outside_index(tagger)] = bias
    cache: dict[Any, Any] = {}

    def lower_outside(module: Any, inputs: Any, output: Any) -> Any:
        key = (output.device, output.dtype)
        if key not in cache:
            cache[key] = shift.to(device=output.device, dtype=output.dtype)
        return output - cache[key]

    handle = tagger.linear.register_forward_hook(lower_outside)
    try:
        yield
    finally:
        handle.remove()


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
    recall_bias: Optional[float] = None,
) -> list[Document]:
    """Predict the entity spans of documents, all their sentences in one ``predict`` call.

    Args:
        tagger: a Flair ``SequenceTagger``.
        documents: documents as :func:`parse_line` returns them (their ``spans`` are filled in).
        types: the model's types to keep and the pattern types to find (:func:`resolve_types`; a plain set names
            model types only); all the model's types and no patterns by default.
        mini_batch_size: sentences per forward pass.
        unit: ``sentence`` (split each document into sentences) or ``document`` (one sequence per document).
        recall_bias: lower the ``O`` tag's emission score by this much before decoding (docs/recall.md): higher
            hides more, 0 is the model's own decoding; ``None``: the tagger's default (:func:`default_recall_bias`).

    Returns:
        ``documents``, each with its spans sorted by position.
    """
    if unit not in ("sentence", "document"):
        raise ValueError(f"unit: expected 'sentence' or 'document', got {unit!r}")
    bias = resolve_recall_bias(tagger, recall_bias)
    selection = _selection(types)
    label_type = tagger.label_type
    prepared = [_flair_sentences(document, unit) for document in documents]
    # only pattern types asked for (`--types email,phone`): no forward at all
    flat = [sentence for sentences, _ in prepared for sentence in sentences] if selection.model != frozenset() else []
    if flat:
        with recall_bias_applied(tagger, bias):
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
        document.recall_bias = bias
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


@dataclass
class Untagged:
    """An input item :func:`stream_documents` passes through in order without tagging it (a malformed line that
    the user asked to keep, for example).

    Attributes:
        line: its 1-based line (or row) number.
        raw: what to write back unchanged.
        error: why it was not tagged.
    """

    line: int
    raw: Any
    error: str


def stream_documents(
    tagger: Any,
    lines: Iterable[Any],
    source: str = "<input>",
    fmt: str = "auto",
    types: Union[TypeSelection, set[str], None] = None,
    mini_batch_size: int = 32,
    unit: str = "sentence",
    chunk_sentences: Optional[int] = None,
    recall_bias: Optional[float] = None,
    text_field: str = "text",
) -> Iterator[Union[Document, Untagged]]:
    """Tag numbered input lines chunk by chunk and yield one document per line, in order.

    A chunk holds the lines whose sentences reach ``chunk_sentences`` (default ``8 * mini_batch_size``): it is
    tagged with one ``predict`` call, so batches are full whatever the line lengths, and memory does not grow
    with the input. A :data:`PAUSE` among the lines (see :func:`paced`) tags what has arrived at once.
    ``recall_bias`` is as for :func:`tag_documents` (``None``: the tagger's default).

    Items of ``lines`` are ``(number, line)`` pairs (parsed by :func:`parse_line` with ``fmt`` and ``text_field``),
    :class:`Document` objects already parsed, or :class:`Untagged` items, which come back untouched in their place.
    """
    limit = chunk_sentences or 8 * mini_batch_size
    bias = resolve_recall_bias(tagger, recall_bias)  # a bad value fails before the first line is read
    chunk: list[Union[Document, Untagged]] = []
    pending = 0

    def tagged() -> Iterator[Union[Document, Untagged]]:
        documents = [item for item in chunk if isinstance(item, Document)]
        if documents:
            tag_documents(tagger, documents, types, mini_batch_size, unit, bias)
        yield from chunk

    for item in lines:
        if item is PAUSE:
            if chunk:
                yield from tagged()
                chunk, pending = [], 0
            continue
        if isinstance(item, tuple):
            number, line = item
            item = parse_line(line, number, source, fmt, text_field)
        chunk.append(item)
        if isinstance(item, Document):
            pending += max(1, len(item.segment(unit)))
        if pending >= limit:
            yield from tagged()
            chunk, pending = [], 0
    if chunk:
        yield from tagged()


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


def output_line(document: Document, text: str) -> str:
    """The output line of a redacted document: the text, or for a JSON line its other fields and the text (in
    the field it came from, last)."""
    if not document.json:
        return text
    return json.dumps({**document.extra, document.text_field: text}, ensure_ascii=False)


class StreamRedactor:
    """Redacts the documents of one input in order: what ``redact`` does per line, in one place for the command
    and for sharded runs (:mod:`flair_modernbert.bulk`).

    With a span map, one numbering covers the whole input (a placeholder means one entity in the whole file) and
    :meth:`redact` also returns the span map's records for the line; without one, each document is numbered on
    its own and nothing is kept.

    Args:
        placeholder: as for :func:`redact`.
        span_map: keep what was replaced where.
        join_partial: let ``Doe`` join an earlier ``Jane Doe``.
    """

    def __init__(self, placeholder: Optional[str] = None, span_map: bool = False, join_partial: bool = True) -> None:
        self.placeholder = placeholder
        self.join_partial = join_partial
        self.shared = Pseudonyms(placeholder, join_partial=join_partial) if span_map else None
        self.count = 0

    def header(self, tagger: Any, types: TypeSelection, recall_bias: Optional[float]) -> dict[str, Any]:
        """The span map's first record (placeholder, types, recall bias); only with a span map."""
        from flair_modernbert.redaction.restore import span_map_header

        if self.shared is None:
            raise ValueError("header: this redactor keeps no span map")
        return span_map_header(self.shared.placeholder, types.names(model_types(tagger)),
                               resolve_recall_bias(tagger, recall_bias))

    def redact(self, document: Document) -> tuple[str, list[dict[str, Any]]]:
        """The redacted output line of a tagged document and the span map records it adds (none without a map)."""
        self.count += 1
        text, mapping = redact(document, self.placeholder, pseudonyms=self.shared, join_partial=self.join_partial)
        records: list[dict[str, Any]] = []
        if self.shared is not None:
            records = [*self.shared.take_new(),
                       {"line": document.line or self.count, "spans": mapping, "redacted": text}]
        return output_line(document, text), records
