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
    the packed fallback for CPU and everything else: one ``scaled_dot_product_attention`` call per sequence,
    and for sliding windows longer sequences are cut into query blocks that only see their band of keys, so
    memory stays ``O(length * window)``. Exact in any dtype; never builds a ``(total x total)`` mask.

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


# sequences up to this length get one banded mask; longer ones are processed block by block
_DENSE_BAND_MAX = 1024
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


def _band_mask(q_pos: torch.Tensor, k_pos: torch.Tensor, left: int, right: int) -> torch.Tensor:
    diff = k_pos[None, :] - q_pos[:, None]
    return (diff >= -left) & (diff <= right)


def _sdpa_packed(q, k, v, seqlens, window, dropout_p, scale):
    left, right = window
    local = left >= 0 or right >= 0
    left = left if left >= 0 else 1 << 30
    right = right if right >= 0 else 1 << 30
    pieces = []
    start = 0
    for n in seqlens:
        qs, ks, vs = (t[start : start + n].transpose(0, 1) for t in (q, k, v))  # (heads, n, dim)
        if not local or (n - 1 <= left and n - 1 <= right):
            out = F.scaled_dot_product_attention(qs, ks, vs, dropout_p=dropout_p, scale=scale)
        elif n <= _DENSE_BAND_MAX:
            pos = torch.arange(n, device=q.device)
            mask = _band_mask(pos, pos, left, right)
            out = F.scaled_dot_product_attention(qs, ks, vs, attn_mask=mask, dropout_p=dropout_p, scale=scale)
        else:
            out = _sdpa_blocked_band(qs, ks, vs, left, right, dropout_p, scale)
        pieces.append(out.transpose(0, 1))
        start += n
    return torch.cat(pieces, dim=0)


def _sdpa_blocked_band(qs, ks, vs, left, right, dropout_p, scale):
    n = qs.shape[1]
    block = max(64, max(left, right))
    outs = []
    for q0 in range(0, n, block):
        q1 = min(n, q0 + block)
        k0, k1 = max(0, q0 - left), min(n, q1 + right)
        mask = _band_mask(
            torch.arange(q0, q1, device=qs.device), torch.arange(k0, k1, device=qs.device), left, right
        )
        outs.append(
            F.scaled_dot_product_attention(
                qs[:, q0:q1], ks[:, k0:k1], vs[:, k0:k1], attn_mask=mask, dropout_p=dropout_p, scale=scale
            )
        )
    return torch.cat(outs, dim=1)
