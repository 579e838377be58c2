"""``DiceSequenceTagger``: Flair's ``SequenceTagger`` trained with Dice loss, alone or added to its own loss."""

from __future__ import annotations

import logging
from typing import Any, Optional

import torch
from flair.models import SequenceTagger

from flair_modernbert.config.schema import dice_with_crf_message
from flair_modernbert.tagging.losses import NOT_TAGS, dice_loss, emission_scores

logger = logging.getLogger(__name__)

__all__ = ["DiceSequenceTagger"]


class DiceSequenceTagger(SequenceTagger):
    """A Flair ``SequenceTagger`` trained with Dice loss, alone or added to its own loss.

    Prediction is the stock ``SequenceTagger``'s; only the training loss differs, so a saved model also
    loads with ``SequenceTagger.load`` (as a plain ``SequenceTagger``, dropping the loss settings).

    Args:
        loss: ``dice`` (softmax head only) or ``ce+dice``.
        dice_weight: weight of the Dice term in ``ce+dice``.
        dice_smooth: smoothing constant of the Dice loss.
        dice_class_weights: weight per tag for the Dice term (see :meth:`set_class_weights`).
        **kwargs: ``SequenceTagger`` arguments.
    """

    def __init__(
        self,
        *args: Any,
        loss: str = "ce+dice",
        dice_weight: float = 1.0,
        dice_smooth: float = 1.0,
        dice_class_weights: Optional[dict[str, float]] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if loss not in ("dice", "ce+dice"):
            raise ValueError(f"DiceSequenceTagger: loss must be 'dice' or 'ce+dice', got {loss!r}")
        if loss == "dice" and self.use_crf:
            raise ValueError(dice_with_crf_message("bilstm-crf" if self.use_rnn else "crf"))
        self.loss = loss
        self.dice_weight = float(dice_weight)
        self.dice_smooth = float(dice_smooth)
        self.dice_class_weights: Optional[dict[str, float]] = None
        self._dice_weight_tensor: Optional[torch.Tensor] = None
        if dice_class_weights:
            self.set_dice_class_weights(dice_class_weights)

    def set_dice_class_weights(self, weights: dict[str, float]) -> None:
        """Weight the Dice term per tag (``{"B-PER": 2.0, ...}``; tags not named weigh 1)."""
        self.dice_class_weights = dict(weights)
        self._dice_weight_tensor = self._init_loss_weights(self.dice_class_weights)[: self._real_tag_count()]

    def emission_logits(self, scores: Any) -> torch.Tensor:
        """``(tokens, tags)`` per-token scores of a batch, padding removed, in the order of the gold labels."""
        return emission_scores(self, scores)

    def _real_tag_count(self) -> int:
        return len([item for item in self.label_dictionary.get_items() if item not in NOT_TAGS])

    def _calculate_loss(self, scores: Any, labels: torch.LongTensor) -> tuple[torch.Tensor, int]:
        if labels.size(0) == 0:
            return super()._calculate_loss(scores, labels)
        logits = self.emission_logits(scores)
        dice = dice_loss(logits, labels, self.dice_smooth, self._dice_weight_tensor) * labels.size(0)
        if self.loss == "dice":
            return dice, labels.size(0)
        own, count = super()._calculate_loss(scores, labels)
        return own + self.dice_weight * dice, count

    def _get_state_dict(self) -> dict[str, Any]:
        return {
            **super()._get_state_dict(),
            "loss": self.loss,
            "dice_weight": self.dice_weight,
            "dice_smooth": self.dice_smooth,
            "dice_class_weights": self.dice_class_weights,
        }

    @classmethod
    def _init_model_with_state_dict(cls, state: dict[str, Any], **kwargs: Any) -> "DiceSequenceTagger":
        return super()._init_model_with_state_dict(
            state,
            loss=state.get("loss", "ce+dice"),
            dice_weight=state.get("dice_weight", 1.0),
            dice_smooth=state.get("dice_smooth", 1.0),
            dice_class_weights=state.get("dice_class_weights"),
            **kwargs,
        )


