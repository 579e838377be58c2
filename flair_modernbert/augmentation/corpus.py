"""Corpus-level augmentation: add label-aligned copies of training sentences, keep dev and test as they are.

The number of copies follows ``ratio``: ``round(ratio * n)`` copies for ``n`` training sentences, spread as
evenly as possible -- every sentence gets ``floor`` of that share and a seeded sample of sentences gets one
more (``1.0``: one copy each, ``0.5``: one copy for half of them, ``2.0``: two each, ``1.5``: one each plus
one more for half). Each copy is made with its own ``random.Random`` derived from ``(seed, sentence, copy)``,
so a copy does not depend on the others. Copies that come out identical to their source are dropped unless
``keep_unchanged`` is set: a duplicate is not augmentation, it only re-weights the data.

Only ``corpus.train`` is ever read for augmentation (mention banks included); dev and test are passed on
unchanged, so their scores stay comparable with the unaugmented run.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from flair.data import Corpus, Sentence
from flair.datasets import SentenceDataset
from tqdm import tqdm

from flair_modernbert.augmentation.base import Augmenter, Compose, LabeledTokens, OpRecord
from flair_modernbert.augmentation.config import AugmentationConfig, build_augmenter, resolve_augmentation

logger = logging.getLogger(__name__)

__all__ = ["OpCounts", "AugmentationReport", "copies_per_sentence", "augment_sentences", "augment_corpus"]


@dataclass
class OpCounts:
    """What one operation did over the added sentences.

    Attributes:
        applied: added sentences on which the operation fired.
        sentences: added sentences it changed.
        tokens: tokens it changed (for a swap: tokens of the new mentions).
        mentions: mentions it changed.
    """

    applied: int = 0
    sentences: int = 0
    tokens: int = 0
    mentions: int = 0

    def add(self, record: OpRecord) -> None:
        self.applied += 1
        self.sentences += int(record.changed)
        self.tokens += record.tokens
        self.mentions += record.mentions


@dataclass
class AugmentationReport:
    """The outcome of augmenting a training split.

    Attributes:
        original: training sentences before augmentation (all kept).
        requested: augmented copies drawn (``round(ratio * original)``).
        added: copies added to the training split.
        unchanged: copies identical to their source (dropped unless ``keep_unchanged``).
        keep_unchanged: whether such copies were kept.
        ratio: the ratio used.
        seed: the seed used.
        ops: per operation label (``lowercase``, ``swap``, ``char_noise``, ``char_noise#2`` ...), its counts.
        added_mentions: mentions per entity type in the added sentences.
        sources: for each added sentence, in order, the index of its source in the training split.
        written: for :func:`~flair_modernbert.augmentation.augment_folder`, what was written per split.
    """

    original: int = 0
    requested: int = 0
    added: int = 0
    unchanged: int = 0
    keep_unchanged: bool = False
    ratio: float = 1.0
    seed: int = 0
    ops: dict[str, OpCounts] = field(default_factory=dict)
    added_mentions: Counter = field(default_factory=Counter)
    sources: list[int] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """A few human-readable lines: sentences added, per operation what changed, mentions by type."""
        dropped = "kept" if self.keep_unchanged else "dropped"
        lines = [
            f"augmentation (seed {self.seed}, ratio {self.ratio:g}): {self.original} training sentences kept, "
            f"{self.added} augmented added ({self.requested} copies drawn, {self.unchanged} unchanged {dropped})"
        ]
        width = max([len(name) for name in self.ops] + [2])
        for name, counts in self.ops.items():
            lines.append(
                f"  {name:<{width}}  fired on {counts.applied}, changed {counts.sentences} sentences, "
                f"{counts.tokens} tokens, {counts.mentions} mentions"
            )
        if self.added_mentions:
            mentions = ", ".join(f"{kind} {count}" for kind, count in sorted(self.added_mentions.items()))
            lines.append(f"  mentions in added sentences: {mentions}")
        for split, what in self.written.items():
            lines.append(f"  {split}: {what}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (for JSON)."""
        return {
            "original": self.original,
            "requested": self.requested,
            "added": self.added,
            "unchanged": self.unchanged,
            "keep_unchanged": self.keep_unchanged,
            "ratio": self.ratio,
            "seed": self.seed,
            "ops": {name: vars(counts).copy() for name, counts in self.ops.items()},
            "added_mentions": dict(sorted(self.added_mentions.items())),
            "sources": list(self.sources),
            "written": dict(self.written),
        }


def copies_per_sentence(count: int, ratio: float, seed: int) -> list[int]:
    """How many augmented copies each of ``count`` sentences gets: ``round(ratio * count)`` in all.

    Every sentence gets the whole part; the remainder goes to a seeded sample of sentences.
    """
    if ratio < 0 or not math.isfinite(ratio):
        raise ValueError(f"ratio: expected a number >= 0, got {ratio!r}")
    if count == 0:
        return []
    total = math.floor(ratio * count + 0.5)  # round half up (Python's round() rounds half to even)
    whole, extra = divmod(total, count)
    copies = [whole] * count
    for index in random.Random(f"{seed}/extra-copies").sample(range(count), extra):
        copies[index] += 1
    return copies


def augment_sentences(
    sentences: Sequence[Sentence],
    augmenter: Augmenter,
    ratio: float = 1.0,
    seed: int = 0,
    keep_unchanged: bool = False,
    progress: bool = True,
) -> tuple[list[Sentence], AugmentationReport]:
    """Make augmented copies of sentences (the inputs are not changed and not included in the result).

    Copies are ordered by copy round, then by source: with ratio 1.0 the copies of consecutive sentences are
    consecutive too, so a column file of them keeps a sensible document context. Each copy shares its
    source's document context in memory (Flair's ``copy_context_from_sentence``), as FLERT-style context
    embeddings read neighbouring sentences.

    Args:
        sentences: the training sentences.
        augmenter: the operation(s); see :func:`~flair_modernbert.augmentation.build_augmenter`.
        ratio: copies per sentence (see the module docs).
        seed: the same seed gives the same copies.
        keep_unchanged: keep copies identical to their source.
        progress: show a tqdm progress bar.

    Returns:
        The added sentences and the report.
    """
    label_type = augmenter.label_type
    copies = copies_per_sentence(len(sentences), ratio, seed)
    report = AugmentationReport(
        original=len(sentences), requested=sum(copies), keep_unchanged=keep_unchanged, ratio=ratio, seed=seed
    )
    if isinstance(augmenter, Compose):  # one row per step, in pipeline order, even if it never fired
        report.ops = {step.label: OpCounts() for step in augmenter.steps}
    else:
        report.ops = {augmenter.label: OpCounts()}
    added: list[Sentence] = []
    rounds = max(copies, default=0)
    with tqdm(total=report.requested, desc="augmenting", unit="sent", disable=not progress, leave=False) as bar:
        for copy_index in range(rounds):
            for index, sentence in enumerate(sentences):
                if copies[index] <= copy_index:
                    continue
                bar.update(1)
                item = LabeledTokens.from_sentence(sentence, label_type)
                # a generator per copy: the result does not depend on which other copies were made
                rng = random.Random(f"{seed}/{index}/{copy_index}")
                result, records = augmenter.apply(item, rng)
                if result.tokens == item.tokens and result.mentions == item.mentions:
                    report.unchanged += 1
                    if not keep_unchanged:
                        continue
                new = result.to_sentence(label_type)
                new.copy_context_from_sentence(sentence)
                new.is_document_boundary = sentence.is_document_boundary
                added.append(new)
                report.sources.append(index)
                report.added_mentions.update(m.type for m in result.mentions)
                for record in records:
                    report.ops.setdefault(record.op, OpCounts()).add(record)
    report.added = len(added)
    logger.info("%s", report.summary())
    return added, report


def augment_corpus(
    corpus: Corpus,
    config: Union[AugmentationConfig, Augmenter, list, dict, str, Path],
    label_type: str = "ner",
    seed: Optional[int] = None,
    ratio: Optional[float] = None,
    keep_unchanged: Optional[bool] = None,
    progress: bool = True,
) -> tuple[Corpus, AugmentationReport]:
    """Augment the training split of a corpus; dev and test are passed on as they are.

    Args:
        corpus: a Flair corpus with span labels of ``label_type``.
        config: a recipe (:class:`AugmentationConfig`, list or mapping form, or a YAML path) or a ready
            :class:`Augmenter`. Mention banks for swap are built from ``corpus.train`` only.
        label_type: the span label type holding the entities.
        seed: the seed; when ``None``, the recipe's seed, else 0.
        ratio: copies per training sentence; when ``None``, the recipe's ratio (1.0 for an Augmenter).
        keep_unchanged: keep copies identical to their source; when ``None``, the recipe's setting.
        progress: show a tqdm progress bar.

    Returns:
        A new ``Corpus`` whose train split holds the original sentences (the same objects, first) followed by
        the augmented ones, with the same dev and test datasets; and the report.
    """
    if corpus.train is None:
        raise ValueError("augment_corpus: the corpus has no training split")
    train = list(corpus.train)
    if isinstance(config, Augmenter):
        augmenter, recipe = config, AugmentationConfig()
        if augmenter.label_type != label_type:
            raise ValueError(
                f"augment_corpus: the augmenter uses label type {augmenter.label_type!r}, not {label_type!r}"
            )
    else:
        recipe = resolve_augmentation(config)
        augmenter = build_augmenter(recipe, train_sentences=train, label_type=label_type)
    seed = seed if seed is not None else recipe.seed if recipe.seed is not None else 0
    ratio = ratio if ratio is not None else recipe.ratio
    keep = keep_unchanged if keep_unchanged is not None else recipe.keep_unchanged
    added, report = augment_sentences(train, augmenter, ratio=ratio, seed=seed, keep_unchanged=keep, progress=progress)
    new_corpus = Corpus(
        train=SentenceDataset(train + added),
        dev=corpus.dev,
        test=corpus.test,
        name=f"{corpus.name}+augmented",
        sample_missing_splits=False,  # never carve dev/test out of the augmented train split
    )
    return new_corpus, report
