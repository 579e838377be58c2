"""Plugins that report on a training run (TensorBoard, the console progress bar)."""

from flair_modernbert.training.plugins.loggers.progress import ProgressPlugin
from flair_modernbert.training.plugins.loggers.tensorboard import TensorBoardPlugin, scalar_tags

__all__ = ["ProgressPlugin", "TensorBoardPlugin", "scalar_tags"]
