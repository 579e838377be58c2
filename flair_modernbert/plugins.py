"""Flair ``TrainerPlugin``s: TensorBoard for every run, and checkpoints that a run can resume from.

:class:`TensorBoardPlugin` writes with tensorboard's ``SummaryWriter`` (through ``torch.utils.tensorboard``):

- every scalar Flair's trainer records: ``train/batch_loss`` (per batch), ``train/gradient_norm`` (per batch),
  ``train/loss`` (per epoch), and the dev evaluation Flair runs each epoch (``dev/micro_avg/f1-score``, ...);
- ``train/learning_rate`` after every batch (the encoder's; with ``decoder_learning_rate`` the head's as
  ``train/learning_rate/decoder``);
- after each epoch's evaluation, seqeval entity-level scores computed by the ``evaluate`` callback, as
  ``dev/micro/f1``, ``dev/macro/precision``, ``dev/PER/f1`` style scalars (and ``test/...`` when monitored);
- at the end, :meth:`TensorBoardPlugin.log_final` adds the final test scores, the confusion-matrix image and
  the hyper-parameters (``add_hparams``).

:class:`CheckpointPlugin` saves ``checkpoint.pt`` after every epoch: the model (Flair's own state dict), the
optimizer and LR-scheduler states, the epoch and the RNG states. :class:`ResumePlugin` puts those back when a
run restarts with Flair's ``epoch=`` argument, so an interrupted run continues where it stopped (the
TensorBoard plugin's ``batch_offset`` keeps the batch axis continuous, and evaluations restore the RNG state
they found, so a resumed run draws the same batches as an uninterrupted one).

:class:`OneCycleSchedulerPlugin` is Flair's ``LinearSchedulerPlugin`` with torch's ``OneCycleLR`` instead
(``training.scheduler: onecycle``). :class:`ProgressPlugin` draws a tqdm bar over the batches and announces
one line per epoch (train loss, dev micro F1) for the CLI.
"""

from __future__ import annotations

import logging
import math
import random
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import numpy as np
import torch
from flair.trainers.plugins.base import TrainerPlugin
from flair.trainers.plugins.functional.linear_scheduler import LinearSchedulerPlugin

logger = logging.getLogger(__name__)

#: ``evaluate(split) -> {"micro": {...}, "macro": {...}, "per_class": {type: {...}}}``
Evaluator = Callable[[str], Mapping[str, Any]]

_METRIC_KEYS = {"f1": ("f1", "f1-score"), "precision": ("precision",), "recall": ("recall",)}


def scalar_tags(prefix: str, scores: Mapping[str, Any]) -> dict[str, float]:
    """Flatten an evaluation summary into TensorBoard tags: ``prefix/micro/f1``, ``prefix/PER/recall``...

    Args:
        prefix: the split, e.g. ``dev``.
        scores: ``{"micro": {...}, "macro": {...}, "per_class": {type: {...}}}`` with ``f1``/``precision``/``recall``.
    """
    groups = {"micro": scores.get("micro", {}), "macro": scores.get("macro", {}), **scores.get("per_class", {})}
    tags = {}
    for group, values in groups.items():
        for name, keys in _METRIC_KEYS.items():
            for key in keys:
                if key in values:
                    tags[f"{prefix}/{group}/{name}"] = float(values[key])
                    break
    return tags


class TensorBoardPlugin(TrainerPlugin):
    """Log a Flair training run to TensorBoard (see the module docstring for the tags).

    Args:
        log_dir: where the event files go.
        evaluate: callback giving seqeval scores of a split after each epoch (optional).
        splits: the splits to pass to ``evaluate`` after each epoch (``dev``, and ``test`` when monitored).
        hparams: hyper-parameters for ``add_hparams`` (flat dict of str/int/float/bool).
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
        super().__init__()
        from torch.utils.tensorboard import SummaryWriter

        self.batch_offset = batch_offset
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))
        self.evaluate = evaluate
        self.splits = splits
        self.hparams = dict(hparams or {})
        self.last_scores: dict[str, dict[str, float]] = {}

    @property
    def attach_to_all_processes(self) -> bool:
        return False

    @TrainerPlugin.hook
    def metric_recorded(self, record) -> None:
        """Every scalar Flair's trainer records."""
        if record.is_scalar:
            tag = "/".join(str(part).replace(" ", "_") for part in record.name)
            step = record.global_step
            if tag in ("train/batch_loss", "train/gradient_norm"):
                step += self.batch_offset
            self.writer.add_scalar(tag, record.value, step, walltime=record.walltime)

    @TrainerPlugin.hook
    def after_training_batch(self, batch_count: int, **kwargs: Any) -> None:
        """The learning rate actually used (after the scheduler step), per optimizer parameter group."""
        step = batch_count + self.batch_offset
        groups = self.trainer.optimizer.param_groups
        if len(groups) == 2:
            # fine_tune(decoder_learning_rate=...) makes [head, embeddings]: the recipe's learning_rate is the 2nd
            self.writer.add_scalar("train/learning_rate", groups[1]["lr"], step)
            self.writer.add_scalar("train/learning_rate/decoder", groups[0]["lr"], step)
            return
        for index, group in enumerate(groups):
            suffix = "" if index == 0 else f"/group{index}"
            self.writer.add_scalar(f"train/learning_rate{suffix}", group["lr"], step)

    @TrainerPlugin.hook
    def after_evaluation(self, epoch: int, **kwargs: Any) -> None:
        """seqeval entity-level scores of each split, per class."""
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
            self.last_scores[split] = tags
            for tag, value in tags.items():
                self.writer.add_scalar(tag, value, epoch)
        self.writer.flush()

    @TrainerPlugin.hook
    def _training_finally(self, **kwargs: Any) -> None:
        self.writer.flush()

    def log_final(
        self,
        scores: Mapping[str, Mapping[str, Any]],
        step: int,
        figures: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Final scores (``{"test": summary, "test_lowercased": summary}``), figures and hyper-parameters."""
        metrics = {}
        for prefix, summary in scores.items():
            for tag, value in scalar_tags(prefix, summary).items():
                self.writer.add_scalar(tag, value, step)
                metrics[f"hparam/{tag}"] = value
        for tag, figure in (figures or {}).items():
            self.writer.add_figure(tag, figure, global_step=step, close=False)
        if self.hparams:
            wanted = {k: v for k, v in metrics.items() if k.endswith(("micro/f1", "macro/f1"))}
            self.writer.add_hparams(self.hparams, wanted, run_name=".")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "log_dir": str(self.log_dir)}


def _scheduler_of(trainer) -> Optional[Any]:
    for plugin in trainer.plugins:
        scheduler = getattr(plugin, "scheduler", None)
        if scheduler is not None and hasattr(scheduler, "state_dict"):
            return scheduler
    return None


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch RNG states (CUDA too when present)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class CheckpointPlugin(TrainerPlugin):
    """Save everything needed to resume after every epoch (``checkpoint.pt``, replaced atomically).

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
        torch.save(state, tmp)
        tmp.replace(self.path)
        logger.info("checkpoint after epoch %d written to %s", epoch, self.path)

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "path": str(self.path)}


class ResumePlugin(TrainerPlugin):
    """Restore optimizer, LR-scheduler and RNG states from a checkpoint at the start of the resumed run.

    The model weights are restored before training (see :func:`flair_modernbert.training`); Flair's trainer is
    started with ``epoch=checkpoint["epoch"]`` so it continues with the next epoch.
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
            # the plugin cached the learning rate before we restored it
            for plugin in self.trainer.plugins:
                if hasattr(plugin, "store_learning_rate"):
                    plugin.store_learning_rate()
        set_rng_state(self.checkpoint["rng"])
        logger.info("resumed from the checkpoint of epoch %d", self.checkpoint["epoch"])


class OneCycleSchedulerPlugin(LinearSchedulerPlugin):
    """``training.scheduler: onecycle``: torch's ``OneCycleLR`` (warm-up over ``warmup_fraction``, cosine decay).

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


class ProgressPlugin(TrainerPlugin):
    """A progress bar over all training batches, and one line per epoch with the loss and dev F1.

    Flair logs the details at INFO; this is what a user sees by default.

    Args:
        total_batches: batches of the whole run (epochs x batches per epoch), for the bar.
        announce: receives one line per epoch.
        scores: returns the latest seqeval tags (``{"dev/micro/f1": ...}``), e.g. a TensorBoardPlugin's
            ``last_scores``.
        first_epoch: the epoch a resumed run starts after.
        enabled: show the bar.
    """

    def __init__(
        self,
        total_batches: int,
        announce: Callable[[str], None],
        scores: Optional[Callable[[], Mapping[str, Mapping[str, float]]]] = None,
        first_epoch: int = 0,
        enabled: bool = True,
    ) -> None:
        super().__init__()
        self.total_batches = total_batches
        self.announce = announce
        self.scores = scores
        self.first_epoch = first_epoch
        self.enabled = enabled
        self.bar = None
        self.epoch_loss: Optional[float] = None

    @property
    def attach_to_all_processes(self) -> bool:
        return False

    @TrainerPlugin.hook
    def after_setup(self, max_epochs: int, **kwargs: Any) -> None:
        from tqdm.auto import tqdm

        self.max_epochs = max_epochs
        self.bar = tqdm(total=self.total_batches, desc="training", unit="batch", disable=not self.enabled,
                        dynamic_ncols=True, leave=False)
        self.bar.update(self.first_epoch * self.total_batches // max(max_epochs, 1))

    @TrainerPlugin.hook
    def metric_recorded(self, record) -> None:
        if record.is_scalar and tuple(record.name) == ("train", "batch_loss") and self.bar is not None:
            self.bar.set_postfix(loss=f"{record.value:.4f}", refresh=False)
        if record.is_scalar and tuple(record.name) == ("train", "loss"):
            self.epoch_loss = float(record.value)

    @TrainerPlugin.hook
    def after_training_batch(self, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.update(1)

    @TrainerPlugin.hook
    def after_evaluation(self, epoch: int, **kwargs: Any) -> None:
        line = f"epoch {epoch}/{self.max_epochs}"
        if self.epoch_loss is not None:
            line += f": train loss {self.epoch_loss:.4f}"
        dev = (self.scores() if self.scores else {}).get("dev", {})
        if "dev/micro/f1" in dev:
            line += f", dev micro F1 {dev['dev/micro/f1']:.4f}"
        if self.bar is not None:
            self.bar.clear()
        self.announce(line)

    @TrainerPlugin.hook
    def _training_finally(self, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
