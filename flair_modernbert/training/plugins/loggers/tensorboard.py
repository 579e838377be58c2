"""TensorBoard for every run: Flair's ``TensorboardLogger`` with tags that open on what matters.

Tags are grouped so that TensorBoard (which sorts groups by name) shows the overview first:

============================  ==============================================================================
``1_overview/``               ``train_loss`` (per epoch), ``learning_rate`` (the encoder's, per batch),
                              ``dev_micro_f1`` (per epoch)
``2_train/``                  ``batch_loss``, ``gradient_norm`` (per batch); ``learning_rate_decoder`` when
                              the head has its own learning rate
``3_dev/``, ``3_test/``       ``micro_f1``, ``micro_precision``, ``micro_recall``, ``macro_*`` (seqeval)
``4_dev_per_type/`` ...       ``<type>_f1``, ``<type>_precision``, ``<type>_recall``
``5_confusion/``              the test set's entity-type confusion matrix (an image)
============================  ==============================================================================

plus the hyper-parameters of the run in the HParams tab (strings, so booleans read ``true``/``false``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from flair.trainers.plugins.base import TrainerPlugin
from flair.trainers.plugins.loggers.tensorboard import TensorboardLogger

from flair_modernbert.training.plugins.functional.checkpoints import rng_state, set_rng_state

logger = logging.getLogger(__name__)

__all__ = ["TensorBoardPlugin", "scalar_tags", "OVERVIEW"]

OVERVIEW = "1_overview"
TRAIN = "2_train"

#: ``evaluate(split) -> {"micro": {...}, "macro": {...}, "per_class": {type: {...}}}``
Evaluator = Callable[[str], Mapping[str, Any]]

# Flair's own records -> our tags (records not listed keep Flair's name)
_FLAIR_TAGS = {
    ("train", "batch_loss"): f"{TRAIN}/batch_loss",
    ("train", "gradient_norm"): f"{TRAIN}/gradient_norm",
    ("train", "loss"): f"{OVERVIEW}/train_loss",
}
_BATCH_TAGS = {f"{TRAIN}/batch_loss", f"{TRAIN}/gradient_norm"}


def scalar_tags(split: str, scores: Mapping[str, Any]) -> dict[str, float]:
    """TensorBoard tags of an evaluation summary: ``3_dev/micro_f1``, ``4_dev_per_type/person_recall`` ...

    Args:
        split: ``dev``, ``test`` or ``test_lowercased``.
        scores: ``{"micro": {...}, "macro": {...}, "per_class": {type: {...}}}`` with ``f1``, ``precision``
            and ``recall``.
    """
    tags = {}
    for average in ("micro", "macro"):
        for metric in ("f1", "precision", "recall"):
            if metric in scores.get(average, {}):
                tags[f"3_{split}/{average}_{metric}"] = float(scores[average][metric])
    for kind, values in scores.get("per_class", {}).items():
        for metric in ("f1", "precision", "recall"):
            if metric in values:
                tags[f"4_{split}_per_type/{kind}_{metric}"] = float(values[metric])
    return tags


def _hparam_value(value: Any) -> Any:
    # HParams shows a bool as 1.0000; strings read as written
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    return value


class TensorBoardPlugin(TensorboardLogger):
    """Log a Flair training run to TensorBoard (see the module docstring for the tags).

    Args:
        log_dir: where the event files go.
        evaluate: callback giving seqeval scores of a split after each epoch (optional).
        splits: the splits to pass to ``evaluate`` after each epoch (``dev``).
        hparams: hyper-parameters for the HParams tab.
        batch_offset: added to per-batch steps; a resumed run passes the batches done before, since
            Flair counts batches from 0 again.
    """

    def __init__(
        self,
        log_dir: Path,
        evaluate: Optional[Evaluator] = None,
        splits: tuple[str, ...] = ("dev",),
        hparams: Optional[dict[str, Any]] = None,
        batch_offset: int = 0,
    ) -> None:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        super().__init__(log_dir=str(log_dir))
        self.batch_offset = batch_offset
        self.evaluate = evaluate
        self.splits = splits
        self.hparams = {key: _hparam_value(value) for key, value in (hparams or {}).items()}
        self.last_scores: dict[str, dict[str, float]] = {}

    @TrainerPlugin.hook
    def metric_recorded(self, record: Any) -> None:
        """Flair's scalars under our tag names; lists (Flair's learning rates, momentum) are logged per batch below."""
        if not record.is_scalar:
            return
        tag = _FLAIR_TAGS.get(tuple(record.name), str(record.name))
        step = record.global_step + (self.batch_offset if tag in _BATCH_TAGS else 0)
        self.writer.add_scalar(tag, record.value, step, walltime=record.walltime)

    @TrainerPlugin.hook
    def after_training_batch(self, batch_count: int, **kwargs: Any) -> None:
        """The learning rate actually used (after the scheduler step): encoder and, when separate, the head."""
        step = batch_count + self.batch_offset
        encoder = {id(p) for p in self.model.embeddings.parameters()}
        for group in self.trainer.optimizer.param_groups:
            is_encoder = any(id(p) in encoder for p in group["params"])
            tag = f"{OVERVIEW}/learning_rate" if is_encoder or len(self.trainer.optimizer.param_groups) == 1 else (
                f"{TRAIN}/learning_rate_decoder"
            )
            self.writer.add_scalar(tag, group["lr"], step)

    @TrainerPlugin.hook
    def after_evaluation(self, epoch: int, **kwargs: Any) -> None:
        """seqeval entity-level scores of each monitored split."""
        if self.evaluate is None:
            return
        # prediction draws from torch's RNG (DataLoader seeds): keep evaluation from changing the training
        # run, so a run resumed from a checkpoint continues exactly as the uninterrupted one
        state = rng_state()
        try:
            scores = {split: self.evaluate(split) for split in self.splits}
        finally:
            set_rng_state(state)
        for split in self.splits:
            tags = scalar_tags(split, scores[split])
            if split == "dev" and "3_dev/micro_f1" in tags:
                tags[f"{OVERVIEW}/dev_micro_f1"] = tags["3_dev/micro_f1"]
            self.last_scores[split] = tags
            for tag, value in tags.items():
                self.writer.add_scalar(tag, value, epoch)
        self.writer.flush()

    @TrainerPlugin.hook
    def _training_finally(self, **kwargs: Any) -> None:
        # the run logs its final scores after training: keep the writer open until close()
        self.writer.flush()

    def log_final(
        self,
        scores: Mapping[str, Mapping[str, Any]],
        step: int,
        figures: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Final scores (``{"test": summary, "test_lowercased": summary}``), figures and hyper-parameters."""
        metrics = {}
        for split, summary in scores.items():
            for tag, value in scalar_tags(split, summary).items():
                self.writer.add_scalar(tag, value, step)
                if tag.endswith(("/micro_f1", "/macro_f1")) and "_per_type" not in tag:
                    metrics[f"hparam/{split}_{tag.rsplit('/', 1)[1]}"] = value
        for tag, figure in (figures or {}).items():
            self.writer.add_figure(tag, figure, global_step=step, close=False)
        if self.hparams:
            self.writer.add_hparams(self.hparams, metrics, run_name=".")
        self.writer.flush()

    def close(self) -> None:
        """Close the event file."""
        self.writer.close()
