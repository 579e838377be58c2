"""Entity swap (mention replacement): put another mention of the same type in place of a mention.

The replacement is drawn uniformly from the distinct mentions of the type in a :class:`MentionBank` (the
training split, or a gazetteer), never the mention's own text (compared case-insensitively) when another
one exists. Operations run in recipe order: a swap after ``lowercase`` puts cased bank mentions in place of
lower-cased names, so list ``swap`` first when the swapped-in names should be lower-cased too. Replacements may have
a different number of tokens; the mentions after it shift accordingly, so every span label still covers
exactly its tokens and keeps its type.
"""

from __future__ import annotations

import logging
import random
from typing import Iterable, Optional

from flair_modernbert.augmentation.base import Augmenter, LabeledTokens, Mention, OpRecord, normalise_types
from flair_modernbert.augmentation.mentions import MentionBank

logger = logging.getLogger(__name__)

__all__ = ["EntitySwap"]


def _fold(tokens: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(token.casefold() for token in tokens)


class EntitySwap(Augmenter):
    """Replace mentions with other mentions of the same type.

    Args:
        bank: where replacements come from; build it from the training split only
            (``MentionBank.from_sentences(corpus.train)``) or from a gazetteer.
        types: entity types to swap, case-insensitive (default: every type the bank has).
        mention_p: probability that each eligible mention is swapped once the operation fires.
        p: probability that the operation fires on a sentence.
        label_type: the span label type holding the entities.
        label: the name used in reports.
    """

    name = "swap"

    def __init__(
        self,
        bank: MentionBank,
        types: Optional[Iterable[str]] = None,
        mention_p: float = 1.0,
        p: float = 1.0,
        label_type: str = "ner",
        label: Optional[str] = None,
    ) -> None:
        super().__init__(p=p, label_type=label_type, label=label)
        if not 0.0 <= float(mention_p) <= 1.0:
            raise ValueError(f"mention_p: expected a probability in [0, 1], got {mention_p!r}")
        if len(bank) == 0:
            logger.warning("entity swap: the mention bank from %s is empty; nothing will be swapped", bank.source)
        self.bank = bank
        self.types = normalise_types(types)
        self.mention_p = float(mention_p)

    def transform(self, item: LabeledTokens, rng: random.Random) -> tuple[LabeledTokens, OpRecord]:
        tokens: list[str] = []
        spaces: list[int] = []
        mentions: list[Mention] = []
        swapped_tokens = swapped_mentions = 0
        cursor = 0
        for mention in item.mentions:
            # context between the previous mention and this one is copied as is
            tokens.extend(item.tokens[cursor : mention.start])
            spaces.extend(item.whitespace_after[cursor : mention.start])
            original = item.mention_tokens(mention)
            replacement = self._draw(mention.type, original, rng)
            start = len(tokens)
            if replacement is None:
                tokens.extend(original)
                spaces.extend(item.whitespace_after[mention.start : mention.end])
            else:
                tokens.extend(replacement)
                # inner tokens are space-separated; the last keeps the spacing that followed the original
                spaces.extend([1] * (len(replacement) - 1) + [item.whitespace_after[mention.end - 1]])
                swapped_tokens += len(replacement)
                swapped_mentions += 1
            mentions.append(Mention(start, len(tokens), mention.type))
            cursor = mention.end
        tokens.extend(item.tokens[cursor:])
        spaces.extend(item.whitespace_after[cursor:])
        result = LabeledTokens(tuple(tokens), tuple(mentions), tuple(spaces))
        return result, OpRecord(self.label, tokens=swapped_tokens, mentions=swapped_mentions)

    def _draw(self, type_name: str, original: tuple[str, ...], rng: random.Random) -> Optional[tuple[str, ...]]:
        """A replacement for ``original`` or ``None`` (not targeted, not drawn, or no other mention known)."""
        if self.types is not None and type_name.casefold() not in self.types:
            return None
        if rng.random() >= self.mention_p:
            return None
        # a different entity, not the same name in other casing (that would undo a lower-casing step)
        folded = _fold(original)
        candidates = [c for c in self.bank.candidates(type_name) if _fold(c) != folded]
        if not candidates:
            return None
        return candidates[rng.randrange(len(candidates))]

    def __repr__(self) -> str:
        types = sorted(self.types) if self.types is not None else None
        return f"EntitySwap(bank={self.bank!r}, types={types}, mention_p={self.mention_p}, p={self.p})"
