"""Redacting one shard: what ``redact FILE [--span-map MAP]`` does for one file, written atomically.

Every engine (one process, ``--workers N`` processes, Ray actors) runs :func:`redact_shard` on the shards it is
given, so their outputs are byte for byte those of ``redact`` run file by file: the same chunks of sentences per
forward pass (:func:`~flair_modernbert.inference.stream_documents`), the same numbering of placeholders (one per
shard when it keeps a span map, :class:`~flair_modernbert.inference.StreamRedactor`).

The output and the span map are written under temporary names and moved into place only when the whole shard is
done (span map first, then the output: an output in place always has its map). A shard that fails or whose
process dies leaves no output; its temporary files are deleted on the next attempt.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from flair_modernbert.bulk.formats import AtomicFile, open_shard
from flair_modernbert.bulk.shards import Shard
from flair_modernbert.inference import (
    Document,
    InputError,
    StreamRedactor,
    TypeSelection,
    Untagged,
    check_placeholder,
    resolve_types,
    stream_documents,
)

logger = logging.getLogger(__name__)

__all__ = ["RedactOptions", "ShardResult", "ShardError", "redact_shard"]

#: malformed lines listed per shard in the manifest (the count is always exact)
LISTED_ERRORS = 20


@dataclass(frozen=True)
class RedactOptions:
    """Everything that decides a corpus run's output, as plain data (it travels to workers and is kept in the
    manifest, where a rerun with other options is refused).

    Attributes:
        model: the tagger (``final-model.pt`` or its run folder).
        types: the types to hide (model and pattern types; ``None``: all, as for ``redact``).
        recall_bias: the recall knob (``None``: the model's default).
        placeholder: the placeholder template (``None``: ``[{type}_{n}]``).
        join_partial: ``Doe`` joins an earlier ``Jane Doe``.
        unit: ``sentence`` or ``document``.
        batch_size: sentences per forward pass.
        fmt: how lines are read: ``auto``, ``text`` or ``jsonl``.
        text_field: the JSON field or Parquet column with the text.
        span_maps: write a span map per shard.
        on_error: ``fail`` (a malformed line fails its shard) or ``keep`` (it is written through unredacted).
        trust: load a model file that is not known to be safe (see ``--trust-model``).
    """

    model: str
    types: Optional[tuple[str, ...]] = None
    recall_bias: Optional[float] = None
    placeholder: Optional[str] = None
    join_partial: bool = True
    unit: str = "sentence"
    batch_size: int = 32
    fmt: str = "auto"
    text_field: str = "text"
    span_maps: bool = True
    on_error: str = "fail"
    trust: bool = False

    def __post_init__(self) -> None:
        if self.on_error not in ("fail", "keep"):
            raise ValueError(f"on_error: expected 'fail' or 'keep', got {self.on_error!r}")
        if self.placeholder is not None:
            check_placeholder(self.placeholder)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["types"] = list(self.types) if self.types is not None else None
        return data

    def selection(self, tagger: Any) -> TypeSelection:
        """The model and pattern types to hide, for a loaded tagger."""
        return resolve_types(tagger, list(self.types) if self.types is not None else None, default="all")


@dataclass
class ShardResult:
    """What a finished shard reports (plain data, kept in the manifest).

    Attributes:
        relative: the shard's name.
        lines: lines (rows) written, equal to the lines read.
        entities: replaced mentions per type.
        kept: malformed lines written through unredacted (``on_error="keep"``).
        errors: the first :data:`LISTED_ERRORS` of them, ``"line N: why"``.
        seconds: time spent on the shard (model loading excluded).
    """

    relative: str
    lines: int = 0
    entities: dict[str, int] = field(default_factory=dict)
    kept: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ShardError(RuntimeError):
    """A shard could not be redacted; the message names it (and the line, for malformed input)."""


def redact_shard(tagger: Any, shard: Shard, options: RedactOptions,
                 progress: Optional[Callable[[int], None]] = None) -> ShardResult:
    """Redact one shard into its output (and span map), atomically.

    Args:
        tagger: the loaded tagger.
        shard: the shard (:func:`~flair_modernbert.bulk.shards.find_shards`).
        options: the run's options.
        progress: called with the input bytes read since its last call.

    Returns:
        The shard's counts.

    Raises:
        ShardError: malformed input (``on_error="fail"``) or any other failure, with the shard named; nothing of
            the shard is left in the output.
    """
    started = time.perf_counter()
    for path in (shard.output, shard.span_map):
        if path is not None and AtomicFile.clean(path):
            logger.info("%s: deleted the temporary files of an interrupted attempt", shard.relative)
    result = ShardResult(shard.relative)
    entities: Counter = Counter()
    output = AtomicFile(shard.output)
    span_map = AtomicFile(shard.span_map, private=True) if shard.span_map is not None and options.span_maps else None
    reader = None
    try:
        reader = open_shard(shard.format, shard.input, output.handle, shard.relative, options.fmt,
                            options.text_field, keep_errors=options.on_error == "keep", progress=progress)
        types = options.selection(tagger)
        redactor = StreamRedactor(options.placeholder, span_map=span_map is not None,
                                  join_partial=options.join_partial)
        if span_map is not None:
            span_map.write_json(redactor.header(tagger, types, options.recall_bias))
        for item in stream_documents(tagger, reader.items(), shard.relative, options.fmt, types, options.batch_size,
                                     options.unit, recall_bias=options.recall_bias, text_field=options.text_field):
            result.lines += 1
            if isinstance(item, Untagged):
                if item.error:  # a Parquet null has none: there is nothing to hide
                    result.kept += 1
                    if len(result.errors) < LISTED_ERRORS:
                        result.errors.append(item.error)
                    logger.warning("%s (kept unredacted)", item.error)
                reader.write_untagged(item)
                continue
            assert isinstance(item, Document)
            line, records = redactor.redact(item)
            entities.update(span.type for span in item.spans)
            reader.write(line)
            if span_map is not None:
                for record in records:
                    span_map.write_json(record)
        reader.close()
        reader = None
        if span_map is not None:
            span_map.commit()
        output.commit()
    except BaseException as error:
        if reader is not None:
            try:
                reader.close()
            except Exception:  # the original error is the one to report
                pass
        output.discard()
        if span_map is not None:
            span_map.discard()
        if isinstance(error, InputError):
            raise ShardError(str(error)) from None
        if isinstance(error, Exception):
            raise ShardError(f"{shard.relative}: {type(error).__name__}: {error}") from error
        raise
    result.entities = dict(sorted(entities.items()))
    result.seconds = round(time.perf_counter() - started, 3)
    return result

