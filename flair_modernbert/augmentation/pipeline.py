"""The augmentation pipeline of a checked augmentation section: one augmenter per operation, in order."""

from __future__ import annotations

import logging
from typing import Any, Iterable, Optional

from flair.data import Sentence

from flair_modernbert.augmentation.base import Augmenter, Compose
from flair_modernbert.augmentation.lowercase import LowercaseNames
from flair_modernbert.augmentation.mentions import MentionBank, load_gazetteer
from flair_modernbert.augmentation.noise import CharNoise
from flair_modernbert.augmentation.swap import EntitySwap
from flair_modernbert.config import LowercaseOp, SwapOp, augmentation_from

logger = logging.getLogger(__name__)

__all__ = ["build_augmenter"]


def build_augmenter(
    config: Any,
    train_sentences: Optional[Iterable[Sentence]] = None,
    label_type: str = "ner",
) -> Compose:
    """Build the pipeline of a recipe: a :class:`Compose` of one augmenter per operation, in order.

    Args:
        config: an :class:`AugmentationConfig`, or anything :func:`resolve_augmentation` accepts.
        train_sentences: the training split (``corpus.train``); needed by ``swap`` without a gazetteer.
            Never pass dev or test sentences: their mentions would leak into training.
        label_type: the span label type holding the entities.

    Raises:
        ValueError: a swap op without gazetteer and no ``train_sentences``; GazetteerError for a bad file.
    """
    config = augmentation_from(config)
    counts: dict[str, int] = {}
    steps: list[Augmenter] = []
    train_bank: Optional[MentionBank] = None
    gazetteers: dict[str, MentionBank] = {}
    for index, op in enumerate(config.ops):
        counts[op.type] = counts.get(op.type, 0) + 1
        label = op.type if counts[op.type] == 1 else f"{op.type}#{counts[op.type]}"
        if isinstance(op, LowercaseOp):
            steps.append(LowercaseNames(op.types, op.scope, p=op.p, label_type=label_type, label=label))
        elif isinstance(op, SwapOp):
            if op.gazetteer is not None:
                if op.gazetteer not in gazetteers:
                    gazetteers[op.gazetteer] = load_gazetteer(op.gazetteer)
                bank = gazetteers[op.gazetteer]
            else:
                if train_sentences is None:
                    raise ValueError(
                        f"augmentation.ops[{index}] (swap): no gazetteer, so the training sentences are needed "
                        "for the mention bank; pass train_sentences=corpus.train"
                    )
                if train_bank is None:
                    train_bank = MentionBank.from_sentences(train_sentences, label_type, source="train split")
                bank = train_bank
            steps.append(EntitySwap(bank, op.types, op.mention_p, p=op.p, label_type=label_type, label=label))
        else:
            steps.append(CharNoise(op.action, op.target, op.token_p, op.types, p=op.p, label_type=label_type, label=label))
    return Compose(steps, label_type=label_type)
