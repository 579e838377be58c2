"""Dynamic batching: the sentences of concurrent requests tagged together, on one model worker thread.

Requests put a job (their documents, already segmented) on a thread-safe queue and await a future; the worker
thread takes the first job, waits up to ``max_wait_ms`` for more until ``max_batch`` sentences are gathered, and
tags them all with one :func:`~flair_modernbert.inference.tag_documents` call (one packed forward; requests that
chose different recall biases get one call per bias, since the bias is applied to the whole forward). The event
loop never runs torch; only the worker touches the tagger.

A failing batch is tagged again job by job, so one bad request fails alone, and the worker never dies of it. A job
whose client went away before its batch started is dropped (its future is cancelled).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from typing import Any, Optional, Sequence

from flair_modernbert.inference import Document, apply_types, tag_documents
from flair_modernbert.redaction.types import TypeSelection

logger = logging.getLogger(__name__)

__all__ = ["BatchStats", "DynamicBatcher", "NotRunning"]

#: the model's spans of every type and no pattern spans: what a batch of mixed type selections is tagged with
_MODEL_ONLY = TypeSelection(None, frozenset())
_STOP = object()


class NotRunning(RuntimeError):
    """The batcher is not running (not started yet, or stopped)."""


@dataclass
class BatchStats:
    """Counters of a batcher (no text, only numbers).

    Attributes:
        batches: ``tag_documents`` calls.
        jobs: requests tagged.
        sentences: sentences tagged.
        merged: batches that held sentences of more than one request.
        max_jobs: the most requests one batch held.
        cancelled: requests dropped because their client went away before their batch started.
        failed: requests whose tagging raised.
        recent: ``(requests, sentences)`` of the last 1,000 batches.
    """

    batches: int = 0
    jobs: int = 0
    sentences: int = 0
    merged: int = 0
    max_jobs: int = 0
    cancelled: int = 0
    failed: int = 0
    recent: deque = field(default_factory=lambda: deque(maxlen=1000), repr=False)

    def to_dict(self) -> dict[str, int]:
        """The counters, without ``recent``."""
        return {key: value for key, value in asdict(self).items() if key != "recent"}


@dataclass
class _Job:
    documents: list[Document]
    types: Optional[TypeSelection]
    sentences: int
    recall_bias: Optional[float] = None
    future: Future = field(default_factory=Future)


class DynamicBatcher:
    """Tags the documents of concurrent requests together on one worker thread.

    Args:
        tagger: a Flair ``SequenceTagger`` (only the worker thread uses it once started).
        max_batch: sentences per batch (and per forward): a batch is tagged once it holds this many.
        max_wait_ms: how long the first job of a batch waits for others.
        unit: ``sentence`` or ``document`` (see :func:`~flair_modernbert.inference.tag_documents`).
        warm_up: tag one short text before reporting ready (the first forward is the slow one).
    """

    def __init__(self, tagger: Any, max_batch: int = 32, max_wait_ms: float = 10.0, unit: str = "sentence",
                 warm_up: bool = True) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch: expected a number >= 1, got {max_batch}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms: expected a number >= 0, got {max_wait_ms}")
        self.tagger = tagger
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.unit = unit
        self.warm_up = warm_up
        self.stats = BatchStats()
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._accepting = False

    # -------------------------------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Start the worker thread (returns at once; :attr:`ready` turns true after the warm-up).

        A stopped batcher can be started again (an app served twice, e.g. in tests)."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the batcher runs already")
        self._ready.clear()
        self._accepting = True
        self._thread = threading.Thread(target=self._run, name="flair-modernbert-tagger", daemon=True)
        self._thread.start()

    @property
    def ready(self) -> bool:
        """Whether the worker runs, has warmed up and takes jobs."""
        return self._accepting and self._ready.is_set() and self._thread is not None and self._thread.is_alive()

    def wait_ready(self, timeout: Optional[float] = None) -> bool:
        """Block until the warm-up is done (or ``timeout`` seconds passed); returns :attr:`ready`."""
        self._ready.wait(timeout)
        return self.ready

    def stop(self, timeout: Optional[float] = None) -> None:
        """Take no more jobs, tag the ones queued, and end the worker thread."""
        self._accepting = False
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("the tagger thread did not finish within %s s", timeout)

    # ---------------------------------------------------------------------------------------------- jobs
    def submit(self, documents: Sequence[Document], types: Optional[TypeSelection] = None,
               recall_bias: Optional[float] = None) -> Future:
        """Queue documents (thread-safe); the future's result is the documents with their spans filled in.

        Cancelling the future before its batch starts drops the job. ``recall_bias``: as for
        :func:`~flair_modernbert.inference.tag_documents` (``None``: the tagger's default).

        Raises:
            NotRunning: the batcher was not started or is stopping.
        """
        if not self._accepting:
            raise NotRunning("the tagger is not running")
        documents = list(documents)
        sentences = sum(max(1, len(document.segment(self.unit))) for document in documents)
        job = _Job(documents, types, sentences, recall_bias)
        self._queue.put(job)
        return job.future

    async def tag(self, documents: Sequence[Document], types: Optional[TypeSelection] = None,
                  recall_bias: Optional[float] = None) -> list[Document]:
        """Tag documents in the next batch; cancelling the awaiting task drops the job if it has not started."""
        return await asyncio.wrap_future(self.submit(documents, types, recall_bias))

    # -------------------------------------------------------------------------------------------- worker
    def _run(self) -> None:
        if self.warm_up:
            try:
                tag_documents(self.tagger, [Document("Warm up .")], None, self.max_batch, self.unit)
            except Exception as error:  # noqa: BLE001 - a real batch will report it; the worker stays up
                logger.error("warm-up failed: %s", type(error).__name__)
        self._ready.set()
        carry: Any = None
        while True:
            job = carry if carry is not None else self._queue.get()
            carry = None
            if job is _STOP:
                return
            batch, count = [job], job.sentences
            deadline = time.monotonic() + self.max_wait
            while count < self.max_batch:
                try:
                    left = deadline - time.monotonic()
                    following = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if following is _STOP or count + following.sentences > self.max_batch:
                    carry = following  # starts the next batch (or ends the worker after this one)
                    break
                batch.append(following)
                count += following.sentences
            self._process(batch)

    def _process(self, batch: list[_Job]) -> None:
        live = [job for job in batch if job.future.set_running_or_notify_cancel()]
        self.stats.cancelled += len(batch) - len(live)
        if not live:
            return
        try:
            self._tag(live)
        except Exception as error:  # noqa: BLE001 - retried job by job below, so only the bad one fails
            if len(live) == 1:
                self._fail(live[0], error)
                return
            logger.warning("a batch of %d requests failed (%s); tagging them one by one", len(live),
                           type(error).__name__)
            for job in live:
                try:
                    self._tag([job])
                except Exception as single:  # noqa: BLE001
                    self._fail(job, single)
                    continue
                job.future.set_result(job.documents)
            return
        for job in live:
            job.future.set_result(job.documents)

    def _fail(self, job: _Job, error: Exception) -> None:
        self.stats.failed += 1
        job.future.set_exception(error)

    def _tag(self, jobs: list[_Job]) -> None:
        by_bias: dict[Optional[float], list[_Job]] = {}
        for job in jobs:  # the bias lowers O in the whole forward: one forward per bias
            by_bias.setdefault(job.recall_bias, []).append(job)
        for bias, group in by_bias.items():
            documents = [document for job in group for document in job.documents]
            selections = {job.types for job in group}
            if len(selections) == 1:  # the common case: exactly what the CLI does
                tag_documents(self.tagger, documents, group[0].types, self.max_batch, self.unit, bias)
            else:  # one forward for every type, then each request's own selection
                tag_documents(self.tagger, documents, _MODEL_ONLY, self.max_batch, self.unit, bias)
                for job in group:
                    for document in job.documents:
                        apply_types(document, job.types)
        sentences = sum(job.sentences for job in jobs)
        stats = self.stats
        stats.batches += 1
        stats.jobs += len(jobs)
        stats.sentences += sentences
        stats.merged += len(jobs) > 1
        stats.max_jobs = max(stats.max_jobs, len(jobs))
        stats.recent.append((len(jobs), sentences))
