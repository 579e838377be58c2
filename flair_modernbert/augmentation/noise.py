"""Character noise with nlpaug (keyboard typos, OCR confusions, random characters), token by token.

nlpaug's character augmenters work on a text string: they split it into words with their own regex
(``@user`` becomes ``@ user``), change characters and join the words with spaces again. Run on a sentence
that would change the token count and break label alignment, so here every selected token is passed on its
own, with a tokenizer that keeps it whole. Two more guards keep token boundaries intact:

* nlpaug's English keyboard map offers ``" t"`` as a typo of ``u``; candidates holding whitespace are removed
  from the augmenter's model when it is built;
* a result that is empty or holds whitespace is discarded (the token stays as it was).

nlpaug draws from Python's global ``random`` and numpy's global RNG. Both are seeded from the caller's
``random.Random`` for the duration of a call and restored afterwards, so results follow the seed and the
caller's global random state is left as it was (not thread-safe, like nlpaug itself).
"""

from __future__ import annotations

import logging
import random
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Mapping, Optional

import numpy as np

from flair_modernbert.augmentation.base import Augmenter, LabeledTokens, OpRecord, normalise_types
from flair_modernbert.config.schema import NOISE_ACTIONS, NOISE_TARGETS

logger = logging.getLogger(__name__)

__all__ = ["CharNoise", "seeded_global_random"]


def _whole_token(text: str) -> list[str]:
    """nlpaug tokenizer that keeps the token whole (module level so augmenters can be pickled)."""
    return [text]


def _join(tokens: list[str]) -> str:
    return "".join(tokens)


def _valid_token(text: Any) -> bool:
    return isinstance(text, str) and bool(text) and not any(c.isspace() for c in text)


@contextmanager
def seeded_global_random(rng: random.Random) -> Iterator[None]:
    """Seed Python's and numpy's global RNGs from ``rng`` for a block, then restore their previous states."""
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    random.seed(rng.getrandbits(64))
    np.random.seed(rng.getrandbits(32))
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _drop_whitespace_candidates(augmenter: Any) -> None:
    """Remove replacement candidates that are empty or hold whitespace from an nlpaug char augmenter."""
    model = getattr(augmenter, "model", None)
    mapping = getattr(model, "model", None)
    if isinstance(mapping, dict):  # KeyboardAug, OcrAug: character -> candidates
        for key in list(mapping):
            kept = [value for value in mapping[key] if _valid_token(value)]
            if len(kept) != len(mapping[key]):
                logger.debug("nlpaug %s: dropped candidates of %r holding whitespace", type(augmenter).__name__, key)
            if kept:
                mapping[key] = kept
            else:
                del mapping[key]
    elif isinstance(model, list):  # RandomCharAug: candidate characters
        augmenter.model = [value for value in model if _valid_token(value)]


class CharNoise(Augmenter):
    """Character-level noise from nlpaug, applied token by token (token count and labels stay intact).

    Args:
        action: ``"keyboard"`` (``KeyboardAug``: typos of neighbouring keys), ``"ocr"`` (``OcrAug``: OCR
            confusions such as 0/o, 1/l) or ``"random"`` (``RandomCharAug``: random substitutions).
        target: which tokens may change: ``"entities"`` (inside mentions), ``"context"`` (outside) or ``"both"``.
        token_p: probability that each targeted token is passed to nlpaug. nlpaug may still leave a token
            as it is (e.g. shorter than its ``min_char``, or no mappable character for OCR).
        types: restrict entity tokens to these types, case-insensitive (default: all types).
        p: probability that the operation fires on a sentence.
        label_type: the span label type holding the entities.
        label: the name used in reports.
        aug_kwargs: extra keyword arguments for the nlpaug augmenter (e.g. ``aug_char_max``, ``min_char``).
    """

    name = "char_noise"

    def __init__(
        self,
        action: str = "keyboard",
        target: str = "both",
        token_p: float = 0.1,
        types: Optional[Iterable[str]] = None,
        p: float = 1.0,
        label_type: str = "ner",
        label: Optional[str] = None,
        aug_kwargs: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(p=p, label_type=label_type, label=label)
        if action not in NOISE_ACTIONS:
            raise ValueError(f"action: expected one of {', '.join(NOISE_ACTIONS)}, got {action!r}")
        if target not in NOISE_TARGETS:
            raise ValueError(f"target: expected one of {', '.join(NOISE_TARGETS)}, got {target!r}")
        if not 0.0 <= float(token_p) <= 1.0:
            raise ValueError(f"token_p: expected a probability in [0, 1], got {token_p!r}")
        self.action = action
        self.target = target
        self.token_p = float(token_p)
        self.types = normalise_types(types)
        self.augmenter = self._build_nlpaug(action, dict(aug_kwargs or {}))

    @staticmethod
    def _build_nlpaug(action: str, kwargs: dict[str, Any]) -> Any:
        import nlpaug.augmenter.char as nac  # imported late: nlpaug pulls in pandas

        for key in ("tokenizer", "reverse_tokenizer"):
            if key in kwargs:
                raise ValueError(f"aug_kwargs: {key!r} is fixed (tokens must stay whole)")
        # one word per call: the whole token, always selected
        settings = {"aug_word_p": 1.0, "aug_word_min": 1, "aug_word_max": 1, **kwargs}
        augmenter = getattr(nac, NOISE_ACTIONS[action])(
            tokenizer=_whole_token, reverse_tokenizer=_join, **settings
        )
        _drop_whitespace_candidates(augmenter)
        return augmenter

    def _targets(self, item: LabeledTokens) -> set[int]:
        entity_tokens = item.entity_token_indices()
        targets: set[int] = set()
        if self.target in ("entities", "both"):
            targets |= item.entity_token_indices(self.types)
        if self.target in ("context", "both"):
            targets |= set(range(len(item.tokens))) - entity_tokens
        return targets

    def transform(self, item: LabeledTokens, rng: random.Random) -> tuple[LabeledTokens, OpRecord]:
        targets = self._targets(item)
        # one draw per token whatever the target, so the stream does not depend on the labels
        draws = [rng.random() for _ in item.tokens]
        chosen = [index for index in sorted(targets) if draws[index] < self.token_p]
        tokens = list(item.tokens)
        if chosen:
            with seeded_global_random(rng):
                for index in chosen:
                    tokens[index] = self._noise(tokens[index])
        changed = {index for index in chosen if tokens[index] != item.tokens[index]}
        mentions = sum(1 for m in item.mentions if any(i in changed for i in range(m.start, m.end)))
        return item.replace_tokens(tokens), OpRecord(self.label, tokens=len(changed), mentions=mentions)

    def _noise(self, token: str) -> str:
        result = self.augmenter.augment(token)
        if isinstance(result, list):
            result = result[0] if result else token
        if not _valid_token(result):
            logger.debug("nlpaug %s turned %r into %r; token kept", self.action, token, result)
            return token
        return result

    def __repr__(self) -> str:
        return f"CharNoise(action={self.action!r}, target={self.target!r}, token_p={self.token_p}, p={self.p})"
