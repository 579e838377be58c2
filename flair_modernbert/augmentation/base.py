"""The shared core of every augmenter: a label-aligned token view of a Sentence, seeding, and composition.

Augmenters never edit a Flair ``Sentence`` in place. A sentence is read into :class:`LabeledTokens` (token
texts, ``whitespace_after`` and the entity mentions of one label type as ``[start, end)`` token ranges), the
operation builds a new ``LabeledTokens`` in which every mention still points at its tokens, and a fresh
``Sentence`` with span labels is built from that. Keeping the spans as explicit ranges is what keeps labels
aligned when an operation changes the number of tokens (entity swap).

Every random choice comes from a ``random.Random`` passed in (or built from an integer seed), never from the
global state, so the same seed gives the same output.
"""

from __future__ import annotations

import logging
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence, Union

from flair.data import Sentence, Span, Token

from flair_modernbert.tags import add_spans, spans_of

logger = logging.getLogger(__name__)

__all__ = [
    "Mention",
    "LabeledTokens",
    "OpRecord",
    "Augmenter",
    "Compose",
    "RandomLike",
    "as_rng",
    "normalise_types",
]

#: A ``random.Random`` or an integer seed for one.
RandomLike = Union[random.Random, int]


def as_rng(rng: RandomLike) -> random.Random:
    """Return ``rng`` itself, or a new ``random.Random(rng)`` for an integer seed.

    Raises:
        TypeError: for anything else, ``None`` included: relying on the global random state would make
            results depend on whatever ran before.
    """
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise TypeError(f"rng: expected a random.Random or an int seed, got {rng!r}")


def normalise_types(types: Optional[Iterable[str]]) -> Optional[frozenset[str]]:
    """Entity types as a case-folded set (``None`` stays ``None``: all types), for case-insensitive matching."""
    if types is None:
        return None
    if isinstance(types, str):  # a bare string would be iterated character by character
        types = [types]
    return frozenset(t.casefold() for t in types)


@dataclass(frozen=True)
class Mention:
    """An entity mention: tokens ``start`` to ``end`` (exclusive, 0-based) of entity type ``type``."""

    start: int
    end: int
    type: str

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class LabeledTokens:
    """The tokens of a sentence with the mentions of one label type, as plain values.

    Attributes:
        tokens: token texts.
        mentions: mentions sorted by start; they never overlap and lie within ``tokens``.
        whitespace_after: Flair's ``whitespace_after`` of each token (only used to rebuild the text).
    """

    tokens: tuple[str, ...]
    mentions: tuple[Mention, ...] = ()
    whitespace_after: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.whitespace_after:
            object.__setattr__(self, "whitespace_after", (1,) * len(self.tokens))
        if len(self.whitespace_after) != len(self.tokens):
            raise ValueError(
                f"whitespace_after has {len(self.whitespace_after)} entries for {len(self.tokens)} tokens"
            )
        previous_end = 0
        for mention in self.mentions:
            if not 0 <= mention.start < mention.end <= len(self.tokens):
                raise ValueError(f"mention {mention} lies outside the {len(self.tokens)} tokens")
            if mention.start < previous_end:
                raise ValueError(f"mentions overlap or are not sorted: {self.mentions}")
            previous_end = mention.end

    @classmethod
    def from_sentence(cls, sentence: Sentence, label_type: str = "ner") -> "LabeledTokens":
        """Read the tokens and the span labels of ``label_type`` of a Flair sentence.

        Raises:
            ValueError: when a label of ``label_type`` is on a token rather than a span (token-level tags),
                or spans overlap (which BIO tags cannot express).
        """
        labels = sentence.get_labels(label_type)
        for label in labels:
            if not isinstance(label.data_point, Span):
                # token-level tags (e.g. a column Flair did not recognise as BIO) carry no span boundaries
                raise ValueError(
                    f"label type {label_type!r}: expected span labels (entity mentions), "
                    f"found a {type(label.data_point).__name__}-level label {label.value!r}"
                )
        spans = spans_of(sentence, label_type)
        if len(spans) != len([label for label in labels if label.value != "O"]):
            raise ValueError(f"sentence {sentence.to_original_text()[:80]!r}: its {label_type!r} spans overlap")
        return cls(
            tokens=tuple(token.text for token in sentence.tokens),
            mentions=tuple(Mention(*span) for span in spans),
            whitespace_after=tuple(token.whitespace_after for token in sentence.tokens),
        )

    def to_sentence(self, label_type: str = "ner") -> Sentence:
        """A new Flair ``Sentence`` with these tokens and one span label of ``label_type`` per mention."""
        tokens = [Token(text, whitespace_after=space) for text, space in zip(self.tokens, self.whitespace_after)]
        return add_spans(Sentence(tokens), ((m.start, m.end, m.type) for m in self.mentions), label_type)

    def mention_tokens(self, mention: Mention) -> tuple[str, ...]:
        """The token texts of ``mention``."""
        return self.tokens[mention.start : mention.end]

    def entity_token_indices(self, types: Optional[frozenset[str]] = None) -> set[int]:
        """Indices of tokens inside mentions (of the case-folded ``types``, or of any type when ``None``)."""
        return {
            index
            for mention in self.mentions
            if types is None or mention.type.casefold() in types
            for index in range(mention.start, mention.end)
        }

    def replace_tokens(self, tokens: Sequence[str]) -> "LabeledTokens":
        """The same mentions over new texts for the same number of tokens."""
        if len(tokens) != len(self.tokens):
            raise ValueError(f"expected {len(self.tokens)} tokens, got {len(tokens)}")
        return LabeledTokens(tuple(tokens), self.mentions, self.whitespace_after)


@dataclass(frozen=True)
class OpRecord:
    """What one operation did to one sentence.

    Attributes:
        op: the operation's label (e.g. ``"lowercase"``, ``"char_noise#2"`` for a second char_noise step).
        tokens: tokens whose text changed (for a swap: tokens of the new mentions).
        mentions: mentions whose text changed.
    """

    op: str
    tokens: int = 0
    mentions: int = 0

    @property
    def changed(self) -> bool:
        """Whether the operation changed anything."""
        return self.tokens > 0 or self.mentions > 0


class Augmenter(ABC):
    """Base class: a seeded, label-aligned operation applied to a sentence with probability ``p``.

    Subclasses implement :meth:`transform`, which always applies the operation. :meth:`apply` draws whether
    it fires (probability ``p``), and :meth:`augment` works on Flair sentences.

    Args:
        p: probability that the operation fires on a sentence.
        label_type: the span label type holding the entities (``"ner"`` for Flair's column corpora).
        label: the name used in reports; defaults to the operation's ``name``.
    """

    #: the operation's type name, as written in recipes.
    name: str = "augmenter"

    def __init__(self, p: float = 1.0, label_type: str = "ner", label: Optional[str] = None) -> None:
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.label_type = label_type
        self.label = label or self.name

    @abstractmethod
    def transform(self, item: LabeledTokens, rng: random.Random) -> tuple[LabeledTokens, OpRecord]:
        """Apply the operation (always) and say what changed. Must not mutate ``item``."""

    def apply(self, item: LabeledTokens, rng: RandomLike) -> tuple[LabeledTokens, list[OpRecord]]:
        """Apply the operation with probability ``p``.

        Returns:
            The (possibly) new tokens and one record per operation that fired (none when it did not).
        """
        rng = as_rng(rng)
        # always draw, so the random stream does not depend on p
        if rng.random() >= self.p:
            return item, []
        result, record = self.transform(item, rng)
        return result, [record]

    def augment(self, sentence: Sentence, rng: RandomLike) -> Sentence:
        """Return a new, label-aligned ``Sentence`` (the input is never changed).

        Args:
            sentence: a sentence with span labels of ``self.label_type``.
            rng: a ``random.Random`` or an integer seed; the same seed gives the same result.
        """
        result, _ = self.apply(LabeledTokens.from_sentence(sentence, self.label_type), rng)
        return result.to_sentence(self.label_type)

    __call__ = augment

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, label={self.label!r})"


class Compose(Augmenter):
    """Several operations in sequence, each firing with its own probability.

    Args:
        steps: the operations, applied in this order.
        p: probability that the pipeline runs at all.
        label_type: defaults to the steps' label type (they must agree), else ``"ner"``.
    """

    name = "compose"

    def __init__(
        self,
        steps: Sequence[Augmenter],
        p: float = 1.0,
        label_type: Optional[str] = None,
        label: Optional[str] = None,
    ) -> None:
        types = {step.label_type for step in steps}
        if label_type is not None:
            types.add(label_type)
        if len(types) > 1:
            raise ValueError(f"steps use different label types: {sorted(types)}")
        super().__init__(p=p, label_type=types.pop() if types else "ner", label=label)
        self.steps = list(steps)

    def transform(self, item: LabeledTokens, rng: random.Random) -> tuple[LabeledTokens, OpRecord]:
        result, records = self._run_steps(item, rng)
        return result, OpRecord(
            self.label, tokens=sum(r.tokens for r in records), mentions=sum(r.mentions for r in records)
        )

    def apply(self, item: LabeledTokens, rng: RandomLike) -> tuple[LabeledTokens, list[OpRecord]]:
        """Run the steps (with probability ``p``); returns one record per step that fired."""
        rng = as_rng(rng)
        if rng.random() >= self.p:
            return item, []
        return self._run_steps(item, rng)

    def _run_steps(self, item: LabeledTokens, rng: random.Random) -> tuple[LabeledTokens, list[OpRecord]]:
        records: list[OpRecord] = []
        for step in self.steps:
            item, step_records = step.apply(item, rng)
            records.extend(step_records)
        return item, records

    def __repr__(self) -> str:
        return f"Compose(p={self.p}, steps={self.steps!r})"
