"""Span maps, and putting the original text back into text that holds placeholders (docs/redaction.md, 4-5).

An LLM returns placeholders changed: other letter case, brackets changed or dropped, separators changed, wrapped in
Markdown, followed by ``'s``. The grammar that finds them is built from ``rules.json``'s ``restore`` section, the
same in the exported JavaScript module.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Optional, Union

import regex

from flair_modernbert.redaction.patterns import PATTERN_TYPES
from flair_modernbert.redaction.pseudonyms import format_placeholder
from flair_modernbert.redaction.rules import load_rules

logger = logging.getLogger(__name__)

__all__ = ["MAP_FORMAT", "Restored", "SpanMap", "restore", "span_map_header"]

MAP_FORMAT = "flair-modernbert-span-map"
#: the span map version :func:`span_map_header` writes
MAP_VERSION = 2
_RUN = regex.compile(r"[\p{L}\p{N}]+")
_BRACKET = regex.compile(r"\\?[\[<({\]>)}]")
_SENTINEL = 987654321


class Restored(NamedTuple):
    """What :func:`restore` gives back: the text, and the placeholder-like strings it did not know (in order)."""

    text: str
    unknown: list[str]


def _core_runs(placeholder: str) -> list[str]:
    return _RUN.findall(placeholder)


def _core_pattern(placeholder: str, separator: str, wildcard: Optional[str] = None) -> str:
    """The runs of a placeholder's core with, between two runs, the separator it has or any of ``separator``;
    ``wildcard`` (a run of digits) becomes ``[0-9]+``."""
    runs = list(_RUN.finditer(placeholder))
    parts = []
    for i, run in enumerate(runs):
        if i:
            between = placeholder[runs[i - 1].end() : run.start()]
            parts.append("(?:" + regex.escape(between) + "|" + separator + ")" if between else separator)
        text = regex.escape(run.group())
        parts.append(text.replace(wildcard, "[0-9]+") if wildcard else text)
    return "".join(parts)


def _key(runs: Iterable[str]) -> str:
    return "".join(runs).casefold()


def span_map_header(placeholder: str, types: Iterable[str], recall_bias: Optional[float] = None) -> dict[str, Any]:
    """The first record of a span map file: format, version, the placeholder template, the types replaced and the
    recall bias the text was tagged with (docs/recall.md; left out when ``None``)."""
    header: dict[str, Any] = {"format": MAP_FORMAT, "version": MAP_VERSION, "placeholder": placeholder,
                              "scope": "input", "types": list(types)}
    if recall_bias is not None:
        header["recall_bias"] = recall_bias
    return header


class SpanMap:
    """Entities (placeholder -> original text) and, per line, the mentions replaced there.

    Args:
        placeholder: the template the placeholders were made with (finds unknown placeholders of the same shape).
        types: the types that were replaced.

    Attributes:
        recall_bias: the recall bias the header records (``None`` when it records none).
    """

    def __init__(self, placeholder: Optional[str] = None, types: Optional[Iterable[str]] = None) -> None:
        self.placeholder = placeholder or load_rules()["placeholder"]
        self.types: list[str] = list(types or [])
        self.recall_bias: Optional[float] = None
        self.entities: dict[str, str] = {}
        self.entity_types: dict[str, str] = {}
        self.lines: dict[int, list[dict[str, Any]]] = {}
        self.redacted: dict[int, str] = {}
        self._matcher: Optional[tuple[tuple, Any, dict[str, str]]] = None

    # ------------------------------------------------------------------------------------------- building
    def add_entity(self, placeholder: str, kind: Optional[str], text: str) -> None:
        """Record an entity (the first record of a placeholder wins)."""
        if placeholder not in self.entities:
            self.entities[placeholder] = text
            if kind:
                self.entity_types[placeholder] = kind

    def add_line(self, number: int, spans: Iterable[Mapping[str, Any]], redacted: Optional[str] = None) -> None:
        """Record the mentions replaced in line ``number`` (span records as redaction returns them) and, when
        given, the redacted line itself (restore then also undoes wrappers an LLM put around its placeholders)."""
        records = [dict(span) for span in spans]
        for span in records:
            self.add_entity(span["placeholder"], span.get("type"), span["text"])
        self.lines[number] = records
        if redacted is not None:
            self.redacted[number] = redacted

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> "SpanMap":
        """A map from parsed span-map lines (header, entity and line records) or from the span records of one
        redaction (kept as line 1)."""
        found = cls()
        loose: list[Mapping[str, Any]] = []
        for record in records:
            found._add_record(record, loose)
        if loose:
            found.add_line(1, loose)
        return found

    def _add_record(self, record: Mapping[str, Any], loose: list) -> None:
        if record.get("format") == MAP_FORMAT:
            self.placeholder = record.get("placeholder") or self.placeholder
            self.types = list(record.get("types") or [])
            self.recall_bias = record.get("recall_bias")
        elif "entity" in record:
            self.add_entity(str(record["entity"]), record.get("type"), str(record["text"]))
        elif "line" in record:
            self.add_line(int(record["line"]), record.get("spans") or [], record.get("redacted"))
        elif "placeholder" in record:
            loose.append(record)
        else:
            raise ValueError("not a span-map record (header, entity, line or span record)")

    @classmethod
    def read(cls, path: Union[str, Path]) -> "SpanMap":
        """Read a span map file written by ``flair-modernbert redact --span-map`` (version 1 or 2).

        Raises:
            FileNotFoundError: no such file.
            ValueError: a line that is not a span-map record (file and line named).
        """
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"span map {file} does not exist")
        found = cls()
        loose: list[Mapping[str, Any]] = []
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        raise ValueError("not a JSON object")
                    found._add_record(record, loose)
                except (ValueError, KeyError, TypeError) as error:
                    reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
                    raise ValueError(f"{file}, line {number}: {reason}") from None
        if loose:
            found.add_line(1, loose)
        return found

    # ------------------------------------------------------------------------------------------- matching
    def _pattern(self) -> tuple[Any, dict[str, str]]:
        """The expression that finds known placeholders and unknown ones of the template's shape."""
        # entities are only ever added: their count dates the cached expression, with the template and the types
        version = (self.placeholder, tuple(self.types), len(self.entities), len(self.entity_types))
        if self._matcher is not None and self._matcher[0] == version:
            return self._matcher[1], self._matcher[2]
        grammar = load_rules()["restore"]
        word, separator = grammar["word"], grammar["separator"]
        by_key: dict[str, str] = {}
        fuzzy, exact = [], []
        for placeholder in sorted(self.entities, key=len, reverse=True):
            runs = _core_runs(placeholder)
            if not any(any(c.isalpha() for c in run) for run in runs):
                # no letters: only found as written, and not inside a longer word or number (#1 in #10)
                exact.append(("(?<!" + word + ")" if regex.match(word, placeholder) else "") + regex.escape(placeholder)
                             + ("(?!" + word + ")" if regex.match(word, placeholder[-1]) else ""))
                continue
            by_key.setdefault(_key(runs), placeholder)
            fuzzy.append(_core_pattern(placeholder, separator))
        shapes = []
        for kind in self._kinds():
            shape = format_placeholder(self.placeholder, kind, _SENTINEL)
            runs = _core_runs(shape)
            if str(_SENTINEL) not in "".join(runs) or not any(c.isalpha() for c in "".join(runs)):
                continue
            shapes.append(_core_pattern(shape, separator, wildcard=str(_SENTINEL)))
        cores = fuzzy + shapes
        alternatives = []
        if cores:
            alternatives.append(
                "(?P<open>" + grammar["open"] + ")(?<!" + word + ")(?P<core>" + "|".join(cores) + ")"
                "(?:(?!" + word + ")|(?=(?:" + grammar["plural"] + ")(?!" + word + ")))(?P<close>" + grammar["close"] + ")"
            )
        if exact:
            alternatives.append("(?P<exact>" + "|".join(exact) + ")")
        pattern = regex.compile("|".join(alternatives) or r"(?!)", regex.IGNORECASE)
        self._matcher = (version, pattern, by_key)
        return pattern, by_key

    def _kinds(self) -> list[str]:
        """Every type whose placeholders this map may meet: the header's, the entities' (read back from the
        placeholders through the template where no type was recorded) and the pattern types."""
        kinds = dict.fromkeys(self.types + list(self.entity_types.values()))
        template = regex.escape(format_placeholder(self.placeholder, "\x00", _SENTINEL))
        shape = regex.compile(template.replace(regex.escape("\x00"), "(.+?)").replace(str(_SENTINEL), "[0-9]+"))
        for placeholder in self.entities:
            match = shape.fullmatch(placeholder)
            if match and match.groups():
                kinds.setdefault(match.group(1), None)
        return list(kinds) + [kind for kind in PATTERN_TYPES if kind not in kinds]

    def find(self, text: str) -> list[tuple[int, int, Optional[str], str, str]]:
        """Placeholders in ``text``: (start, end, placeholder or None when unknown, kept before, kept after).

        The brackets nearest the core are removed when there is one on each side, a second pair only when it
        doubles the first (``[[...]]``); other brackets stay (``kept``): ``([PERSON_1])`` keeps its parentheses."""
        pattern, by_key = self._pattern()
        found = []
        for match in pattern.finditer(text):
            if match.group("exact") if "exact" in pattern.groupindex else False:
                found.append((match.start(), match.end(), match.group("exact"), "", ""))
                continue
            opened = _BRACKET.findall(match.group("open"))
            closed = _BRACKET.findall(match.group("close"))
            pairs = 0
            if opened and closed:
                pairs = 1
                if len(opened) > 1 and len(closed) > 1 and opened[-2] == opened[-1] and closed[1] == closed[0]:
                    pairs = 2
            placeholder = by_key.get(_key(_RUN.findall(match.group("core"))))
            found.append((match.start(), match.end(), placeholder, "".join(opened[: len(opened) - pairs]),
                          "".join(closed[pairs:])))
        return found


def _as_span_map(mapping: Any) -> SpanMap:
    if isinstance(mapping, SpanMap):
        return mapping
    if isinstance(mapping, Mapping):
        found = SpanMap()
        for placeholder, text in mapping.items():
            found.add_entity(str(placeholder), None, str(text))
        return found
    if isinstance(mapping, tuple) and len(mapping) == 2 and isinstance(mapping[0], str):
        found = SpanMap()  # what redact returns: (redacted text, span records)
        found.add_line(1, mapping[1], redacted=mapping[0])
        return found
    if isinstance(mapping, (list, tuple)):
        return SpanMap.from_records(mapping)
    raise TypeError(f"mapping: expected a SpanMap, a dict placeholder -> text or a list of span records, got "
                    f"{type(mapping).__name__}")


def _same_line(text: str, found: list, redacted: str, mentions: list[Mapping[str, Any]]) -> bool:
    """Whether ``text`` is ``redacted`` with its placeholders in other forms and only wrappers added around them."""
    wrappers = set(load_rules()["restore"]["wrappers"])
    ours = [redacted[: mentions[0]["redacted_start"]]] + [
        redacted[a["redacted_end"] : b["redacted_start"]] for a, b in zip(mentions, mentions[1:])
    ] + [redacted[mentions[-1]["redacted_end"] :]]
    cuts = [0] + [edge for start, end, _, before, after in found for edge in (start + len(before), end - len(after))]
    cuts.append(len(text))
    theirs = [text[cuts[i] : cuts[i + 1]] for i in range(0, len(cuts), 2)]
    for index, (gap, seen) in enumerate(zip(ours, theirs)):
        first, last = index == 0, index == len(ours) - 1
        fits = False
        for at in range(len(seen) - len(gap) + 1):
            left, right = seen[:at], seen[at + len(gap) :]
            if (seen[at : at + len(gap)] == gap and (not left or not first) and (not right or not last)
                    and set(left) <= wrappers and set(right) <= wrappers):
                fits = True
                break
        if not fits:
            return False
    return True


def _original(redacted: str, mentions: list[Mapping[str, Any]]) -> str:
    pieces, cursor = [], 0
    for mention in mentions:
        pieces += [redacted[cursor : mention["redacted_start"]], mention["text"]]
        cursor = mention["redacted_end"]
    pieces.append(redacted[cursor:])
    return "".join(pieces)


def restore(text: str, mapping: Any, line: Optional[int] = None) -> Restored:
    """Put the original text back wherever a placeholder of ``mapping`` appears, in the forms LLMs return.

    Each placeholder becomes its entity's first mention. When ``text`` is line ``line`` of the redacted output (or
    the map holds one line and ``line`` is not given) and its placeholders appear in the order of that line's
    mentions, each becomes its own mention's text, so the original comes back byte for byte; when the map also
    holds the redacted line and ``text`` differs from it only by placeholders in other forms and wrappers around
    them (``**``, backticks, quotes, brackets), the original line itself comes back.

    Args:
        text: text holding placeholders (an LLM's answer, a redacted line).
        mapping: a :class:`SpanMap`, a dict placeholder -> original text, what ``redact`` returns (the redacted
            text and its span records), a list of span records, or span-map records.
        line: the line of the map that ``text`` is.

    Returns:
        The restored text and the unknown placeholders, as they appear in ``text``.
    """
    span_map = _as_span_map(mapping)
    found = span_map.find(text)
    mentions = span_map.lines.get(line) if line is not None else (
        next(iter(span_map.lines.values())) if len(span_map.lines) == 1 else None)
    own = None
    if mentions and [m["placeholder"] for m in mentions] == [f[2] for f in found if f[2] is not None]:
        number = line if line is not None else next(iter(span_map.lines))
        redacted = span_map.redacted.get(number)
        if redacted is not None and not [f for f in found if f[2] is None] and _same_line(text, found, redacted, mentions):
            return Restored(_original(redacted, mentions), [])
        own = iter(mention["text"] for mention in mentions)
    pieces, unknown, cursor = [], [], 0
    for start, end, placeholder, before, after in found:
        if placeholder is None:
            unknown.append(text[start:end])
            continue
        original = next(own) if own is not None else span_map.entities[placeholder]
        pieces += [text[cursor:start], before, original, after]
        cursor = end
    pieces.append(text[cursor:])
    if unknown:
        logger.debug("restore: %d unknown placeholders", len(unknown))
    return Restored("".join(pieces), unknown)
