"""``--types``: which of the model's entity types and which pattern types to report or replace."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from flair_modernbert.redaction.patterns import PATTERN_TYPES
from flair_modernbert.redaction.rules import load_rules

logger = logging.getLogger(__name__)

__all__ = ["TypeSelection", "select_types", "canonical_type"]


@dataclass(frozen=True)
class TypeSelection:
    """Chosen types.

    Attributes:
        model: the model's types to keep; ``None`` for all of them.
        patterns: the pattern types to look for (:data:`~flair_modernbert.redaction.patterns.PATTERN_TYPES`).
    """

    model: Optional[frozenset[str]] = None
    patterns: frozenset[str] = frozenset()

    def keeps(self, kind: str) -> bool:
        """Whether a model span of this type is kept."""
        return self.model is None or kind in self.model

    def names(self, model_types: Sequence[str]) -> list[str]:
        """Every chosen type by name: the model's (in its order), then the pattern types (in the rules' order)."""
        chosen = [kind for kind in model_types if self.keeps(kind)]
        return chosen + [kind for kind in PATTERN_TYPES if kind in self.patterns and kind not in chosen]


def select_types(model_types: Sequence[str], requested: Optional[Iterable[str]], default: str = "model") -> TypeSelection:
    """Resolve ``--types`` names against a model's types and the pattern types.

    Names are case-insensitive; a name in one of ``rules.json``'s ``type_groups`` also finds the other names of its
    group (``PER`` finds a model's ``person``, ``card`` finds ``credit_card``); ``all`` chooses everything.

    Args:
        model_types: the model's entity types.
        requested: the names asked for; ``None`` or empty for the default.
        default: ``model`` (the model's types only) or ``all`` (also every pattern type) when nothing is asked for.

    Raises:
        ValueError: a name that is neither a model type nor a pattern type (both lists are named).
    """
    if default not in ("model", "all"):
        raise ValueError(f"default: expected 'model' or 'all', got {default!r}")
    names = [name.strip() for name in (requested or []) if name and name.strip()]
    if not names:
        return TypeSelection(None, frozenset(PATTERN_TYPES) if default == "all" else frozenset())
    if any(name.casefold() == "all" for name in names):
        return TypeSelection(None, frozenset(PATTERN_TYPES))
    model_by_folded = {kind.casefold(): kind for kind in model_types}
    pattern_by_folded = {kind.casefold(): kind for kind in PATTERN_TYPES}
    model: set[str] = set()
    patterns: set[str] = set()
    for name in names:
        folded = name.casefold()
        group = next((set(g) for g in load_rules()["type_groups"] if folded in g), {folded})
        direct = [by[folded] for by in (model_by_folded, pattern_by_folded) if folded in by]
        # an exact name wins over its group: OntoNotes' LOC does not bring GPE along
        found_model, found_patterns = (
            {by[folded]} if folded in by else ({kind for key, kind in by.items() if key in group} if not direct else set())
            for by in (model_by_folded, pattern_by_folded)
        )
        if not found_model and not found_patterns:
            raise ValueError(
                f"--types: {name!r} is not an entity type of this model nor a pattern type; the model's types are: "
                f"{', '.join(model_types)}; the pattern types are: {', '.join(PATTERN_TYPES)} (or 'all')"
            )
        if not direct:
            read = ([f"the model's {', '.join(repr(k) for k in sorted(found_model))}"] if found_model else []) + (
                [f"the pattern type {', '.join(repr(k) for k in sorted(found_patterns))}"] if found_patterns else [])
            logger.warning("--types: %r is read as %s", name, " and ".join(read))
        model |= found_model
        patterns |= found_patterns
    return TypeSelection(frozenset(model), frozenset(patterns))


def canonical_type(name: str) -> Optional[str]:
    """The canonical PII type name of ``name`` (the first name of its group in ``rules.json``'s ``type_groups``,
    case-insensitive: ``PER`` -> ``person``, ``PHONE_NUMBER`` -> ``phone``), or ``None`` when no group holds it."""
    folded = name.strip().casefold()
    return next((group[0] for group in load_rules()["type_groups"] if folded in group), None)
