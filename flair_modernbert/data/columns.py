"""CoNLL-style column files checked line by line before Flair reads them, with ``file:line`` diagnostics.

Flair's reader is lenient by design: a token holding a space shifts the columns, an empty token is silently
dropped (and every later tag of the sentence moves one word left), a misspelt tag becomes an entity type, and
an ``I-`` after ``O`` quietly starts a span. Such errors cost F1 without a warning, so here they stop the run
with the file and line to fix.

Tag schemes: ``BIO`` (a span is ``B-X I-X*``), ``IOB1`` (a span is ``I-X+``; ``B-X`` only starts a span that
directly follows one of the same type) and ``BIOES`` (``S-X`` or ``B-X I-X* E-X``). Flair decodes all three
to the same spans (:mod:`flair_modernbert.tags`). Blank lines, including lines holding only spaces or tabs (as
in the WNUT-17 training file), end a sentence; lines starting with ``"# "`` are comments, as in Flair.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence, Union

logger = logging.getLogger(__name__)

__all__ = ["COMMENT_SYMBOL", "CorpusFormatError", "ColumnFileCheck", "TagChecker", "check_tags", "check_column_file",
           "read_words"]

#: Flair's ``ColumnCorpus`` treats lines starting with this as comments.
COMMENT_SYMBOL = "# "
_PREFIXES = {"BIO": "BI", "IOB1": "BI", "BIOES": "BIES"}
_TAG = re.compile(r"([A-Z])-(\S+)")
_SHOWN_PROBLEMS = 10

class CorpusFormatError(ValueError):
    """A corpus file or dataset breaks its format. The message lists ``file:line: problem`` entries.

    Attributes:
        path: the file (or dataset) at fault.
        problems: ``(line, message)`` pairs, in file order (``line`` is 0 for the whole file).
    """

    def __init__(
        self, path: str, problems: list[tuple[int, str]], what: str = "column file", unit: Optional[str] = None
    ) -> None:
        self.path = path
        self.problems = problems

        def where(line: int) -> str:
            if unit:  # datasets: "<name> [split], row 3"
                return f"{path}, {unit} {line}"
            return f"{path}:{line}" if line else path

        shown = [f"  {where(line)}: {message}" for line, message in problems[:_SHOWN_PROBLEMS]]
        more = len(problems) - _SHOWN_PROBLEMS
        if more > 0:
            shown.append(f"  ... and {more} more")
        super().__init__(
            f"{path}: {len(problems)} problem(s) in this {what} (checked before Flair reads it):\n" + "\n".join(shown)
        )

    @property
    def line(self) -> int:
        """The line of the first problem."""
        return self.problems[0][0] if self.problems else 0


class TagChecker:
    """Checks one tag after another against a scheme; returns a message for each problem."""

    def __init__(self, scheme: str, strict: bool) -> None:
        self.scheme = scheme
        self.strict = strict
        self.prefixes = _PREFIXES[scheme]
        self.irregular = 0
        self.reset()

    def reset(self) -> None:
        self.previous = "O"
        self.prefix, self.kind = "O", ""
        self.at_start = True

    def _after(self) -> str:
        return "at the start of the sentence" if self.at_start else f"after {self.previous!r}"

    def _irregular(self, message: str) -> Optional[str]:
        self.irregular += 1
        return message if self.strict else None

    def _unclosed(self, before: str) -> Optional[str]:
        if self.scheme == "BIOES" and self.prefix in ("B", "I"):
            return self._irregular(
                f"the {self.kind} span of {self.previous!r} is not closed with 'E-{self.kind}' before {before} "
                "(BIOES; set corpus.strict_tags: false to accept it)"
            )
        return None

    def feed(self, tag: str) -> Optional[str]:
        """Check the next tag of the sentence; return a message for a problem, else ``None``."""
        if tag == "O":
            problem = self._unclosed("'O'")
            self.previous, self.prefix, self.kind, self.at_start = tag, "O", "", False
            return problem
        match = _TAG.fullmatch(tag)
        if not match or match.group(1) not in self.prefixes:
            allowed = ", ".join(f"{p}-<type>" for p in self.prefixes)
            hint = ""
            if match and match.group(1) in "ES" and self.scheme != "BIOES":
                hint = "; E-/S- tags are BIOES: set corpus.tag_scheme: BIOES"
            elif tag == "o" or (re.fullmatch(r"[a-z]-\S+", tag) and tag[0].upper() in self.prefixes):
                hint = "; prefixes and O are upper case"
            return f"unknown tag {tag!r}: tag_scheme {self.scheme} allows O, {allowed}{hint}"
        prefix, kind = match.groups()
        problem = None
        inside_same = self.prefix in ("B", "I") and self.kind == kind
        if self.scheme == "BIO" and prefix == "I" and not (self.prefix in ("B", "I") and self.kind == kind):
            problem = self._irregular(
                f"{tag!r} {self._after()}: in BIO a span starts with 'B-{kind}' (if the file is IOB1, set "
                "corpus.tag_scheme: IOB1; to read it as it is, set corpus.strict_tags: false)"
            )
        elif self.scheme == "BIOES":
            if prefix in ("I", "E") and not inside_same:
                problem = self._irregular(
                    f"{tag!r} {self._after()}: in BIOES a span starts with 'B-{kind}' or is 'S-{kind}' "
                    "(set corpus.strict_tags: false to accept it)"
                )
            elif prefix in ("B", "S"):
                problem = self._unclosed(repr(tag))
        self.previous, self.prefix, self.kind, self.at_start = tag, prefix, kind, False
        return problem

    def end(self) -> Optional[str]:
        """The sentence ended; return a message when a BIOES span is left open."""
        problem = self._unclosed("the end of the sentence")
        self.reset()
        return problem


def check_tags(tags: Sequence[str], scheme: str = "BIO", strict: bool = True) -> list[tuple[int, str]]:
    """Check one sentence's tags against a scheme.

    Args:
        tags: the tags, one per token.
        scheme: ``BIO``, ``IOB1`` or ``BIOES``.
        strict: also report transitions the scheme forbids (``I-X`` after ``O`` in BIO, ...).

    Returns:
        ``(token index, message)`` for each problem; empty when the tags are fine. A problem found at the
        end of the sentence has index ``len(tags)``.
    """
    if scheme not in _PREFIXES:
        raise ValueError(f"unknown tag scheme {scheme!r}; use one of {', '.join(_PREFIXES)}")
    checker = TagChecker(scheme, strict)
    problems = [(i, p) for i, tag in enumerate(tags) if (p := checker.feed(tag))]
    closing = checker.end()
    if closing:
        problems.append((len(tags), closing))
    return problems


# ------------------------------------------------------------------------------------------------ column files
@dataclass
class ColumnFileCheck:
    """What :func:`check_column_file` found in a file that passed.

    Attributes:
        path: the file.
        sentences: sentences (blocks of token lines).
        tokens: token lines.
        columns: columns per token line.
        irregular: tag transitions the scheme forbids that were accepted (``strict_tags: false``).
    """

    path: Path
    sentences: int
    tokens: int
    columns: int
    irregular: int = 0


class _Undecodable(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _lines(file: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """Numbered lines of a text file; a line that does not decode raises :class:`_Undecodable` with its number."""
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):  # newline bytes differ: decode as a stream
        with file.open(encoding=encoding) as stream:
            number = 0
            try:
                for number, line in enumerate(stream, start=1):
                    yield number, line
            except UnicodeDecodeError as error:
                raise _Undecodable(number + 1, error.reason) from None
        return
    with file.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            try:
                yield number, raw.decode(encoding)
            except UnicodeDecodeError as error:
                raise _Undecodable(number, error.reason) from None


def _field_index(columns: Mapping[int, str], name: str) -> int:
    for index, value in columns.items():
        if value == name:
            return int(index)
    raise ValueError(f"the column map {dict(columns)} has no {name!r} column")


def check_column_file(
    path: Union[str, os.PathLike],
    columns: Mapping[int, str] = {0: "text", 1: "ner"},  # noqa: B006 - read only
    label_type: str = "ner",
    tag_scheme: str = "BIO",
    strict: bool = True,
    column_delimiter: str = r"\s+",
    document_separator: Optional[str] = None,
    encoding: str = "utf-8",
) -> ColumnFileCheck:
    """Check a CoNLL-style column file the way Flair's ``ColumnCorpus`` will read it.

    Checked on every token line: the number of columns (the same on every line, enough for ``columns``),
    a non-empty token, and the tag in the ``label_type`` column (``O`` or a prefix of the scheme + ``-`` +
    type; with ``strict``, only transitions the scheme allows). Lines of spaces/tabs end a sentence; lines
    starting with ``"# "`` are comments; a ``document_separator`` line is not checked.

    Args:
        path: the file.
        columns: column index -> field, as for ``ColumnCorpus``; must hold ``text`` and ``label_type``.
        label_type: the field whose tags are checked.
        tag_scheme: ``BIO``, ``IOB1`` or ``BIOES``.
        strict: reject forbidden transitions (else count them in ``irregular``).
        column_delimiter: regular expression between columns (Flair's default: any whitespace).
        document_separator: e.g. ``-DOCSTART-``.
        encoding: text encoding.

    Returns:
        Counts of a file that passed.

    Raises:
        FileNotFoundError: no such file.
        CorpusFormatError: every problem as ``file:line: message`` (the first ten shown).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"column file {file} does not exist")
    delimiter = re.compile(column_delimiter)
    text_column = _field_index(columns, "text")
    label_column = _field_index(columns, label_type)
    needed = max(int(c) for c in columns) + 1
    checker = TagChecker(tag_scheme, strict)
    problems: list[tuple[int, str]] = []
    expected: Optional[int] = None
    first_line = 0
    sentences = tokens = 0
    in_sentence = False
    broken = False  # a line of the sentence had the wrong column count: skip its tags (no follow-on errors)
    lineno = 0

    def close_sentence(line: int, where: str) -> None:
        nonlocal sentences, in_sentence, broken
        if in_sentence:
            problem = checker.end()
            if problem and not broken:
                problems.append((line, problem.replace("the end of the sentence", where)))
            sentences += 1
        checker.reset()
        in_sentence = broken = False

    try:
        for lineno, line in _lines(file, encoding):
            if lineno == 1 and line.startswith("\ufeff"):
                problems.append((1, "the file starts with a byte-order mark; set corpus.encoding: utf-8-sig"))
                line = line[1:]
            if not line.strip():
                close_sentence(lineno, "the blank line")
                continue
            if line.startswith(COMMENT_SYMBOL):
                continue
            fields = delimiter.split(line.rstrip())
            if document_separator is not None and document_separator in (
                fields[0], fields[text_column] if len(fields) > text_column else None
            ):
                close_sentence(lineno, f"{document_separator!r}")
                in_sentence = True  # Flair reads the separator as a one-token sentence
                continue
            count = len(fields)
            if expected is None:
                expected, first_line = count, lineno
                if count < needed:
                    problems.append((
                        lineno,
                        f"{count} column(s), but corpus.columns {dict(columns)} reads column {needed - 1} "
                        f"(0-based; corpus.column_delimiter is '{column_delimiter}')",
                    ))
                    break  # every line would repeat it
            elif count != expected:
                hint = ""
                if count > expected and delimiter.pattern != "\t":
                    hint = (
                        f" (a token holding a space? corpus.column_delimiter '{column_delimiter}' splits on it; "
                        "use '\\t' for tab-separated files)"
                    )
                problems.append((lineno, f"{count} column(s), expected {expected} as on line {first_line}{hint}"))
                in_sentence = broken = True
                continue
            in_sentence = True
            tokens += 1
            if not fields[text_column].strip():
                problems.append(
                    (lineno, f"empty token (column {text_column}); Flair would drop it and shift the tags")
                )
            if not broken:
                problem = checker.feed(fields[label_column])
                if problem:
                    problems.append((lineno, problem))
        close_sentence(lineno, "the end of the file")
    except _Undecodable as error:
        problems.append((error.line, f"not valid {encoding} text ({error.reason}); set corpus.encoding"))
    if tokens == 0 and not problems:
        problems.append((0, "holds no token lines"))
    if problems:
        raise CorpusFormatError(str(file), problems)
    if checker.irregular:
        logger.warning(
            "%s: %d tag transition(s) that %s forbids (e.g. I-X after O), accepted because strict_tags is off; "
            "Flair reads such an I-X as the start of a span",
            file, checker.irregular, tag_scheme,
        )
    return ColumnFileCheck(file, sentences, tokens, expected or 0, checker.irregular)


def read_words(paths: Union[str, Path, Sequence[Path]], limit: Optional[int] = None) -> list[list[str]]:
    """The words (first column) of each sentence of column files, read by Flair's ``ColumnDataset``, unchecked.

    For measurements on raw text (benchmarks), not for training data: use :func:`check_column_file` and
    :func:`flair_modernbert.data.load_corpus` for that.
    """
    from flair.datasets import ColumnDataset

    sentences = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        dataset = ColumnDataset(Path(path), {0: "text"}, in_memory=True)
        sentences += [[t.text for t in dataset[i]] for i in range(len(dataset))]
    return sentences[:limit] if limit else sentences
