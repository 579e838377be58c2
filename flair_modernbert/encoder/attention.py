"""Variable-length (packed) self-attention with ModernBERT's local and global windows.

One function, :func:`varlen_attention`, attends within each sequence of a packed stream (never across
sequences), with an optional symmetric sliding window ``(left, right)``: query ``i`` sees keys
``j`` with ``i - left <= j <= i + right``; ``(-1, -1)`` is global attention. Backends:

``flash_attn``
    flash-attn's ``flash_attn_varlen_func`` (CUDA, fp16/bf16; installed with the ``[gpu]`` extra).
``torch_varlen``
    PyTorch's own ``torch.nn.attention.varlen.varlen_attn`` (CUDA, fp16/bf16, torch >= 2.10; its
    ``window_size`` covers the local layers; it has no attention dropout).
``sdpa``
    the packed fallback for CPU and everything else: one 4-D ``scaled_dot_product_attention`` call per
    sequence (so torch takes its fused flash/memory-efficient kernels, not the math kernel's ``n x n`` scores);
    for sliding windows a sequence longer than the window is cut into query blocks that only see their band of
    keys, all blocks in one batched call, so memory stays ``O(length * window)``. Exact in any dtype; never
    builds a ``(total x total)`` mask, nor an ``n x n`` one for local layers.

The flash kernels need fp16/bf16. Given fp32 tensors (no autocast), they run in bf16 and cast back, as
transformers' own ModernBERT flash-attention path does; choose ``sdpa`` for fp32-exact results on CUDA.
``auto`` picks ``flash_attn``, then ``torch_varlen`` on CUDA, else ``sdpa``; the choice is logged once.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from flair_modernbert.encoder.options import BACKENDS

logger = logging.getLogger(__name__)


_logged: set[tuple[str, str]] = set()


def flash_attn_available() -> bool:
    """Whether the optional ``flash-attn`` package is importable."""
    return importlib.util.find_spec("flash_attn") is not None


def torch_varlen_available() -> bool:
    """Whether this torch ships ``torch.nn.attention.varlen.varlen_attn`` (torch >= 2.10)."""
    try:
        from torch.nn.attention.varlen import varlen_attn  # noqa: F401
    except ImportError:
        return False
    return True


def check_backend_name(requested: str) -> None:
    """Raise a ``ValueError`` naming the choices when ``requested`` is not one of :data:`BACKENDS`."""
    if requested not in BACKENDS:
        raise ValueError(f"attention_backend={requested!r} is unknown; choose one of {', '.join(BACKENDS)}.")


def resolve_backend(requested: str, device: torch.device, dropout_p: float = 0.0) -> str:
    """Turn an ``attention_backend`` setting into the backend that will run.

    Args:
        requested: one of :data:`BACKENDS`.
        device: the device the model runs on.
        dropout_p: the attention dropout used in training (``torch_varlen`` has none).

    Raises:
        ValueError: for an unknown name, or a backend that cannot run here (the message says why and
            what to use instead).
    """
    check_backend_name(requested)
    on_cuda = device.type == "cuda"
    if requested == "auto":
        if on_cuda and flash_attn_available():
            choice = "flash_attn"
        elif on_cuda and torch_varlen_available() and dropout_p == 0.0:
            choice = "torch_varlen"
        else:
            choice = "sdpa"
    else:
        choice = requested
        if choice in ("flash_attn", "torch_varlen") and not on_cuda:
            raise ValueError(
                f"attention_backend={choice!r} needs a CUDA device, but the model is on {device.type!r}. "
                "Use attention_backend='auto' or 'sdpa' (the packed CPU path)."
            )
        if choice == "flash_attn" and not flash_attn_available():
            raise ValueError(
                "attention_backend='flash_attn' but the flash-attn package is not installed: "
                "pip install 'flair-modernbert[gpu]' (or use attention_backend='auto')."
            )
        if choice == "torch_varlen":
            if not torch_varlen_available():
                raise ValueError(
                    f"attention_backend='torch_varlen' needs torch >= 2.10 (torch.nn.attention.varlen); "
                    f"this is torch {torch.__version__}. Use attention_backend='auto'."
                )
            if dropout_p > 0.0:
                raise ValueError(
                    f"attention_backend='torch_varlen' has no attention dropout, but the model's "
                    f"attention_dropout is {dropout_p}. Use 'flash_attn' or 'sdpa'."
                )
    key = (choice, device.type)
    if key not in _logged:
        _logged.add(key)
        logger.info("ModernBERT attention backend: %s on %s (requested %r)", choice, device.type, requested)
    return choice


def varlen_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_seqlen: int,
    seqlens: Sequence[int],
    window: tuple[int, int] = (-1, -1),
    dropout_p: float = 0.0,
    scale: Optional[float] = None,
    backend: str = "sdpa",
) -> torch.Tensor:
    """Attention inside each packed sequence.

    Args:
        query: ``(total, heads, head_dim)``.
        key: ``(total, heads, head_dim)``.
        value: ``(total, heads, head_dim)``.
        cu_seqlens: ``(num_sequences + 1,)`` int32 cumulative lengths.
        max_seqlen: longest sequence.
        seqlens: the lengths as Python ints.
        window: ``(left, right)`` sliding window, ``(-1, -1)`` for global attention.
        dropout_p: attention-probability dropout (pass 0 in eval mode).
        scale: softmax scale, ``head_dim ** -0.5`` by default.
        backend: a resolved backend name (see :func:`resolve_backend`), not ``auto``.

    Returns:
        ``(total, heads, head_dim)``.
    """
    if backend == "flash_attn":
        return _flash_attn(query, key, value, cu_seqlens, max_seqlen, window, dropout_p, scale)
    if backend == "torch_varlen":
        return _torch_varlen(query, key, value, cu_seqlens, max_seqlen, window, scale)
    if backend == "sdpa":
        return _sdpa_packed(query, key, value, seqlens, window, dropout_p, scale)
    raise ValueError(f"unknown attention backend {backend!r}")


def _half(*tensors: torch.Tensor) -> tuple[list[torch.Tensor], Optional[torch.dtype]]:
    if tensors[0].dtype in (torch.float16, torch.bfloat16):
        return list(tensors), None
    return [t.to(torch.bfloat16) for t in tensors], tensors[0].dtype


def _flash_attn(q, k, v, cu_seqlens, max_seqlen, window, dropout_p, scale):
    from flash_attn import flash_attn_varlen_func

    (q, k, v), orig = _half(q, k, v)
    out = flash_attn_varlen_func(
        q,
        k,
        v,
        cu_seqlens_q=cu_seqlens,
        cu_seqlens_k=cu_seqlens,
        max_seqlen_q=max_seqlen,
        max_seqlen_k=max_seqlen,
        dropout_p=dropout_p,
        softmax_scale=scale,
        causal=False,
        window_size=window,
    )
    return out if orig is None else out.to(orig)


def _torch_varlen(q, k, v, cu_seqlens, max_seqlen, window, scale):
    from torch.nn.attention.varlen import varlen_attn

    (q, k, v), orig = _half(q, k, v)
    out = varlen_attn(q, k, v, cu_seqlens, cu_seqlens, max_seqlen, max_seqlen, scale=scale, window_size=window)
    return out if orig is None else out.to(orig)


def _sdpa_packed(q, k, v, seqlens, window, dropout_p, scale):
    left, right = window
    local = left >= 0 or right >= 0
    pieces = []
    start = 0
    for n in seqlens:
        # (1, heads, n, dim): torch's fused kernels take 4-D input; 3-D input falls back to the math kernel,
        # which builds the whole heads x n x n score matrix
        qs, ks, vs = (t[start : start + n].transpose(0, 1).unsqueeze(0) for t in (q, k, v))
        if not local or (n - 1 <= left and n - 1 <= right):
            out = F.scaled_dot_product_attention(qs, ks, vs, dropout_p=dropout_p, scale=scale)
        else:
            out = _sdpa_banded(qs, ks, vs, left, right, dropout_p, scale)
        pieces.append(out[0].transpose(0, 1))
        start += n
    return torch.cat(pieces, dim=0)


def _sdpa_banded(qs, ks, vs, left, right, dropout_p, scale):
    """Sliding-window attention of one sequence in query blocks, all blocks in one batched call.

    Queries are cut into blocks of ``block``; block ``i`` sees the keys from ``i * block - left`` to
    ``(i + 1) * block + right``: scores take ``n * (block + left + right)`` entries, never ``n * n``.
    """
    _, heads, n, dim = qs.shape
    block = max(32, left + right)
    blocks = -(-n // block)
    span = block + left + right
    pad_end = blocks * block - n
    # keys and values padded so that block i's keys are rows [i * block, i * block + span)
    kp, vp = (F.pad(t, (0, 0, left, right + pad_end)) for t in (ks, vs))
    kb, vb = (t.unfold(2, span, block).permute(0, 2, 1, 4, 3) for t in (kp, vp))  # (1, blocks, heads, span, dim)
    qb = F.pad(qs, (0, 0, 0, pad_end)).view(1, heads, blocks, block, dim).transpose(1, 2)
    # query a of a block sees padded key c when a <= c <= a + left + right, and the key exists
    a = torch.arange(block, device=qs.device)[:, None]
    c = torch.arange(span, device=qs.device)[None, :]
    band = (c >= a) & (c <= a + left + right)
    key_pos = torch.arange(blocks, device=qs.device)[:, None] * block + c[0][None, :] - left
    valid_key = (key_pos >= 0) & (key_pos < n)
    query_pos = torch.arange(blocks, device=qs.device)[:, None] * block + a[:, 0][None, :]
    # a padded query row attends to every existing key: its output is thrown away, and no row is all-masked
    # (an all-masked row gives NaN, whose gradient would poison the others)
    mask = (band[None] | (query_pos >= n)[:, :, None]) & valid_key[:, None, :]  # (blocks, block, span)
    out = F.scaled_dot_product_attention(
        qb.reshape(blocks, heads, block, dim),
        kb.reshape(blocks, heads, span, dim),
        vb.reshape(blocks, heads, span, dim),
        attn_mask=mask[:, None],
        dropout_p=dropout_p,
        scale=scale,
    )
    return out.view(1, blocks, heads, block, dim).transpose(1, 2).reshape(1, heads, blocks * block, dim)[:, :, :n]
