"""Augment a CoNLL-style column folder into a new folder (``flair-modernbert augment IN_DIR OUT_DIR``).

The training file is read with Flair's own ``ColumnCorpus``, augmented with
:func:`~flair_modernbert.augmentation.augment_corpus` and written back as ``token<TAB>tag`` lines (original
sentences first, then the augmented ones), so the result can be inspected and trained on like any column
folder. Dev and test files are copied byte for byte. ``augmentation-report.json`` next to them records the
recipe, the counts and the source sentence of every added sentence.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Mapping, Optional, Union

from flair.data import Corpus
from flair.datasets import ColumnCorpus, SentenceDataset

from flair_modernbert.augmentation.corpus import AugmentationReport, augment_corpus
from flair_modernbert.augmentation.io import write_column_file
from flair_modernbert.config import AugmentationConfig, augmentation_from
from flair_modernbert.tags import TAG_FORMATS

logger = logging.getLogger(__name__)

__all__ = ["augment_folder", "REPORT_FILE"]

#: written into the output folder (no "train"/"dev"/"test" in the name, so Flair's file search skips it).
REPORT_FILE = "augmentation-report.json"


def _read_split(folder: Path, name: str, columns: Mapping[int, str]) -> list:
    corpus = ColumnCorpus(
        folder,
        dict(columns),
        train_file=name,
        autofind_splits=False,
        sample_missing_splits=False,
        in_memory=True,
    )
    return list(corpus.train) if corpus.train is not None else []


def augment_folder(
    in_dir: Union[str, Path],
    out_dir: Union[str, Path],
    config: Union[AugmentationConfig, list, dict, str, Path],
    train_file: str = "train.conll",
    dev_file: Optional[str] = "dev.conll",
    test_file: Optional[str] = "test.conll",
    columns: Optional[Mapping[int, str]] = None,
    label_type: str = "ner",
    tag_format: str = "BIO",
    seed: Optional[int] = None,
    ratio: Optional[float] = None,
    progress: bool = True,
) -> AugmentationReport:
    """Write an augmented copy of a column folder: augmented train file, dev and test unchanged.

    Args:
        in_dir: the folder holding the column files.
        out_dir: where to write (created; must not be ``in_dir``).
        config: the recipe: an :class:`AugmentationConfig`, the list or mapping form, or a YAML file path.
        train_file: name of the training file in ``in_dir`` (required).
        dev_file: name of the dev file (copied; skipped with a warning when absent, or ``None``).
        test_file: name of the test file (copied; skipped with a warning when absent, or ``None``).
        columns: Flair column map; default ``{0: "text", 1: label_type}``. With any other map the output
            has two columns (token, tag), so dev and test are rewritten in that form rather than copied.
        label_type: the column name (and span label type) holding the entity tags.
        tag_format: tags of the written train file: ``"BIO"`` or ``"BIOES"``.
        seed: the seed; when ``None``, the recipe's seed, else 0.
        ratio: copies per training sentence; when ``None``, the recipe's ratio.
        progress: show a tqdm progress bar.

    Returns:
        The :class:`AugmentationReport` (also written to ``out_dir/augmentation-report.json``).

    Raises:
        ValueError: for a missing folder or training file, ``out_dir`` equal to ``in_dir``, a bad
            ``columns`` map or ``tag_format``; ConfigError for an invalid augmentation file.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if tag_format not in TAG_FORMATS:
        raise ValueError(f"tag_format: expected one of {', '.join(TAG_FORMATS)}, got {tag_format!r}")
    if not in_dir.is_dir():
        raise ValueError(f"{in_dir}: input folder not found")
    if not (in_dir / train_file).is_file():
        raise ValueError(f"{in_dir / train_file}: training file not found (train_file={train_file!r})")
    if out_dir.exists() and out_dir.resolve() == in_dir.resolve():
        raise ValueError(f"{out_dir}: the output folder must differ from the input folder")
    columns = dict(columns) if columns is not None else {0: "text", 1: label_type}
    names = list(columns.values())
    if "text" not in names or label_type not in names:
        raise ValueError(f"columns: needs a 'text' column and a {label_type!r} column, got {columns}")
    plain = columns == {0: "text", 1: label_type}

    recipe = augmentation_from(config)
    logger.info("reading %s", in_dir / train_file)
    train = _read_split(in_dir, train_file, columns)
    corpus = Corpus(train=SentenceDataset(train), dev=None, test=None, name=str(in_dir), sample_missing_splits=False)
    augmented, report = augment_corpus(
        corpus, recipe, label_type=label_type, seed=seed, ratio=ratio, progress=progress
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    write_column_file(augmented.train, out_dir / train_file, label_type=label_type, tag_format=tag_format)
    written["train"] = f"{out_dir / train_file} ({tag_format}, {len(augmented.train)} sentences)"
    for split, name in (("dev", dev_file), ("test", test_file)):
        if name is None:
            continue
        source = in_dir / name
        if not source.is_file():
            logger.warning("%s: %s file not found; not written", source, split)
            continue
        target = out_dir / name
        if plain:
            shutil.copyfile(source, target)
            written[split] = f"{target} (copied)"
        else:
            # the train file now has two columns; the other splits must match it to be read together
            count = write_column_file(_read_split(in_dir, name, columns), target, label_type, tag_format)
            written[split] = f"{target} (rewritten as token/tag, {count} sentences)"
            logger.info("%s: rewritten with two columns to match the augmented train file", target)
    report.written = written
    source = str(config) if isinstance(config, (str, Path)) else None
    data = {"recipe": recipe.to_dict(), "recipe_source": source, "in_dir": str(in_dir), **report.to_dict()}
    (out_dir / REPORT_FILE).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report
