"""Loading NER corpora: Flair loaders by name, CoNLL-style column folders, Hugging Face datasets.

:func:`load_corpus` turns a recipe's ``corpus:`` section into a ``flair.data.Corpus`` of ``Sentence`` objects
whose entities are span labels of ``label_type``:

* ``type: flair`` -- ``getattr(flair.datasets, name)(**kwargs)``: Flair's own loader, which downloads into
  ``~/.flair/datasets`` on first use (or reads what is there).
* ``type: column`` -- every file is checked line by line first (:func:`~flair_modernbert.data.columns.check_column_file`),
  then read by Flair's ``ColumnCorpus`` (which decodes BIO, IOB1 and BIOES alike).
* ``type: hf`` -- a ``datasets`` id or a ``save_to_disk`` folder with a tokens column and a tags column;
  integer tags are named by the ``ClassLabel`` feature, tags are checked like column files, and each row
  becomes a ``Sentence`` with span labels.
* ``type: spans`` -- span-annotated text (our JSON lines, doccano, Label Studio, presidio-evaluator), read by
  :mod:`flair_modernbert.data.spans`: split by the one segmentation rule, labelled through the one converter.

Then, for every type: ``label_map`` renames (or drops) entity types, ``canonical_types`` maps them to the
canonical PII names, ``sample`` subsamples, and a recipe's ``synthetic:`` section adds generated documents
(:mod:`flair_modernbert.synthetic`) to each split.
"""

from __future__ import annotations

import inspect
import logging
import math
import random
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import flair
import flair.datasets
from flair.data import Corpus, Sentence
from torch.utils.data import ConcatDataset, Dataset, Subset

from flair_modernbert.config import (
    ColumnCorpus,
    CorpusConfig,
    FlairCorpus,
    HFCorpus,
    Recipe,
    SpansCorpus,
    SyntheticConfig,
)
from flair_modernbert.config.errors import close_matches
from flair_modernbert.data.columns import COMMENT_SYMBOL, CorpusFormatError, TagChecker, check_column_file
from flair_modernbert.data.documents import link_ontonotes_documents
from flair_modernbert.data.spans import SpanDocument, read_span_documents, renamed_type, sentences_from_span_documents
from flair_modernbert.data.summary import SPLITS, summarize_corpus
from flair_modernbert.tags import add_spans, spans_from_tags, spans_of

logger = logging.getLogger(__name__)

__all__ = ["load_corpus", "flair_loader", "relabel_corpus", "add_synthetic"]


def _column_files(cfg: Union[ColumnCorpus, SpansCorpus], folder: Path) -> dict[str, Optional[Path]]:
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
            f"corpus.path: no {cfg.type} files found in {folder} (it holds: {listing}); set corpus.train_file, "
            "corpus.dev_file and corpus.test_file"
        )
    if files["train"] is None:
        logger.warning("%s: no training file (set corpus.train_file); the corpus has only %s", folder,
                       ", ".join(s for s in SPLITS if files[s]))
    return {split: Path(path) if path else None for split, path in files.items()}


def _load_column(cfg: ColumnCorpus) -> Corpus:
    from flair.datasets import ColumnCorpus as FlairColumnCorpus

    folder = Path(cfg.path)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"corpus.path: the column folder {folder} does not exist (relative paths in a recipe are relative to "
            "the recipe file, 'package:' paths to the installed flair_modernbert package). Put the "
            "train/dev/test column files there or fix corpus.path."
        )
    files = _column_files(cfg, folder)
    for split, file in files.items():
        if file is not None:
            check = check_column_file(
                file, cfg.columns, cfg.label_type, cfg.tag_scheme, cfg.strict_tags,
                cfg.column_delimiter, cfg.document_separator, cfg.encoding,
            )
            logger.info("%s (%s): %d sentences, %d tokens, checked", file, split, check.sentences, check.tokens)
    corpus = FlairColumnCorpus(
        folder,
        dict(cfg.columns),
        train_file=files["train"],
        dev_file=files["dev"],
        test_file=files["test"],
        autofind_splits=False,
        column_delimiter=cfg.column_delimiter,
        encoding=cfg.encoding,
        document_separator_token=cfg.document_separator,
        comment_symbol=COMMENT_SYMBOL,
        in_memory=True,
        random_seed=cfg.seed,
    )
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


def flair_loader(name: str) -> type:
    """The ``flair.datasets`` corpus class called ``name``.

    Raises:
        ValueError: no such corpus class; the message lists close matches.
    """
    value = getattr(flair.datasets, name, None)
    if isinstance(value, type) and issubclass(value, Corpus):
        return value
    close = close_matches(name, _loader_names(), limit=5, normalise=lambda text: re.sub(r"[^A-Z0-9]", "", text.upper()))
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ValueError(
        f"corpus.name: {name!r} is not a corpus loader of flair.datasets (names are case-sensitive, e.g. "
        f"CONLL_03, ONTONOTES, WNUT_17).{hint}"
    )


def _load_flair(cfg: FlairCorpus) -> Corpus:
    loader = flair_loader(cfg.name)
    kwargs = dict(cfg.kwargs)
    try:
        inspect.signature(loader).bind(**kwargs)
    except TypeError as error:
        raise ValueError(f"corpus.kwargs: Flair's {cfg.name} loader does not take {kwargs}: {error}") from None
    root = Path(kwargs.get("base_path") or flair.cache_root / "datasets")
    try:
        corpus = loader(**kwargs)
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
    if issubclass(loader, flair.datasets.ONTONOTES):
        link_ontonotes_documents(corpus, loader, kwargs, root)
    return corpus


# ------------------------------------------------------------------------------------------------ HF datasets
def _hf_label_names(cfg: HFCorpus, dataset: Any, split: str) -> Optional[list[str]]:
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


def _hf_splits(cfg: HFCorpus, data: Any, source: str) -> dict[str, str]:
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


def _hf_sentences(cfg: HFCorpus, dataset: Any, names: Optional[list[str]], where: str) -> list[Sentence]:
    for key in ("tokens_column", "tags_column", "document_column"):
        column = getattr(cfg, key)
        if column is not None and column not in dataset.column_names:
            raise ValueError(
                f"corpus.{key}: {where} has no column {column!r}; it has {', '.join(dataset.column_names)}"
            )
    problems: list[tuple[int, str]] = []
    sentences: list[Sentence] = []
    document_ids: list[Any] = []
    documents = dataset[cfg.document_column] if cfg.document_column else None
    empty = 0
    checker = TagChecker(cfg.tag_scheme, cfg.strict_tags)
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
        sentences.append(add_spans(Sentence(words), spans_from_tags(tags), cfg.label_type))
        document_ids.append(documents[row] if documents is not None else None)
    if problems:
        # rows are 0-based dataset indices; say so, since they stand where a line number would
        raise CorpusFormatError(where, problems, what="dataset split (rows are 0-based)", unit="row")
    if empty:
        logger.warning("%s: %d empty row(s) skipped", where, empty)
    # rows give each other context within a document (the whole split when there is no document column)
    start = 0
    for end in range(1, len(sentences) + 1):
        if end == len(sentences) or document_ids[end] != document_ids[start]:
            Sentence.set_context_for_sentences(sentences[start:end])
            start = end
    return sentences


def _load_hf(cfg: HFCorpus) -> Corpus:
    import datasets
    from flair.datasets import FlairDatapointDataset

    if cfg.path:
        folder = Path(cfg.path)
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


# ------------------------------------------------------------------------------------------------ span files
def _load_spans(cfg: SpansCorpus) -> Corpus:
    from flair.datasets import FlairDatapointDataset

    path = Path(cfg.path)
    if path.is_file():
        if any((cfg.train_file, cfg.dev_file, cfg.test_file)):
            raise ValueError(f"corpus.path: {path} is a file (the train split); train_file, dev_file and test_file "
                             "name files inside a folder path")
        files: dict[str, Optional[Path]] = {"train": path, "dev": None, "test": None}
    elif path.is_dir():
        files = _column_files(cfg, path)
    else:
        raise FileNotFoundError(
            f"corpus.path: {path} does not exist (relative paths in a recipe are relative to the recipe file). "
            "Give a span file (JSON lines, doccano, Label Studio or presidio-evaluator JSON) or a folder of them."
        )
    parts: dict[str, Any] = {}
    for split, file in files.items():
        if file is None:
            continue
        documents = read_span_documents(file, cfg.format)
        # label_map and canonical_types are applied to all corpus types alike, after loading (relabel_corpus)
        sentences = sentences_from_span_documents(documents, cfg.label_type, cfg.alignment)
        logger.info("%s (%s): %d documents, %d sentences", file, split, len(documents), len(sentences))
        parts[split] = FlairDatapointDataset(sentences)
    missing = [split for split in ("dev", "test") if split not in parts]
    if missing:
        logger.info("%s: no %s file; Flair samples 10%% of train for it (seed %d)", path, " or ".join(missing),
                    cfg.seed)
    return Corpus(parts.get("train"), parts.get("dev"), parts.get("test"), name=str(path), random_seed=cfg.seed)


# ------------------------------------------------------------------------------------------------ label_map
def relabel_corpus(
    corpus: Corpus,
    label_type: str,
    label_map: Optional[dict[str, Optional[str]]] = None,
    canonical_types: bool = False,
) -> Corpus:
    """Rename (or drop) the entity types of every split: ``label_map`` first (``None`` or ``"O"`` drops the
    type), then, with ``canonical_types``, ``rules.json``'s canonical names (``PER`` -> ``person``).

    Returns:
        A corpus of the same (relabelled) sentences, split as before; ``corpus`` itself when there is nothing
        to do. A ``label_map`` key that no split holds is logged (a misspelt type would otherwise do nothing).
    """
    if not label_map and not canonical_types:
        return corpus
    from flair.datasets import FlairDatapointDataset

    seen: Counter = Counter()
    renamed: Counter = Counter()

    def relabel(dataset: Optional[Dataset]) -> Optional[Dataset]:
        if dataset is None:
            return None
        sentences = list(dataset)  # materialised: a lazily read dataset would forget the new labels
        for sentence in sentences:
            spans = spans_of(sentence, label_type)
            if not spans:
                continue
            new_spans = []
            for start, end, kind in spans:
                seen[kind] += 1
                new = renamed_type(kind, label_map, canonical_types)
                if new != kind:
                    renamed[f"{kind} -> {new if new is not None else 'dropped'}"] += 1
                if new is not None:
                    new_spans.append((start, end, new))
            sentence.remove_labels(label_type)
            add_spans(sentence, new_spans, label_type)
        return FlairDatapointDataset(sentences)

    result = Corpus(relabel(corpus.train), relabel(corpus.dev), relabel(corpus.test), name=corpus.name,
                    sample_missing_splits=False)
    unused = sorted(set(label_map or {}) - set(seen))
    if unused:
        logger.warning("corpus.label_map: the corpus has no %s spans (its types: %s)", ", ".join(unused),
                       ", ".join(sorted(seen)) or "none")
    if renamed:
        logger.info("corpus types renamed: %s", ", ".join(f"{what} ({n} spans)" for what, n in sorted(renamed.items())))
    return result


# ------------------------------------------------------------------------------------------------ synthetic
def generate_synthetic_records(n: int, **options: Any) -> Iterator[dict[str, Any]]:
    """Records of :func:`flair_modernbert.synthetic.generate_records` (the one generator; imported when used)."""
    from flair_modernbert.synthetic import generate_records

    return generate_records(n, **options)


def add_synthetic(
    corpus: Corpus,
    config: Optional[SyntheticConfig],
    label_type: str = "ner",
    generate: Optional[Callable[..., Iterator[dict[str, Any]]]] = None,
) -> Corpus:
    """The corpus with generated PII documents added to each split (``config.train``/``dev``/``test`` of them).

    Each split is generated with its own seed (``seed``, ``seed + 1``, ``seed + 2``) so dev and test do not repeat
    train; the records become sentences as span files do (:func:`sentences_from_span_documents`), each document's
    sentences linked as context.

    Args:
        corpus: the corpus (after ``label_map`` and ``sample``).
        config: the recipe's ``synthetic:`` section; ``None`` or all sizes 0: ``corpus`` unchanged.
        label_type: the label layer of the spans.
        generate: the record generator, by default :func:`generate_synthetic_records` (for tests).
    """
    if config is None or not (config.train or config.dev or config.test):
        return corpus
    from flair.datasets import FlairDatapointDataset

    generate = generate or generate_synthetic_records
    parts: dict[str, Optional[Dataset]] = {}
    added = []
    for offset, split in enumerate(SPLITS):
        dataset = getattr(corpus, split)
        count = getattr(config, split)
        if not count:
            parts[split] = dataset
            continue
        source = f"synthetic:{split}"
        try:
            records = generate(
                count, seed=config.seed + offset, locales=tuple(config.locales), lowercase=config.lowercase,
                uppercase=config.uppercase, long_documents=config.long_documents, types=config.types,
            )
            documents = [
                SpanDocument(record["text"], tuple(sorted((s["start"], s["end"], s["type"]) for s in record["spans"])),
                             source, number)
                for number, record in enumerate(records, start=1)
            ]
        except ValueError as error:  # an unknown locale: the generator knows its locales, the schema does not
            raise ValueError(f"synthetic: {error}") from error
        if len(documents) != count:
            raise ValueError(f"synthetic.{split}: the generator gave {len(documents)} documents, {count} were asked for")
        sentences = sentences_from_span_documents(documents, label_type)
        synthetic = FlairDatapointDataset(sentences)
        parts[split] = synthetic if dataset is None or len(dataset) == 0 else ConcatDataset([dataset, synthetic])
        added.append(f"{split}: {len(documents)} documents, {len(sentences)} sentences (seed {config.seed + offset})")
    logger.info("synthetic PII added (%s): %s", ", ".join(config.locales), "; ".join(added))
    return Corpus(parts["train"], parts["dev"], parts["test"], name=corpus.name, sample_missing_splits=False)


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
def load_corpus(cfg: Union[CorpusConfig, Recipe], synthetic: Optional[SyntheticConfig] = None) -> Corpus:
    """Load the corpus a recipe's ``corpus`` section describes, checking its files first.

    Args:
        cfg: a :class:`~flair_modernbert.config.FlairCorpus`, ``ColumnCorpus``, ``HFCorpus`` or ``SpansCorpus``
            (its paths are absolute once validated), or a whole recipe (its ``corpus`` and ``synthetic``).
        synthetic: a recipe's ``synthetic:`` section: generated documents added to each split.

    Returns:
        A Flair ``Corpus``; entities are span labels of ``cfg.label_type``. Without a dev or test split, Flair
        samples 10% of train for it (seeded by ``cfg.seed``); ``cfg.label_map`` and ``cfg.canonical_types`` then
        rename types, ``cfg.sample`` subsamples every split, and ``synthetic`` adds generated documents.

    Raises:
        FileNotFoundError: the corpus is missing; the message says where it looked and how to get it.
        CorpusFormatError: a file or dataset row breaks its format (file and line / row named).
        ValueError: an unknown Flair loader (close matches listed) or a setting that does not fit the data.
    """
    if isinstance(cfg, Recipe):
        cfg, synthetic = cfg.corpus, synthetic if synthetic is not None else cfg.synthetic
    loaders = {"flair": _load_flair, "column": _load_column, "hf": _load_hf, "spans": _load_spans}
    corpus = loaders[cfg.type](cfg)
    corpus = relabel_corpus(corpus, cfg.label_type, cfg.label_map, cfg.canonical_types)
    if cfg.sample is not None:
        corpus = _subsample(corpus, cfg.sample, cfg.seed)
    corpus = add_synthetic(corpus, synthetic, cfg.label_type)
    summary = summarize_corpus(corpus, cfg.label_type)
    logger.info("%s", summary.format())
    if corpus.train is not None and len(corpus.train) and not summary.splits["train"].entities:
        logger.warning(
            "%s: the train split has no '%s' spans; check corpus.label_type and the tag column",
            corpus.name, cfg.label_type,
        )
    return corpus
