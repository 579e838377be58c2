"""The local engine: shards redacted in this process, or in ``workers`` processes each holding one tagger.

With one worker the tagger is loaded here and the shards are done in order. With more, a pool of processes
(started with ``spawn``: a fresh interpreter, no forked torch state) loads the tagger once per process and takes
shards as it frees up; each process uses ``threads`` torch threads (default: the cores divided among the workers).
A worker that dies (killed, out of memory) breaks the pool: the shards it held are redone by a new pool, up to
:data:`ATTEMPTS` times each, then reported failed. A shard that raises fails alone; the others go on.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Optional, Sequence

from flair_modernbert.bulk.shard import RedactOptions, ShardError, ShardResult, redact_shard
from flair_modernbert.bulk.shards import Shard

logger = logging.getLogger(__name__)

__all__ = ["ATTEMPTS", "Done", "Failed", "run_local", "load_worker_tagger"]

#: how often a shard is tried when the process redacting it dies
ATTEMPTS = 3
#: seconds between a worker's progress messages
PROGRESS_EVERY = 0.25

Done = Callable[[Shard, ShardResult], None]
Failed = Callable[[Shard, str], None]


def load_worker_tagger(options: RedactOptions, threads: Optional[int]) -> Any:
    """Set the torch threads and load the run's tagger (every engine's workers start with this)."""
    import torch

    from flair_modernbert.inference import load_tagger

    if threads:
        torch.set_num_threads(threads)
    return load_tagger(options.model, trust=options.trust)


# ------------------------------------------------------------------------------------------------ worker side
_worker: dict[str, Any] = {}


def _start_worker(options: RedactOptions, threads: int, messages: Any) -> None:
    from flair_modernbert.training.run import flair_console

    flair_console(logging.WARNING)
    _worker.update(options=options, messages=messages, error=None)
    try:
        _worker["tagger"] = load_worker_tagger(options, threads)
    except Exception as error:  # reported per shard: a failing initializer would only say the pool broke
        _worker["error"] = f"the model could not be loaded: {type(error).__name__}: {error}"


def _redact_in_worker(shard: Shard) -> ShardResult:
    if _worker["error"] is not None:
        raise ShardError(f"{shard.relative}: {_worker['error']}")
    messages = _worker["messages"]
    messages.put(("start", shard.relative, 0))
    pending, last = [0], [time.monotonic()]

    def progress(count: int) -> None:
        pending[0] += count
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            messages.put(("bytes", shard.relative, pending[0]))
            pending[0], last[0] = 0, now

    try:
        return redact_shard(_worker["tagger"], shard, _worker["options"], progress)
    finally:
        messages.put(("bytes", shard.relative, pending[0]))


# ------------------------------------------------------------------------------------------------ driver side
def run_local(
    shards: Sequence[Shard],
    options: RedactOptions,
    done: Done,
    failed: Failed,
    workers: int = 1,
    threads: Optional[int] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> None:
    """Redact the shards here or in ``workers`` processes; ``done``/``failed`` are called here as each ends.

    Args:
        shards: the shards to do.
        options: the run's options.
        done: receives each finished shard and its counts.
        failed: receives each failed shard and the error message.
        workers: processes; 1 redacts in this process.
        threads: torch threads per worker (default: this process's setting with one worker, else the cores
            divided among the workers).
        progress: receives the input bytes read as the work goes on.
    """
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}")
    if not shards:
        return
    if workers == 1:
        tagger = load_worker_tagger(options, threads)
        for shard in shards:
            try:
                result = redact_shard(tagger, shard, options, progress)
            except ShardError as error:
                failed(shard, str(error))
            else:
                done(shard, result)
        return
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    _run_pool(list(shards), options, done, failed, workers, threads, progress)


def _run_pool(shards: list[Shard], options: RedactOptions, done: Done, failed: Failed, workers: int, threads: int,
              progress: Optional[Callable[[int], None]]) -> None:
    context = multiprocessing.get_context("spawn")
    attempts: Counter = Counter()
    remaining = {shard.relative: shard for shard in shards}
    while remaining:
        # a queue and its listener per pool: a worker killed while writing to the queue leaves its lock taken (or
        # half a message in it), which must not stall the next pool's workers
        messages = context.Queue()
        running: set[str] = set()
        stop = threading.Event()
        listener = threading.Thread(target=_listen, args=(messages, running, progress, stop), name="bulk-progress",
                                    daemon=True)
        listener.start()
        broken = False
        try:
            pool = ProcessPoolExecutor(max_workers=min(workers, len(remaining)), mp_context=context,
                                       initializer=_start_worker, initargs=(options, threads, messages))
            try:
                futures: dict[Future, Shard] = {pool.submit(_redact_in_worker, shard): shard
                                                for shard in remaining.values()}
                waiting = set(futures)
                while waiting and not broken:
                    finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                    for future in finished:
                        broken |= _settle(future, futures[future], remaining, done, failed)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            if broken:
                time.sleep(PROGRESS_EVERY)  # the listener takes the last "start" messages
        finally:
            stop.set()
            listener.join(timeout=1.0)
            messages.close()
        if broken:
            lost = [relative for relative in remaining if relative in running] or list(remaining)
            for relative in lost:
                attempts[relative] += 1
                if attempts[relative] >= ATTEMPTS:
                    failed(remaining.pop(relative), f"{relative}: the process redacting it died {ATTEMPTS} "
                                                    "times (killed, or out of memory on this shard)")
            if remaining:
                logger.warning("a worker process died (killed or out of memory); starting new workers for the "
                               "%d shards left (redoing %s)", len(remaining), ", ".join(sorted(lost)))


def _listen(messages: Any, running: set[str], progress: Optional[Callable[[int], None]],
            stop: threading.Event) -> None:
    """The driver's side of the workers' messages: which shards started, and bytes read for the progress bar."""
    while not stop.is_set():
        try:
            kind, relative, count = messages.get(timeout=0.1)
        except queue.Empty:
            continue
        except (EOFError, OSError, ValueError):
            return
        if kind == "start":
            running.add(relative)
        elif progress is not None and count:
            progress(count)


def _settle(future: Future, shard: Shard, remaining: dict[str, Shard], done: Done, failed: Failed) -> bool:
    """Report a finished future; ``True`` when the pool broke (the shard stays to be redone)."""
    try:
        result = future.result()
    except BrokenProcessPool:
        return True
    except ShardError as error:
        remaining.pop(shard.relative)
        failed(shard, str(error))
        return False
    except Exception as error:  # a worker that could not even start (the model does not load, ...)
        remaining.pop(shard.relative)
        failed(shard, f"{shard.relative}: {type(error).__name__}: {error}")
        return False
    remaining.pop(shard.relative)
    done(shard, result)
    return False
