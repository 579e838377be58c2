"""A progress bar over the training batches and one line per epoch, for the command line."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

from flair.trainers.plugins.base import TrainerPlugin

__all__ = ["ProgressPlugin"]


class ProgressPlugin(TrainerPlugin):
    """A progress bar over all training batches, and one line per epoch with the loss and dev F1.

    Flair logs the details at INFO; this is what a user sees by default.

    Args:
        total_batches: batches of the whole run (epochs x batches per epoch), for the bar.
        announce: receives one line per epoch.
        scores: returns the latest seqeval tags (``{"3_dev/micro_f1": ...}``), e.g. a TensorBoardPlugin's
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
        if "3_dev/micro_f1" in dev:
            line += f", dev micro F1 {dev['3_dev/micro_f1']:.4f}"
        if self.bar is not None:
            self.bar.clear()
        self.announce(line)

    @TrainerPlugin.hook
    def _training_finally(self, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
