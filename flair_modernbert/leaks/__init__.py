"""The leak report: how much personal data a redaction leaves visible (docs/leaks.md).

- :mod:`~flair_modernbert.leaks.scoring`: gold spans + predicted spans + text -> :class:`LeakReport` (no model).
- :mod:`~flair_modernbert.leaks.predictions`: spans predicted elsewhere (``predict`` / ``node predict.mjs`` JSON
  lines, Presidio ``RecognizerResult``\\ s).
- :mod:`~flair_modernbert.leaks.lowercase`: lower-cased gold documents with their offsets kept.
- :mod:`~flair_modernbert.leaks.run`: a tagger's redaction scored, across recall biases.
- :mod:`~flair_modernbert.leaks.report`: the table, ``leaks.json`` and ``leaks.png``.

Scoring needs neither torch nor Flair; :func:`score_tagger`, :func:`sweep`, :func:`choose_recall_bias` and
:func:`load_gold` load on first use.
"""

from __future__ import annotations

from typing import Any

from flair_modernbert.leaks.lowercase import lowercase_text, lowercased_documents
from flair_modernbert.leaks.predictions import as_spans, read_predictions
from flair_modernbert.leaks.scoring import CORE_TYPES, LeakReport, score_redaction

__all__ = [
    "CORE_TYPES",
    "LeakReport",
    "as_spans",
    "choose_recall_bias",
    "load_gold",
    "lowercase_text",
    "lowercased_documents",
    "read_predictions",
    "score_redaction",
    "score_tagger",
    "sweep",
]

_RUN = ("choose_recall_bias", "load_gold", "score_tagger", "sweep")


def __getattr__(name: str) -> Any:
    if name in _RUN:
        from flair_modernbert.leaks import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
