"""What the leak report leaves: a table per type, ``leaks.json`` (every number) and ``leaks.png`` (leak rate against
over-redaction across recall biases)."""

from __future__ import annotations

import json
import logging
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Optional, Sequence

from flair_modernbert.leaks.scoring import CORE_TYPES, LeakReport, TypeScores

logger = logging.getLogger(__name__)

__all__ = ["FORMAT", "DEFINITIONS", "format_table", "format_sweep", "leaks_json", "write_json", "plot_sweep"]

FORMAT = "flair-modernbert-leaks"

#: What each number means, written into ``leaks.json`` next to them.
DEFINITIONS = {
    "counted_characters": "letters and digits (Unicode L* and N*); spaces, punctuation, symbols and marks are not counted",
    "leak_rate": "gold entities with any letter or digit not covered by a predicted span (any predicted type) / gold "
                 "entities with letters or digits; entities without letters or digits are counted in without_letters only",
    "char_recall": "covered letters and digits of gold spans / letters and digits of gold spans",
    "over_redaction": "hidden letters and digits outside every gold span / letters and digits outside every gold span",
    "char_precision": "covered gold letters and digits / all hidden letters and digits",
    "char_f2": "F-beta of char_precision and char_recall, beta = 2 (recall weighted)",
    "precision_recall_f1": "typed entities: predicted spans equal to a gold span in start, end and canonical type "
                           "(rules.json type_groups)",
    "core": "the sum over " + ", ".join(CORE_TYPES),
}


def _percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _row(name: str, scores: TypeScores, overall: bool = False) -> list[Any]:
    outside = [_percent(getattr(scores, name)) for name in ("over_redaction", "char_precision", "char_f2")] \
        if overall else ["", "", ""]
    return [name, scores.entities, scores.leaked, _percent(scores.leak_rate), _percent(scores.char_recall), *outside,
            _percent(scores.precision), _percent(scores.recall), _percent(scores.f1)]


def format_table(report: LeakReport) -> str:
    """The report as a table: one row per type, then core and overall (rates in %)."""
    from tabulate import tabulate

    rows = [_row(kind, scores) for kind, scores in report.per_type.items()]
    rows.append(_row("core", report.core))
    rows.append(_row("overall", report.overall, overall=True))
    headers = ["type", "entities", "leaked", "leak %", "char recall %", "over-redaction %", "char P %", "char F2 %",
               "P %", "R %", "F1 %"]
    bias = "none" if report.recall_bias is None else f"{report.recall_bias:g}"
    without = report.overall.without_letters
    title = (f"{report.variant}, recall bias {bias}: {report.documents} documents, {report.overall.gold} gold entities"
             + (f" ({without} without letters or digits, not counted)" if without else ""))
    return title + "\n" + tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def format_sweep(reports: Sequence[LeakReport]) -> str:
    """One line per report: recall bias, variant, leak rates (core and overall), over-redaction, char F2, F1."""
    from tabulate import tabulate

    rows = [["none" if r.recall_bias is None else f"{r.recall_bias:g}", r.variant, _percent(r.core.leak_rate),
             _percent(r.overall.leak_rate), _percent(r.overall.over_redaction), _percent(r.overall.char_f2),
             _percent(r.overall.f1)] for r in reports]
    return tabulate(rows, headers=["recall bias", "text", "core leak %", "leak %", "over-redaction %", "char F2 %",
                                   "F1 %"], tablefmt="github", disable_numparse=True)


def _versions() -> dict[str, Optional[str]]:
    found: dict[str, Optional[str]] = {"python": platform.python_version()}
    for package in ("flair-modernbert", "flair", "torch", "transformers", "presidio-analyzer"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def leaks_json(reports: Sequence[LeakReport], **meta: Any) -> dict[str, Any]:
    """What ``leaks.json`` holds: ``meta`` (model, data, types, recall biases, ...), the definitions, versions and
    every report."""
    return {"format": FORMAT, "version": 1, **meta, "definitions": DEFINITIONS, "versions": _versions(),
            "reports": [report.to_dict() for report in reports]}


def write_json(path: Path, reports: Sequence[LeakReport], **meta: Any) -> Path:
    """Write :func:`leaks_json` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(leaks_json(reports, **meta), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def plot_sweep(path: Path, reports: Sequence[LeakReport], title: str = "") -> Path:
    """Leak rate against over-redaction, one line per text variant (cased, lower-cased), one annotated point per
    recall bias."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.8))
    for variant in dict.fromkeys(report.variant for report in reports):
        points = [(100 * (r.overall.over_redaction or 0.0), 100 * (r.overall.leak_rate or 0.0), r.recall_bias)
                  for r in reports if r.variant == variant]
        axes.plot([x for x, _, _ in points], [y for _, y, _ in points], marker="o", label=variant)
        for x, y, bias in points:
            axes.annotate("no bias" if bias is None else f"B={bias:g}", (x, y), textcoords="offset points",
                          xytext=(5, 5), fontsize=8)
    axes.set_xlabel("over-redaction (% of letters and digits outside gold spans)")
    axes.set_ylabel("entity leak rate (%)")
    axes.set_title(title or "leak rate against over-redaction")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
