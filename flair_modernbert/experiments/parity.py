"""Quality parity: a plain Flair script vs ``flair-modernbert train``, same corpus, encoder, settings and seeds.

Both sides train a CRF tagger (linear layer + CRF on the encoder's last layer, first-subtoken pooling, no
context) on the same column files with the same hyper-parameters, one run per seed, and are scored on the
corpus's own test split with the same two scorers: seqeval strict (what this library's reports use) and
Flair's own ``evaluate`` (micro F1 over exact spans).

- **stock**: what a Flair user writes -- ``flair.set_seed``, ``ColumnCorpus``, ``TransformerWordEmbeddings``,
  ``SequenceTagger``, ``ModelTrainer.fine_tune`` -- in this process;
- **ours**: the ``flair-modernbert train RECIPE --seeds ...`` command in a subprocess, on a recipe written
  with every setting spelled out (:func:`recipe_dict`; the recipe defaults differ from Flair's).

Every setting of both sides is listed by :func:`settings_rows`. One difference is by design: stock Flair's
trainer scores dev after each epoch itself, and that evaluation draws from torch's random generator, so the
second epoch's shuffling and dropout masks differ from ours (this library scores dev with seqeval in a plugin
that restores the generators). The first epoch is the same computation on both sides, which the table shows as
the largest difference between the two sides' batch losses in epoch 1.

Usage::

    python -m flair_modernbert.experiments.parity --model DIR --data ../shared/data/wnut17 --seeds 1,2,3

Results are kept in ``--output`` (default ``runs/parity``); ``--reuse`` keeps finished runs found there.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

logger = logging.getLogger(__name__)

__all__ = [
    "ParitySettings", "SideResult", "settings_rows", "recipe_dict", "train_stock", "start_ours", "collect_ours",
    "train_ours", "run_parity", "render", "main",
]

LABEL_TYPE = "ner"
STOCK, OURS = "stock", "ours"


@dataclass
class ParitySettings:
    """The settings both sides train with (Flair's ``fine_tune`` defaults unless noted).

    Attributes:
        model: a local Hugging Face encoder folder (any encoder Flair's ``TransformerWordEmbeddings`` takes).
        data: the folder of column files (token, BIO tag; tab-separated).
        train_file, dev_file, test_file: file names in ``data``.
        seeds: one run per seed and side.
        learning_rate, mini_batch_size, max_epochs, warmup_fraction: ``fine_tune``'s arguments.
        weight_decay: AdamW's (``fine_tune`` passes none, so torch's default 0.01 applies).
        gradient_clipping: ``max_grad_norm`` (``train_custom``'s default 5.0).
        hidden_size, dropout, word_dropout, locked_dropout, tag_format: ``SequenceTagger``'s (its defaults).
        eval_batch_size: prediction batch size (no effect on scores).
        train_sentences: train on the first N sentences of the train file only (both sides); ``None``: all.
    """

    model: str
    data: Path
    train_file: str = "wnut17train.conll"
    dev_file: str = "emerging.dev.conll"
    test_file: str = "emerging.test.annotated"
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    learning_rate: float = 5e-5
    mini_batch_size: int = 16
    max_epochs: int = 2
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    gradient_clipping: float = 5.0
    hidden_size: int = 256
    dropout: float = 0.0
    word_dropout: float = 0.05
    locked_dropout: float = 0.5
    tag_format: str = "BIOES"
    eval_batch_size: int = 16
    train_sentences: Optional[int] = None


@dataclass
class SideResult:
    """One side's run with one seed.

    Attributes:
        seqeval_f1: test micro F1, seqeval strict (IOB2).
        flair_f1: test micro F1 from Flair's ``evaluate`` on the final model.
        batch_losses: the training loss of every batch, in order.
        batches_per_epoch: batches in one epoch.
        seconds: wall time of training and scoring (noisy on a shared machine).
    """

    seqeval_f1: float
    flair_f1: float
    batch_losses: list[float]
    batches_per_epoch: int
    seconds: float

    def epoch_losses(self, epoch: int) -> list[float]:
        """Batch losses of one epoch (1-based)."""
        return self.batch_losses[(epoch - 1) * self.batches_per_epoch : epoch * self.batches_per_epoch]


# ------------------------------------------------------------------------------------------------ settings
def settings_rows(s: ParitySettings) -> list[tuple[str, str, str]]:
    """``(setting, stock Flair, flair-modernbert recipe)`` for every setting that can matter."""
    return [
        ("encoder", f"TransformerWordEmbeddings({Path(s.model).name})", "embeddings.model (not ModernBERT: "
         "Flair's TransformerWordEmbeddings)"),
        ("layers / layer_mean", '"-1" / True', 'embeddings.layers "-1", layer_mean true'),
        ("subtoken_pooling", "first", "embeddings.subtoken_pooling first"),
        ("context", "use_context False", "embeddings.use_context false"),
        ("fine_tune / long sentences", "True / allow_long_sentences True", "fine_tune true, allow_long_sentences true"),
        ("head", f"use_crf True, use_rnn False, reproject False, hidden_size {s.hidden_size}",
         f"tagger.head crf, hidden_size {s.hidden_size}"),
        ("tag_format", s.tag_format, f"tagger.tag_format {s.tag_format}"),
        ("label dictionary", "make_label_dictionary(add_unk=False)", "the same (training.run.prepare)"),
        ("dropout / word / locked", f"{s.dropout} / {s.word_dropout} / {s.locked_dropout}",
         f"tagger.dropout {s.dropout}, word_dropout {s.word_dropout}, locked_dropout {s.locked_dropout}"),
        ("optimizer", f"AdamW (fine_tune's), weight_decay {s.weight_decay} (torch's default)",
         f"AdamW, training.weight_decay {s.weight_decay}"),
        ("learning rate", f"{s.learning_rate}, no decoder_learning_rate",
         f"training.learning_rate {s.learning_rate}, decoder_learning_rate null"),
        ("schedule", f"linear, warmup_fraction {s.warmup_fraction}",
         f"training.scheduler linear, warmup_fraction {s.warmup_fraction}"),
        ("gradient clipping", f"max_grad_norm {s.gradient_clipping}",
         f"training.gradient_clipping {s.gradient_clipping}"),
        ("batch / epochs", f"{s.mini_batch_size} / {s.max_epochs}",
         f"training.mini_batch_size {s.mini_batch_size}, max_epochs {s.max_epochs}"),
        ("shuffling / storage / AMP", "shuffle True / embeddings_storage_mode none / off", "the same (fine_tune)"),
        ("seeding", "flair.set_seed(seed) before loading and again before the model",
         "the same (training.run.prepare, build)"),
        ("dev during training", "Flair's evaluate after each epoch (draws from torch's RNG)",
         "seqeval after each epoch, RNG state restored"),
        ("model scored", "final model (use_final_model_for_eval True)", "final model"),
        ("test", f"{s.test_file}, scored with seqeval and Flair", f"{s.test_file}, scored with seqeval and Flair"),
    ]


def recipe_dict(s: ParitySettings, data_dir: Path) -> dict[str, Any]:
    """The recipe of the ``flair-modernbert train`` side, every setting written out."""
    return {
        "corpus": {
            "type": "column",
            "path": str(data_dir),
            "train_file": s.train_file,
            "dev_file": s.dev_file,
            "test_file": s.test_file,
            "columns": {0: "text", 1: LABEL_TYPE},
            "column_delimiter": "\t",
            "tag_scheme": "BIO",
            "label_type": LABEL_TYPE,
        },
        "embeddings": {
            "model": str(s.model),
            "layers": "-1",
            "layer_mean": True,
            "subtoken_pooling": "first",
            "use_context": False,
            "fine_tune": True,
            "allow_long_sentences": True,
        },
        "tagger": {
            "head": "crf",
            "loss": "ce",
            "tag_format": s.tag_format,
            "hidden_size": s.hidden_size,
            "dropout": s.dropout,
            "word_dropout": s.word_dropout,
            "locked_dropout": s.locked_dropout,
        },
        "training": {
            "learning_rate": s.learning_rate,
            "decoder_learning_rate": None,
            "mini_batch_size": s.mini_batch_size,
            "eval_batch_size": s.eval_batch_size,
            "max_epochs": s.max_epochs,
            "scheduler": "linear",
            "warmup_fraction": s.warmup_fraction,
            "weight_decay": s.weight_decay,
            "gradient_clipping": s.gradient_clipping,
            "mixed_precision": False,
            "seeds": list(s.seeds),
            "device": "cpu",
            "train_with_dev": False,
            "save_checkpoints": False,
        },
        "augmentation": [],
    }


def prepare_data(s: ParitySettings, out: Path) -> Path:
    """The folder both sides read: ``s.data``, or a copy whose train file holds the first ``train_sentences``."""
    if s.train_sentences is None:
        return Path(s.data).resolve()
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    kept, sentences, blank = [], 0, True
    with (Path(s.data) / s.train_file).open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                if not blank:
                    sentences += 1
                    if sentences == s.train_sentences:
                        break
                kept.append("\n")
                blank = True
                continue
            kept.append(line)
            blank = False
    (folder / s.train_file).write_text("".join(kept).rstrip("\n") + "\n\n", encoding="utf-8")
    for name in (s.dev_file, s.test_file):
        shutil.copyfile(Path(s.data) / name, folder / name)
    return folder.resolve()


def _load_stock_corpus(s: ParitySettings, data_dir: Path) -> Any:
    from flair.datasets import ColumnCorpus

    return ColumnCorpus(
        data_dir,
        {0: "text", 1: LABEL_TYPE},
        train_file=s.train_file,
        dev_file=s.dev_file,
        test_file=s.test_file,
        column_delimiter="\t",
        autofind_splits=False,
        in_memory=True,
    )


def _flair_f1(tagger: Any, sentences: Sequence[Any], batch_size: int) -> float:
    result = tagger.evaluate(list(sentences), gold_label_type=LABEL_TYPE, mini_batch_size=batch_size,
                             return_loss=False)
    return float(result.main_score)


# ------------------------------------------------------------------------------------------------ stock
def train_stock(s: ParitySettings, data_dir: Path, seed: int, out: Path) -> SideResult:
    """One run of a plain Flair script (no flair_modernbert code in the training path)."""
    import flair
    from flair.embeddings import TransformerWordEmbeddings
    from flair.models import SequenceTagger
    from flair.trainers import ModelTrainer
    from flair.trainers.plugins.base import TrainerPlugin

    from flair_modernbert.evaluation import evaluate_tagger

    class BatchLosses(TrainerPlugin):
        def __init__(self) -> None:
            super().__init__()
            self.losses: list[float] = []

        @TrainerPlugin.hook
        def metric_recorded(self, record: Any) -> None:
            if record.is_scalar and tuple(record.name) == ("train", "batch_loss"):
                self.losses.append(float(record.value))

    started = time.time()
    flair.device = "cpu"
    flair.set_seed(seed)
    corpus = _load_stock_corpus(s, data_dir)
    label_dictionary = corpus.make_label_dictionary(LABEL_TYPE, add_unk=False)
    # seeded again before the model, as the library does: both sides start from the same weights
    # (make_label_dictionary iterates a DataLoader, which draws from torch's generator: seeding only once would
    # start from other random head weights)
    flair.set_seed(seed)
    embeddings = TransformerWordEmbeddings(
        s.model, layers="-1", layer_mean=True, subtoken_pooling="first", fine_tune=True, use_context=False,
        allow_long_sentences=True,
    )
    tagger = SequenceTagger(
        embeddings=embeddings,
        tag_dictionary=label_dictionary,
        tag_type=LABEL_TYPE,
        tag_format=s.tag_format,
        hidden_size=s.hidden_size,
        use_crf=True,
        use_rnn=False,
        reproject_embeddings=False,
        dropout=s.dropout,
        word_dropout=s.word_dropout,
        locked_dropout=s.locked_dropout,
    )
    recorder = BatchLosses()
    results = ModelTrainer(tagger, corpus).fine_tune(
        out,
        learning_rate=s.learning_rate,
        mini_batch_size=s.mini_batch_size,
        eval_batch_size=s.eval_batch_size,
        max_epochs=s.max_epochs,
        warmup_fraction=s.warmup_fraction,
        weight_decay=s.weight_decay,
        max_grad_norm=s.gradient_clipping,
        plugins=[recorder],
    )
    tagger.eval()
    seqeval = evaluate_tagger(tagger, list(corpus.test), LABEL_TYPE, s.eval_batch_size, progress=False)
    return SideResult(
        seqeval_f1=seqeval.micro["f1"],
        flair_f1=float(results["test_score"]),  # Flair's evaluate of the final model on test
        batch_losses=recorder.losses,
        batches_per_epoch=math.ceil(len(corpus.train) / s.mini_batch_size),
        seconds=round(time.time() - started, 1),
    )


# ------------------------------------------------------------------------------------------------ ours
def _tensorboard_batch_losses(folder: Path) -> list[float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    return [float(e.value) for e in sorted(events.Scalars("2_train/batch_loss"), key=lambda e: e.step)]


def ours_command(recipe: Path, seeds: Sequence[int], out: Path) -> list[str]:
    """The ``flair-modernbert train`` command line of the ``ours`` side."""
    return [sys.executable, "-m", "flair_modernbert.cli", "train", str(recipe), "--seeds",
            ",".join(map(str, seeds)), "--output", str(out), "--no-progress"]


@dataclass
class _OursRun:
    process: subprocess.Popen
    runs: Path
    started: float


def start_ours(s: ParitySettings, data_dir: Path, out: Path, threads: Optional[int] = None) -> _OursRun:
    """Start all seeds through ``flair-modernbert train`` (a subprocess; its output goes to ``out/train.log``)."""
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    recipe = out / "parity-recipe.yaml"
    recipe.write_text(yaml.safe_dump(recipe_dict(s, data_dir), sort_keys=False), encoding="utf-8")
    runs = out / "runs"
    if runs.exists():
        shutil.rmtree(runs)
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    command = ours_command(recipe, s.seeds, runs)
    logger.info("running %s (output in %s)", shlex.join(command), out / "train.log")
    with (out / "train.log").open("w", encoding="utf-8") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    return _OursRun(process, runs, time.time())


def collect_ours(s: ParitySettings, data_dir: Path, run: _OursRun) -> dict[int, SideResult]:
    """Wait for :func:`start_ours`'s command, then score each seed's final model with Flair's ``evaluate``."""
    from flair.models import SequenceTagger

    import flair_modernbert  # noqa: F401 - registers ModernBertEmbeddings for SequenceTagger.load

    code = run.process.wait()
    if code != 0:
        log = run.runs.parent / "train.log"
        raise RuntimeError(f"flair-modernbert train failed with exit status {code}; see {log}")
    seconds = (time.time() - run.started) / len(s.seeds)
    corpus = _load_stock_corpus(s, data_dir)
    batches = math.ceil(len(corpus.train) / s.mini_batch_size)
    results = {}
    for seed in s.seeds:
        folder = run.runs / f"seed-{seed}" if len(s.seeds) > 1 else run.runs
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        tagger = SequenceTagger.load(folder / "final-model.pt")
        tagger.eval()
        results[seed] = SideResult(
            seqeval_f1=float(data["micro_f1"]),
            flair_f1=_flair_f1(tagger, corpus.test, s.eval_batch_size),
            batch_losses=_tensorboard_batch_losses(Path(data["tensorboard"])),
            batches_per_epoch=batches,
            seconds=round(seconds, 1),
        )
    return results


def train_ours(s: ParitySettings, data_dir: Path, out: Path, threads: Optional[int] = None) -> dict[int, SideResult]:
    """All seeds through ``flair-modernbert train`` (a subprocess), then Flair's ``evaluate`` of each model."""
    return collect_ours(s, data_dir, start_ours(s, data_dir, out, threads))


# ------------------------------------------------------------------------------------------------ report
def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    from flair_modernbert.training.results import mean_std

    return mean_std(values)


def _epoch1_difference(stock: SideResult, ours: SideResult) -> float:
    import numpy as np

    # ours come from TensorBoard, which stores float32: compare at that precision
    a = np.asarray(stock.epoch_losses(1), dtype=np.float32)
    b = np.asarray(ours.epoch_losses(1), dtype=np.float32)
    if len(a) != len(b) or not len(a):
        return float("nan")
    return float(np.max(np.abs(a - b)))


def render(s: ParitySettings, stock: dict[int, SideResult], ours: dict[int, SideResult], command: str) -> str:
    """The settings, the per-seed scores with mean ± std, and the verdict, as Markdown."""
    from tabulate import tabulate

    rows = []
    for seed in s.seeds:
        a, b = stock[seed], ours[seed]
        rows.append([seed, f"{a.seqeval_f1:.4f}", f"{b.seqeval_f1:.4f}", f"{a.flair_f1:.4f}", f"{b.flair_f1:.4f}",
                     f"{_epoch1_difference(a, b):.1e}", f"{a.seconds / 60:.1f} / {b.seconds / 60:.1f}"])
    means = {}
    for name, side in ((STOCK, stock), (OURS, ours)):
        for scorer in ("seqeval_f1", "flair_f1"):
            means[name, scorer] = _mean_std([getattr(side[seed], scorer) for seed in s.seeds])

    def cell(name: str, scorer: str) -> str:
        mean, std = means[name, scorer]
        return f"{mean:.4f} ± {std:.4f}"

    rows.append(["mean ± std", cell(STOCK, "seqeval_f1"), cell(OURS, "seqeval_f1"), cell(STOCK, "flair_f1"),
                 cell(OURS, "flair_f1"), "", ""])
    headers = ["seed", "stock F1 (seqeval)", "ours F1 (seqeval)", "stock F1 (Flair)", "ours F1 (Flair)",
               "epoch-1 batch loss max |Δ|", "minutes stock / ours"]
    stock_mean, stock_std = means[STOCK, "seqeval_f1"]
    ours_mean, _ = means[OURS, "seqeval_f1"]
    verdict = "PASS" if ours_mean >= stock_mean - stock_std else "FAIL"
    train_size = f"first {s.train_sentences} sentences of {s.train_file}" if s.train_sentences else s.train_file
    lines = [
        f"Command: `{command}`",
        "",
        f"Encoder `{s.model}`; corpus `{s.data}` (train: {train_size}; dev: {s.dev_file}; test: {s.test_file}); "
        f"seeds {', '.join(map(str, s.seeds))}; torch threads {os.environ.get('OMP_NUM_THREADS', 'default')}.",
        "",
        tabulate([list(r) for r in settings_rows(s)], headers=["setting", "stock Flair", "flair-modernbert train"],
                 tablefmt="github"),
        "",
        tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True),
        "",
        f"Test micro F1 (seqeval strict): stock {stock_mean:.4f} ± {stock_std:.4f}, ours {ours_mean:.4f} ± "
        f"{means[OURS, 'seqeval_f1'][1]:.4f}; ours ≥ stock mean − 1 std ({stock_mean - stock_std:.4f}): {verdict}.",
    ]
    return "\n".join(lines)


def _save(path: Path, result: SideResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(result)), encoding="utf-8")


def _load(path: Path) -> Optional[SideResult]:
    return SideResult(**json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None


def run_parity(s: ParitySettings, out: Path, reuse: bool = False, threads: Optional[int] = None,
               parallel: bool = False) -> tuple[dict[int, SideResult], dict[int, SideResult]]:
    """Train both sides for every seed (stock in this process, ours with the command line).

    Args:
        s: the settings.
        out: where the runs and their scores are kept (``stock/seed-N``, ``ours/runs/seed-N``).
        reuse: keep the scores of finished runs found in ``out`` (ours: all seeds or none).
        threads: torch CPU threads of each side.
        parallel: train ours (the subprocess) while stock trains, instead of after it.
    """
    import torch

    if threads:
        torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = prepare_data(s, out)
    saved_ours = {seed: out / OURS / f"seed-{seed}.json" for seed in s.seeds}
    ours = {seed: _load(path) for seed, path in saved_ours.items()} if reuse else {}
    pending = None
    if not ours or any(result is None for result in ours.values()):
        logger.info("flair-modernbert train, seeds %s", s.seeds)
        pending = start_ours(s, data_dir, out / OURS, threads) if parallel else None
    stock: dict[int, SideResult] = {}
    for seed in s.seeds:
        saved = out / STOCK / f"seed-{seed}" / "parity.json"
        result = _load(saved) if reuse else None
        if result is None:
            logger.info("stock Flair, seed %d", seed)
            result = train_stock(s, data_dir, seed, saved.parent)
            _save(saved, result)
        stock[seed] = result
    if not ours or any(result is None for result in ours.values()):
        ours = collect_ours(s, data_dir, pending or start_ours(s, data_dir, out / OURS, threads))
        for seed, result in ours.items():
            _save(saved_ours[seed], result)
    return stock, ours  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m flair_modernbert.experiments.parity",
        description="Train stock Flair and flair-modernbert train on the same corpus, encoder, settings and "
                    "seeds; print both test scores (mean ± std).",
    )
    p.add_argument("--model", required=True, help="local Hugging Face encoder folder")
    p.add_argument("--data", type=Path, required=True, help="folder of tab-separated column files (token, BIO tag)")
    p.add_argument("--train-file", default="wnut17train.conll")
    p.add_argument("--dev-file", default="emerging.dev.conll")
    p.add_argument("--test-file", default="emerging.test.annotated")
    p.add_argument("--seeds", default="1,2,3", help="comma-separated seeds (default 1,2,3)")
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--warmup-fraction", type=float, default=0.1)
    p.add_argument("--word-dropout", type=float, default=0.05, help="SequenceTagger word_dropout (Flair's default)")
    p.add_argument("--locked-dropout", type=float, default=0.5)
    p.add_argument("--train-sentences", type=int, default=None, help="train on the first N sentences only")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads of each side")
    p.add_argument("--parallel", action="store_true", help="train both sides at the same time")
    p.add_argument("--output", type=Path, default=Path("runs/parity"), help="where runs and scores are kept")
    p.add_argument("--reuse", action="store_true", help="keep finished runs found in --output")
    p.add_argument("--markdown", type=Path, default=None, help="also write the report to this file")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the side-by-side and print the report."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)  # progress of this experiment on stderr; the report alone on stdout
    import flair  # noqa: F401 - creates Flair's console handler, quieted next (its log still goes to training.log)

    for handler in logging.getLogger("flair").handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    settings = ParitySettings(
        model=str(Path(args.model).resolve()),
        data=args.data.resolve(),
        train_file=args.train_file,
        dev_file=args.dev_file,
        test_file=args.test_file,
        seeds=[int(x) for x in args.seeds.split(",") if x.strip()],
        learning_rate=args.learning_rate,
        mini_batch_size=args.batch_size,
        max_epochs=args.epochs,
        warmup_fraction=args.warmup_fraction,
        word_dropout=args.word_dropout,
        locked_dropout=args.locked_dropout,
        train_sentences=args.train_sentences,
    )
    stock, ours = run_parity(settings, args.output.resolve(), reuse=args.reuse, threads=args.threads,
                              parallel=args.parallel)
    arguments = list(argv if argv is not None else sys.argv[1:])
    command = "python -m flair_modernbert.experiments.parity " + shlex.join(arguments)
    report = render(settings, stock, ours, command)
    sys.stdout.write(report + "\n")  # the experiment's output, as the bench command announces its report
    if args.markdown:
        args.markdown.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
