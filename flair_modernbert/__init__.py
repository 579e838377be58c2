"""flair-modernbert: ModernBERT as a first-class citizen of Flair for named-entity recognition.

``import flair_modernbert`` is cheap: the encoder (torch, flair, transformers) loads on first use of
:class:`ModernBertEmbeddings`. Saved taggers still load with ``SequenceTagger.load`` after this import: Flair
finds ``ModernBertEmbeddings`` in its embeddings registry (see :mod:`flair_modernbert._registry`).
"""

from __future__ import annotations

from typing import Any

from flair_modernbert._registry import register_lazily

__version__ = "0.2.0"

__all__ = ["ModernBertEmbeddings", "__version__"]

register_lazily()


def __getattr__(name: str) -> Any:
    if name == "ModernBertEmbeddings":
        from flair_modernbert.encoder.embeddings import ModernBertEmbeddings

        return ModernBertEmbeddings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
