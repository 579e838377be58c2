"""Whole documents as training and evaluation sequences (``corpus.documents``), for ModernBERT's 8k window.

A corpus keeps its documents as linked sentences: Flair links the sentences of a dataset in order and marks
document-boundary sentences (``-DOCSTART-`` in CoNLL files: ``corpus.document_separator``); a Hugging Face
dataset with a ``corpus.document_column`` links the rows of each document. :func:`documents_of` recovers the
documents from those links; :func:`synthetic_documents` makes documents from shuffled sentences (seeded) for
corpora that have none (tweets, ...).

:func:`pack_documents` turns documents into sequences: consecutive sentences of one document, as many as fit
``max_subtokens``, become one Flair ``Sentence`` whose span labels are the sentences' spans; a sentence longer
than that stays a sequence of its own. Boundary sentences themselves (``-DOCSTART-``) are left out.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Callable, Iterable, Optional, Sequence

from flair.data import Sentence, Token

from flair_modernbert.tags import add_spans, spans_of

logger = logging.getLogger(__name__)

__all__ = ["documents_of", "synthetic_documents", "pack_documents", "document_sequences"]

#: ``words -> subtokens`` of the encoder that will read the sequences
SubtokenCounter = Callable[[list[str]], int]


def documents_of(sentences: Iterable[Sentence]) -> list[list[Sentence]]:
    """The documents of a split, in order: runs of linked sentences between document boundaries.

    A boundary sentence ends the current document and belongs to none; a sentence whose predecessor is not
    the previous sentence of the split (Flair's links say so) starts a new document.
    """
    documents: list[list[Sentence]] = []
    current: list[Sentence] = []
    for sentence in sentences:
        if sentence.is_document_boundary:
            if current:
                documents.append(current)
            current = []
            continue
        if current and sentence.previous_sentence() is not current[-1]:
            documents.append(current)
            current = []
        current.append(sentence)
    if current:
        documents.append(current)
    return documents


def synthetic_documents(sentences: Sequence[Sentence], seed: int, size: int) -> list[list[Sentence]]:
    """Documents of ``size`` sentences drawn without replacement in a seeded order (for corpora without any)."""
    order = list(range(len(sentences)))
    random.Random(f"{seed}/synthetic-documents").shuffle(order)
    return [[sentences[i] for i in order[start : start + size]] for start in range(0, len(order), max(1, size))]


def _merge(part: Sequence[Sentence], label_type: str) -> Sentence:
    tokens, spans = [], []
    for sentence in part:
        offset = len(tokens)
        tokens += [Token(token.text, whitespace_after=token.whitespace_after) for token in sentence]
        spans += [(start + offset, end + offset, kind) for start, end, kind in spans_of(sentence, label_type)]
    return add_spans(Sentence(tokens), spans, label_type)


def pack_documents(
    documents: Sequence[Sequence[Sentence]],
    label_type: str,
    max_subtokens: int,
    count: SubtokenCounter,
) -> list[Sentence]:
    """Sequences of consecutive sentences of each document, each at most ``max_subtokens`` subtokens.

    The sequences of one document are linked (Flair's context), documents are not linked to each other.

    Args:
        documents: lists of sentences, e.g. from :func:`documents_of` or :func:`synthetic_documents`.
        label_type: the span label layer to carry over.
        max_subtokens: the budget of one sequence (the encoder's window without its special tokens).
        count: subtokens of a list of words, with the encoder's tokenizer.
    """
    packed: list[Sentence] = []
    for document in documents:
        sequences: list[Sentence] = []
        part: list[Sentence] = []
        used = 0
        for sentence in document:
            cost = count([token.text for token in sentence])
            if part and used + cost > max_subtokens:
                sequences.append(_merge(part, label_type))
                part, used = [], 0
            part.append(sentence)
            used += cost
        if part:
            sequences.append(_merge(part, label_type))
        for index, sequence in enumerate(sequences):
            sequence._previous_sentence = sequences[index - 1] if index else None
            sequence._next_sentence = sequences[index + 1] if index + 1 < len(sequences) else None
            sequence._has_context = True
        packed += sequences
    logger.info("%d documents packed into %d sequences of at most %d subtokens", len(documents), len(packed),
                max_subtokens)
    return packed


def document_sequences(
    sentences: Sequence[Sentence],
    label_type: str,
    tokenizer: Any,
    max_subtokens: Optional[int] = None,
    synthetic: bool = False,
    seed: int = 0,
) -> list[Sentence]:
    """A split as whole-document sequences (what ``corpus.documents`` asks for).

    Args:
        sentences: the split.
        label_type: the span label layer.
        tokenizer: the encoder's tokenizer (a Hugging Face fast tokenizer), to count subtokens.
        max_subtokens: the budget of a sequence; ``None``: the tokenizer's window without special tokens.
        synthetic: ignore the corpus's documents and build them from shuffled sentences.
        seed: the seed of synthetic documents.
    """
    budget = max_subtokens or tokenizer.model_max_length - tokenizer.num_special_tokens_to_add()

    def count(words: list[str]) -> int:
        return len(tokenizer(words, is_split_into_words=True, add_special_tokens=False)["input_ids"])

    sentences = [s for s in sentences if len(s) > 0]
    if synthetic:
        average = max(1, sum(count([t.text for t in s]) for s in sentences[:200]) // max(1, min(200, len(sentences))))
        documents = synthetic_documents(sentences, seed, max(1, budget // average))
    else:
        documents = documents_of(sentences)
    return pack_documents(documents, label_type, budget, count)
