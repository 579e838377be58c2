"""Word embeddings gathered straight from the packed stream.

Flair pools the subtokens of each word (``first``, ``last``, ``first_last`` or ``mean``) from a padded
``(sentences, subtokens, hidden)`` tensor. Here the hidden states stay packed ``(total, hidden)``; an index
map says, for every subtoken slot of every sentence, which stream row holds it (``-1`` for none), and
``word_ids`` which word of the sentence it belongs to (negative for special tokens, context and padding).
The result is the same ``(sentences, max_words, embedding)`` tensor Flair fills, with zeros for words past a
sentence's end and for a word that received no subtoken.
"""

from __future__ import annotations

import torch

from flair_modernbert.encoder.options import POOLINGS



def gather_word_embeddings(
    hidden: torch.Tensor,
    index_map: torch.Tensor,
    word_ids: torch.Tensor,
    token_lengths: torch.Tensor,
    pooling: str,
) -> torch.Tensor:
    """Pool subtoken states of the packed stream into word embeddings.

    Args:
        hidden: ``(total, dim)`` packed hidden states.
        index_map: ``(sentences, slots)`` stream row of each slot, ``-1`` where there is none.
        word_ids: ``(sentences, slots)`` word index of each slot inside its sentence, negative if none.
        token_lengths: ``(sentences,)`` number of words of each sentence.
        pooling: one of :data:`POOLINGS`.

    Returns:
        ``(sentences, max(token_lengths), dim)``, or ``2 * dim`` wide for ``first_last``.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"subtoken_pooling={pooling!r} is unknown; choose one of {', '.join(POOLINGS)}")
    num_sentences = index_map.shape[0]
    max_words = int(token_lengths.max()) if num_sentences else 0
    dim = hidden.shape[1]
    word_ids = word_ids.to(index_map.device)
    lengths = token_lengths.to(index_map.device)
    valid = (index_map >= 0) & (word_ids >= 0) & (word_ids < lengths[:, None])
    sentence = torch.arange(num_sentences, device=index_map.device)[:, None].expand_as(index_map)
    slot = (sentence * max_words + word_ids)[valid]  # flat (sentence, word) slot of each valid subtoken
    rows = index_map[valid]
    size = num_sentences * max_words

    if pooling == "mean":
        sums = hidden.new_zeros(size, dim).index_add_(0, slot, hidden[rows])
        counts = torch.zeros(size, device=hidden.device, dtype=hidden.dtype).index_add_(
            0, slot, torch.ones_like(rows, dtype=hidden.dtype)
        )
        pooled = sums / counts.clamp(min=1).unsqueeze(1)
        return pooled.view(num_sentences, max_words, dim)

    def pick(reduce: str) -> torch.Tensor:
        none = hidden.shape[0]  # not a stream row: marks a word without subtokens
        chosen = torch.full((size,), none, dtype=torch.long, device=index_map.device)
        chosen = chosen.scatter_reduce(0, slot, rows, reduce=reduce, include_self=False)
        has = (chosen < none).unsqueeze(1).to(hidden.dtype)
        return (hidden[chosen.clamp(max=none - 1)] * has).view(num_sentences, max_words, dim)

    if pooling == "first":
        return pick("amin")
    if pooling == "last":
        return pick("amax")
    return torch.cat([pick("amin"), pick("amax")], dim=2)
