"""The Ray engine: a Ray Data pipeline over the shards, an actor pool holding one loaded tagger per actor.

The dataset has one row per shard (its description, plain data); ``map_batches`` hands each row to an actor of
the pool (``ActorPoolStrategy(size=actors)``), which runs :func:`~flair_modernbert.bulk.shard.redact_shard`, the
very function of the local engine: the actor reads the shard itself, tags the sentences of many documents per packed forward,
and writes the shard's output and span map under the same names. Outputs are therefore byte-identical to the
local engine's and to ``redact`` run file by file. Whole shards (not rows) are the unit of work so that a shard is
written by one actor, atomically, in input order; split a corpus into many shards to spread it.

Fault tolerance is Ray Data's: an actor that dies is restarted and the shard it held is redone from the start
(its temporary files are deleted, nothing half-written is ever in place); after :data:`RETRIES` retries of one
shard it is reported failed (:meth:`ShardRedactor.redact`). A shard that fails (malformed input) comes back as an
error row: it fails alone, the others go on.

Each actor reserves ``cpus_per_actor`` CPUs (its torch threads) and ``gpus_per_actor`` GPUs; with a GPU the tagger
runs on it. The actors need this package and the input and output folders at the same paths (a shared file
system on a multi-node cluster). Ray is optional (``pip install 'flair-modernbert[cluster]'``), imported only here.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional, Sequence

from flair_modernbert.bulk.local import Done, Failed, load_worker_tagger
from flair_modernbert.bulk.shard import RedactOptions, ShardError, ShardResult, redact_shard
from flair_modernbert.bulk.shards import Shard
from flair_modernbert.experiments.ray_backend import check_ray_resources, ray_session

logger = logging.getLogger(__name__)

__all__ = ["INSTALL_HINT", "RETRIES", "run_on_ray"]

INSTALL_HINT = "--engine ray needs Ray: pip install 'flair-modernbert[cluster]'"
#: retries of one shard whose actor died
RETRIES = 3


class ShardRedactor:
    """The actor: loads the tagger once, then redacts the shards Ray Data hands it (one per batch row)."""

    def __init__(self, options: dict[str, Any], threads: int, gpus: float) -> None:
        import flair
        import torch

        from flair_modernbert.training.run import flair_console

        flair_console(logging.WARNING)
        if gpus and torch.cuda.is_available():
            flair.device = torch.device("cuda")
        options["types"] = tuple(options["types"]) if options["types"] is not None else None
        self.options = RedactOptions(**options)
        self.tagger = load_worker_tagger(self.options, threads)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        relative, results, errors = [], [], []
        for text in batch["shard"]:
            shard = Shard(**json.loads(str(text)))
            relative.append(shard.relative)
            result, error = self.redact(shard)
            results.append(result)
            errors.append(error)
        return {"relative": relative, "result": results, "error": errors}

    def redact(self, shard: Shard) -> tuple[str, str]:
        """The shard's result (JSON) or its error. Ray Data restarts a dead actor and hands it the shard again
        without limit; a marker file next to the output counts the attempts, so a shard that kills every actor
        (out of memory) fails after :data:`RETRIES` retries instead of running forever."""
        marker = _attempts_marker(shard)
        attempts = int(marker.read_text() or 0) + 1 if marker.is_file() else 1
        if attempts > RETRIES + 1:
            marker.unlink(missing_ok=True)
            return "", f"{shard.relative}: the actor redacting it died {RETRIES + 1} times (killed, or out of memory)"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(attempts))
        try:
            return json.dumps(redact_shard(self.tagger, shard, self.options).to_json()), ""
        except ShardError as error:
            return "", str(error)
        finally:
            marker.unlink(missing_ok=True)


def _attempts_marker(shard: Shard) -> Path:
    """The file counting the attempts at a shard (next to its output, hidden)."""
    output = Path(shard.output)
    return output.with_name(f".{output.name}.attempts")


def _actor_class(options: dict[str, Any], threads: int, gpus: float) -> type:
    """:class:`ShardRedactor` with the run's arguments built in: the class travels to the actors by value, so Ray
    keeps no constructor arguments in its object store (an actor restarted after they were freed could not start)."""

    class RunShardRedactor(ShardRedactor):
        def __init__(self) -> None:
            super().__init__(dict(options), threads, gpus)

    return RunShardRedactor


def run_on_ray(
    shards: Sequence[Shard],
    options: RedactOptions,
    done: Done,
    failed: Failed,
    actors: int = 2,
    cpus_per_actor: int = 1,
    gpus_per_actor: float = 0,
    address: Optional[str] = None,
) -> None:
    """Redact the shards with a pool of Ray actors; ``done``/``failed`` are called here as each shard ends.

    Args:
        shards: the shards to do.
        options: the run's options.
        done: receives each finished shard and its counts.
        failed: receives each failed shard and the error message.
        actors: actors in the pool (each holds one tagger).
        cpus_per_actor: CPUs reserved per actor, also its torch threads.
        gpus_per_actor: GPUs per actor (a fraction shares one); the tagger runs on the GPU when it has one.
        address: a running Ray cluster (``auto``, ``HOST:6379``, ``ray://HOST:10001``); ``None`` starts a Ray
            instance on this machine for the run.

    Raises:
        ImportError: Ray is not installed.
        ValueError: bad resource options.
        RuntimeError: the pipeline stopped (Ray itself failed); the shards reported so far are kept.
    """
    if actors < 1:
        raise ValueError(f"--workers (actors) must be >= 1, got {actors}")
    if cpus_per_actor < 1:
        raise ValueError(f"--threads (CPUs per actor) must be >= 1, got {cpus_per_actor}")
    if not 0 <= gpus_per_actor <= 1:
        raise ValueError(f"--gpus-per-actor: an actor tags on one GPU (a fraction shares one), so 0 to 1; "
                         f"got {gpus_per_actor:g}")
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    if not shards:
        return
    by_name = {shard.relative: shard for shard in shards}
    for shard in shards:  # the counts of an interrupted run: no actor of this run has started yet
        _attempts_marker(shard).unlink(missing_ok=True)
    with ray_session(ray, address):
        check_ray_resources(ray, address is None, cpus_per_actor, gpus_per_actor,
                            lambda line: logger.warning("%s", line), cpus_option="--threads",
                            gpus_option="--gpus-per-actor", waiting="the actors wait")
        pool = min(actors, len(shards))
        total = ray.cluster_resources().get("CPU", 0)
        if address is None and pool * cpus_per_actor > total:
            raise ValueError(f"--workers {pool} × --threads {cpus_per_actor} = {pool * cpus_per_actor:g} CPUs, but the "
                             f"Ray instance on this machine has {total:g}; lower --workers or --threads")
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        rows = [{"shard": json.dumps(shard.to_json())} for shard in shards]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        redacted = dataset.map_batches(
            _actor_class(options.to_json(), cpus_per_actor, gpus_per_actor),
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=pool),
            num_cpus=cpus_per_actor,
            num_gpus=gpus_per_actor,
        )
        try:
            for row in redacted.iter_rows():
                shard = by_name[row["relative"]]
                if row["error"]:
                    failed(shard, row["error"])
                else:
                    done(shard, ShardResult(**json.loads(row["result"])))
        except ray.exceptions.RayError as error:
            raise RuntimeError(f"the Ray pipeline stopped: {error}; the shards finished so far are in the "
                               "manifest, rerun to do the rest") from error
