"""Corpus-level augmentation: add label-aligned variants of training sentences, keep dev and test as they are.

``ratio`` is the number of augmented sentences added per training sentence: ``round(ratio * n)`` for ``n``
training sentences (``1.0``: as many as there are originals, ``0.5``: half as many, ``2.0``: twice as many).
Every added sentence differs from its source and from the other variants of the same source (unless
``keep_unchanged``): a duplicate is not augmentation, it only re-weights the data.

Sources are visited in a seeded order, in rounds; in each round a source gives at most one variant, and at
most ``ceil(ratio)`` in all, so variants are spread over as many sentences as possible. A draw that changes
nothing (an operation with ``p < 1`` that did not fire, a sentence without a mention of the chosen types) is
dropped and the next source is tried; two extra rounds give sources whose operations did not fire another
chance. When the operations cannot change enough sentences (lower-casing ``person`` names in a corpus where
few sentences hold one), fewer sentences are added; the report and the log say how many.

Each variant is made with its own ``random.Random`` derived from ``(seed, source, draw)``, so it does not
depend on the other draws. Only ``corpus.train`` is ever read (mention banks included).
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
from flair_modernbert.augmentation.pipeline import build_augmenter
from flair_modernbert.config import AugmentationConfig, augmentation_from

logger = logging.getLogger(__name__)

__all__ = ["OpCounts", "AugmentationReport", "augment_sentences", "augment_corpus"]


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
        requested: augmented sentences asked for (``round(ratio * original)``).
        added: augmented sentences added.
        drawn: variants drawn to get them.
        unchanged: draws identical to their source (dropped unless ``keep_unchanged``).
        duplicates: draws identical to an earlier variant of the same source (dropped unless ``keep_unchanged``).
        keep_unchanged: whether such draws were kept.
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
    drawn: int = 0
    unchanged: int = 0
    duplicates: int = 0
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
            f"{self.added} augmented added of {self.requested} requested ({self.drawn} drawn; {self.unchanged} "
            f"unchanged and {self.duplicates} duplicate {dropped})"
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
            "drawn": self.drawn,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "keep_unchanged": self.keep_unchanged,
            "ratio": self.ratio,
            "seed": self.seed,
            "ops": {name: vars(counts).copy() for name, counts in self.ops.items()},
            "added_mentions": dict(sorted(self.added_mentions.items())),
            "sources": list(self.sources),
            "written": dict(self.written),
        }


#: rounds beyond ``ceil(ratio)`` that give sources whose operations did not fire another chance
EXTRA_ROUNDS = 2


def augment_sentences(
    sentences: Sequence[Sentence],
    augmenter: Augmenter,
    ratio: float = 1.0,
    seed: int = 0,
    keep_unchanged: bool = False,
    progress: bool = True,
) -> tuple[list[Sentence], AugmentationReport]:
    """Make ``round(ratio * len(sentences))`` augmented variants (see the module docstring).

    The inputs are not changed and not part of the result. Variants are ordered by round, then by source, so
    a column file of them keeps a sensible document context; each shares its source's document context in
    memory (Flair's ``copy_context_from_sentence``), as FLERT-style context embeddings read neighbours.

    Args:
        sentences: the training sentences.
        augmenter: the operation(s); see :func:`~flair_modernbert.augmentation.build_augmenter`.
        ratio: augmented sentences per training sentence.
        seed: the same seed gives the same variants.
        keep_unchanged: keep draws identical to their source or to an earlier variant.
        progress: show a tqdm progress bar.

    Returns:
        The added sentences and the report.
    """
    if ratio < 0 or not math.isfinite(ratio):
        raise ValueError(f"ratio: expected a number >= 0, got {ratio!r}")
    label_type = augmenter.label_type
    count = len(sentences)
    target = math.floor(ratio * count + 0.5)  # round half up (Python's round() rounds half to even)
    cap = max(1, math.ceil(ratio))
    report = AugmentationReport(original=count, requested=target, keep_unchanged=keep_unchanged, ratio=ratio, seed=seed)
    steps = augmenter.steps if isinstance(augmenter, Compose) else [augmenter]
    report.ops = {step.label: OpCounts() for step in steps}  # one row per step, in order, even if it never fired
    order = list(range(count))
    random.Random(f"{seed}/order").shuffle(order)
    made = [0] * count
    seen: list[set] = [set() for _ in range(count)]
    found: list[tuple[int, int, Sentence, LabeledTokens, list[OpRecord]]] = []
    with tqdm(total=target, desc="augmenting", unit="sent", disable=not progress, leave=False) as bar:
        for draw in range(cap + EXTRA_ROUNDS):
            for index in order:
                if len(found) == target:
                    break
                if made[index] >= min(cap, draw + 1):
                    continue
                item = LabeledTokens.from_sentence(sentences[index], label_type)
                # a generator per draw: the result does not depend on the other draws
                result, records = augmenter.apply(item, random.Random(f"{seed}/{index}/{draw}"))
                report.drawn += 1
                signature = (result.tokens, result.mentions)
                if not keep_unchanged and signature == (item.tokens, item.mentions):
                    report.unchanged += 1
                    continue
                if not keep_unchanged and signature in seen[index]:
                    report.duplicates += 1
                    continue
                seen[index].add(signature)
                made[index] += 1
                found.append((draw, index, sentences[index], result, records))
                bar.update(1)
    added = []
    for _, index, source, result, records in sorted(found, key=lambda entry: entry[:2]):
        new = result.to_sentence(label_type)
        new.copy_context_from_sentence(source)
        new.is_document_boundary = source.is_document_boundary
        added.append(new)
        report.sources.append(index)
        report.added_mentions.update(m.type for m in result.mentions)
        for record in records:
            report.ops.setdefault(record.op, OpCounts()).add(record)
    report.added = len(added)
    logger.info("%s", report.summary())
    if report.added < report.requested:
        logger.warning(
            "augmentation added %d of %d requested sentences: the operations change no other sentence (e.g. "
            "they hold no mention of the chosen types)", report.added, report.requested,
        )
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
        config: an augmentation section (:class:`~flair_modernbert.config.AugmentationConfig`, its list or
            mapping form, or a YAML file's path) or a ready
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
        recipe = augmentation_from(config)
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
