"""Loading and checking NER corpora: Flair loaders by name, CoNLL-style column folders, Hugging Face datasets.

:func:`load_corpus` turns a recipe's ``corpus:`` section (:class:`~flair_modernbert.recipes.CorpusConfig`)
into a ``flair.data.Corpus`` of ``Sentence`` objects whose entities are span labels of ``label_type``:

* ``type: flair`` -- ``getattr(flair.datasets, name)(**kwargs)``: Flair's own loader, which downloads into
  ``~/.flair/datasets`` on first use (or reads what is there).
* ``type: column`` -- every file is checked line by line first (:func:`check_column_file`), then read by
  Flair's ``ColumnCorpus``. IOB1 files are rewritten to BIO in a temporary folder and read from there.
* ``type: hf`` -- a ``datasets`` id or a ``save_to_disk`` folder with a tokens column and a tags column;
  integer tags are named by the ``ClassLabel`` feature, tags are checked like column files, and each row
  becomes a ``Sentence`` with span labels.

Why check before Flair reads: Flair's reader is lenient by design. A token holding a space shifts the
columns, an empty token is silently dropped (and every later tag of the sentence moves one word left), a
misspelt tag becomes an entity type, and an ``I-`` after ``O`` quietly starts a span. Such errors cost
F1 without a single warning, so here they stop the run with the file and line to fix.

Tag schemes: ``BIO`` (a span is ``B-X I-X*``), ``IOB1`` (a span is ``I-X+``; ``B-X`` only starts a span
that directly follows one of the same type) and ``BIOES`` (``S-X`` or ``B-X I-X* E-X``). Blank lines,
including lines holding only spaces or tabs (as in the WNUT-17 training file), end a sentence; lines
starting with ``"# "`` are comments, as in Flair's ``ColumnCorpus``.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import math
import os
import random
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import flair
import flair.datasets
from flair.data import Corpus, Sentence
from torch.utils.data import Dataset, Subset

from flair_modernbert.recipes import CorpusConfig, Recipe, resolve_path

logger = logging.getLogger(__name__)

__all__ = [
    "CorpusFormatError",
    "ColumnFileCheck",
    "SplitSummary",
    "CorpusSummary",
    "load_corpus",
    "check_column_file",
    "convert_column_file",
    "check_tags",
    "iob1_to_bio",
    "bioes_to_bio",
    "to_bio",
    "bio_spans",
    "flair_loader",
    "summarize_corpus",
]

SPLITS = ("train", "dev", "test")
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


# ------------------------------------------------------------------------------------------------ tag schemes
def iob1_to_bio(tags: Sequence[str]) -> list[str]:
    """Convert IOB1 tags to BIO (IOB2): an ``I-X`` that starts a span becomes ``B-X``.

    In IOB1 a span starts with ``I-X`` unless it directly follows a span of the same type, where ``B-X``
    marks the boundary. Example: ``I-PER I-PER B-PER O I-LOC`` -> ``B-PER I-PER B-PER O B-LOC``.
    """
    result = []
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            result.append("B-" + tag[2:])
        else:
            result.append(tag)
        previous = tag
    return result


def bioes_to_bio(tags: Sequence[str]) -> list[str]:
    """Convert BIOES tags to BIO: ``S-X`` -> ``B-X``, ``E-X`` -> ``I-X``."""
    return ["B-" + t[2:] if t.startswith("S-") else "I-" + t[2:] if t.startswith("E-") else t for t in tags]


def to_bio(tags: Sequence[str], scheme: str) -> list[str]:
    """Convert tags of ``scheme`` (``BIO``, ``IOB1``, ``BIOES``) to BIO."""
    if scheme == "IOB1":
        return iob1_to_bio(tags)
    if scheme == "BIOES":
        return bioes_to_bio(tags)
    return list(tags)


def bio_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Spans of BIO tags as ``(start, end, type)`` with ``end`` exclusive.

    As in Flair, an ``I-X`` that does not continue a span of type ``X`` starts a new one.
    """
    spans: list[tuple[int, int, str]] = []
    start, kind = -1, ""
    for index, tag in enumerate(list(tags) + ["O"]):
        continues = tag.startswith("I-") and start >= 0 and tag[2:] == kind
        if start >= 0 and not continues:
            spans.append((start, index, kind))
            start = -1
        if tag.startswith(("B-", "I-")) and not continues:
            start, kind = index, tag[2:]
    return spans


class _TagChecker:
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
    checker = _TagChecker(scheme, strict)
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
    checker = _TagChecker(tag_scheme, strict)
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
        with file.open(encoding=encoding) as stream:
            for lineno, line in enumerate(stream, start=1):
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
    except UnicodeDecodeError as error:
        problems.append((lineno + 1, f"not valid {encoding} text ({error.reason}); set corpus.encoding"))
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


def convert_column_file(
    source: Union[str, os.PathLike],
    target: Union[str, os.PathLike],
    label_column: int,
    tag_scheme: str = "IOB1",
    column_delimiter: str = r"\s+",
    encoding: str = "utf-8",
) -> Path:
    """Rewrite the tags of one column to BIO, sentence by sentence, keeping everything else byte for byte.

    Args:
        source: a column file (checked first with :func:`check_column_file`).
        target: where the converted file is written.
        label_column: index of the tag column.
        tag_scheme: the scheme of ``source`` (``IOB1`` or ``BIOES``; ``BIO`` copies).
        column_delimiter: the delimiter of ``source``; the target keeps the same separators.
        encoding: text encoding of both files.

    Returns:
        ``target``.
    """
    delimiter = re.compile(column_delimiter)
    out = Path(target)
    block: list[str] = []

    def split(line: str) -> tuple[list[str], list[str], str]:
        body = line.rstrip()
        fields, separators, start = [], [], 0
        for match in delimiter.finditer(body):
            if match.end() == match.start():
                continue
            fields.append(body[start : match.start()])
            separators.append(match.group(0))
            start = match.end()
        fields.append(body[start:])
        return fields, separators, line[len(body) :]

    def flush(writer) -> None:
        parsed = [split(line) if line.strip() and not line.startswith(COMMENT_SYMBOL) else None for line in block]
        rows = [i for i, p in enumerate(parsed) if p is not None and len(p[0]) > label_column]
        converted = to_bio([parsed[i][0][label_column] for i in rows], tag_scheme)
        for i, tag in zip(rows, converted):
            parsed[i][0][label_column] = tag
        for line, item in zip(block, parsed):
            if item is None:
                writer.write(line)
            else:
                fields, separators, rest = item
                text = fields[0] + "".join(s + f for s, f in zip(separators, fields[1:]))
                writer.write(text + rest)
        block.clear()

    with Path(source).open(encoding=encoding) as reader, out.open("w", encoding=encoding) as writer:
        for line in reader:
            if not line.strip():
                flush(writer)
                writer.write(line)
            else:
                block.append(line)
        flush(writer)
    return out


def _column_files(cfg: CorpusConfig, folder: Path) -> dict[str, Optional[Path]]:
    listing = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
    for split in SPLITS:
        name = getattr(cfg, f"{split}_file")
        if name is not None and not (folder / name).is_file():
            raise FileNotFoundError(
                f"corpus.{split}_file: {folder / name} does not exist; {folder} holds: {listing}"
            )
    if cfg.train_file is not None:
        files = {split: getattr(cfg, f"{split}_file") for split in SPLITS}
        files = {split: folder / name if name else None for split, name in files.items()}
    else:
        from flair.datasets.base import find_train_dev_test_files

        # Flair's own rule when names are not given: 'train', 'dev'/'testa', 'test'/'testb' in the file name
        dev, test, train = find_train_dev_test_files(folder, cfg.dev_file, cfg.test_file, None, True)
        files = {"train": train, "dev": dev, "test": test}
        for split in ("dev", "test"):  # Flair's search may overwrite names that were given
            if getattr(cfg, f"{split}_file"):
                files[split] = folder / getattr(cfg, f"{split}_file")
    if not any(files.values()):
        raise FileNotFoundError(
            f"corpus.path: no column files found in {folder} (it holds: {listing}); set corpus.train_file, "
            "corpus.dev_file and corpus.test_file"
        )
    if files["train"] is None:
        logger.warning("%s: no training file (set corpus.train_file); the corpus has only %s", folder,
                       ", ".join(s for s in SPLITS if files[s]))
    return {split: Path(path) if path else None for split, path in files.items()}


def _load_column(cfg: CorpusConfig, base_dir: Optional[Path]) -> Corpus:
    from flair.datasets import ColumnCorpus

    folder = resolve_path(cfg.path, base_dir)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"corpus.path: the column folder {folder} does not exist (corpus.path is {cfg.path!r}; relative paths "
            "in a recipe are relative to the recipe file, 'package:' paths to the installed flair_modernbert "
            "package). Put the train/dev/test column files there or fix corpus.path."
        )
    files = _column_files(cfg, folder)
    for split, file in files.items():
        if file is not None:
            check = check_column_file(
                file, cfg.columns, cfg.label_type, cfg.tag_scheme, cfg.strict_tags,
                cfg.column_delimiter, cfg.document_separator, cfg.encoding,
            )
            logger.info("%s (%s): %d sentences, %d tokens, checked", file, split, check.sentences, check.tokens)

    def read(root: Path, split_files: dict[str, Optional[Path]]) -> Corpus:
        return ColumnCorpus(
            root,
            dict(cfg.columns),
            train_file=split_files["train"],
            dev_file=split_files["dev"],
            test_file=split_files["test"],
            autofind_splits=False,
            column_delimiter=cfg.column_delimiter,
            encoding=cfg.encoding,
            document_separator_token=cfg.document_separator,
            comment_symbol=COMMENT_SYMBOL,
            in_memory=True,
            random_seed=cfg.seed,
        )

    if cfg.tag_scheme == "IOB1":
        # Flair has no IOB1 mode: convert to BIO in a temporary folder; in_memory reading is done on return
        label_column = _field_index(cfg.columns, cfg.label_type)
        with tempfile.TemporaryDirectory(prefix="flair-modernbert-bio-") as tmp:
            converted = {
                split: convert_column_file(file, Path(tmp) / f"{split}-{file.name}", label_column, "IOB1",
                                           cfg.column_delimiter, cfg.encoding) if file else None
                for split, file in files.items()
            }
            corpus = read(Path(tmp), converted)
        logger.info("%s: IOB1 tags converted to BIO", folder)
    else:
        corpus = read(folder, files)
    corpus.name = str(folder)
    return corpus


# ------------------------------------------------------------------------------------------------ Flair loaders
_LOADER_HINTS = {
    "CONLL_03": (
        "CoNLL-03 is not downloadable (Reuters licence): get eng.train, eng.testa and eng.testb "
        "(https://www.clips.uantwerpen.be/conll2003/ner/) and put them in {root}/conll_03, or set "
        "corpus.kwargs.base_path to the folder that holds conll_03/."
    ),
    "ONTONOTES": (
        "OntoNotes 5.0 is licensed by the LDC (LDC2013T19, https://catalog.ldc.upenn.edu/LDC2013T19): make sure "
        "your use is covered by that licence. Flair downloads a CoNLL-2012 conversion of it from data.mendeley.com "
        "into {root}/conll-2012 and writes the splits to {root}/ontonotes; on an offline machine copy those "
        "folders there from a machine with access."
    ),
    "WNUT_17": (
        "Flair downloads it from noisy-text.github.io into {root}/wnut_17; offline, copy wnut17train.conll, "
        "emerging.dev.conll and emerging.test.annotated there, or use a column corpus "
        "(recipes/wnut17-base-crf.yaml reads the copy in ../shared/data/wnut17)."
    ),
}


def _loader_names() -> list[str]:
    names = []
    for name in dir(flair.datasets):
        value = getattr(flair.datasets, name)
        if isinstance(value, type) and issubclass(value, Corpus) and not name.startswith("_"):
            names.append(name)
    return sorted(names)


def _close_names(name: str, candidates: Sequence[str], limit: int = 5) -> list[str]:
    def norm(text: str) -> str:
        return re.sub(r"[^A-Z0-9]", "", text.upper())

    by_norm: dict[str, list[str]] = {}
    for candidate in candidates:
        by_norm.setdefault(norm(candidate), []).append(candidate)
    wanted = norm(name)
    found = list(by_norm.get(wanted, []))
    for match in difflib.get_close_matches(wanted, list(by_norm), n=limit, cutoff=0.6):
        found += [c for c in by_norm[match] if c not in found]
    if wanted:
        found += [c for c in candidates if norm(c).startswith(wanted) and c not in found]
    return found[:limit]


def flair_loader(name: str) -> type:
    """The ``flair.datasets`` corpus class called ``name``.

    Raises:
        ValueError: no such corpus class; the message lists close matches.
    """
    value = getattr(flair.datasets, name, None)
    if isinstance(value, type) and issubclass(value, Corpus):
        return value
    close = _close_names(name, _loader_names())
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ValueError(
        f"corpus.name: {name!r} is not a corpus loader of flair.datasets (names are case-sensitive, e.g. "
        f"CONLL_03, ONTONOTES, WNUT_17).{hint}"
    )


def _load_flair(cfg: CorpusConfig, base_dir: Optional[Path]) -> Corpus:
    loader = flair_loader(cfg.name)
    kwargs = dict(cfg.kwargs)
    if isinstance(kwargs.get("base_path"), str):
        kwargs["base_path"] = str(resolve_path(kwargs["base_path"], base_dir))
    try:
        inspect.signature(loader).bind(**kwargs)
    except TypeError as error:
        raise ValueError(f"corpus.kwargs: Flair's {cfg.name} loader does not take {kwargs}: {error}") from None
    root = Path(kwargs.get("base_path") or flair.cache_root / "datasets")
    try:
        return loader(**kwargs)
    except TypeError as error:
        if "unexpected keyword argument" not in str(error):
            raise
        # loaders pass **corpusargs down to Corpus, so a wrong name only fails there
        raise ValueError(f"corpus.kwargs: Flair's {cfg.name} loader does not take {kwargs}: {error}") from None
    except (OSError, AssertionError, zipfile.BadZipFile) as error:
        hint = _LOADER_HINTS.get(cfg.name, "").format(root=root)
        raise FileNotFoundError(
            f"corpus.name: Flair's {cfg.name} loader could not provide the corpus ({type(error).__name__}: {error}). "
            f"It looks in {root}/{cfg.name.lower()} (Flair's dataset folder, base_path) and downloads there on first "
            f"use; this machine may be offline. {hint}".rstrip()
        ) from error


# ------------------------------------------------------------------------------------------------ HF datasets
def _hf_label_names(cfg: CorpusConfig, dataset: Any, split: str) -> Optional[list[str]]:
    from datasets import ClassLabel

    feature = dataset.features[cfg.tags_column]
    inner = getattr(feature, "feature", None)
    if isinstance(inner, ClassLabel):
        if cfg.label_names is not None and list(cfg.label_names) != list(inner.names):
            logger.warning("corpus.label_names %s replace the ClassLabel names %s", cfg.label_names, inner.names)
            return list(cfg.label_names)
        return list(inner.names)
    if cfg.label_names is not None:
        return list(cfg.label_names)
    dtype = getattr(inner, "dtype", None)
    if dtype in ("string", "large_string"):
        return None
    raise ValueError(
        f"corpus.tags_column: {cfg.tags_column!r} of split {split!r} is {feature}, not a list of ClassLabel or of "
        "strings; set corpus.label_names to the tag names of its integer ids"
    )


def _hf_splits(cfg: CorpusConfig, data: Any, source: str) -> dict[str, str]:
    available = list(data.keys())
    if cfg.splits is not None:
        for split, name in cfg.splits.items():
            if name not in available:
                raise ValueError(
                    f"corpus.splits.{split}: {source} has no split {name!r}; it has {', '.join(available)}"
                )
        return dict(cfg.splits)
    chosen = {}
    for split, names in (("train", ("train",)), ("dev", ("validation", "dev", "valid")), ("test", ("test",))):
        found = next((n for n in names if n in available), None)
        if found:
            chosen[split] = found
    if "train" not in chosen:
        raise ValueError(
            f"corpus.splits: {source} has no 'train' split (it has {', '.join(available)}); map them with "
            "corpus.splits: {train: ..., dev: ..., test: ...}"
        )
    return chosen


def _hf_sentences(cfg: CorpusConfig, dataset: Any, names: Optional[list[str]], where: str) -> list[Sentence]:
    for key in ("tokens_column", "tags_column"):
        column = getattr(cfg, key)
        if column not in dataset.column_names:
            raise ValueError(
                f"corpus.{key}: {where} has no column {column!r}; it has {', '.join(dataset.column_names)}"
            )
    problems: list[tuple[int, str]] = []
    sentences: list[Sentence] = []
    empty = 0
    checker = _TagChecker(cfg.tag_scheme, cfg.strict_tags)
    for row, (words, raw_tags) in enumerate(zip(dataset[cfg.tokens_column], dataset[cfg.tags_column])):
        words, raw_tags = list(words), list(raw_tags)
        if len(words) != len(raw_tags):
            problems.append((row, f"{len(words)} tokens but {len(raw_tags)} tags"))
            continue
        if not words:
            empty += 1
            continue
        tags = []
        for index, (word, tag) in enumerate(zip(words, raw_tags)):
            if names is not None:
                if isinstance(tag, bool) or not isinstance(tag, int) or not 0 <= tag < len(names):
                    problems.append((row, f"token {index}: tag id {tag!r} is not in 0..{len(names) - 1}"))
                    tag = "O"
                else:
                    tag = names[tag]
            if not isinstance(word, str) or not word.strip():
                problems.append((row, f"token {index}: empty token"))
            problem = checker.feed(str(tag))
            if problem:
                problems.append((row, f"token {index}: {problem}"))
            tags.append(str(tag))
        problem = checker.end()
        if problem:
            problems.append((row, problem))
        if problems:
            continue
        sentence = Sentence(words)
        for start, end, kind in bio_spans(to_bio(tags, cfg.tag_scheme)):
            sentence[start:end].add_label(cfg.label_type, kind)
        sentences.append(sentence)
    if problems:
        # rows are 0-based dataset indices; say so, since they stand where a line number would
        raise CorpusFormatError(where, problems, what="dataset split (rows are 0-based)", unit="row")
    if empty:
        logger.warning("%s: %d empty row(s) skipped", where, empty)
    Sentence.set_context_for_sentences(sentences)
    return sentences


def _load_hf(cfg: CorpusConfig, base_dir: Optional[Path]) -> Corpus:
    import datasets
    from flair.datasets import FlairDatapointDataset

    if cfg.path:
        folder = resolve_path(cfg.path, base_dir)
        if not folder.exists():
            raise FileNotFoundError(
                f"corpus.path: {folder} does not exist (corpus.path is {cfg.path!r}). A folder written by "
                "datasets' DatasetDict.save_to_disk is expected; relative paths in a recipe are relative to the recipe."
            )
        try:
            data = datasets.load_from_disk(str(folder))
        except FileNotFoundError as error:
            raise FileNotFoundError(f"corpus.path: {folder} is not a datasets save_to_disk folder ({error})") from error
        source = str(folder)
    else:
        try:
            data = datasets.load_dataset(cfg.name, **cfg.kwargs)
        except Exception as error:  # noqa: BLE001 - offline, unknown id, missing config: all end here
            raise FileNotFoundError(
                f"corpus.name: could not load the Hugging Face dataset {cfg.name!r} ({type(error).__name__}: {error}). "
                "datasets fetches it from the hub into ~/.cache/huggingface/datasets; this machine may be offline. "
                f"On a machine with access run datasets.load_dataset({cfg.name!r}).save_to_disk(FOLDER), copy FOLDER "
                "here and set corpus.path: FOLDER instead of corpus.name."
            ) from error
        source = cfg.name
    if isinstance(data, datasets.Dataset):
        data = datasets.DatasetDict({"train": data})
    if not isinstance(data, datasets.DatasetDict):
        raise ValueError(f"corpus: {source} is a {type(data).__name__}; a Dataset or DatasetDict is needed")
    splits = _hf_splits(cfg, data, source)
    parts: dict[str, Any] = {}
    for split, name in splits.items():
        names = _hf_label_names(cfg, data[name], name)
        parts[split] = FlairDatapointDataset(_hf_sentences(cfg, data[name], names, f"{source} [{name}]"))
    return Corpus(parts.get("train"), parts.get("dev"), parts.get("test"), name=source, random_seed=cfg.seed)


# ------------------------------------------------------------------------------------------------ sampling
def _subsample(corpus: Corpus, sample: Union[int, float], seed: int) -> Corpus:
    rng = random.Random(seed)

    def pick(dataset: Optional[Dataset]) -> Optional[Dataset]:
        if dataset is None:
            return None
        size = len(dataset)
        keep = min(size, sample) if isinstance(sample, int) else max(1, math.ceil(size * sample))
        if keep >= size:
            return dataset
        return Subset(dataset, sorted(rng.sample(range(size), keep)))  # file order kept, for context

    return Corpus(
        pick(corpus.train), pick(corpus.dev), pick(corpus.test), name=corpus.name, sample_missing_splits=False
    )


# ------------------------------------------------------------------------------------------------ public API
def load_corpus(
    cfg: Union[CorpusConfig, Recipe], recipe_path: Optional[Union[str, os.PathLike]] = None
) -> Corpus:
    """Load the corpus a recipe describes, checking its files first.

    Args:
        cfg: the recipe's ``corpus`` section (or the whole recipe).
        recipe_path: the recipe file; relative paths in ``cfg`` are relative to its folder (recipes from
            :func:`~flair_modernbert.recipes.load_recipe` already hold absolute paths). ``None``: the
            recipe's own ``source`` when ``cfg`` is a recipe, else the current directory.

    Returns:
        A Flair ``Corpus``; entities are span labels of ``cfg.label_type``. Without a dev or test split,
        Flair samples 10% of train for it (seeded by ``cfg.seed``); ``cfg.sample`` then subsamples every split.

    Raises:
        FileNotFoundError: the corpus is missing; the message says where it looked and how to get it.
        CorpusFormatError: a file or dataset row breaks its format (file and line / row named).
        ValueError: an unknown Flair loader (close matches listed) or a setting that does not fit the data.
    """
    if isinstance(cfg, Recipe):
        recipe_path = recipe_path or cfg.source
        cfg = cfg.corpus
    base_dir = Path(recipe_path).resolve().parent if recipe_path else None
    if cfg.type == "flair":
        corpus = _load_flair(cfg, base_dir)
    elif cfg.type == "column":
        corpus = _load_column(cfg, base_dir)
    elif cfg.type == "hf":
        corpus = _load_hf(cfg, base_dir)
    else:
        raise ValueError(f"corpus.type: unknown corpus type {cfg.type!r}; use flair, column or hf")
    if cfg.sample is not None:
        corpus = _subsample(corpus, cfg.sample, cfg.seed)
    summary = summarize_corpus(corpus, cfg.label_type)
    logger.info("%s", summary.format())
    if corpus.train is not None and len(corpus.train) and not summary.splits["train"].entities:
        logger.warning(
            "%s: the train split has no '%s' spans; check corpus.label_type and the tag column",
            corpus.name, cfg.label_type,
        )
    return corpus


@dataclass
class SplitSummary:
    """Counts of one split: sentences, tokens and entity spans per type."""

    sentences: int = 0
    tokens: int = 0
    entities: dict[str, int] = field(default_factory=dict)

    @property
    def total_entities(self) -> int:
        """All spans of the split."""
        return sum(self.entities.values())


@dataclass
class CorpusSummary:
    """Per-split counts of a corpus, for logs and reports (:func:`summarize_corpus`)."""

    name: str
    label_type: str
    splits: dict[str, SplitSummary]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON reports."""
        return {
            "name": self.name,
            "label_type": self.label_type,
            "splits": {
                split: {"sentences": s.sentences, "tokens": s.tokens, "entities": dict(s.entities)}
                for split, s in self.splits.items()
            },
        }

    def types(self) -> list[str]:
        """Entity types, most frequent first (over all splits)."""
        total: Counter = Counter()
        for s in self.splits.values():
            total.update(s.entities)
        return [kind for kind, _ in sorted(total.items(), key=lambda item: (-item[1], item[0]))]

    def format(self) -> str:
        """A small table: rows = sentences, tokens, entities and each type; columns = splits."""
        splits = list(self.splits)
        rows = [("sentences", [self.splits[s].sentences for s in splits]),
                ("tokens", [self.splits[s].tokens for s in splits]),
                (f"{self.label_type} spans", [self.splits[s].total_entities for s in splits])]
        rows += [(f"  {kind}", [self.splits[s].entities.get(kind, 0) for s in splits]) for kind in self.types()]
        width = max([len(name) for name, _ in rows] + [5])
        cells = [max(len(split), *(len(str(values[i])) for _, values in rows)) for i, split in enumerate(splits)]
        header = " " * width + "".join(f"  {split:>{cells[i]}}" for i, split in enumerate(splits))
        lines = [f"corpus {self.name}", header]
        for name, values in rows:
            lines.append(f"{name:<{width}}" + "".join(f"  {v:>{cells[i]}}" for i, v in enumerate(values)))
        return "\n".join(lines)

    __str__ = format


def summarize_corpus(corpus: Corpus, label_type: str = "ner") -> CorpusSummary:
    """Count sentences, tokens and ``label_type`` spans per type in each split of ``corpus``.

    Splits the corpus lacks are left out.
    """
    splits: dict[str, SplitSummary] = {}
    for split in SPLITS:
        dataset = getattr(corpus, split)
        if dataset is None:
            continue
        summary = SplitSummary()
        counts: Counter = Counter()
        for sentence in _iterate(dataset):
            summary.sentences += 1
            summary.tokens += len(sentence)
            counts.update(label.value for label in sentence.get_labels(label_type))
        summary.entities = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        splits[split] = summary
    return CorpusSummary(str(getattr(corpus, "name", "corpus")), label_type, splits)


def _iterate(dataset: Dataset) -> Iterable[Sentence]:
    for index in range(len(dataset)):
        yield dataset[index]
