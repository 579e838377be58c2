"""``redact MODEL INPUT... --output DIR``: a whole corpus redacted shard by shard, resumable, on one machine or Ray.

:func:`redact_corpus` finds the shards (:mod:`~flair_modernbert.bulk.shards`), opens the output folder's manifest
(:mod:`~flair_modernbert.bulk.manifest`: a rerun skips the finished shards, refuses other options), hands the
shards left to an engine (``local``: this process or ``workers`` processes; ``ray``: an actor pool) and records
each shard in the manifest as it ends. A shard that fails is reported and recorded; the others go on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

from flair_modernbert.bulk.manifest import Manifest
from flair_modernbert.bulk.shard import RedactOptions, ShardResult
from flair_modernbert.bulk.shards import Shard, default_map_dir, find_shards

logger = logging.getLogger(__name__)

__all__ = ["ENGINES", "CorpusRun", "redact_corpus"]

ENGINES = ("local", "ray")


@dataclass
class CorpusRun:
    """What one call of :func:`redact_corpus` did.

    Attributes:
        output: the output folder.
        manifest: its manifest (all shards, earlier runs' included).
        shards: shards of the inputs.
        skipped: shards finished by an earlier run.
        done: shards redacted now.
        failed: ``(shard, error)`` of the shards that failed now.
        lines: lines (rows) redacted now.
        seconds: wall time of this run, model loading included.
    """

    output: Path
    manifest: Manifest
    shards: int
    skipped: int
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    lines: int = 0
    seconds: float = 0.0

    @property
    def documents_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def redact_corpus(
    inputs: Iterable[Union[str, Path]],
    output: Union[str, Path],
    options: RedactOptions,
    span_map_dir: Union[str, Path, None] = None,
    engine: str = "local",
    workers: int = 1,
    threads: Optional[int] = None,
    address: Optional[str] = None,
    gpus_per_actor: float = 0,
    overwrite: bool = False,
    progress: bool = True,
    announce: Optional[Callable[[str], None]] = None,
) -> CorpusRun:
    """Redact every shard of ``inputs`` into ``output`` (see the module docstring and docs/scaling.md).

    Args:
        inputs: files, folders and glob patterns.
        output: the output folder (mirrors the inputs' layout; holds ``manifest.json``).
        options: what to hide and how (:class:`~flair_modernbert.bulk.shard.RedactOptions`); with
            ``options.span_maps`` each shard's span map goes to ``span_map_dir``.
        span_map_dir: the span-map folder (default: ``OUTPUT.span-maps`` next to the output); created readable
            by its owner only.
        engine: ``local`` or ``ray``.
        workers: local processes, or Ray actors.
        threads: torch threads per worker (Ray: CPUs per actor, default 1).
        address: the Ray cluster (``engine="ray"``); ``None`` starts one on this machine.
        gpus_per_actor: GPUs per Ray actor.
        overwrite: redo every shard, even when the folder holds a run with other options.
        progress: show a progress bar over the input bytes (stderr).
        announce: receives one-line summaries (default: the module logger).

    Returns:
        What the run did; ``run.failed`` lists the shards that failed.
    """
    if engine not in ENGINES:
        raise ValueError(f"--engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "local" and (address is not None or gpus_per_actor):
        raise ValueError("--address and --gpus-per-actor go with --engine ray")
    announce = announce or (lambda line: logger.info("%s", line))
    # workers and Ray actors may start elsewhere: they get the model's absolute path (the manifest too)
    options = replace(options, model=str(Path(options.model).resolve()))
    if options.recall_bias is None:
        # the model's default (its run folder's recipe.yaml) decides the output as much as --recall-bias does: fixed
        # here, so the manifest holds it and a rerun after the recipe changed is refused, not mixed in
        from flair_modernbert.inference import run_recall_bias

        options = replace(options, recall_bias=run_recall_bias(options.model))
    started = time.perf_counter()
    output = Path(output)
    maps: Union[Path, bool] = (Path(span_map_dir) if span_map_dir is not None else default_map_dir(output)) \
        if options.span_maps else False
    shards = find_shards(inputs, output, maps)
    manifest = Manifest.open(output, options, overwrite=overwrite)
    todo = manifest.todo(shards)
    run = CorpusRun(output, manifest, len(shards), len(shards) - len(todo))
    where = f"{workers} Ray actor(s)" if engine == "ray" else f"{workers} process(es)" if workers > 1 else "this process"
    announce(f"{len(shards)} shard(s), {run.skipped} finished earlier, {len(todo)} to redact with {where}")
    output.mkdir(parents=True, exist_ok=True)
    if isinstance(maps, Path):
        maps.mkdir(parents=True, exist_ok=True, mode=0o700)
        maps.chmod(0o700)
    manifest.save()
    from tqdm import tqdm

    bar = tqdm(total=sum(shard.size for shard in todo), unit="B", unit_scale=True, desc="redacting",
               disable=not progress or not todo, smoothing=0.1)

    # the local engine reports bytes as it reads them; Ray reports whole shards
    per_shard = engine == "ray"

    def done(shard: Shard, result: ShardResult) -> None:
        manifest.record(shard, result)
        if per_shard:
            bar.update(shard.size)
        run.done += 1
        run.lines += result.lines
        bar.set_postfix_str(f"{run.done + len(run.failed)}/{len(todo)} shards", refresh=False)
        logger.info("%s: %d lines, %d entities, %.1f s", shard.relative, result.lines,
                    sum(result.entities.values()), result.seconds)

    def failed(shard: Shard, error: str) -> None:
        manifest.fail(shard, error)
        if per_shard:
            bar.update(shard.size)
        run.failed.append((shard.relative, error))
        logger.error("%s", error)

    try:
        if engine == "ray":
            from flair_modernbert.bulk.ray_engine import run_on_ray

            run_on_ray(todo, options, done, failed, actors=workers, cpus_per_actor=threads or 1,
                       gpus_per_actor=gpus_per_actor, address=address)
        else:
            from flair_modernbert.bulk.local import run_local

            run_local(todo, options, done, failed, workers=workers, threads=threads, progress=bar.update)
    finally:
        bar.close()
        run.seconds = time.perf_counter() - started
        manifest.save({"last_run": {"engine": engine, "workers": workers, "threads": threads,
                                    "shards_redacted": run.done, "shards_failed": len(run.failed),
                                    "lines": run.lines, "seconds": round(run.seconds, 2)}})
    announce(f"{run.done} shard(s) redacted ({run.lines} lines, {run.documents_per_second:.1f} lines/s), "
             f"{run.skipped} skipped, {len(run.failed)} failed; manifest: {manifest.path}")
    return run
