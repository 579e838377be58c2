"""Lower-cased names: teach the tagger that "john smith" is a person too.

Cased models lean on capitalisation; user-generated text (tweets, chat, search queries) often has none.
This operation lower-cases the tokens of chosen entity types (person-like types by default), or the whole
sentence, leaving the token count and every label untouched.
"""

from __future__ import annotations

import logging
import random
from typing import Iterable, Optional

from flair_modernbert.augmentation.base import Augmenter, LabeledTokens, OpRecord, normalise_types
from flair_modernbert.config.schema import LOWERCASE_SCOPES, PERSON_TYPES

logger = logging.getLogger(__name__)

__all__ = ["LowercaseNames"]


class LowercaseNames(Augmenter):
    """Lower-case entity tokens of chosen types, or the whole sentence.

    Args:
        types: entity types whose tokens are lower-cased, matched case-insensitively (default: PER, PERSON).
            Ignored when ``scope`` is ``"sentence"``.
        scope: ``"entities"`` (tokens of mentions of ``types`` only) or ``"sentence"`` (every token).
        p: probability that the operation fires on a sentence.
        label_type: the span label type holding the entities.
        label: the name used in reports.
    """

    name = "lowercase"

    def __init__(
        self,
        types: Optional[Iterable[str]] = PERSON_TYPES,
        scope: str = "entities",
        p: float = 1.0,
        label_type: str = "ner",
        label: Optional[str] = None,
    ) -> None:
        super().__init__(p=p, label_type=label_type, label=label)
        if scope not in LOWERCASE_SCOPES:
            raise ValueError(f"scope: expected one of {', '.join(LOWERCASE_SCOPES)}, got {scope!r}")
        self.types = normalise_types(types)
        self.scope = scope

    def transform(self, item: LabeledTokens, rng: random.Random) -> tuple[LabeledTokens, OpRecord]:
        if self.scope == "sentence":
            targets = set(range(len(item.tokens)))
        else:
            targets = item.entity_token_indices(self.types)
        tokens = [token.lower() if index in targets else token for index, token in enumerate(item.tokens)]
        changed = {index for index, (old, new) in enumerate(zip(item.tokens, tokens)) if old != new}
        mentions = sum(1 for m in item.mentions if any(i in changed for i in range(m.start, m.end)))
        return item.replace_tokens(tokens), OpRecord(self.label, tokens=len(changed), mentions=mentions)

    def __repr__(self) -> str:
        types = sorted(self.types) if self.types is not None else None
        return f"LowercaseNames(types={types}, scope={self.scope!r}, p={self.p})"
