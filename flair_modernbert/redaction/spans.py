"""Entity spans and the one rule for spans that overlap (docs/redaction.md, section 2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = ["EntitySpan", "merge_spans"]


@dataclass
class EntitySpan:
    """One entity in a document: ``text[start:end]`` (offsets in code points)."""

    start: int
    end: int
    type: str
    text: str
    score: float


def merge_spans(model_spans: Sequence[EntitySpan], pattern_spans: Sequence[EntitySpan]) -> list[EntitySpan]:
    """Merge model and pattern spans so that no two overlap and no character of either is dropped.

    Spans that overlap, directly or through a chain, become one span from the smallest start to the largest end.
    Its type is that of the earliest-starting pattern span of the group (a validated pattern is more specific than
    the model), or the model span's when the group holds none; its score is the group's highest.

    Args:
        model_spans: the tagger's spans.
        pattern_spans: spans found by :func:`~flair_modernbert.redaction.patterns.find_pii`.

    Returns:
        The merged spans, sorted by start.
    """
    tagged = sorted([(span, False) for span in model_spans] + [(span, True) for span in pattern_spans],
                    key=lambda item: (item[0].start, item[0].end))
    merged: list[EntitySpan] = []
    group: list[tuple[EntitySpan, bool]] = []
    end = -1

    def close() -> None:
        if not group:
            return
        if len(group) == 1:
            merged.append(group[0][0])
            return
        start, stop, pieces = group[0][0].start, group[0][0].end, [group[0][0].text]
        for span, _ in group[1:]:  # the union is contiguous: each span overlaps what came before
            if span.end > stop:
                pieces.append(span.text[stop - span.start :])
                stop = span.end
        patterns = [span for span, is_pattern in group if is_pattern]
        kind = (patterns[0] if patterns else group[0][0]).type
        merged.append(EntitySpan(start, stop, kind, "".join(pieces), max(span.score for span, _ in group)))

    for span, is_pattern in tagged:
        if group and span.start >= end:
            close()
            group = []
        group.append((span, is_pattern))
        end = max(end, span.end) if len(group) > 1 else span.end
    close()
    return merged
