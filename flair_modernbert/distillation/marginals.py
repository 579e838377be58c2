"""Per-token marginals of a linear-chain CRF: ``p(tag of token t = y | sentence)`` under Flair's CRF scores.

The marginals are the gradient of the log-partition function with respect to the scores (``∂ log Z / ∂ s``), so
one forward algorithm (the recursion Flair's ``ViterbiLoss`` runs for its normaliser) and autograd give them, and
``create_graph`` keeps them differentiable for a student. Flair's CRF scores are ``(batch, tokens, to, from)``:
token ``t``'s emission of ``to`` plus ``transitions[to, from]``; the first token starts from ``<START>`` and
``transitions[<STOP>, last tag]`` closes a sentence. Dividing all of them by a temperature ``T`` softens the
distribution as ``softmax(scores / T)`` does for a single token.
"""

from __future__ import annotations

import logging

import torch
from flair.models import SequenceTagger

from flair_modernbert.tagging.losses import NOT_TAGS, crf_token_rows

logger = logging.getLogger(__name__)

__all__ = ["log_partition", "crf_log_marginals"]


def log_partition(crf_scores: torch.Tensor, lengths: torch.Tensor, transitions: torch.Tensor, start: int,
                  stop: int) -> torch.Tensor:
    """``log Z`` per sentence, ``(batch,)``, of CRF scores ``(batch, tokens, to, from)`` (padding past ``lengths``
    is ignored: it receives no gradient)."""
    lengths = torch.as_tensor(lengths, device=crf_scores.device)
    alpha = crf_scores[:, 0, :, start]
    for t in range(1, crf_scores.size(1)):
        step = torch.logsumexp(crf_scores[:, t] + alpha.unsqueeze(1), dim=2)
        alpha = torch.where((lengths > t).unsqueeze(1), step, alpha)
    return torch.logsumexp(alpha + transitions[stop].unsqueeze(0), dim=1)


def crf_log_marginals(tagger: SequenceTagger, scores: tuple, temperature: float = 1.0, differentiable: bool = True,
                      floor: float = 1e-12) -> torch.Tensor:
    """``(tokens, tags)`` log-marginals of a CRF tagger's batch, in the layout of
    :func:`~flair_modernbert.tagging.losses.emission_scores` (padding removed, ``<START>``/``<STOP>`` left out).

    Args:
        tagger: a Flair ``SequenceTagger`` with a CRF head.
        scores: what its ``forward`` returned: ``(crf_scores, lengths, transitions)``.
        temperature: all scores are divided by it first.
        differentiable: keep the graph (a student's target); ``False`` for a frozen teacher, and scores computed
            without a graph (under ``torch.no_grad``) are treated so too.
        floor: probabilities are clamped to it before the log (a tag the CRF rules out has marginal 0).

    Raises:
        ValueError: a tagger without a CRF head.
    """
    if not tagger.use_crf:
        raise ValueError("CRF marginals need a tagger with a CRF head (tagger.head crf or bilstm-crf)")
    crf_scores, lengths, transitions = scores
    items = tagger.label_dictionary.get_items()
    start, stop = items.index(NOT_TAGS[0]), items.index(NOT_TAGS[1])
    differentiable = differentiable and crf_scores.requires_grad
    with torch.enable_grad():
        tempered = crf_scores.float() / temperature
        if not differentiable:
            tempered = tempered.detach().requires_grad_(True)
        log_z = log_partition(tempered, lengths, transitions.float() / temperature, start, stop)
        (pairwise,) = torch.autograd.grad(log_z.sum(), tempered, create_graph=differentiable)
    unary = pairwise.sum(dim=3)  # p(tag at t = to), summed over the previous tag
    return torch.log(crf_token_rows(tagger, unary, lengths).clamp_min(floor))
