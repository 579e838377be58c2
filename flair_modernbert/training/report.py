"""The files a finished run leaves: ``results.json``, ``report.txt``, ``confusion.png``, the model card and the
final TensorBoard entries (test scores, confusion image, hyper-parameters)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from flair_modernbert.config import Recipe
from flair_modernbert.evaluation import format_side_by_side
from flair_modernbert.training.model_card import write_model_card
from flair_modernbert.training.results import RunResults

logger = logging.getLogger(__name__)

__all__ = ["write_run_report", "report_text"]


def report_text(results: RunResults) -> str:
    """``report.txt``: seqeval's report of the test set and the original vs lower-cased table."""
    if results.test is None:
        return "The corpus has no test split; nothing evaluated.\n"
    parts = [
        "Test set, seqeval entity level (strict IOB2)",
        "",
        results.test.report,
        "",
        "Case robustness: original vs lower-cased test set",
        "",
        format_side_by_side(results.test, results.test_lowercased),
        "",
    ]
    if results.test_documents is not None:
        parts += ["Sentences vs whole documents (the test set as document sequences)", "",
                  format_side_by_side(results.test, results.test_documents, "documents"), ""]
    return "\n".join(parts)


def write_run_report(out: Path, recipe: Recipe, results: RunResults, tensorboard: Optional[Any] = None) -> None:
    """Write a run's result files into ``out`` and close its TensorBoard log.

    Args:
        out: the run's folder.
        recipe: the recipe of the run.
        results: what the run measured.
        tensorboard: the run's :class:`~flair_modernbert.training.plugins.TensorBoardPlugin`, if any.
    """
    figures = {}
    final_scores = {}
    if results.test is not None:
        results.test.confusion.save(out / "confusion.png")
        figures["5_confusion/test"] = results.test.confusion.figure()
        final_scores = {"test": results.test.to_dict()}
        if results.test_lowercased is not None:
            final_scores["test_lowercased"] = results.test_lowercased.to_dict()
        if results.test_documents is not None:
            final_scores["test_documents"] = results.test_documents.to_dict()
    if tensorboard is not None:
        tensorboard.log_final(final_scores, step=results.epochs, figures=figures)
        tensorboard.close()
    results.write(out / "results.json")
    (out / "report.txt").write_text(report_text(results), encoding="utf-8")
    write_model_card(out / "README.md", recipe, results)
