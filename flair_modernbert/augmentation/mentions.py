"""Mention banks for entity swap: mentions of the training split, or of a user gazetteer.

A bank maps an entity type to the distinct mentions (token tuples) seen for it. Built from the training
split only (:meth:`MentionBank.from_sentences` on ``corpus.train``): mentions from dev or test would leak
evaluation entities into training and inflate scores.

Gazetteer files are UTF-8 text, one mention per line: ``TYPE<TAB>mention text``. The mention is split on
whitespace into tokens. Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Mapping, Sequence, Union

from flair.data import Sentence

from flair_modernbert.augmentation.base import LabeledTokens

logger = logging.getLogger(__name__)

__all__ = ["MentionBank", "GazetteerError", "load_gazetteer"]


class GazetteerError(ValueError):
    """A gazetteer file is missing or has a malformed line.

    Attributes:
        path: the gazetteer file.
        line: the 1-based line at fault (0 for the whole file).
    """

    def __init__(self, path: Union[str, Path], line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class MentionBank:
    """Distinct mentions per entity type; types are matched case-insensitively.

    Args:
        mentions: entity type -> mentions (each a sequence of token texts). Duplicates are dropped; the
            first-seen order is kept so that draws are reproducible.
        source: where the mentions come from (shown in messages and reprs).
    """

    def __init__(self, mentions: Mapping[str, Iterable[Sequence[str]]], source: str = "<mentions>") -> None:
        self.source = source
        self._by_type: dict[str, list[tuple[str, ...]]] = {}
        self._type_names: dict[str, str] = {}
        for type_name, items in mentions.items():
            self._add_all(type_name, items)

    def _add_all(self, type_name: str, items: Iterable[Sequence[str]]) -> None:
        key = type_name.casefold()
        self._type_names.setdefault(key, type_name)
        bucket = self._by_type.setdefault(key, [])
        seen = set(bucket)
        for item in items:
            tokens = tuple(item)
            if not tokens or any(not t or any(c.isspace() for c in t) for t in tokens):
                raise ValueError(f"{self.source}: type {type_name!r}: invalid mention tokens {tokens!r}")
            if tokens not in seen:
                seen.add(tokens)
                bucket.append(tokens)

    @classmethod
    def from_sentences(cls, sentences: Iterable[Sentence], label_type: str = "ner", source: str = "train") -> "MentionBank":
        """Collect the mentions of ``label_type`` from sentences (pass the training split only).

        Args:
            sentences: e.g. ``corpus.train``.
            label_type: the span label type holding the entities.
            source: a name for messages.
        """
        collected: dict[str, list[tuple[str, ...]]] = {}
        for sentence in sentences:
            item = LabeledTokens.from_sentence(sentence, label_type)
            for mention in item.mentions:
                collected.setdefault(mention.type, []).append(item.mention_tokens(mention))
        bank = cls(collected, source=source)
        logger.debug("mention bank from %s: %s", source, bank)
        return bank

    @classmethod
    def from_gazetteer(cls, path: Union[str, Path]) -> "MentionBank":
        """Read a gazetteer file (``TYPE<TAB>mention text`` per line); see :func:`load_gazetteer`."""
        return load_gazetteer(path)

    def candidates(self, type_name: str) -> tuple[tuple[str, ...], ...]:
        """The distinct mentions of ``type_name`` (case-insensitive), in first-seen order."""
        return tuple(self._by_type.get(type_name.casefold(), ()))

    @property
    def types(self) -> list[str]:
        """The entity types (as first written) that have mentions."""
        return [self._type_names[key] for key, items in self._by_type.items() if items]

    def __len__(self) -> int:
        return sum(len(items) for items in self._by_type.values())

    def __contains__(self, type_name: object) -> bool:
        return isinstance(type_name, str) and bool(self._by_type.get(type_name.casefold()))

    def __repr__(self) -> str:
        counts = ", ".join(f"{self._type_names[k]}: {len(v)}" for k, v in self._by_type.items())
        return f"MentionBank(source={self.source!r}, {counts})"


def load_gazetteer(path: Union[str, Path], encoding: str = "utf-8") -> MentionBank:
    """Read a gazetteer: one ``TYPE<TAB>mention text`` per line; ``#`` lines and blank lines are skipped.

    Raises:
        GazetteerError: naming the file (and line) when the file is missing, unreadable or a line is
            malformed (no tab, empty type, empty mention).
    """
    path = Path(path)
    if not path.is_file():
        raise GazetteerError(path, 0, "gazetteer file not found")
    collected: dict[str, list[tuple[str, ...]]] = {}
    with path.open("rb") as handle:
        for number, raw_bytes in enumerate(handle, start=1):
            try:
                raw = raw_bytes.decode(encoding)
            except UnicodeDecodeError as error:
                raise GazetteerError(path, number, f"not {encoding} text ({error.reason})") from error
            if number == 1:  # a byte-order mark would stick to the first type
                raw = raw.lstrip("\ufeff")
            line = raw.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if "\t" not in line:
                raise GazetteerError(path, number, f"expected 'TYPE<TAB>mention text', got {line!r}")
            type_name, text = line.split("\t", 1)
            type_name = type_name.strip()
            if not type_name:
                raise GazetteerError(path, number, f"empty entity type in {line!r}")
            if any(c.isspace() for c in type_name):
                raise GazetteerError(path, number, f"entity type {type_name!r} contains whitespace")
            tokens = tuple(text.split())
            if not tokens:
                raise GazetteerError(path, number, f"empty mention for type {type_name!r}")
            collected.setdefault(type_name, []).append(tokens)
    if not collected:
        raise GazetteerError(path, 0, "no mentions in gazetteer")
    bank = MentionBank(collected, source=str(path))
    logger.info("gazetteer %s: %d mentions of %d types", path, len(bank), len(bank.types))
    return bank
