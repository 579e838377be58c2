"""Dice loss for token tagging, and how it combines with each head's own loss.

The soft multi-class Dice loss (Milletari et al. 2016; applied to NER by Li et al. 2020, "Dice Loss for
Data-imbalanced NLP Tasks") compares predicted tag probabilities with one-hot gold tags, per tag::

    dice_c = (2 * sum_i p_ic * y_ic + smooth) / (sum_i p_ic + sum_i y_ic + smooth)
    loss   = sum_c w_c * (1 - dice_c) / sum_c w_c

Each tag counts the same whatever its frequency, which is the point: ``O`` dominates token counts, rare
entity tags dominate the Dice term. ``smooth`` keeps a tag absent from the batch from dividing by zero
(its ``dice_c`` is then 1 - a loss of 0 - when nothing is predicted for it either). ``w_c`` are the
recipe's ``class_weights`` (1 by default).

Flair's trainer back-propagates a loss *summed* over the tokens of a batch (and divides by the token count
only for logging), so :func:`dice_loss` is multiplied by the number of tokens to sit on the same scale as
the cross-entropy or CRF term it is added to.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import torch

logger = logging.getLogger(__name__)

__all__ = ["LOSSES", "NOT_TAGS", "crf_token_rows", "dice_loss", "emission_scores"]

#: entries of a CRF tag dictionary that are never a token's tag
NOT_TAGS = ("<START>", "<STOP>")

#: Values of ``tagger.loss`` in a recipe.
LOSSES = ("ce", "dice", "ce+dice")


def dice_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    smooth: float = 1.0,
    weights: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Soft multi-class Dice loss, averaged over tags (see the module docstring).

    Args:
        logits: ``(tokens, tags)`` unnormalised scores.
        labels: ``(tokens,)`` gold tag indices.
        smooth: added to numerator and denominator; must be > 0.
        weights: ``(tags,)`` weight per tag, or ``None`` for all 1.

    Returns:
        A scalar in ``[0, 1]`` (0 = perfect agreement).
    """
    if logits.dim() != 2 or labels.dim() != 1 or logits.size(0) != labels.size(0):
        raise ValueError(
            f"dice_loss: expected logits (tokens, tags) and labels (tokens,), got {tuple(logits.shape)} "
            f"and {tuple(labels.shape)}"
        )
    if smooth <= 0:
        raise ValueError(f"dice_loss: smooth must be > 0, got {smooth}")
    probabilities = torch.softmax(logits.float(), dim=-1)
    gold = torch.nn.functional.one_hot(labels, num_classes=logits.size(-1)).to(probabilities.dtype)
    intersection = (probabilities * gold).sum(dim=0)
    denominator = probabilities.sum(dim=0) + gold.sum(dim=0)
    per_tag = 1.0 - (2.0 * intersection + smooth) / (denominator + smooth)
    if weights is None:
        return per_tag.mean()
    weights = weights.to(per_tag)
    return (per_tag * weights).sum() / weights.sum()


def emission_scores(tagger: Any, scores: Any) -> torch.Tensor:
    """``(tokens, tags)`` per-token scores of a batch from ``tagger.forward``'s output, padding removed, sentences in
    batch order, tags in the dictionary's order without ``<START>``/``<STOP>`` (never a token's tag): the
    softmax head's scores, or a CRF head's emissions (what Dice and distillation compare)."""
    if not tagger.use_crf:
        return scores
    crf_scores, lengths, transitions = scores
    # the CRF adds transitions[to, from] to the emission of `to` for every `from`: undo it for from = 0
    return crf_token_rows(tagger, crf_scores[:, :, :, 0] - transitions[:, 0], lengths)


def crf_token_rows(tagger: Any, per_entry: torch.Tensor, lengths: Any) -> torch.Tensor:
    """``(tokens, tags)`` from a CRF tagger's padded ``(batch, tokens, dictionary entries)`` values: padding
    removed, sentences in batch order, the dictionary's tags without ``<START>``/``<STOP>``."""
    tags = [i for i, item in enumerate(tagger.label_dictionary.get_items()) if item not in NOT_TAGS]
    rows = per_entry[:, :, torch.tensor(tags, device=per_entry.device)]
    return torch.cat([row[: int(length)] for row, length in zip(rows, lengths)])
