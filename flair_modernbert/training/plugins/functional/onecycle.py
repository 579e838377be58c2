"""``training.scheduler: onecycle``: torch's ``OneCycleLR`` as a Flair plugin."""

from __future__ import annotations

import math
from typing import Any

import torch
from flair.trainers.plugins.base import TrainerPlugin
from flair.trainers.plugins.functional.linear_scheduler import LinearSchedulerPlugin

__all__ = ["OneCycleSchedulerPlugin"]


class OneCycleSchedulerPlugin(LinearSchedulerPlugin):
    """Warm-up over ``warmup_fraction`` of the steps, then cosine decay (torch's ``OneCycleLR``).

    Built on Flair's ``LinearSchedulerPlugin`` so resuming and learning-rate logging work the same way.
    """

    @TrainerPlugin.hook
    def after_setup(self, dataset_size: int, mini_batch_size: int, max_epochs: int, **kwargs: Any) -> None:
        processes = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
        steps_per_epoch = math.ceil(dataset_size / mini_batch_size / processes)
        optimizer = self.trainer.optimizer
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=steps_per_epoch * max_epochs + 1,  # +1: never step past the end
            pct_start=max(self.warmup_fraction, 1e-6),
            anneal_strategy="cos",
        )
        self.store_learning_rate()

    def __str__(self) -> str:
        return f"OneCycleScheduler | warmup_fraction: '{self.warmup_fraction}'"
