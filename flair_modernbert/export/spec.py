"""What an exported tagger computes, read from a loaded Flair ``SequenceTagger``, and what cannot be exported.

:func:`export_spec` inspects a tagger once, before anything is written, and either returns an
:class:`ExportSpec` (everything the ONNX graph and the JavaScript decoder need to reproduce Flair's
``predict``) or raises :class:`UnsupportedModelError` listing every setting that cannot be exported and why.

Supported: a :class:`~flair_modernbert.encoder.embeddings.ModernBertEmbeddings` encoder (any of its layers,
concatenated or averaged, ``final_norm``, every subtoken pooling, FLERT context of a number of words with or
without the ``[FLERT]`` separator, trimmed to the window, long sentences in Flair's strided windows or refused), or
Flair's stock ``TransformerWordEmbeddings`` over a model that Transformers.js runs for token classification
(:data:`TRANSFORMERS_JS_TOKEN_CLASSIFICATION`: BERT, RoBERTa, DistilBERT, ...) with a fast tokenizer (any layers,
every subtoken pooling, FLERT context kept whole, long sequences strided or truncated as stock Flair does); a
linear head with or without ``reproject_embeddings``, decoded by a CRF (Viterbi) or a softmax, BIO or BIOES span
tags.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

logger = logging.getLogger(__name__)

__all__ = ["ExportSpec", "UnsupportedModelError", "export_spec"]

#: Tags Flair adds to a CRF's dictionary (they are never predicted).
START_TAG, STOP_TAG = "<START>", "<STOP>"

#: ``model_type`` values Transformers.js (4.3) loads with ``AutoModelForTokenClassification`` and that a stock
#: ``TransformerWordEmbeddings`` can hold (its ``MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES``).
TRANSFORMERS_JS_TOKEN_CLASSIFICATION = (
    "bert", "camembert", "convbert", "deberta", "deberta-v2", "distilbert", "electra", "esm", "eurobert", "modernbert",
    "mpnet", "neobert", "roberta", "roformer", "xlm", "xlm-roberta",
)


class UnsupportedModelError(ValueError):
    """A tagger (or an export option) that cannot be exported; the message lists every reason."""


@dataclass
class ExportSpec:
    """Everything about a tagger that the exported folder must reproduce.

    Attributes:
        head: ``crf`` (Viterbi decoding) or ``softmax``.
        tags: the tag dictionary in index order (a CRF's includes ``<START>`` and ``<STOP>``).
        tag_format: ``BIOES`` or ``BIO``.
        label_type: the tagger's label type (``ner``).
        pooling: subtoken pooling (``first``, ``last``, ``first_last``, ``mean``).
        layers: hidden-state indices in transformers' numbering (0 = embeddings output), non-negative.
        layer_mean: average the layers (else concatenate).
        final_norm: ModernBERT's final LayerNorm on the last layer's output.
        context_length: FLERT context words each side (0 = none).
        context_separator: a ``[FLERT]`` token between context and sentence.
        separator_token: the separator's text (``[FLERT]``).
        respect_document_boundaries: Flair's flag (predict never marks boundaries, kept for the record).
        allow_long_sentences: stride over sentences longer than the window (else refuse them).
        max_length: the tokenizer's ``model_max_length`` (subtokens per window, special tokens included).
        stride: overlap of Flair's strided windows (``max_length // 2``; 0 without long sentences).
        reproject: the tagger reprojects embeddings (``embedding2nn``) before its linear layer.
        model_type: the encoder's ``model_type`` (``modernbert``, ``bert``, ...).
        embeddings: ``modernbert`` (this library's ``ModernBertEmbeddings``) or ``stock`` (Flair's
            ``TransformerWordEmbeddings``): how windows and context are formed.
        overflow: what happens to a sequence longer than ``max_length``: ``stride`` (Flair's strided windows),
            ``truncate`` (stock Flair with ``allow_long_sentences=False``: cut, the words after the cut get zero
            vectors) or ``error`` (refused, as ``ModernBertEmbeddings`` refuses it, or beyond a stock model's positions).
        trim_context: FLERT context is trimmed from its far ends to fit the window (``ModernBertEmbeddings``);
            stock Flair keeps it whole and strides or truncates the sequence.
        num_layers: the encoder's layer count.
        hidden_size: the encoder's hidden size.
        embedding_length: the word embedding size the tagger's head reads.
    """

    head: str
    tags: list[str]
    tag_format: str
    label_type: str
    pooling: str
    layers: list[int]
    layer_mean: bool
    final_norm: bool
    context_length: int
    context_separator: bool
    separator_token: str
    respect_document_boundaries: bool
    allow_long_sentences: bool
    max_length: int
    stride: int
    reproject: bool
    model_type: str
    num_layers: int
    hidden_size: int
    embedding_length: int
    embeddings: str = "modernbert"
    overflow: str = "stride"
    trim_context: bool = True
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The spec as plain JSON values."""
        return asdict(self)


def _tag_format(tags: list[str]) -> Optional[str]:
    prefixes = {tag[:2] for tag in tags if tag not in ("O", START_TAG, STOP_TAG, "<unk>")}
    if prefixes and prefixes <= {"B-", "I-"}:
        return "BIO"
    if prefixes and prefixes <= {"B-", "I-", "E-", "S-"}:
        return "BIOES"
    return None


def export_spec(tagger: Any) -> ExportSpec:
    """Read what an exported copy of ``tagger`` must compute, refusing what cannot be exported.

    Args:
        tagger: a loaded Flair ``SequenceTagger`` (or this library's ``DiceSequenceTagger``).

    Returns:
        The :class:`ExportSpec`.

    Raises:
        UnsupportedModelError: naming every setting that cannot be exported and why, before any work is done.
    """
    from flair.embeddings import TransformerWordEmbeddings
    from flair.models import SequenceTagger

    from flair_modernbert.encoder.embeddings import ModernBertEmbeddings

    if not isinstance(tagger, SequenceTagger):
        raise UnsupportedModelError(
            f"the model is a {type(tagger).__name__}, not a Flair SequenceTagger; only sequence taggers can be exported"
        )
    problems: list[str] = []
    embeddings = tagger.embeddings
    modernbert = isinstance(embeddings, ModernBertEmbeddings)
    if not modernbert and type(embeddings) is not TransformerWordEmbeddings:
        raise UnsupportedModelError(
            f"the tagger's embeddings are {type(embeddings).__name__}; export supports a single ModernBertEmbeddings "
            "or TransformerWordEmbeddings encoder (stacked, character or classic word embeddings have no "
            "Transformers.js counterpart)"
        )
    if not modernbert:
        model_type = getattr(getattr(embeddings.model, "config", None), "model_type", "unknown")
        if model_type not in TRANSFORMERS_JS_TOKEN_CLASSIFICATION:
            problems.append(
                f"encoder: a {model_type!r} model, which Transformers.js does not run for token classification; "
                f"export supports {', '.join(TRANSFORMERS_JS_TOKEN_CLASSIFICATION)}"
            )
        if not embeddings.tokenizer.is_fast:
            problems.append(
                f"tokenizer: {type(embeddings.tokenizer).__name__} is a slow (Python) tokenizer; Transformers.js reads "
                "tokenizer.json, which only fast tokenizers write"
            )

    # ------------------------------------------------------------------ head
    if tagger.use_rnn:
        problems.append(
            f"head: the tagger runs a {tagger.rnn_type} over the word embeddings (bilstm-crf); its recurrent layer "
            "runs per word after pooling and is not part of the per-subtoken graph Transformers.js runs. Export "
            "crf or softmax taggers"
        )
    head = "crf" if tagger.use_crf else "softmax"
    tags = list(tagger.label_dictionary.get_items())
    tag_format = _tag_format(tags)
    if not tagger.predict_spans or tag_format is None:
        problems.append(
            f"tags: {', '.join(tags[:8])}{' ...' if len(tags) > 8 else ''} are not BIO/BIOES span tags; "
            "predict and the exported decoder return entity spans"
        )
    if tagger.use_crf and (START_TAG not in tags or STOP_TAG not in tags):
        problems.append("crf: the tag dictionary has no <START>/<STOP> tags, so the transitions cannot be read")

    # ------------------------------------------------------------------ encoder
    config = embeddings.model.config
    model_type = getattr(config, "model_type", "")
    num_layers = int(config.num_hidden_layers)
    layers = [i if i >= 0 else num_layers + 1 + i for i in embeddings.layer_indexes]
    if any(i < 0 or i > num_layers for i in layers):
        problems.append(f"layers: {embeddings.layer_indexes} out of range for a {num_layers}-layer model")
    if embeddings.subtoken_pooling not in ("first", "last", "first_last", "mean"):
        problems.append(f"subtoken_pooling: {embeddings.subtoken_pooling!r} is not one of first, last, first_last, mean")
    if getattr(embeddings, "document_context", False):
        problems.append(
            "use_context: 'document' puts up to 8,192 subtokens of the whole line around every sentence; the "
            "browser's attention is O(length^2) in memory, so such a model is not exported. Retrain with "
            "use_context: 64 (or a number of words)"
        )
    if embeddings.use_lang_emb or embeddings.tokenizer_needs_ocr_boxes or embeddings.feature_extractor is not None:
        problems.append("the encoder needs language ids, OCR boxes or images, which the exported graph does not take")
    if embeddings.needs_manual_ocr:
        problems.append("the encoder needs OCR boxes, which the exported graph does not take")
    if not embeddings.token_embedding:
        problems.append("the encoder is a document embedding; a tagger needs word embeddings")
    if getattr(embeddings, "force_max_length", False):
        logger.info("force_max_length pads every batch to the window; results do not depend on it")

    from flair.embeddings.transformer import LARGE_INTEGER

    max_length = int(embeddings.tokenizer.model_max_length)
    if modernbert:
        overflow = "stride" if embeddings.allow_long_sentences else "error"
    elif embeddings.allow_long_sentences:
        overflow = "stride"
    elif embeddings.truncate:
        overflow = "truncate"
    else:
        # a tokenizer without a window (model_max_length unset): stock Flair neither strides nor truncates, so a
        # sequence longer than the model's positions fails in Python; the JavaScript side refuses it with a message
        overflow = "error"
        positions = getattr(config, "max_position_embeddings", None)
        if max_length > LARGE_INTEGER:
            if not positions:
                problems.append("tokens: the tokenizer has no model_max_length and the model no max_position_embeddings")
            else:
                max_length = int(positions)
    if problems:
        raise UnsupportedModelError("this tagger cannot be exported:\n- " + "\n- ".join(problems))

    context_length = int(embeddings.context_length or 0)
    separator = bool(embeddings.use_context_separator and context_length > 0)
    hidden = int(config.hidden_size)
    width = hidden if embeddings.layer_mean else hidden * len(layers)
    if embeddings.subtoken_pooling == "first_last":
        width *= 2
    if width != embeddings.embedding_length:
        raise UnsupportedModelError(
            f"the encoder's embedding length {embeddings.embedding_length} is not the {width} its layers and "
            "pooling give; it cannot be reproduced"
        )
    from flair.embeddings.transformer import SENTENCE_BOUNDARY_TAG

    return ExportSpec(
        head=head,
        tags=tags,
        tag_format=tag_format or "",
        label_type=tagger.label_type,
        pooling=embeddings.subtoken_pooling,
        layers=layers,
        layer_mean=bool(embeddings.layer_mean),
        final_norm=bool(getattr(embeddings, "final_norm", False)) and modernbert,
        context_length=context_length,
        context_separator=separator,
        separator_token=SENTENCE_BOUNDARY_TAG,
        respect_document_boundaries=bool(embeddings.respect_document_boundaries),
        allow_long_sentences=bool(embeddings.allow_long_sentences),
        max_length=max_length,
        stride=int(embeddings.stride) if embeddings.allow_long_sentences else 0,
        reproject=bool(tagger.reproject_embeddings),
        model_type=model_type,
        num_layers=num_layers,
        hidden_size=hidden,
        embedding_length=int(embeddings.embedding_length),
        embeddings="modernbert" if modernbert else "stock",
        overflow=overflow,
        trim_context=modernbert,
    )
