"""Document context encoded once per document (``use_context="document"``).

Flair gives every sentence its own sequence: left context + the sentence + right context. With the whole
document as context, a document of ``k`` sentences is then encoded ``k`` times. Here the sentences of a batch
are grouped by document (the chain of sentences Flair's ``left_context``/``right_context`` walk, within
document boundaries) and each document is encoded once; every sentence takes its words from that pass.

A document longer than the window is cut into overlapping windows of whole sentences
(:func:`plan_windows`): each window serves the sentences in its first three quarters (all of it at the end
of the document), with up to a quarter of the window as left context, so a sentence sees at least about a
quarter of a window of context on each side where the document has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from flair.data import Sentence

__all__ = ["Window", "document_of", "plan_windows"]


def document_of(sentence: Sentence, respect_document_boundaries: bool = True) -> list[Sentence]:
    """The sentences Flair's context walks from ``sentence``: previous ones, itself, next ones, in order.

    The walk stops at the first missing neighbour and, with ``respect_document_boundaries``, before a
    document-boundary sentence (as Flair's ``Sentence.left_context`` / ``right_context`` do).
    """
    before: list[Sentence] = []
    current = sentence.previous_sentence()
    while current is not None and not (respect_document_boundaries and current.is_document_boundary):
        before.append(current)
        current = current.previous_sentence()
    after: list[Sentence] = []
    current = sentence.next_sentence()
    while current is not None and not (respect_document_boundaries and current.is_document_boundary):
        after.append(current)
        current = current.next_sentence()
    return [*reversed(before), sentence, *after]


@dataclass(frozen=True)
class Window:
    """Sentences ``start`` to ``end`` (exclusive) of a document, encoded together, serving ``served``."""

    start: int
    end: int
    served: tuple[int, ...]


def plan_windows(lengths: Sequence[int], wanted: Sequence[int], budget: int) -> tuple[list[Window], list[int]]:
    """Windows of whole sentences, each at most ``budget`` subtokens, that serve every wanted sentence.

    Args:
        lengths: subtokens of each sentence of the document.
        wanted: the indices of the sentences to embed, ascending.
        budget: subtokens a window may hold.

    Returns:
        The windows, and the wanted sentences longer than ``budget`` on their own (to be embedded alone).
    """
    if sum(lengths) <= budget:
        return [Window(0, len(lengths), tuple(wanted))], []
    windows: list[Window] = []
    alone = [i for i in wanted if lengths[i] > budget]
    pending = [i for i in wanted if lengths[i] <= budget]
    quarter = budget // 4
    while pending:
        first = pending[0]
        start, used = first, lengths[first]
        while start > 0 and used + lengths[start - 1] <= budget and used - lengths[first] + lengths[start - 1] <= quarter:
            start -= 1
            used += lengths[start]
        end = first + 1
        while end < len(lengths) and used + lengths[end] <= budget:
            used += lengths[end]
            end += 1
        while start > 0 and used + lengths[start - 1] <= budget:  # the document ended: use the room on the left
            start -= 1
            used += lengths[start]
        # the last quarter of a window is served by the next one, which sees more right context
        limit, seen = end, 0
        if end < len(lengths):
            for index in range(start, end):
                seen += lengths[index]
                if seen > used - quarter:
                    limit = index
                    break
        served = tuple(i for i in pending if start <= i < max(limit, first + 1))
        windows.append(Window(start, end, served))
        pending = [i for i in pending if i not in served]
    return windows, alone
