"""Distributed training under ``torchrun``: one process per device, rank 0 writes the outputs.

``torchrun --nproc_per_node N`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`setup_distributed`
joins the process group it describes and Flair's ``ModelTrainer`` then wraps the model in
``DistributedDataParallel`` and shards the training data with a ``DistributedSampler`` (``multi_gpu=True``).

=============  ============================================================================================
CUDA machine   NCCL; process ``LOCAL_RANK`` trains on GPU ``LOCAL_RANK``
CPU machine    gloo; every process trains on the CPU (torchrun gives each one ``OMP_NUM_THREADS=1``)
=============  ============================================================================================

Flair 0.15 builds ``DistributedDataParallel(model, device_ids=[flair.device.index])``; on the CPU that is
``[None]``, which torch refuses (``device_ids`` is for single-GPU modules only). :func:`setup_distributed`
therefore gives Flair's trainer module :class:`DeviceAwareDistributedDataParallel`, torch's class with exactly
that one argument corrected (``[None]`` -> ``None``); a call that torch accepts is passed on unchanged, so CUDA
training is untouched.

With ``FLAIR_MODERNBERT_SHARD_LOG=DIR`` set, :func:`distributed_plugins` adds :class:`ShardLogPlugin`, which
writes the training-set indices each process trained on per epoch to ``DIR/rank-<R>.json`` (the
``DistributedSampler``'s shard); without it nothing is added, so normal runs pay nothing.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
from pathlib import Path
from typing import Any, Optional, Sequence

import flair
import torch
from flair.trainers.plugins.base import TrainerPlugin
from torch.nn.parallel import DistributedDataParallel

logger = logging.getLogger(__name__)

__all__ = [
    "SHARD_LOG_ENV",
    "DeviceAwareDistributedDataParallel",
    "ShardLogPlugin",
    "distributed_plugins",
    "is_distributed",
    "is_main_process",
    "rank",
    "setup_distributed",
]

#: Environment variable naming the folder :class:`ShardLogPlugin` writes to (unset: no shard log).
SHARD_LOG_ENV = "FLAIR_MODERNBERT_SHARD_LOG"


def is_distributed() -> bool:
    """Whether this process was started by ``torchrun`` with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank() -> int:
    """This process's rank: the process group's once joined, before that ``torchrun``'s ``RANK`` (0 alone)."""
    if torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return int(os.environ.get("RANK", "0")) if is_distributed() else 0


def is_main_process() -> bool:
    """True in rank 0 and outside distributed training.

    Unlike Flair's ``is_main_process`` this holds before the process group is joined too (``torchrun``'s
    ``RANK``), so only rank 0 claims and clears the output folder and opens ``training.log``.
    """
    return rank() == 0


class DeviceAwareDistributedDataParallel(DistributedDataParallel):
    """torch's ``DistributedDataParallel``, accepting ``device_ids=[None]`` (a CPU device's index) as ``None``.

    Flair passes ``device_ids=[flair.device.index]``, right for a GPU and refused by torch for a CPU module;
    anything else is passed on as given.
    """

    def __init__(self, module: torch.nn.Module, device_ids: Optional[Sequence[Any]] = None, *args: Any,
                 **kwargs: Any) -> None:
        if device_ids is not None and all(device is None for device in device_ids):
            device_ids = None
        super().__init__(module, device_ids, *args, **kwargs)


def _let_flair_wrap_cpu_models() -> None:
    import flair.trainers.trainer as trainer_module

    if trainer_module.DistributedDataParallel is not DeviceAwareDistributedDataParallel:
        trainer_module.DistributedDataParallel = DeviceAwareDistributedDataParallel


def setup_distributed(backend: Optional[str] = None) -> torch.device:
    """Join the process group ``torchrun`` describes and put this process on its device.

    Args:
        backend: ``nccl`` or ``gloo``; default NCCL when CUDA is available, else gloo (gloo trains on the
            CPU, also on a CUDA machine).

    Returns:
        The device of this process (also set as ``flair.device``): ``cuda:LOCAL_RANK`` with NCCL, else the CPU.

    Raises:
        ValueError: NCCL asked for without CUDA, or fewer CUDA GPUs than processes on this machine.
    """
    if torch.distributed.is_initialized():
        return flair.device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl":
        if not torch.cuda.is_available():
            raise ValueError("distributed backend 'nccl' needs CUDA GPUs; on the CPU the backend is gloo")
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"torchrun started local rank {local_rank} but this machine has {torch.cuda.device_count()} "
                "CUDA GPU(s): --nproc_per_node must not exceed the number of GPUs"
            )
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
        _let_flair_wrap_cpu_models()
    flair.device = device
    torch.distributed.init_process_group(backend=backend)
    atexit.register(_leave)
    logger.info("rank %d of %d joined the %s process group on %s", torch.distributed.get_rank(),
                torch.distributed.get_world_size(), backend, device)
    return device


def _leave() -> None:
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


# ------------------------------------------------------------------------------------------------ shard log
class ShardLogPlugin(TrainerPlugin):
    """Record which training sentences this process trained on, per epoch, in ``folder/rank-<R>.json``.

    The indices are positions in Flair's training data (the train split, then dev with ``train_with_dev``),
    i.e. what the ``DistributedSampler`` handed this process. Written after every epoch.

    Args:
        folder: where ``rank-<R>.json`` goes.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.index: dict[int, int] = {}
        self.epochs: dict[str, list[int]] = {}

    @property
    def attach_to_all_processes(self) -> bool:
        return True

    @TrainerPlugin.hook
    def after_setup(self, train_with_dev: bool = False, **kwargs: Any) -> None:
        from flair.data import _iter_dataset

        corpus = self.trainer.corpus
        splits = [corpus.train] + ([corpus.dev] if train_with_dev and corpus.dev is not None else [])
        sentences = [sentence for split in splits for sentence in _iter_dataset(split)]
        self.index = {id(sentence): position for position, sentence in enumerate(sentences)}

    @TrainerPlugin.hook
    def before_training_batch(self, batch: Sequence[Any], epoch: int, **kwargs: Any) -> None:
        self.epochs.setdefault(str(epoch), []).extend(self.index[id(sentence)] for sentence in batch)

    @TrainerPlugin.hook
    def after_training_epoch(self, epoch: int, **kwargs: Any) -> None:
        world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"rank": rank(), "pid": os.getpid(), "world_size": world, "train_size": len(self.index),
                "epochs": self.epochs}
        (self.folder / f"rank-{rank()}.json").write_text(json.dumps(data), encoding="utf-8")


def distributed_plugins() -> list[TrainerPlugin]:
    """The plugins a distributed run adds: :class:`ShardLogPlugin` when ``FLAIR_MODERNBERT_SHARD_LOG`` is set."""
    folder = os.environ.get(SHARD_LOG_ENV)
    return [ShardLogPlugin(Path(folder))] if folder and torch.distributed.is_initialized() else []
