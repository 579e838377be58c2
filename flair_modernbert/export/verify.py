"""Checking an exported graph against the tagger it came from: the same emission scores for the same words.

:func:`flair_emissions` asks Flair for the scores its head gives each word (what ``predict`` decodes);
:func:`onnx_emissions` runs the exported ``model.onnx`` with ONNX Runtime on the same words, tokenized by the
tagger's tokenizer, sentences in padded batches, and pools the per-subtoken rows into words as the
JavaScript module does. ``export`` runs :func:`check_export` on a few sentences after writing a folder.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional, Sequence

import numpy as np

from flair_modernbert.export.spec import ExportSpec

logger = logging.getLogger(__name__)

__all__ = ["flair_emissions", "onnx_session", "onnx_emissions", "decode_emissions", "pool_rows", "check_export",
           "CHECK_SENTENCES"]

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


def onnx_session(model_path: os.PathLike | str) -> Any:
    """An ONNX Runtime CPU session for an exported graph (``model.onnx`` or one of its quantized copies)."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])


def onnx_emissions(
    model: Any, tokenizer: Any, spec: ExportSpec, words: Sequence[Sequence[str]], batch_size: int = 32
) -> list[np.ndarray]:
    """The exported graph's word emissions, each sentence alone in one window (no context), in padded batches.

    Args:
        model: ``model.onnx`` (or a quantized copy), or a session from :func:`onnx_session`.
        tokenizer: the tokenizer the tagger uses (prefix space set).
        spec: the export's spec (pooling, tag count, window).
        words: the sentences, as words.
        batch_size: sentences per forward pass (sorted by length, so padding stays small).

    Raises:
        ValueError: a sentence does not fit in one window (the JavaScript module strides it, this check does not).
    """
    session = onnx_session(model) if isinstance(model, (str, os.PathLike)) else model
    tags = len(spec.tags)
    encodings = [tokenizer(list(sentence), is_split_into_words=True) for sentence in words]
    for index, encoding in enumerate(encodings):
        if len(encoding["input_ids"]) > spec.max_length:
            raise ValueError(f"sentence {index + 1} has {len(encoding['input_ids'])} subtokens, more than the "
                             f"{spec.max_length} of one window")
    order = sorted(range(len(words)), key=lambda i: -len(encodings[i]["input_ids"]))
    result: list[Optional[np.ndarray]] = [None] * len(words)
    pad = tokenizer.pad_token_id or 0
    for at in range(0, len(order), batch_size):
        batch = order[at: at + batch_size]
        longest = len(encodings[batch[0]]["input_ids"])
        ids = np.full((len(batch), longest), pad, dtype=np.int64)
        mask = np.zeros((len(batch), longest), dtype=np.int64)
        for row, index in enumerate(batch):
            sequence = encodings[index]["input_ids"]
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1
        logits = session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]
        for row, index in enumerate(batch):
            result[index] = pool_rows(logits[row].astype(np.float32), encodings[index].word_ids(), len(words[index]),
                                      spec.pooling, tags)
    return result  # type: ignore[return-value]


def decode_emissions(tagger: Any, emissions: Sequence[np.ndarray]) -> list[list[str]]:
    """Tags of word emissions, decoded by the tagger's own head: Flair's Viterbi over its CRF, or argmax.

    Args:
        tagger: the Flair ``SequenceTagger`` the emissions were computed for.
        emissions: per sentence a ``(words, tags)`` array (:func:`flair_emissions`, :func:`onnx_emissions`).
    """
    import torch

    if not emissions:
        return []
    # Flair's Viterbi expects the longest sentence first (it shrinks the batch as sentences end), as predict sorts
    order = sorted(range(len(emissions)), key=lambda i: -len(emissions[i]))
    lengths = torch.tensor([len(emissions[i]) for i in order], dtype=torch.long)
    padded = torch.zeros(len(order), int(lengths.max()), emissions[0].shape[-1])
    for row, index in enumerate(order):
        padded[row, : len(emissions[index])] = torch.from_numpy(np.ascontiguousarray(emissions[index], dtype=np.float32))
    dictionary = tagger.label_dictionary
    with torch.no_grad():
        if tagger.use_crf:
            # decode() reads the sentences only for all-class probabilities
            predictions, _ = tagger.viterbi_decoder.decode((tagger.crf(padded), lengths, tagger.crf.transitions),
                                                           False, [])
            decoded = [[tag for tag, _ in sentence] for sentence in predictions]
        else:
            best = padded.argmax(dim=-1)
            decoded = [[dictionary.get_item_for_index(int(i)) for i in best[row, :n]]
                       for row, n in enumerate(lengths.tolist())]
    result: list[list[str]] = [[] for _ in emissions]
    for row, index in enumerate(order):
        result[index] = decoded[row]
    return result


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
