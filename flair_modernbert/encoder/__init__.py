"""The encoder room: ModernBERT's unpadded forward pass inside Flair.

``embeddings`` (the Flair subclass) runs on ``tokenization`` (the prefix-space rule), ``packing`` (a batch as
one stream), ``unpadded`` (the HF model's own modules over that stream), ``attention`` (varlen backends) and
``pooling`` (word vectors gathered from the stream). ``random_models`` builds random-weight ModernBERTs and
is the only module that knows ``random:<size>`` names.

Names are imported lazily, so that reading ``random_models`` constants does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ModernBertEmbeddings": "flair_modernbert.encoder.embeddings",
    "build_random_modernbert": "flair_modernbert.encoder.random_models",
    "resolve_model_name": "flair_modernbert.encoder.random_models",
    "ensure_prefix_space": "flair_modernbert.encoder.tokenization",
    "pack_padded": "flair_modernbert.encoder.packing",
    "pack_sequences": "flair_modernbert.encoder.packing",
    "varlen_attention": "flair_modernbert.encoder.attention",
    "encode_packed": "flair_modernbert.encoder.unpadded",
    "gather_word_embeddings": "flair_modernbert.encoder.pooling",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
