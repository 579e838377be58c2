"""Whole documents as training and evaluation sequences (``corpus.documents``), for ModernBERT's 8k window.

A corpus keeps its documents as linked sentences: Flair links the sentences of a dataset in order and marks
document-boundary sentences (``-DOCSTART-`` in CoNLL files: ``corpus.document_separator``); a Hugging Face
dataset with a ``corpus.document_column`` links the rows of each document; Flair's OntoNotes loader writes one
file per source with no document ids, so :func:`link_ontonotes_documents` cuts its links where the CoNLL-2012
files' document ids change. :func:`documents_of` recovers the documents from those links; :func:`synthetic_documents` makes documents from shuffled sentences (seeded) for
corpora that have none (tweets, ...).

:func:`pack_documents` turns documents into sequences: consecutive sentences of one document, as many as fit
``max_subtokens``, become one Flair ``Sentence`` whose span labels are the sentences' spans; a sentence longer
than that stays a sequence of its own. Boundary sentences themselves (``-DOCSTART-``) are left out.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from flair.data import Sentence, Token

from flair_modernbert.tags import add_spans, spans_of

logger = logging.getLogger(__name__)

__all__ = ["documents_of", "synthetic_documents", "pack_documents", "document_sequences", "link_ontonotes_documents"]

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


def _ontonotes_document_ids(loader: type, root: Path, split: str, version: str, language: str,
                            domain: Any) -> list[str]:
    """The document id of every sentence Flair's OntoNotes loader read for ``split``, in its order."""
    processed = root / loader.__name__.lower()
    split_folder = processed / "splits" / version / language / split
    raw_annotations = root / "conll-2012" / version / "data" / split / "data" / language / "annotations"
    ids: list[str] = []
    # the order Flair wrote them in: its processed files, each the sorted *gold_conll files of one source
    for processed_file in loader._get_processed_file_paths(processed_data_path=processed, split=split,
                                                           version=version, language=language, domain=domain):
        source = Path(processed_file).relative_to(split_folder)
        for conll_file in sorted((raw_annotations / source).rglob("*gold_conll")):
            ids += [sentence["document_id"] for sentence in loader.sentence_iterator(conll_file)]
    return ids


def link_ontonotes_documents(corpus: Any, loader: type, kwargs: dict[str, Any], root: Path) -> bool:
    """Cut Flair's sentence links of an OntoNotes corpus at document boundaries (in place).

    Flair links every sentence of a source file (a whole genre slice: many documents) to the next; the CoNLL-2012
    files it was written from name each sentence's document. After this, Flair's context (``use_context``) and
    :func:`documents_of` stay within one document.

    Args:
        corpus: what ``flair.datasets.ONTONOTES(**kwargs)`` returned.
        loader: the loader class (``ONTONOTES`` or a subclass).
        kwargs: the loader's keyword arguments (``version``, ``language``, ``domain``).
        root: Flair's dataset folder the loader used (``base_path``).

    Returns:
        ``False`` (links left as Flair made them, with a warning) when the CoNLL-2012 files are not there or do
        not match the corpus sentence for sentence.
    """
    version, language = kwargs.get("version", "v4"), kwargs.get("language", "english")
    for split, sentences in (("train", corpus.train), ("development", corpus.dev), ("test", corpus.test)):
        if sentences is None:
            continue
        sentences = list(sentences)
        try:
            ids = _ontonotes_document_ids(loader, root, split, version, language, kwargs.get("domain"))
        except (OSError, ValueError, AssertionError) as error:
            logger.warning("OntoNotes %s: no document ids (%s); sentences stay linked across documents", split, error)
            return False
        if len(ids) != len(sentences):
            logger.warning("OntoNotes %s: %d sentences but %d in the CoNLL-2012 files under %s; sentences stay "
                           "linked across documents", split, len(sentences), len(ids), root / "conll-2012")
            return False
        for index in range(1, len(sentences)):
            if ids[index] != ids[index - 1]:
                if sentences[index]._previous_sentence is sentences[index - 1]:
                    sentences[index - 1]._next_sentence = None
                sentences[index]._previous_sentence = None
        logger.info("OntoNotes %s: %d sentences in %d documents", split, len(sentences),
                    1 + sum(ids[i] != ids[i - 1] for i in range(1, len(ids))))
    return True


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
