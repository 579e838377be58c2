"""Speed benchmark: stock Flair (padded) vs ``ModernBertEmbeddings`` (unpadded), same model, same batches.

Both embeddings share one set of weights and the same tokenization. Batches of real sentences are embedded
alternately by the two (the order flips every batch, so drift in machine load hits both), for inference
(``torch.no_grad``, eval mode) and for a training step (forward + backward of a fixed random projection of
the word embeddings, train mode, ``fine_tune=True``). Peak memory is measured in a separate pass: CUDA's
allocator peak on GPU, the peak of live tensor memory seen by the PyTorch profiler on CPU.

Run ``flair-modernbert bench --help`` for the options.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import torch

from flair_modernbert.data.columns import read_words

logger = logging.getLogger(__name__)


@dataclass
class BenchResult:
    """Throughput and memory of one embeddings variant in one mode."""

    variant: str
    mode: str
    seconds: float
    sentences: int
    subtokens: int
    padded_subtokens: int
    peak_mib: Optional[float] = None

    @property
    def sentences_per_s(self) -> float:
        return self.sentences / self.seconds

    @property
    def subtokens_per_s(self) -> float:
        return self.subtokens / self.seconds


@dataclass
class BenchReport:
    """Everything one benchmark run measured, plus how it was set up."""

    setup: dict
    results: list[BenchResult] = field(default_factory=list)
    max_abs_diff: Optional[float] = None

    def speedup(self, mode: str) -> Optional[float]:
        by_variant = {r.variant: r for r in self.results if r.mode == mode}
        if {"stock", "unpadded"} <= set(by_variant):
            return by_variant["stock"].seconds / by_variant["unpadded"].seconds
        return None

    def table(self) -> str:
        """A Markdown table of the results."""
        from tabulate import tabulate

        rows = []
        for r in self.results:
            speedup = self.speedup(r.mode) if r.variant == "unpadded" else None
            rows.append([r.mode, "stock Flair (padded)" if r.variant == "stock" else "ModernBertEmbeddings",
                         f"{r.sentences_per_s:.1f}", f"{r.subtokens_per_s:.0f}",
                         "-" if r.peak_mib is None else f"{r.peak_mib:.0f}", "" if speedup is None else f"{speedup:.2f}x"])
        headers = ["mode", "embeddings", "sentences/s", "subtokens/s", "peak memory (MiB)", "speed-up"]
        return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True,
                        colalign=("left", "left", "right", "right", "right", "right"))

    def to_dict(self) -> dict:
        return {
            "setup": self.setup,
            "max_abs_diff": self.max_abs_diff,
            "results": [
                {**asdict(r), "sentences_per_s": r.sentences_per_s, "subtokens_per_s": r.subtokens_per_s}
                for r in self.results
            ],
            "speedup": {mode: self.speedup(mode) for mode in sorted({r.mode for r in self.results})},
        }


def _batches(sentences: list[list[str]], batch_size: int, count: int, seed: int, source: str) -> list[list[list[str]]]:
    rng = random.Random(seed)
    pool = list(sentences)
    rng.shuffle(pool)
    batches = [pool[i : i + batch_size] for i in range(0, len(pool) - batch_size + 1, batch_size)]
    if len(batches) < count:
        raise ValueError(
            f"--batches/--warmup/--batch-size: {count} batches of {batch_size} sentences need {count * batch_size} "
            f"sentences, but {source} has {len(pool)}; lower them or pass a larger --data file"
        )
    return batches[:count]


def _autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _inference_step(embeddings, words: list[list[str]], device, precision) -> None:
    from flair.data import Sentence

    sentences = [Sentence(w) for w in words]
    with torch.no_grad(), _autocast(device, precision):
        embeddings.embed(sentences)


def _training_step(embeddings, words: list[list[str]], device, precision, projection: torch.Tensor) -> None:
    from flair.data import Sentence

    sentences = [Sentence(w) for w in words]
    with _autocast(device, precision):
        embeddings.embed(sentences)
        stacked = torch.cat([torch.stack([t.get_embedding() for t in s]) for s in sentences])
        loss = (stacked.float() @ projection).square().mean()
    loss.backward()
    embeddings.model.zero_grad(set_to_none=True)


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Send what C++ code writes to file descriptor 2 (the profiler's start/stop lines) to /dev/null."""
    import os
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def _cpu_peak_mib(run: Callable[[], None]) -> float:
    """Peak of live CPU tensor memory during ``run``, from the profiler's allocation events."""
    from torch.profiler import ProfilerActivity, profile

    with _quiet_native_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    # self usage excludes children, so summing it over all events in time order tracks live memory
    live = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak / 2**20


def _peak_mib(run: Callable[[], None], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        run()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    return _cpu_peak_mib(run)


def _count_subtokens(tokenizer, batches) -> tuple[int, int]:
    real = padded = 0
    for batch in batches:
        lengths = [len(ids) for ids in tokenizer(batch, is_split_into_words=True)["input_ids"]]
        real += sum(lengths)
        padded += max(lengths) * len(lengths)
    return real, padded


def run_benchmark(
    data: Union[Path, Sequence[Path]],
    model: Optional[str] = None,
    size: str = "base",
    batch_size: int = 32,
    batches: int = 6,
    warmup: int = 1,
    modes: Sequence[str] = ("inference", "train"),
    precision: str = "fp32",
    device: Optional[str] = None,
    subtoken_pooling: str = "first",
    measure_memory: bool = True,
    seed: int = 0,
    progress: bool = True,
) -> BenchReport:
    """Embed the same batches with stock Flair and ``ModernBertEmbeddings``; time and measure both.

    Args:
        data: column files whose first column holds the tokens.
        model: a ModernBERT directory or id; None builds ``random:<size>``.
        size: shape of the random model when ``model`` is None (``base`` = ModernBERT-base).
        batch_size: sentences per batch.
        batches: timed batches per variant and mode.
        warmup: untimed batches first (allocator, thread pools).
        modes: ``inference`` and/or ``train``.
        precision: ``fp32`` or ``bf16`` (autocast).
        device: ``cpu``, ``cuda``...; default cuda when available.
        subtoken_pooling: Flair pooling for both.
        measure_memory: run the separate peak-memory pass.
        seed: shuffling seed.
        progress: show a progress bar.

    Returns:
        The :class:`BenchReport`.
    """
    import flair
    from flair.embeddings import TransformerWordEmbeddings
    from tqdm import tqdm

    from flair_modernbert.encoder.embeddings import ModernBertEmbeddings
    from flair_modernbert.encoder.random_models import resolve_model_name
    from flair_modernbert.encoder.tokenization import ensure_prefix_space

    # the data first: a mistake there shows before minutes of model building
    paths = [Path(data)] if isinstance(data, (str, Path)) else [Path(p) for p in data]
    all_batches = _batches(read_words(paths), batch_size, warmup + batches, seed, ", ".join(map(str, paths)))
    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    flair.device = target
    model_path = resolve_model_name(model or f"random:{size}")
    ours = ModernBertEmbeddings(model_path, fine_tune=True, subtoken_pooling=subtoken_pooling)
    stock = TransformerWordEmbeddings(model_path, fine_tune=True, subtoken_pooling=subtoken_pooling)
    ensure_prefix_space(stock.tokenizer)
    stock.model.load_state_dict(ours.model.state_dict())
    ours.to(target)
    stock.to(target)
    variants = {"stock": stock, "unpadded": ours}

    timed = all_batches[warmup:]
    real, padded = _count_subtokens(ours.tokenizer, timed)
    config = ours.model.config
    report = BenchReport(
        setup={
            "data": ", ".join(str(p) for p in paths),
            "model": model or f"random:{size}",
            "hidden_size": config.hidden_size,
            "num_hidden_layers": config.num_hidden_layers,
            "intermediate_size": config.intermediate_size,
            "num_attention_heads": config.num_attention_heads,
            "local_attention": config.local_attention,
            "device": torch.cuda.get_device_name(target) if target.type == "cuda" else "cpu",
            "threads": torch.get_num_threads(),
            "precision": precision,
            "batch_size": batch_size,
            "batches": batches,
            "subtoken_pooling": subtoken_pooling,
            "real_subtokens": real,
            "padded_subtokens": padded,
            "real_fraction": real / padded,
            "torch": torch.__version__,
            "attention_backend": ours._backend(target),
        }
    )

    # same numbers first: the comparison is only meaningful if both compute the same thing
    from flair.data import Sentence

    ours.eval()
    stock.eval()
    first = [[Sentence(w) for w in timed[0]] for _ in range(2)]
    with torch.no_grad(), _autocast(target, precision):
        ours.embed(first[0])
        stock.embed(first[1])
    report.max_abs_diff = max(
        float((a.get_embedding().float() - b.get_embedding().float()).abs().max())
        for x, y in zip(*first)
        for a, b in zip(x, y)
    )

    torch.manual_seed(seed)
    projection = torch.randn(ours.embedding_length, 8, device=target)
    steps = {
        "inference": lambda emb, words: _inference_step(emb, words, target, precision),
        "train": lambda emb, words: _training_step(emb, words, target, precision, projection),
    }
    for mode in modes:
        step = steps[mode]
        for emb in variants.values():
            emb.train(mode == "train")
            for words in all_batches[:warmup]:
                step(emb, words)
        seconds = {name: 0.0 for name in variants}
        bar = tqdm(total=2 * len(timed), desc=f"bench {mode}", disable=not progress, unit="batch")
        for index, words in enumerate(timed):
            order = list(variants) if index % 2 == 0 else list(reversed(variants))
            for name in order:
                _sync(target)
                start = time.perf_counter()
                step(variants[name], words)
                _sync(target)
                seconds[name] += time.perf_counter() - start
                bar.update(1)
        bar.close()
        for name, emb in variants.items():
            peak = None
            if measure_memory:
                longest = max(timed, key=lambda b: max(len(s) for s in b))
                peak = _peak_mib(lambda: step(emb, longest), target)
            report.results.append(
                BenchResult(name, mode, seconds[name], len(timed) * batch_size, real, padded, peak)
            )
    return report


def render_markdown(report: BenchReport, command: str) -> str:
    """The report as a Markdown section (what ``docs/benchmarks.md`` records)."""
    s = report.setup
    lines = [
        f"Command: `{command}`",
        "",
        f"Model: {s['model']} (hidden {s['hidden_size']}, {s['num_hidden_layers']} layers, intermediate "
        f"{s['intermediate_size']}, {s['num_attention_heads']} heads, local window {s['local_attention']}); "
        f"device {s['device']}, {s['threads']} threads, {s['precision']}, torch {s['torch']}, "
        f"attention backend `{s['attention_backend']}`.",
        f"Data: {s['data']}, {s['batches']} batches of {s['batch_size']} shuffled sentences; "
        f"{s['real_subtokens']} real of {s['padded_subtokens']} padded subtokens "
        f"({100 * s['real_fraction']:.0f}% real). Max abs difference of the word embeddings: "
        f"{report.max_abs_diff:.2e}.",
        "",
        report.table(),
    ]
    return "\n".join(lines)


def run_benchmark_command(args: Any, command: str, announce: Callable[[str], None]) -> BenchReport:
    """Run the benchmark from the ``bench`` command's options and announce the Markdown report."""
    from flair_modernbert.encoder.random_models import sample_corpus_dir

    files = [args.data] if args.data else sorted(sample_corpus_dir().glob("*.conll"))
    report = run_benchmark(
        data=files,
        model=args.model,
        size=args.size,
        batch_size=args.batch_size,
        batches=args.batches,
        warmup=args.warmup,
        modes=("inference", "train") if args.mode == "both" else (args.mode,),
        precision=args.precision,
        device=args.device,
        subtoken_pooling=args.pooling,
        measure_memory=not args.no_memory,
        seed=args.seed,
        progress=not args.no_progress,
    )
    announce(render_markdown(report, command))
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    return report


# ------------------------------------------------------------------------------------------------ long sequences
@dataclass
class LongResult:
    """One long sequence, embedded by ModernBertEmbeddings and by the HF model's own padded forward."""

    subtokens: int
    ours_seconds: float
    ours_peak_mib: Optional[float]
    hf_seconds: float
    hf_peak_mib: Optional[float]


@dataclass
class DocumentResult:
    """A many-sentence document in ``use_context="document"`` mode vs one pass over the whole document."""

    sentences: int
    subtokens: int
    document_mode_seconds: float
    one_pass_seconds: float

    @property
    def ratio(self) -> float:
        return self.document_mode_seconds / self.one_pass_seconds


def _words_of_length(tokenizer: Any, pool: list[str], subtokens: int, seed: int) -> list[str]:
    """Words from ``pool`` whose tokenization (special tokens included) is exactly ``subtokens`` long."""
    rng = random.Random(seed)

    def length(words: list[str]) -> int:
        return len(tokenizer(words, is_split_into_words=True)["input_ids"])

    words: list[str] = []
    # about one subtoken and a half per word: grow in steps, then trim and pad with one-subtoken words
    while length(words) < subtokens:
        words += [rng.choice(pool) for _ in range(max(1, (subtokens - length(words)) // 2))]
    while len(words) > 1 and length(words) > subtokens:
        words.pop()
    # pad with a word that is one subtoken on its own
    filler = next((w for w in pool if len(tokenizer([w], is_split_into_words=True, add_special_tokens=False)
                                          ["input_ids"]) == 1), None)
    while filler is not None and length(words) < subtokens:
        words.append(filler)
    if length(words) != subtokens:
        raise ValueError(f"could not build a sequence of exactly {subtokens} subtokens")
    return words


def run_long_benchmark(
    lengths: Sequence[int],
    model: Optional[str] = None,
    size: str = "base",
    device: Optional[str] = None,
    measure_memory: bool = True,
    document_sentences: int = 71,
    seed: int = 0,
    announce: Callable[[str], None] = logger.info,
    repeats: int = 3,
) -> tuple[list[LongResult], Optional[DocumentResult]]:
    """Seconds and peak memory of one long sequence per length: ModernBertEmbeddings (unpadded, layer -1) vs
    the Hugging Face ModernBertModel's own forward (``attn_implementation="sdpa"``) on the same ids; then the
    document-mode cost of a many-sentence document.

    Args:
        lengths: subtokens per sequence (special tokens included), e.g. ``[1024, 2048, 4096, 8192]``.
        model: a ModernBERT directory or id; ``None`` builds ``random:<size>``.
        size: shape of the random model.
        device: ``cpu``, ``cuda``...; default cuda when available.
        measure_memory: run the separate peak-memory passes.
        document_sentences: sentences of the document-mode measurement (0 skips it).
        seed: word sampling seed.
        announce: receives a line per measurement.
        repeats: timed runs of each variant (the median is reported; the two variants alternate who goes first).
    """

    import flair
    from flair.data import Sentence

    from flair_modernbert.encoder.embeddings import ModernBertEmbeddings
    from flair_modernbert.encoder.random_models import resolve_model_name, sample_corpus_dir

    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    flair.device = target
    path = resolve_model_name(model or f"random:{size}")
    ours = ModernBertEmbeddings(path, layers="-1", allow_long_sentences=True)
    ours.to(target)
    ours.eval()
    hf = ours.model  # the same module, run through transformers' padded forward
    limit = ours.tokenizer.model_max_length
    if max(lengths) > limit:
        raise ValueError(f"--long: {max(lengths)} subtokens exceed the model's window of {limit}")
    pool = [w for sentence in read_words(sorted(sample_corpus_dir().glob("*.conll"))) for w in sentence]

    def timed(run: Callable[[], None]) -> float:
        _sync(target)
        start = time.perf_counter()
        run()
        _sync(target)
        return time.perf_counter() - start

    warm = pool[:32]  # first calls pay one-time costs (allocator, kernels): not timed
    warm_ids = ours.tokenizer(warm, is_split_into_words=True, return_tensors="pt")["input_ids"].to(target)
    with torch.no_grad():
        ours.embed(Sentence(list(warm)))
        hf(input_ids=warm_ids, attention_mask=torch.ones_like(warm_ids))
    results = []
    for length in lengths:
        words = _words_of_length(ours.tokenizer, pool, length, seed)
        ids = ours.tokenizer(words, is_split_into_words=True, return_tensors="pt")["input_ids"].to(target)

        def run_ours() -> None:
            with torch.no_grad():
                ours.embed(Sentence(list(words)))

        def run_hf() -> None:
            with torch.no_grad():
                hf(input_ids=ids, attention_mask=torch.ones_like(ids))

        times: dict[Callable[[], None], list[float]] = {run_ours: [], run_hf: []}
        for repeat in range(repeats):
            for run in (run_ours, run_hf) if repeat % 2 == 0 else (run_hf, run_ours):
                times[run].append(timed(run))
        ours_seconds, hf_seconds = statistics.median(times[run_ours]), statistics.median(times[run_hf])
        ours_peak = _peak_mib(run_ours, target) if measure_memory else None
        hf_peak = _peak_mib(run_hf, target) if measure_memory else None
        results.append(LongResult(int(ids.shape[1]), ours_seconds, ours_peak, hf_seconds, hf_peak))
        announce(f"{ids.shape[1]} subtokens: ours {ours_seconds:.1f} s, HF {hf_seconds:.1f} s")

    document = None
    if document_sentences:
        sentences = read_words(sample_corpus_dir() / "train.conll")[:document_sentences]
        whole = [w for s in sentences for w in s]
        documented = ModernBertEmbeddings(path, layers="-1", use_context="document")
        documented.model = ours.model  # same weights
        documented.eval()

        def run_document() -> None:
            batch = [Sentence(list(s)) for s in sentences]
            Sentence.set_context_for_sentences(batch)
            with torch.no_grad():
                documented.embed(batch)

        def run_once() -> None:
            with torch.no_grad():
                ours.embed(Sentence(list(whole)))

        subtokens = len(ours.tokenizer(whole, is_split_into_words=True)["input_ids"])
        pairs = [(timed(run_document), timed(run_once)) for _ in range(repeats)]
        document = DocumentResult(len(sentences), subtokens, statistics.median(p[0] for p in pairs),
                                  statistics.median(p[1] for p in pairs))
        announce(f"document of {len(sentences)} sentences: {document.ratio:.2f}x one pass")
    return results, document


def render_long_markdown(results: Sequence[LongResult], document: Optional[DocumentResult], command: str,
                         setup: str) -> str:
    """The long-sequence results as a Markdown section."""
    from tabulate import tabulate

    def mib(value: Optional[float]) -> str:
        return "-" if value is None else f"{value:.0f}"

    rows = [[r.subtokens, f"{r.ours_seconds:.2f}", mib(r.ours_peak_mib), f"{r.hf_seconds:.2f}", mib(r.hf_peak_mib),
             f"{r.hf_seconds / r.ours_seconds:.2f}x"] for r in results]
    headers = ["subtokens", "ModernBertEmbeddings s", "peak MiB", "HF padded sdpa s", "peak MiB", "speed-up"]
    lines = [f"Command: `{command}`", "", setup, "", tabulate(rows, headers=headers, tablefmt="github")]
    if document is not None:
        lines += ["", f"Document mode (`use_context=\"document\"`): {document.sentences} sentences, {document.subtokens} "
                      f"subtokens: {document.document_mode_seconds:.2f} s, one pass over the whole document "
                      f"{document.one_pass_seconds:.2f} s ({document.ratio:.2f}x)."]
    return "\n".join(lines)


def run_long_command(args: Any, command: str, announce: Callable[[str], None]) -> None:
    """``flair-modernbert bench --long 1024,2048,...``."""
    lengths = [int(x) for x in args.long.split(",") if x.strip()]
    results, document = run_long_benchmark(lengths, model=args.model, size=args.size, device=args.device,
                                           measure_memory=not args.no_memory, seed=args.seed,
                                           document_sentences=args.document_sentences, repeats=args.repeats)
    setup = (f"Model: {args.model or 'random:' + args.size}; device {args.device or 'auto'}, "
             f"{torch.get_num_threads()} threads, fp32, torch {torch.__version__}; one sequence per length, "
             f"seconds: median of {args.repeats} runs.")
    announce(render_long_markdown(results, document, command, setup))
    if args.json:
        data = {"long": [asdict(r) for r in results], "document": asdict(document) if document else None}
        args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")


# ------------------------------------------------------------------------------------------------ predict
@dataclass
class PredictResult:
    """``flair-modernbert predict`` on one-sentence lines against the embeddings' own throughput."""

    lines: int
    batch_size: int
    embeddings_sentences_per_s: float
    predict_seconds: float
    redact_seconds: float = 0.0
    repeats: int = 1

    @property
    def predict_lines_per_s(self) -> float:
        return self.lines / self.predict_seconds

    @property
    def ratio(self) -> float:
        return self.predict_lines_per_s / self.embeddings_sentences_per_s

    @property
    def redact_overhead(self) -> float:
        """How much more time ``redact --types all`` takes than ``predict`` (0.03 = 3 %)."""
        return self.redact_seconds / self.predict_seconds - 1


def _one_sentence_lines(samples: list[list[str]]) -> list[str]:
    """The sample's sentences as predict's segmentation cuts them, one per line: lines that predict reads as
    exactly the words the embeddings are timed on (a tweet is often several sentences)."""
    from flair_modernbert.segmentation import sentences

    lines = []
    for words in samples:
        for sentence in sentences(" ".join(words)):
            line = " ".join(word.text for word in sentence)
            again = sentences(line)
            if len(again) == 1 and [word.text for word in again[0]] == line.split(" "):
                lines.append(line)
    return lines


def run_predict_benchmark(lines: int = 512, model: Optional[str] = None, size: str = "base", batch_size: int = 32,
                          device: Optional[str] = None, repeats: int = 1) -> PredictResult:
    """Time ``flair-modernbert predict`` as a whole process (start-up included) on ``lines`` one-sentence lines
    of the shipped sample, and ``ModernBertEmbeddings.embed`` alone on the same sentences in batches (the same
    words: each line is one sentence of predict's segmentation); and ``flair-modernbert redact --types all`` (model
    spans, patterns, placeholders) on the same file. The two commands run ``repeats`` times in alternating order;
    their medians are reported.

    The tagger is a CRF head on the encoder (random weights unless ``model`` is given), saved to a temporary
    folder.
    """
    import subprocess
    import sys
    import tempfile

    import flair
    from flair.data import Sentence
    from flair.models import SequenceTagger

    from flair_modernbert.config import ColumnCorpus
    from flair_modernbert.data import load_corpus
    from flair_modernbert.encoder.embeddings import ModernBertEmbeddings
    from flair_modernbert.encoder.random_models import resolve_model_name, sample_corpus_dir

    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    flair.device = target
    texts = _one_sentence_lines(read_words(sorted(sample_corpus_dir().glob("*.conll"))))
    if len(texts) < lines:
        raise ValueError(f"--predict {lines}: the shipped sample has {len(texts)} sentences")
    texts = texts[:lines]
    embeddings = ModernBertEmbeddings(resolve_model_name(model or f"random:{size}"), fine_tune=True)
    corpus = load_corpus(ColumnCorpus(type="column", path=str(sample_corpus_dir()), column_delimiter="\t"))
    tagger = SequenceTagger(embeddings=embeddings, tag_dictionary=corpus.make_label_dictionary("ner", add_unk=False),
                            tag_type="ner", use_crf=True, use_rnn=False, reproject_embeddings=False)
    with tempfile.TemporaryDirectory(prefix="flair-modernbert-bench-") as folder:
        tagger.save(Path(folder) / "final-model.pt")
        source = Path(folder) / "lines.txt"
        source.write_text("\n".join(texts) + "\n", encoding="utf-8")
        embeddings.eval()
        with torch.no_grad():
            embeddings.embed([Sentence(t.split(" ")) for t in texts[:batch_size]])  # warm-up
            _sync(target)
            start = time.perf_counter()
            for first in range(0, lines, batch_size):
                embeddings.embed([Sentence(t.split(" ")) for t in texts[first : first + batch_size]])
            _sync(target)
        embedded = lines / (time.perf_counter() - start)
        def timed(name: str, *extra: str) -> float:
            command = [sys.executable, "-m", "flair_modernbert.cli", name, str(Path(folder) / "final-model.pt"),
                       str(source), "--batch-size", str(batch_size), "--no-progress", *extra]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - start
            if done.returncode != 0 or len(done.stdout.splitlines()) != lines:
                raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
            return seconds

        predicts, redacts = [], []
        for round_ in range(repeats):
            order = [("predict", predicts), ("redact", redacts)][:: 1 if round_ % 2 == 0 else -1]
            for name, times in order:
                times.append(timed(name, *(("--types", "all") if name == "redact" else ())))
    return PredictResult(lines, batch_size, embedded, statistics.median(predicts), statistics.median(redacts), repeats)


def run_predict_command(args: Any, command: str, announce: Callable[[str], None]) -> None:
    """``flair-modernbert bench --predict 512``."""
    result = run_predict_benchmark(args.predict, model=args.model, size=args.size, batch_size=args.batch_size,
                                   device=args.device, repeats=args.repeats)
    from tabulate import tabulate

    rows = [["ModernBertEmbeddings.embed (in process, batches)", f"{result.embeddings_sentences_per_s:.1f}"],
            ["flair-modernbert predict (whole process, start-up included)", f"{result.predict_lines_per_s:.1f}"],
            ["flair-modernbert redact --types all (whole process)", f"{result.lines / result.redact_seconds:.1f}"]]
    announce("\n".join([f"Command: `{command}`", "",
                        f"{result.lines} one-sentence lines (sentences of the shipped sample as predict segments them), batch {result.batch_size}, "
                        f"model {args.model or 'random:' + args.size}, {torch.get_num_threads()} threads.", "",
                        tabulate(rows, headers=["", "sentences/s"], tablefmt="github", disable_numparse=True), "",
                        f"predict reaches {100 * result.ratio:.0f}% of the embeddings' own throughput; redact --types all "
                        f"takes {100 * result.redact_overhead:+.1f}% time against predict (median of {result.repeats}: "
                        f"{result.predict_seconds:.2f} s vs {result.redact_seconds:.2f} s)."]))
    if args.json:
        args.json.write_text(json.dumps({**asdict(result), "ratio": result.ratio,
                                         "redact_overhead": result.redact_overhead}, indent=2), encoding="utf-8")


def run_bench_command(args: Any, command: str, announce: Callable[[str], None]) -> None:
    """``flair-modernbert bench``: batches of sentences, or ``--long`` sequences, or ``--predict`` lines."""
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.long:
        run_long_command(args, command, announce)
    elif args.predict:
        run_predict_command(args, command, announce)
    else:
        run_benchmark_command(args, command, announce)
