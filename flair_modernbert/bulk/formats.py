"""Reading a shard's documents and writing its redacted copy, per format: lines (plain text or JSON lines) and
Parquet. Both keep the input's order and count 1:1 (a line or row in, a line or row out).

A reader yields :class:`~flair_modernbert.inference.Document` items and, for what cannot be tagged,
:class:`~flair_modernbert.inference.Untagged` items: a malformed line (not UTF-8, bad JSON, a text field that is
missing or not a string) when the user keeps malformed lines, and Parquet nulls (nothing to hide). Without
``keep_errors`` a malformed line raises :class:`~flair_modernbert.inference.InputError` naming the shard and line.
A writer takes, in input order, the redacted line of each document and the raw item of each untagged one.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import deque
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Optional, Union

from flair_modernbert.inference import Document, InputError, Untagged, decode_line, parse_line, strip_line_end

logger = logging.getLogger(__name__)

__all__ = ["AtomicFile", "LineShard", "ParquetShard", "make_folders", "open_shard"]

#: rows read from a Parquet file at a time (and written back per row group)
PARQUET_BATCH = 1024


class AtomicFile:
    """A file written under a temporary name in its folder and moved into place by :meth:`commit` only.

    Args:
        path: the final path.
        private: readable by its owner only (span maps hold the original values); otherwise the usual mode for a
            new file (the process umask), which a temporary file does not get by default.
    """

    def __init__(self, path: Union[str, Path], private: bool = False) -> None:
        self.path = Path(path)
        make_folders(self.path.parent, 0o700 if private else 0o777)
        # mkstemp creates the file 0600 and never follows or reuses an existing name
        handle, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        self.temporary = Path(name)
        self.private = private
        self.handle: BinaryIO = os.fdopen(handle, "wb")

    def write_json(self, record: Any) -> None:
        """One JSON line (UTF-8, not ASCII-escaped): a span map's record."""
        self.handle.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))

    def commit(self) -> None:
        """Flush, set the mode and move the file into place (atomic on one file system)."""
        self.handle.close()
        if not self.private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.temporary, 0o666 & ~umask)
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        """Close and delete the temporary file."""
        self.handle.close()
        self.temporary.unlink(missing_ok=True)

    @staticmethod
    def clean(path: Union[str, Path]) -> int:
        """Delete temporary files an interrupted run left for ``path``; returns how many."""
        path = Path(path)
        if not path.parent.is_dir():
            return 0
        stale = list(path.parent.glob(f".{glob_escape(path.name)}.*.tmp"))
        for file in stale:
            file.unlink(missing_ok=True)
        return len(stale)


def make_folders(folder: Union[str, Path], mode: int) -> None:
    """Create a folder and its missing parents, all of them with ``mode`` (less the umask); ``mkdir -p`` gives the
    parents the default mode, which would leave a span map's subfolders readable by all."""
    missing = []
    folder = Path(folder)
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=mode, exist_ok=True)  # another worker may create it at the same time


def glob_escape(name: str) -> str:
    """A file name with glob's special characters taken literally."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


class LineShard:
    """Lines of text or JSON lines (``fmt`` as for ``redact --format``; ``text_field`` names the JSON field).

    Args:
        path: the input file.
        output: where the redacted lines go (an open :class:`AtomicFile`'s handle).
        source: the shard's name in messages.
        fmt: ``auto``, ``text`` or ``jsonl``.
        text_field: the JSON field with the text.
        keep_errors: pass malformed lines through unredacted instead of raising.
        progress: called with the number of bytes read since its last call.
    """

    def __init__(self, path: Union[str, Path], output: BinaryIO, source: str, fmt: str = "auto",
                 text_field: str = "text", keep_errors: bool = False,
                 progress: Optional[Callable[[int], None]] = None) -> None:
        self.path, self.output, self.source = Path(path), output, source
        self.fmt, self.text_field, self.keep_errors = fmt, text_field, keep_errors
        self.progress = progress

    def items(self) -> Iterator[Union[Document, Untagged]]:
        with self.path.open("rb") as stream:
            for number, raw in enumerate(stream, start=1):
                if self.progress is not None:
                    self.progress(len(raw))
                try:
                    yield parse_line(decode_line(raw, number, self.source), number, self.source, self.fmt,
                                     self.text_field)
                except InputError as error:
                    if not self.keep_errors:
                        raise
                    yield Untagged(number, strip_line_end(raw), str(error))

    def write(self, line: str) -> None:
        self.output.write(line.encode("utf-8") + b"\n")

    def write_untagged(self, item: Untagged) -> None:
        self.output.write(item.raw + b"\n")

    def close(self) -> None:
        """Nothing is buffered."""


class ParquetShard:
    """A Parquet file whose string column ``text_field`` is redacted; the other columns, the schema and the row
    order stay. Rows are read :data:`PARQUET_BATCH` at a time and each batch is written back as one row group once
    all its rows are redacted. A null is not text: it stays null.

    Args: as for :class:`LineShard` (``fmt`` does not apply; the output is opened here, by path).

    Raises:
        InputError: the column is missing or does not hold strings (the shard is named).
    """

    def __init__(self, path: Union[str, Path], output: BinaryIO, source: str, text_field: str = "text",
                 keep_errors: bool = False, progress: Optional[Callable[[int], None]] = None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(str(path))
        schema = self.file.schema_arrow
        if text_field not in schema.names:
            raise InputError(f"{source}: no column {text_field!r} (columns: {', '.join(schema.names)}); "
                             "choose one with --text-field")
        self.type = schema.field(text_field).type
        if not (pa.types.is_string(self.type) or pa.types.is_large_string(self.type)):
            raise InputError(f"{source}: column {text_field!r} holds {self.type}, not strings; choose a text column "
                             "with --text-field")
        self.column = schema.get_field_index(text_field)
        self.source, self.text_field, self.progress = source, text_field, progress
        self.writer = pq.ParquetWriter(output, schema)
        self.pending: deque[Any] = deque()  # batches read, not yet written
        self.texts: list[Optional[str]] = []  # redacted values of the oldest pending batch's rows, so far
        rows = max(1, self.file.metadata.num_rows)
        self.bytes_per_row = Path(path).stat().st_size / rows

    def items(self) -> Iterator[Union[Document, Untagged]]:
        number = 0
        for batch in self.file.iter_batches(batch_size=PARQUET_BATCH):
            self.pending.append(batch)
            if self.progress is not None:
                self.progress(int(batch.num_rows * self.bytes_per_row))
            for value in batch.column(self.column).to_pylist():
                number += 1
                yield Untagged(number, None, "") if value is None else Document(value, line=number)

    def write(self, line: str) -> None:
        self.texts.append(line)
        self._flush()

    def write_untagged(self, item: Untagged) -> None:
        self.texts.append(item.raw)
        self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        while self.pending and len(self.texts) >= self.pending[0].num_rows:
            batch = self.pending.popleft()
            values, self.texts = self.texts[: batch.num_rows], self.texts[batch.num_rows :]
            table = pa.Table.from_batches([batch]).set_column(self.column, self.text_field,
                                                              pa.array(values, type=self.type))
            self.writer.write_table(table)

    def close(self) -> None:
        self._flush()
        self.writer.close()


def open_shard(format: str, path: Union[str, Path], output: BinaryIO, source: str, fmt: str = "auto",
               text_field: str = "text", keep_errors: bool = False,
               progress: Optional[Callable[[int], None]] = None) -> Union[LineShard, ParquetShard]:
    """The reader-writer of a shard's format (``lines`` or ``parquet``)."""
    if format == "parquet":
        return ParquetShard(path, output, source, text_field, keep_errors, progress)
    if format == "lines":
        return LineShard(path, output, source, fmt, text_field, keep_errors, progress)
    raise ValueError(f"unknown shard format {format!r}")
