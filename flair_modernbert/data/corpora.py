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
"""

from __future__ import annotations

import inspect
import logging
import math
import random
import re
import zipfile
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import flair
import flair.datasets
from flair.data import Corpus, Sentence
from torch.utils.data import Dataset, Subset

from flair_modernbert.config import ColumnCorpus, CorpusConfig, FlairCorpus, HFCorpus
from flair_modernbert.config.errors import close_matches
from flair_modernbert.data.columns import COMMENT_SYMBOL, CorpusFormatError, TagChecker, check_column_file
from flair_modernbert.data.documents import link_ontonotes_documents
from flair_modernbert.data.summary import SPLITS, summarize_corpus
from flair_modernbert.tags import add_spans, spans_from_tags

logger = logging.getLogger(__name__)

__all__ = ["load_corpus", "flair_loader"]


def _column_files(cfg: ColumnCorpus, folder: Path) -> dict[str, Optional[Path]]:
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
def load_corpus(cfg: CorpusConfig) -> Corpus:
    """Load the corpus a recipe's ``corpus`` section describes, checking its files first.

    Args:
        cfg: a :class:`~flair_modernbert.config.FlairCorpus`, ``ColumnCorpus`` or ``HFCorpus`` (its paths are
            absolute once validated).

    Returns:
        A Flair ``Corpus``; entities are span labels of ``cfg.label_type``. Without a dev or test split, Flair
        samples 10% of train for it (seeded by ``cfg.seed``); ``cfg.sample`` then subsamples every split.

    Raises:
        FileNotFoundError: the corpus is missing; the message says where it looked and how to get it.
        CorpusFormatError: a file or dataset row breaks its format (file and line / row named).
        ValueError: an unknown Flair loader (close matches listed) or a setting that does not fit the data.
    """
    loaders = {"flair": _load_flair, "column": _load_column, "hf": _load_hf}
    corpus = loaders[cfg.type](cfg)
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
