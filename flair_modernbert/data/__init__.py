"""The data room: corpora from Flair loaders, column folders (checked with file:line diagnostics) and Hugging
Face datasets, and their per-split summaries."""

from flair_modernbert.data.columns import CorpusFormatError, check_column_file, check_tags, read_words
from flair_modernbert.data.corpora import flair_loader, load_corpus
from flair_modernbert.data.documents import document_sequences, documents_of, pack_documents
from flair_modernbert.data.summary import CorpusSummary, SplitSummary, summarize_corpus

__all__ = [
    "CorpusFormatError",
    "CorpusSummary",
    "SplitSummary",
    "check_column_file",
    "check_tags",
    "document_sequences",
    "documents_of",
    "pack_documents",
    "flair_loader",
    "load_corpus",
    "read_words",
    "summarize_corpus",
]
