"""The distillation room: students with fewer transformer layers, trained against a trained tagger.

:mod:`.layers` chooses the teacher layers a student keeps, :mod:`.student` builds it, :mod:`.loss` mixes the gold
loss with the distillation loss (on emissions, or on the CRF marginals of :mod:`.marginals`), :mod:`.plugin`
logs both, :mod:`.run` is ``flair-modernbert distill``. Only :mod:`.layers` loads with the package; the rest
(torch, Flair) loads on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# torch-free, so `distill --layers` is parsed (and refused) before torch and Flair load
from flair_modernbert.distillation.layers import global_layers, parse_layers, select_layers

__all__ = [
    "DISTILLATION_FILE",
    "Distiller",
    "distill",
    "distillation_loss",
    "emission_scores",
    "encoder_layers",
    "global_layers",
    "make_student",
    "parse_layers",
    "select_layers",
]

_LAZY = {
    "Distiller": "loss", "distillation_loss": "loss", "emission_scores": "loss",
    "DISTILLATION_FILE": "run", "distill": "run",
    "encoder_layers": "student", "make_student": "student",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
