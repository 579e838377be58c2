"""The training room: a run as prepare → build → fit → report, typed results, plugins laid out as Flair's."""

from flair_modernbert.training.results import RunResult, RunResults, TrainingSummary, mean_std
from flair_modernbert.training.run import build, fit, flair_console, prepare, report, train_recipe, train_run

__all__ = [
    "RunResult",
    "RunResults",
    "TrainingSummary",
    "build",
    "fit",
    "flair_console",
    "mean_std",
    "prepare",
    "report",
    "train_recipe",
    "train_run",
]
