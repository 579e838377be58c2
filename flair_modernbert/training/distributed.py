"""Distributed training under ``torchrun``: one process per device, rank 0 writes the outputs.

``torchrun --nproc_per_node N`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`setup_distributed`
joins the process group it describes (NCCL with one GPU per process on CUDA machines) and Flair's
``ModelTrainer`` then wraps the model in ``DistributedDataParallel`` and shards the training data
(``multi_gpu=True``).
"""

from __future__ import annotations

import logging
import os

import flair
import torch

logger = logging.getLogger(__name__)

__all__ = ["is_distributed", "setup_distributed", "is_main_process"]


def is_distributed() -> bool:
    """Whether this process was started by ``torchrun`` with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup_distributed() -> torch.device:
    """Join the process group ``torchrun`` describes and put this process on its device.

    Returns:
        The device of this process (also set as ``flair.device``).

    Raises:
        ValueError: ``WORLD_SIZE`` > 1 on a machine without one CUDA GPU per process.
    """
    if not torch.distributed.is_initialized():
        if not torch.cuda.is_available():
            raise ValueError(
                "torchrun with WORLD_SIZE > 1: Flair's distributed training needs one CUDA GPU per process"
            )
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        flair.device = torch.device("cuda", local_rank)
        torch.distributed.init_process_group(backend="nccl")
    return flair.device


def is_main_process() -> bool:
    """True in rank 0 (and outside distributed training)."""
    return not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0
