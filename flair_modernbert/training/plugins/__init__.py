"""Flair ``TrainerPlugin``s of a training run, laid out as Flair's own: ``functional`` and ``loggers``."""

from flair_modernbert.training.plugins.functional import (
    OneCycleSchedulerPlugin,
    ResumableCheckpointPlugin,
    ResumePlugin,
    rng_state,
    set_rng_state,
)
from flair_modernbert.training.plugins.loggers import ProgressPlugin, TensorBoardPlugin, scalar_tags

__all__ = [
    "OneCycleSchedulerPlugin",
    "ProgressPlugin",
    "ResumableCheckpointPlugin",
    "ResumePlugin",
    "TensorBoardPlugin",
    "rng_state",
    "scalar_tags",
    "set_rng_state",
]
