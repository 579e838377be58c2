"""One numbered placeholder per entity, the same at every mention (docs/redaction.md, section 3)."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import regex

from flair_modernbert.redaction.rules import load_rules
from flair_modernbert.redaction.spans import EntitySpan
from flair_modernbert.segmentation import SEPARATOR

logger = logging.getLogger(__name__)

__all__ = ["Entity", "Pseudonyms", "check_placeholder", "entity_key", "format_placeholder", "redact_spans"]

_SEPARATORS = regex.compile("[" + SEPARATOR + "]+")
# the fields a template may hold; the JavaScript module parses templates with the same expression
_FIELD = regex.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NUMBER_FIELDS = ("n", "index")


def entity_key(text: str) -> str:
    """What two mentions of one entity share: case removed, NFC, separator runs as one space, trimmed."""
    folded = unicodedata.normalize("NFC", text.upper().lower())
    return _SEPARATORS.sub(" ", folded).strip(" ")


def format_placeholder(template: str, kind: str, number: int) -> str:
    """Fill a template: ``{type}`` (upper-cased), ``{n}`` (or ``{index}``) and ``{{``/``}}`` for braces.

    Raises:
        ValueError: any other field, or a lone brace.
    """

    def fill(match: Any) -> str:
        whole, field = match.group(0), match.group(1)
        if whole in ("{{", "}}"):
            return whole[0]
        if field == "type":
            return kind.upper()
        if field in _NUMBER_FIELDS:
            return str(number)
        raise ValueError(
            f"--placeholder {template!r}: a placeholder may use {{type}} and {{n}} only (write {{{{ and }}}} for "
            "literal braces)"
        )

    return _FIELD.sub(fill, template)


def check_placeholder(template: str) -> str:
    """Check a placeholder template before any text is tagged (warns when it cannot tell entities apart).

    Raises:
        ValueError: the template names another field or is malformed.
    """
    format_placeholder(template, "PERSON", 1)
    if not any(match.group(1) in _NUMBER_FIELDS for match in _FIELD.finditer(template)):
        logger.warning("--placeholder %r has no {n}: every entity of a type gets the same placeholder, so restore "
                       "cannot tell them apart", template)
    return template


@dataclass
class Entity:
    """An entity: its placeholder and its first mention."""

    placeholder: str
    type: str
    text: str
    key: str
    number: int

    def to_record(self) -> dict[str, Any]:
        """The span map's entity record."""
        return {"entity": self.placeholder, "type": self.type, "text": self.text}


class Pseudonyms:
    """The entities seen so far and their placeholders.

    Args:
        placeholder: template (default ``rules.json``'s ``[{type}_{n}]``).
        join_partial: let a mention equal to the first or last word(s) of an earlier entity of its type join it.
    """

    def __init__(self, placeholder: Optional[str] = None, join_partial: bool = True) -> None:
        self.placeholder = check_placeholder(placeholder if placeholder is not None else load_rules()["placeholder"])
        self.join_partial = join_partial
        self.entities: list[Entity] = []
        self._by_key: dict[tuple[str, str], Entity] = {}
        self._counts: dict[str, int] = {}
        self._new: list[Entity] = []

    def entity_for(self, kind: str, text: str) -> Entity:
        """The entity a mention belongs to, created when it is new."""
        key = entity_key(text)
        found = self._by_key.get((kind, key))
        if found is None and self.join_partial and key:
            words = key.split(" ")
            size = len(words)
            for entity in reversed(self.entities):  # the entity created last wins
                theirs = entity.key.split(" ")
                if entity.type == kind and len(theirs) > size and (theirs[:size] == words or theirs[-size:] == words):
                    found = entity
                    break
        if found is None:
            number = self._counts.get(kind, 0) + 1
            self._counts[kind] = number
            found = Entity(format_placeholder(self.placeholder, kind, number), kind, text, key, number)
            self.entities.append(found)
            self._by_key[(kind, key)] = found
            self._new.append(found)
        return found

    def placeholder_for(self, kind: str, text: str) -> str:
        """The placeholder of a mention of type ``kind``."""
        return self.entity_for(kind, text).placeholder

    def take_new(self) -> list[dict[str, Any]]:
        """The entity records created since the last call (for a span map written as the input streams)."""
        records = [entity.to_record() for entity in self._new]
        self._new = []
        return records


def redact_spans(text: str, spans: Sequence[EntitySpan], pseudonyms: Pseudonyms) -> tuple[str, list[dict[str, Any]]]:
    """Replace spans (sorted by start; an overlapping later one is skipped) with their entities' placeholders.

    Returns:
        The redacted text and one record per replaced mention: ``placeholder``, ``type``, ``text``, ``start``,
        ``end`` and ``redacted_start``/``redacted_end`` (its placeholder's offsets in the redacted text).
    """
    pieces, records, cursor, shift = [], [], 0, 0
    for span in spans:
        if span.start < cursor:
            continue
        mask = pseudonyms.placeholder_for(span.type, span.text)
        pieces += [text[cursor : span.start], mask]
        records.append({
            "placeholder": mask,
            "type": span.type,
            "text": span.text,
            "start": span.start,
            "end": span.end,
            "redacted_start": span.start + shift,
            "redacted_end": span.start + shift + len(mask),
        })
        shift += len(mask) - (span.end - span.start)
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces), records
