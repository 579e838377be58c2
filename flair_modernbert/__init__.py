"""flair-modernbert: ModernBERT as a first-class citizen of Flair for named-entity recognition."""

__version__ = "0.1.0"

from flair_modernbert.embeddings import ModernBertEmbeddings

__all__ = ["ModernBertEmbeddings", "__version__"]
