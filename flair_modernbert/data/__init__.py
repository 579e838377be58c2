"""The data room: corpora from Flair loaders, column folders (checked with file:line diagnostics), Hugging
Face datasets and span-annotated text (JSON lines, doccano, Label Studio, presidio-evaluator), synthetic PII
documents mixed in, and their per-split summaries."""

from flair_modernbert.data.columns import CorpusFormatError, check_column_file, check_tags, read_words
from flair_modernbert.data.corpora import add_synthetic, flair_loader, load_corpus, relabel_corpus
from flair_modernbert.data.documents import document_sequences, documents_of, pack_documents
from flair_modernbert.data.spans import (
    SPAN_FORMATS,
    SpanDocument,
    read_span_documents,
    sentences_from_span_documents,
    write_span_documents,
)
from flair_modernbert.data.summary import CorpusSummary, SplitSummary, summarize_corpus

__all__ = [
    "SPAN_FORMATS",
    "CorpusFormatError",
    "SpanDocument",
    "add_synthetic",
    "read_span_documents",
    "relabel_corpus",
    "sentences_from_span_documents",
    "write_span_documents",
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
