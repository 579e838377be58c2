"""Scoring a tagger's redaction: gold documents tagged through :func:`flair_modernbert.inference.tag_documents`
(model spans and pattern spans, merged as ``redact`` merges them), across recall biases.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence, Union

from flair_modernbert.inference import Document, model_types, resolve_recall_bias, resolve_types, tag_documents
from flair_modernbert.leaks.scoring import LeakReport, score_redaction
from flair_modernbert.redaction.types import TypeSelection

logger = logging.getLogger(__name__)

__all__ = ["load_gold", "score_tagger", "sweep", "choose_recall_bias", "LeakRun", "leak_report"]


def load_gold(path: Union[str, Path], format: str = "auto") -> list[Any]:
    """Gold documents of a span-annotated file: :func:`flair_modernbert.data.spans.read_span_documents` (span JSON
    lines, doccano, Label Studio, presidio-evaluator; ``format`` as there)."""
    from flair_modernbert.data.spans import read_span_documents

    return read_span_documents(path, format=format)


def _selection(tagger: Any, types: Union[str, Iterable[str], TypeSelection, None]) -> TypeSelection:
    if isinstance(types, TypeSelection):
        return types
    names = [name for name in types.split(",") if name.strip()] if isinstance(types, str) else types
    return resolve_types(tagger, list(names) if names is not None else None, default="all")


def score_tagger(
    tagger: Any,
    documents: Sequence[Any],
    recall_bias: Optional[float] = None,
    types: Union[str, Iterable[str], TypeSelection, None] = "all",
    mini_batch_size: int = 32,
    unit: str = "sentence",
    progress: Optional[Callable[[int], None]] = None,
    chunk_documents: int = 256,
) -> LeakReport:
    """Tag gold documents' texts and score the redaction that the spans give
    (:func:`~flair_modernbert.leaks.scoring.score_redaction`).

    Args:
        tagger: a loaded ``SequenceTagger`` (:func:`flair_modernbert.inference.load_tagger`).
        documents: gold documents (``text`` and ``spans``), e.g. from :func:`load_gold`.
        recall_bias: lowers the O tag's emission by this much before decoding (``tag_documents``' recall knob,
            docs/recall.md); ``None``: the tagger's default (``tagger.recall_bias`` from its run's recipe, else 0).
        types: ``--types`` names (a comma-separated string or a list; ``all``: the model's and every pattern type)
            or a :class:`~flair_modernbert.redaction.types.TypeSelection`.
        mini_batch_size: sentences per forward pass.
        unit: ``sentence`` or ``document`` (as for ``predict``).
        progress: called with the number of documents tagged after each chunk.
        chunk_documents: documents tagged per ``tag_documents`` call.

    Returns:
        The report, with ``recall_bias`` (the bias applied) set and ``meta`` holding the types and the unit.
    """
    selection = _selection(tagger, types)
    applied = resolve_recall_bias(tagger, recall_bias)  # a bad value fails before any tagging
    tagged = [Document(document.text) for document in documents]
    for first in range(0, len(tagged), chunk_documents):
        part = tagged[first : first + chunk_documents]
        tag_documents(tagger, part, selection, mini_batch_size, unit, recall_bias=applied)
        if progress is not None:
            progress(len(part))
    report = score_redaction(documents, [document.spans for document in tagged])
    report.recall_bias = applied
    report.meta = {"types": selection.names(model_types(tagger)), "unit": unit}
    return report


def sweep(tagger: Any, documents: Sequence[Any], biases: Sequence[float], **options: Any) -> list[LeakReport]:
    """:func:`score_tagger` at each recall bias (``options`` as there), in the order given."""
    return [score_tagger(tagger, documents, recall_bias=bias, **options) for bias in biases]


def choose_recall_bias(reports: Sequence[LeakReport], max_over_redaction: float = 0.05) -> Optional[float]:
    """The largest recall bias (the fewest leaks) whose over-redaction stays at most ``max_over_redaction``.

    Used to pick a recipe's default on its dev set. A report without a bias (spans predicted elsewhere) counts as 0.

    Returns:
        The bias, or ``None`` when every report over-redacts more (or none has text outside gold spans).
    """
    allowed = [report for report in reports
               if report.overall.over_redaction is not None and report.overall.over_redaction <= max_over_redaction]
    if not allowed:
        logger.warning("no recall bias keeps over-redaction at or below %.1f %%", 100 * max_over_redaction)
        return None
    return max(report.recall_bias or 0.0 for report in allowed)


@dataclasses.dataclass
class LeakRun:
    """What ``flair-modernbert leaks`` computed.

    Attributes:
        reports: one per recall bias, cased first, then (``lowercase``) the same biases on the lower-cased copy.
        chosen_recall_bias: :func:`choose_recall_bias` over the cased reports of a sweep (``None`` otherwise).
        meta: model, predictions, data, format, types, unit, recall biases: what ``leaks.json`` records.
    """

    reports: list[LeakReport]
    chosen_recall_bias: Optional[float]
    meta: dict[str, Any]


def leak_report(
    model: Optional[str],
    data: Union[str, Path],
    format: str = "auto",
    types: Optional[str] = None,
    biases: Sequence[Optional[float]] = (None,),
    predictions: Optional[Union[str, Path]] = None,
    lowercase: bool = False,
    mini_batch_size: int = 32,
    unit: str = "sentence",
    max_over_redaction: float = 0.05,
    trust: bool = False,
    progress: Optional[Callable[[int, int], None]] = None,
) -> LeakRun:
    """Score a tagger (``model``), or spans predicted elsewhere (``predictions``, no model), on a gold file.

    Args:
        model: a run folder or ``final-model.pt``; ``None`` with ``predictions``.
        data: the gold file (:func:`load_gold`; ``format`` as there).
        types: ``--types`` of the tagger (default ``all``: the model's and every pattern type).
        biases: recall biases to score at (``None``: the tagger's default); several make a sweep.
        predictions: JSON lines of spans predicted on the gold texts (:func:`~flair_modernbert.leaks.predictions.read_predictions`).
        lowercase: also score the lower-cased copy of the data (needs a model).
        progress: called with the number of documents just tagged and the number to tag in all (documents times
            biases, twice that with ``lowercase``).

    Raises:
        ValueError: a model and predictions both or neither; ``lowercase``, ``types`` or biases with predictions.
    """
    from flair_modernbert.leaks.lowercase import lowercased_documents
    from flair_modernbert.leaks.predictions import read_predictions

    if (model is None) == (predictions is None):
        raise ValueError("leaks: give a MODEL, or '-' with --predictions FILE (spans predicted elsewhere), not both")
    documents = load_gold(data, format)
    meta: dict[str, Any] = {"model": model, "predictions": None if predictions is None else str(predictions),
                            "data": str(data), "data_format": format, "unit": unit}
    if predictions is not None:
        if lowercase or types is not None or any(bias is not None for bias in biases):
            raise ValueError("leaks --predictions: --lowercase, --types and recall biases need a MODEL (the spans "
                             "were predicted elsewhere, on the data's own text)")
        report = score_redaction(documents, read_predictions(predictions, documents))
        return LeakRun([report], None, {**meta, "types": None, "recall_biases": [None]})
    from flair_modernbert.inference import load_tagger

    tagger = load_tagger(model, trust=trust)
    variants = [("cased", documents)] + ([("lowercased", lowercased_documents(documents))] if lowercase else [])
    total = len(documents) * len(biases) * len(variants)
    options = {"types": types if types is not None else "all", "mini_batch_size": mini_batch_size, "unit": unit,
               "progress": None if progress is None else lambda done: progress(done, total)}
    reports = []
    for variant, docs in variants:
        for report in sweep(tagger, docs, list(biases), **options):
            report.variant = variant
            reports.append(report)
    cased = [report for report in reports if report.variant == "cased"]
    chosen = choose_recall_bias(cased, max_over_redaction) if len(biases) > 1 else None
    meta.update(types=reports[0].meta["types"], recall_biases=[report.recall_bias for report in cased])
    if len(biases) > 1:
        meta["choice"] = {"max_over_redaction": max_over_redaction, "recall_bias": chosen}
    return LeakRun(reports, chosen, meta)
