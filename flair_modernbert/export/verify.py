"""Checking an exported graph against the tagger it came from: the same emission scores for the same words.

:func:`flair_emissions` asks Flair for the scores its head gives each word (what ``predict`` decodes);
:func:`onnx_emissions` runs the exported ``model.onnx`` with ONNX Runtime on the same words, tokenized by the
tagger's tokenizer, several sentences in one padded batch, and pools the per-subtoken rows into words as the
JavaScript module does. ``export`` runs :func:`check_export` on a few sentences after writing a folder.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional, Sequence

import numpy as np

from flair_modernbert.export.spec import ExportSpec

logger = logging.getLogger(__name__)

__all__ = ["flair_emissions", "onnx_emissions", "pool_rows", "check_export", "CHECK_SENTENCES"]

#: Sentences :func:`check_export` compares on (with a mixed-length batch).
CHECK_SENTENCES = [
    ["Jane", "Doe", "moved", "from", "Paris", "to", "Berlin", "in", "2019", "."],
    ["@jdoe", "posted", "www.example.com", "again", "!"],
    ["OK"],
]


def flair_emissions(tagger: Any, words: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """The scores Flair's head gives each word of each sentence (no context between the sentences).

    Args:
        tagger: a Flair ``SequenceTagger`` without an RNN.
        words: the sentences, as words.

    Returns:
        Per sentence a ``(words, tags)`` float32 array: the ``linear`` layer's output that the CRF or softmax reads.
    """
    import torch
    from flair.data import Sentence

    sentences = [Sentence(list(sentence)) for sentence in words]
    for sentence in sentences:
        Sentence.set_context_for_sentences([sentence])  # each sentence alone, as predict sees a one-sentence line
    captured: list[torch.Tensor] = []
    handle = tagger.linear.register_forward_hook(lambda module, args, output: captured.append(output.detach()))
    tagger.eval()
    try:
        with torch.no_grad():
            tensor, lengths = tagger._prepare_tensors(sentences)
            tagger.forward(tensor, lengths)
    finally:
        handle.remove()
        for sentence in sentences:
            sentence.clear_embeddings()
    features = captured[0].float().cpu().numpy()
    return [features[i, : len(sentence)] for i, sentence in enumerate(sentences)]


def pool_rows(rows: np.ndarray, word_ids: Sequence[Optional[int]], num_words: int, pooling: str, tags: int) -> np.ndarray:
    """Word emissions from per-subtoken rows, as the JavaScript module pools them.

    Args:
        rows: ``(subtokens, T)`` or, for ``first_last``, ``(subtokens, 2T)`` graph output of one sequence.
        word_ids: the word of each subtoken (``None`` for special tokens).
        num_words: words in the sentence.
        pooling: ``first``, ``last``, ``first_last`` or ``mean``.
        tags: ``T``.
    """
    out = np.zeros((num_words, tags), dtype=np.float64)
    for word in range(num_words):
        slots = [i for i, w in enumerate(word_ids) if w == word]
        if not slots:
            continue
        if pooling == "first":
            out[word] = rows[slots[0]]
        elif pooling == "last":
            out[word] = rows[slots[-1]]
        elif pooling == "mean":
            out[word] = rows[slots].astype(np.float64).mean(axis=0)
        else:
            out[word] = rows[slots[0], :tags].astype(np.float64) + rows[slots[-1], tags:]
    return out.astype(np.float32)


def onnx_emissions(
    model_path: os.PathLike | str, tokenizer: Any, spec: ExportSpec, words: Sequence[Sequence[str]]
) -> list[np.ndarray]:
    """The exported graph's word emissions for sentences run as one padded batch (no context, no windows).

    Args:
        model_path: ``model.onnx`` (or ``model_quantized.onnx``).
        tokenizer: the tokenizer the tagger uses (prefix space set).
        spec: the export's spec (pooling, tag count).
        words: the sentences, as words; each must fit in one window.
    """
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    encoding = tokenizer([list(s) for s in words], is_split_into_words=True, padding=True, return_tensors="np")
    logits = session.run(
        ["logits"],
        {"input_ids": encoding["input_ids"].astype(np.int64), "attention_mask": encoding["attention_mask"].astype(np.int64)},
    )[0]
    tags = len(spec.tags)
    return [
        pool_rows(logits[i], encoding.word_ids(i), len(sentence), spec.pooling, tags) for i, sentence in enumerate(words)
    ]


def check_export(tagger: Any, spec: ExportSpec, model_path: os.PathLike | str,
                 words: Sequence[Sequence[str]] = CHECK_SENTENCES) -> float:
    """The largest absolute difference between Flair's and the exported graph's emission scores.

    Runs without context (each sentence alone) whatever the tagger's context setting.
    """
    if spec.context_length:
        # compare without context on both sides: the graph is the same, context only changes its input
        saved = tagger.embeddings.context_length
        tagger.embeddings.context_length = 0
        try:
            reference = flair_emissions(tagger, words)
        finally:
            tagger.embeddings.context_length = saved
    else:
        reference = flair_emissions(tagger, words)
    exported = onnx_emissions(model_path, tagger.embeddings.tokenizer, spec, words)
    return max(float(np.abs(a - b).max()) for a, b in zip(reference, exported))
