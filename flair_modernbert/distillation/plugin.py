"""The gold and the distillation loss, logged next to Flair's training loss.

Records go through Flair's ``metric_recorded`` event, so the run's TensorBoard plugin (and any other logger)
writes them:

===========================================  ===================================================================
``1_overview/gold_loss``                     the student's own loss per token, per epoch (next to ``train_loss``,
``1_overview/distillation_loss``             which is ``(1 - alpha) * gold + alpha * distillation``)
``2_train/gold_batch_loss``, ...             the same per batch
===========================================  ===================================================================
"""

from __future__ import annotations

import logging
from typing import Any

from flair.trainers.plugins.base import TrainerPlugin
from flair.trainers.plugins.metric_records import MetricRecord

from flair_modernbert.distillation.loss import Distiller
from flair_modernbert.training.plugins.loggers.tensorboard import OVERVIEW, TRAIN

logger = logging.getLogger(__name__)

__all__ = ["DistillationLogPlugin"]


class DistillationLogPlugin(TrainerPlugin):
    """Record a :class:`~flair_modernbert.distillation.loss.Distiller`'s two terms per batch and per epoch."""

    def __init__(self, distiller: Distiller) -> None:
        super().__init__()
        self.distiller = distiller

    def _record(self, name: tuple[str, str], value: float, step: int) -> None:
        self.trainer.dispatch("metric_recorded", MetricRecord.scalar(name, value, step))

    @TrainerPlugin.hook
    def before_training_epoch(self, **kwargs: Any) -> None:
        self.distiller.epoch = self.distiller.zero_sums()

    @TrainerPlugin.hook
    def before_training_batch(self, **kwargs: Any) -> None:
        self.distiller.batch = self.distiller.zero_sums()

    @TrainerPlugin.hook
    def after_training_batch(self, batch_count: int, **kwargs: Any) -> None:
        sums = self.distiller.batch
        if sums["tokens"]:
            self._record((TRAIN, "gold_batch_loss"), sums["gold"] / sums["tokens"], batch_count)
            if self.distiller.alpha > 0:  # with alpha 0 the teacher is not run: no distillation term to show
                self._record((TRAIN, "distillation_batch_loss"), sums["distillation"] / sums["tokens"], batch_count)

    @TrainerPlugin.hook
    def after_training_epoch(self, epoch: int, **kwargs: Any) -> None:
        sums = self.distiller.epoch
        if sums["tokens"]:
            gold, distillation = sums["gold"] / sums["tokens"], sums["distillation"] / sums["tokens"]
            self._record((OVERVIEW, "gold_loss"), gold, epoch)
            if self.distiller.alpha > 0:
                self._record((OVERVIEW, "distillation_loss"), distillation, epoch)
                logger.info("epoch %d: gold loss %.4f, distillation loss %.4f (per token)", epoch, gold, distillation)
            else:
                logger.info("epoch %d: gold loss %.4f per token (alpha 0: no teacher)", epoch, gold)
