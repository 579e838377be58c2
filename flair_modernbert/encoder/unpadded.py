"""Run a loaded Hugging Face ``ModernBertModel`` over a packed stream.

Nothing is re-implemented and no weight is copied: the model's own modules (``embeddings``, each layer's
``attn_norm``, ``attn.Wqkv``, ``attn.rotary_emb``, ``attn.Wo``, ``mlp_norm``, ``mlp`` and ``final_norm``)
are called on a ``(total_tokens, hidden)`` stream. Only the attention core differs from transformers'
padded path: it runs through :func:`flair_modernbert.encoder.attention.varlen_attention`, within each sequence,
with the layer's own window (``attn.local_attention``: ``(-1, -1)`` on global layers, ``(w/2, w/2)`` on
local ones) and rotary positions that restart at 0 for every sequence.

Layer indices follow transformers' ``output_hidden_states`` (and hence stock Flair): ``0`` is the
embedding output, ``i`` the output of layer ``i``, and ``num_hidden_layers`` the last layer's output
*before* the final LayerNorm. With ``final_norm=True`` that last entry gets the model's final LayerNorm, as
transformers' ``last_hidden_state`` (what ``ModernBertForTokenClassification`` uses).
"""

from __future__ import annotations

import logging
from typing import Iterable

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint
from transformers.models.modernbert import modeling_modernbert as hf

from flair_modernbert.encoder.attention import varlen_attention
from flair_modernbert.encoder.packing import PackedBatch

logger = logging.getLogger(__name__)

_REQUIRED = ("embeddings", "layers", "final_norm")
_LAYER_REQUIRED = ("attn_norm", "attn", "mlp_norm", "mlp")
_ATTN_REQUIRED = ("Wqkv", "Wo", "rotary_emb", "local_attention", "num_heads", "head_dim")


def base_modernbert(model: nn.Module) -> nn.Module:
    """The ``ModernBertModel`` inside ``model`` (unwraps task heads and PEFT wrappers).

    Raises:
        TypeError: naming the missing part when ``model`` is not a ModernBERT encoder.
    """
    seen = model
    if not hasattr(seen, "layers") and hasattr(seen, "get_base_model"):  # PEFT wrapper
        seen = seen.get_base_model()
    if not hasattr(seen, "layers") and hasattr(seen, "model"):  # ModernBertFor... task model
        seen = seen.model
    missing = [name for name in _REQUIRED if not hasattr(seen, name)]
    if not missing and len(seen.layers) > 0:
        layer = seen.layers[0]
        missing += [f"layers[0].{n}" for n in _LAYER_REQUIRED if not hasattr(layer, n)]
        if hasattr(layer, "attn"):
            missing += [f"layers[0].attn.{n}" for n in _ATTN_REQUIRED if not hasattr(layer.attn, n)]
    if missing:
        raise TypeError(
            f"{type(model).__name__} is not a ModernBERT encoder this library can unpad "
            f"(missing: {', '.join(missing)}). Use transformers' ModernBertModel (transformers>=4.48,<5)."
        )
    return seen


def _rotate(attn: nn.Module, qkv: torch.Tensor, packed: PackedBatch) -> tuple[torch.Tensor, ...]:
    rotary = attn.rotary_emb
    if isinstance(rotary, hf.ModernBertRotaryEmbedding):
        cos, sin = rotary(qkv, position_ids=packed.position_ids.unsqueeze(0))
        q, k, v = qkv.unbind(dim=1)
        q, k = hf.apply_rotary_pos_emb(q, k, cos[0], sin[0], unsqueeze_dim=1)
        return q, k, v
    # a model loaded with attn_implementation="flash_attention_2" carries flash-attn's fused unpadded rotary
    qkv = rotary(qkv, cu_seqlens=packed.cu_seqlens, max_seqlen=packed.max_seqlen)
    return qkv.unbind(dim=1)


def attention_block(attn: nn.Module, hidden: torch.Tensor, packed: PackedBatch, backend: str) -> torch.Tensor:
    """``ModernBertAttention`` on a packed stream: QKV projection, rotary, varlen attention, output projection."""
    total = hidden.shape[0]
    qkv = attn.Wqkv(hidden).view(total, 3, attn.num_heads, attn.head_dim)
    q, k, v = _rotate(attn, qkv, packed)
    out = varlen_attention(
        q,
        k,
        v,
        cu_seqlens=packed.cu_seqlens,
        max_seqlen=packed.max_seqlen,
        seqlens=packed.seqlens,
        window=tuple(attn.local_attention),
        dropout_p=attn.attention_dropout if attn.training else 0.0,
        scale=attn.head_dim**-0.5,
        backend=backend,
    )
    return attn.out_drop(attn.Wo(out.reshape(total, attn.num_heads * attn.head_dim)))


def encoder_layer(layer: nn.Module, hidden: torch.Tensor, packed: PackedBatch, backend: str) -> torch.Tensor:
    """``ModernBertEncoderLayer`` on a packed stream (pre-norm attention and GLU MLP with residuals)."""
    hidden = hidden + attention_block(layer.attn, layer.attn_norm(hidden), packed, backend)
    return hidden + layer.mlp(layer.mlp_norm(hidden))


def encode_packed(
    model: nn.Module,
    packed: PackedBatch,
    output_layers: Iterable[int],
    backend: str,
    final_norm: bool = False,
) -> dict[int, torch.Tensor]:
    """Run the encoder on a packed stream and return the requested hidden states.

    Layers after the deepest requested one are not run.

    Args:
        model: a ``ModernBertModel`` (or a wrapper :func:`base_modernbert` unwraps).
        packed: the packed batch.
        output_layers: hidden-state indices, non-negative, in transformers' ``output_hidden_states`` numbering.
        backend: a resolved attention backend.
        final_norm: apply the final LayerNorm to index ``num_hidden_layers``.

    Returns:
        ``{index: (total_tokens, hidden)}`` for every requested index.
    """
    encoder = base_modernbert(model)
    wanted = sorted(set(output_layers))
    num_layers = len(encoder.layers)
    if not wanted or wanted[0] < 0 or wanted[-1] > num_layers:
        raise ValueError(f"layer indices {wanted} out of range 0..{num_layers}")
    use_checkpointing = getattr(encoder, "gradient_checkpointing", False) and encoder.training
    hidden = encoder.embeddings(input_ids=packed.input_ids)
    outputs = {0: hidden} if 0 in wanted else {}
    for index, layer in enumerate(encoder.layers[: wanted[-1]], start=1):
        if use_checkpointing and torch.is_grad_enabled():
            hidden = checkpoint(encoder_layer, layer, hidden, packed, backend, use_reentrant=False)
        else:
            hidden = encoder_layer(layer, hidden, packed, backend)
        if index in wanted:
            outputs[index] = hidden
    if final_norm and num_layers in outputs:
        outputs[num_layers] = encoder.final_norm(outputs[num_layers])
    return outputs
