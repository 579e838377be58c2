"""The distillation room: students with fewer transformer layers, trained against a trained tagger.

:mod:`.layers` chooses the teacher layers a student keeps, :mod:`.student` builds it, :mod:`.loss` mixes the gold
loss with the distillation loss (on emissions, or on the CRF marginals of :mod:`.marginals`), :mod:`.plugin`
logs both, :mod:`.run` is ``flair-modernbert distill``.
"""

from flair_modernbert.distillation.layers import global_layers, parse_layers, select_layers
from flair_modernbert.distillation.loss import Distiller, distillation_loss, emission_scores
from flair_modernbert.distillation.run import DISTILLATION_FILE, distill
from flair_modernbert.distillation.student import encoder_layers, make_student

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
