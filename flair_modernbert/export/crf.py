"""``crf.json``: what the JavaScript decoder needs besides the graph, read from the tagger.

The file holds the tag dictionary, the decoding (``crf`` with Flair's transition matrix and its ``<START>`` and
``<STOP>`` tags, or ``softmax``), the span tag format, how subtoken rows become word emissions (pooling, the head's
bias for a word without subtokens) and how a sentence becomes model input (special tokens, window, what happens to
a longer sequence: ``tokens.overflow`` ``stride``, ``truncate`` or ``error``; FLERT context, trimmed to the window
or not: ``context.trim``) and the model's default recall bias (``recall_bias``, docs/recall.md: the JavaScript
decoder lowers the O tag's emission by it, as Python does). Flair keeps transitions as ``transitions[to, from]``;
so does the file.

Floats are written as float32 values (``repr`` of the float32 number as a float64), so JavaScript reads back
exactly the numbers torch used.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import numpy as np

from flair_modernbert.export.spec import START_TAG, STOP_TAG, ExportSpec
from flair_modernbert.inference import default_recall_bias

logger = logging.getLogger(__name__)

__all__ = ["FORMAT", "VERSION", "decoder_config", "special_token_layout"]

#: ``crf.json``'s ``format`` value; the JavaScript module refuses other files.
FORMAT = "flair-modernbert-tagger"
#: Bumped when the file's meaning changes.
VERSION = 1


def _floats(values: Any) -> Any:
    array = np.asarray(values, dtype=np.float32)
    return array.astype(np.float64).tolist()


def special_token_layout(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special token ids the tokenizer puts before and after a sentence's subtokens (``[CLS]``, ``[SEP]``).

    Read from the tokenizer's own post-processing of a one-word sentence, so any template is honoured.
    """
    encoding = tokenizer(["a"], is_split_into_words=True)
    ids, word_ids = encoding["input_ids"], encoding.word_ids()
    first = word_ids.index(0)
    last = len(word_ids) - 1 - word_ids[::-1].index(0)
    return list(ids[:first]), list(ids[last + 1 :])


def decoder_config(tagger: Any, spec: ExportSpec, bias: Any, model_files: dict[str, str],
                   exporter: Optional[str] = None) -> dict[str, Any]:
    """The content of ``crf.json``.

    Args:
        tagger: the loaded tagger.
        spec: its :class:`~flair_modernbert.export.spec.ExportSpec`.
        bias: the folded head's bias (the emissions of a word that received no subtoken).
        model_files: Transformers.js dtype -> file relative to the folder (``{"fp32": "onnx/model.onnx", "q8":
            "onnx/model_quantized.onnx", ...}``).
        exporter: the ONNX exporter used, for the record.
    """
    tokenizer = tagger.embeddings.tokenizer
    prefix, suffix = special_token_layout(tokenizer)
    separator_id = None
    if spec.context_separator:
        separator_id = tokenizer.convert_tokens_to_ids(spec.separator_token)
        if separator_id is None or separator_id == tokenizer.unk_token_id:
            raise ValueError(f"the tokenizer has no {spec.separator_token} token, although the tagger uses it")
    crf: Optional[dict[str, Any]] = None
    if spec.head == "crf":
        crf = {
            "start": spec.tags.index(START_TAG),
            "stop": spec.tags.index(STOP_TAG),
            "transitions": _floats(tagger.crf.transitions.detach().cpu()),
        }
    return {
        "format": FORMAT,
        "version": VERSION,
        "head": spec.head,
        "label_type": spec.label_type,
        "tags": spec.tags,
        "tag_format": spec.tag_format,
        "crf": crf,
        "recall_bias": default_recall_bias(tagger),
        "pooling": spec.pooling,
        "logits_parts": 2 if spec.pooling == "first_last" else 1,
        "empty_word_emissions": _floats(bias),
        "tokens": {
            "prefix": prefix,
            "suffix": suffix,
            "pad": tokenizer.pad_token_id,
            "max_length": spec.max_length,
            "stride": spec.stride,
            "allow_long_sentences": spec.allow_long_sentences,
            "overflow": spec.overflow,
        },
        "context": {
            "length": spec.context_length,
            "separator": spec.separator_token if spec.context_separator else None,
            "separator_id": separator_id,
            "trim": spec.trim_context,
        },
        "encoder": {
            "model_type": spec.model_type,
            "embeddings": spec.embeddings,
            "layers": spec.layers,
            "layer_mean": spec.layer_mean,
            "final_norm": spec.final_norm,
            "num_layers": spec.num_layers,
            "hidden_size": spec.hidden_size,
        },
        "model_files": model_files,
        "exporter": exporter,
    }
