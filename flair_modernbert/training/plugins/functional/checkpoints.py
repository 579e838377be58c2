"""Checkpoints a run can resume from exactly, and the plugin that resumes from them.

Flair's own ``CheckpointPlugin`` saves the model only; resuming a run exactly also needs the optimizer, the
learning-rate scheduler and every random generator. :class:`ResumableCheckpointPlugin` saves all of it after
each epoch (``checkpoint.pt``, replaced atomically); :class:`ResumePlugin` puts it back when a run restarts
with Flair's ``epoch=`` argument, so a resumed run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import torch
from flair.trainers.plugins.base import TrainerPlugin

logger = logging.getLogger(__name__)

__all__ = ["ResumableCheckpointPlugin", "ResumePlugin", "rng_state", "set_rng_state"]


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch RNG states (CUDA too when present), as plain data and tensors."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    numpy_state = (name, keys.tolist(), position, has_gauss, cached)  # no numpy objects: see tagging.loading
    state = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(state["python"])
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _scheduler_of(trainer: Any) -> Optional[Any]:
    for plugin in trainer.plugins:
        scheduler = getattr(plugin, "scheduler", None)
        if scheduler is not None and hasattr(scheduler, "state_dict"):
            return scheduler
    return None


class ResumableCheckpointPlugin(TrainerPlugin):
    """Save model, optimizer, scheduler, epoch and RNG states after every epoch.

    Args:
        path: the checkpoint file.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)

    @property
    def attach_to_all_processes(self) -> bool:
        return False

    @TrainerPlugin.hook
    def after_training_epoch(self, epoch: int, **kwargs: Any) -> None:
        scheduler = _scheduler_of(self.trainer)
        state = {
            "model": self.model._get_state_dict(),
            "optimizer": self.trainer.optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "epoch": epoch,
            "rng": rng_state(),
        }
        tmp = self.path.with_suffix(".tmp")
        torch.save(state, tmp, pickle_protocol=4)  # as Flair saves models: bytes stay bytes (no _codecs globals)
        tmp.replace(self.path)
        logger.info("checkpoint after epoch %d written to %s", epoch, self.path)

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "path": str(self.path)}


class ResumePlugin(TrainerPlugin):
    """Restore optimizer, scheduler and RNG states from a checkpoint before the first resumed epoch.

    The model weights are restored before training starts (by the run); Flair's trainer is started with
    ``epoch=checkpoint["epoch"]`` so it continues with the next epoch.
    """

    def __init__(self, checkpoint: Mapping[str, Any]) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.done = False

    @property
    def attach_to_all_processes(self) -> bool:
        return True

    @TrainerPlugin.hook
    def before_training_epoch(self, epoch: int, **kwargs: Any) -> None:
        # schedulers are created in after_setup by their own plugins; by now they all exist
        if self.done:
            return
        self.done = True
        self.trainer.optimizer.load_state_dict(self.checkpoint["optimizer"])
        scheduler = _scheduler_of(self.trainer)
        if scheduler is not None and self.checkpoint.get("scheduler") is not None:
            scheduler.load_state_dict(self.checkpoint["scheduler"])
            # the scheduler plugin cached the learning rate before it was restored
            for plugin in self.trainer.plugins:
                if hasattr(plugin, "store_learning_rate"):
                    plugin.store_learning_rate()
        set_rng_state(self.checkpoint["rng"])
        logger.info("resumed from the checkpoint of epoch %d", self.checkpoint["epoch"])
