"""Plugins that change what a training run does (checkpoints, resume, learning-rate schedule)."""

from flair_modernbert.training.plugins.functional.checkpoints import (
    ResumableCheckpointPlugin,
    ResumePlugin,
    rng_state,
    set_rng_state,
)
from flair_modernbert.training.plugins.functional.onecycle import OneCycleSchedulerPlugin

__all__ = ["ResumableCheckpointPlugin", "ResumePlugin", "OneCycleSchedulerPlugin", "rng_state", "set_rng_state"]
