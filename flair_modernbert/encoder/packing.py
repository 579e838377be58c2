"""Subword sequences of a batch <-> one packed stream.

A padded batch of ``B`` sequences of at most ``L`` subtokens holds ``B * L`` slots, of which only
``sum(lengths)`` are real. Packing concatenates the real subtokens of all sequences into one stream of
``total`` tokens and describes the sequence boundaries the way flash-attn's varlen kernels expect them:
``cu_seqlens = [0, len_0, len_0 + len_1, ..., total]`` (int32) and ``max_seqlen``. Position ids restart at 0
for every sequence.

``index_map`` keeps the way back: for every padded slot ``(b, j)`` it holds the row of that subtoken in the
stream, or ``-1`` for a pad slot. Word embeddings are gathered straight from the stream through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PackedBatch:
    """A batch of subword sequences packed into one stream.

    Attributes:
        input_ids: ``(total,)`` token ids of all sequences, one after the other.
        position_ids: ``(total,)`` position of each token inside its own sequence (restarts at 0).
        cu_seqlens: ``(num_sequences + 1,)`` int32 cumulative sequence lengths, starting at 0.
        max_seqlen: length of the longest sequence.
        seqlens: the sequence lengths as Python ints (no device sync needed to loop over them).
        index_map: ``(num_sequences, padded_length)`` row of each padded slot in the stream, ``-1`` for pads.
    """

    input_ids: torch.Tensor
    position_ids: torch.Tensor
    cu_seqlens: torch.Tensor
    max_seqlen: int
    seqlens: tuple[int, ...]
    index_map: torch.Tensor

    @property
    def total_tokens(self) -> int:
        """Number of real tokens in the stream."""
        return int(self.input_ids.shape[0])

    @property
    def num_sequences(self) -> int:
        """Number of sequences packed."""
        return len(self.seqlens)


def pack_padded(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> PackedBatch:
    """Pack a padded batch (as a tokenizer returns it) into one stream.

    Works for right and left padding alike: a slot is real where ``attention_mask`` is non-zero, and the
    real slots of a row keep their order.

    Args:
        input_ids: ``(B, L)`` token ids.
        attention_mask: ``(B, L)`` 1 for real tokens, 0 for padding.

    Returns:
        The :class:`PackedBatch`.
    """
    if input_ids.shape != attention_mask.shape or input_ids.dim() != 2:
        raise ValueError(
            f"input_ids {tuple(input_ids.shape)} and attention_mask {tuple(attention_mask.shape)} "
            "must both be (batch, length)"
        )
    mask = attention_mask.bool()
    lengths = mask.sum(dim=1)
    seqlens = tuple(int(n) for n in lengths.tolist())
    if any(n == 0 for n in seqlens):
        raise ValueError(f"cannot pack an empty sequence (lengths {list(seqlens)})")
    total = sum(seqlens)
    device = input_ids.device
    index_map = torch.full(mask.shape, -1, dtype=torch.long, device=device)
    index_map[mask] = torch.arange(total, device=device)
    position_ids = (mask.long().cumsum(dim=1) - 1)[mask]
    cu_seqlens = torch.zeros(len(seqlens) + 1, dtype=torch.int32, device=device)
    cu_seqlens[1:] = lengths.cumsum(dim=0)
    return PackedBatch(
        input_ids=input_ids[mask],
        position_ids=position_ids,
        cu_seqlens=cu_seqlens,
        max_seqlen=max(seqlens),
        seqlens=seqlens,
        index_map=index_map,
    )


def pack_sequences(sequences: list[list[int]], device: torch.device | str = "cpu") -> PackedBatch:
    """Pack lists of token ids (no padding ever materialised in the stream).

    Args:
        sequences: one list of token ids per sequence; none may be empty.
        device: where the tensors go.
    """
    if not sequences or any(len(s) == 0 for s in sequences):
        raise ValueError("pack_sequences needs at least one sequence and no empty sequence")
    seqlens = tuple(len(s) for s in sequences)
    longest = max(seqlens)
    total = sum(seqlens)
    input_ids = torch.tensor([t for s in sequences for t in s], dtype=torch.long, device=device)
    position_ids = torch.cat([torch.arange(n, device=device) for n in seqlens])
    cu = torch.zeros(len(seqlens) + 1, dtype=torch.int32, device=device)
    cu[1:] = torch.tensor(seqlens, device=device).cumsum(0)
    index_map = torch.full((len(seqlens), longest), -1, dtype=torch.long, device=device)
    rows = torch.arange(total, device=device)
    for i, n in enumerate(seqlens):
        index_map[i, :n] = rows[int(cu[i]) : int(cu[i]) + n]
    return PackedBatch(input_ids, position_ids, cu, longest, seqlens, index_map)


def unpack_to_padded(stream: torch.Tensor, packed: PackedBatch, fill: float = 0.0) -> torch.Tensor:
    """Scatter a ``(total, ...)`` stream back to ``(B, L, ...)`` (for inspection and tests, not the hot path)."""
    out = stream.new_full((*packed.index_map.shape, *stream.shape[1:]), fill)
    valid = packed.index_map >= 0
    out[valid] = stream[packed.index_map[valid]]
    return out
