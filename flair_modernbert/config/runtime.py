"""Checks of a recipe against the machine it runs on (made before any model is built)."""

from __future__ import annotations

from typing import Optional, Union

from flair_modernbert.config.schema import Recipe

__all__ = ["CUDA_ONLY", "resolve_device", "check_runtime"]

#: Recipe keys that only work on a CUDA device, with the value that needs it.
CUDA_ONLY = {"training.mixed_precision": True, "embeddings.attention_backend": "flash_attn"}


def resolve_device(spec: str = "auto") -> "torch.device":  # noqa: F821
    """Turn ``training.device`` into a ``torch.device``.

    Raises:
        ValueError: ``cuda``/``cuda:N`` asked for on a machine without (that) CUDA device.
    """
    import torch

    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"training.device: {spec!r} but CUDA is not available on this machine; "
                "use --set training.device=auto (or cpu)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise ValueError(f"training.device: {spec!r} but this machine has {count} CUDA device(s)")
    return device


def check_runtime(recipe: Recipe, device: Optional[Union[str, "torch.device"]] = None) -> "torch.device":  # noqa: F821
    """Check the recipe against the device it will run on; returns that device.

    Raises:
        ValueError: a CUDA-only option (:data:`CUDA_ONLY`) on a non-CUDA device, or an unavailable device;
            the message names each key and the override that turns it off.
    """
    import torch

    device = torch.device(device) if device is not None else resolve_device(recipe.training.device)
    if device.type == "cuda":
        return device
    problems = []
    if recipe.training.mixed_precision:
        problems.append(
            "training.mixed_precision: true needs a CUDA device (automatic mixed precision), "
            f"but this run is on {device}; use --set training.mixed_precision=false"
        )
    if recipe.embeddings.attention_backend == "flash_attn":
        problems.append(
            "embeddings.attention_backend: 'flash_attn' needs a CUDA device with flash-attn installed, "
            f"but this run is on {device}; use --set embeddings.attention_backend=auto"
        )
    if problems:
        raise ValueError(f"{recipe.source or '<recipe>'}: " + "; ".join(problems))
    return device
