"""Train taggers from recipes with Flair's ``ModelTrainer``, and evaluate trained models.

One run (:func:`train_run`) goes corpus -> augmentation (train split only) -> embeddings -> tagger -> Flair's
``fine_tune`` (AdamW, the recipe's scheduler, plugins for TensorBoard, progress and checkpoints) -> seqeval
evaluation of the final model on test and on the lower-cased test -> files. It writes to its output folder:

- ``final-model.pt``: the Flair model (``SequenceTagger.load`` after ``import flair_modernbert``);
- ``results.json``: test micro/macro/per-class P/R/F1, lower-cased test scores, dev scores, seed, timings;
- ``report.txt``: seqeval's classification report and the original-vs-lower-cased table;
- ``confusion.png``: the entity-type confusion matrix of the test set (also a TensorBoard image);
- ``README.md``: a model card; ``recipe.yaml``: the resolved recipe; ``training.log``: Flair's log;
- ``tensorboard/``: the TensorBoard log (see :mod:`flair_modernbert.plugins` for its tags);
- ``augmentation.json`` when the recipe augments; ``checkpoint.pt`` with ``training.save_checkpoints``.

Flair's trainer sees the train split only (and dev when ``train_with_dev``): the dev split is evaluated once
per epoch with seqeval by the TensorBoard plugin (entity level, strict) instead of a second time by Flair,
and the test split once at the end.

:func:`train_recipe` runs every seed of a recipe; with several seeds each run gets a ``seed-N`` folder and
the top folder gets ``results.json`` and ``summary.md`` with mean ± std over seeds.

Under ``torchrun --nproc_per_node N`` (``WORLD_SIZE`` > 1) each process trains on its own GPU with Flair's
distributed training (``multi_gpu=True``); rank 0 evaluates and writes the files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import statistics
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import flair
import torch
from flair.data import Corpus
from flair.models import SequenceTagger
from flair.trainers import ModelTrainer

from flair_modernbert.corpora import load_corpus, summarize_corpus
from flair_modernbert.evaluation import (
    EvaluationResult,
    evaluate_tagger,
    evaluation_summary,
    format_side_by_side,
)
from flair_modernbert.model_card import write_model_card
from flair_modernbert.plugins import (
    CheckpointPlugin,
    OneCycleSchedulerPlugin,
    ProgressPlugin,
    ResumePlugin,
    TensorBoardPlugin,
)
from flair_modernbert.recipes import CorpusConfig, Recipe, apply_overrides, check_runtime, load_recipe, save_recipe
from flair_modernbert.tagging import build_embeddings, build_tagger

logger = logging.getLogger(__name__)

__all__ = ["RunResult", "TrainingSummary", "train_run", "train_recipe", "evaluate_model", "load_tagger"]

Announce = Callable[[str], None]


def _quiet(line: str) -> None:
    logger.info("%s", line)


# ------------------------------------------------------------------------------------------------ results
@dataclass
class RunResult:
    """What one training run produced.

    Attributes:
        output_dir: the run's folder.
        seed: its seed.
        results: the content of its ``results.json``.
    """

    output_dir: Path
    seed: int
    results: dict[str, Any]

    @property
    def model_path(self) -> Path:
        return self.output_dir / "final-model.pt"

    def metric(self, name: str) -> Optional[float]:
        """``micro_f1``, ``lowercased_micro_f1``, ``macro_f1`` or ``f1:<TYPE>`` (test), ``None`` when absent."""
        if name.startswith("f1:"):
            per_class = (self.results.get("test") or {}).get("per_class", {})
            entry = per_class.get(name[3:])
            return entry["f1"] if entry else None
        if name == "macro_f1":
            return (self.results.get("test") or {}).get("macro", {}).get("f1")
        return self.results.get(name)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


@dataclass
class TrainingSummary:
    """All runs of :func:`train_recipe` (one per seed)."""

    output_dir: Path
    runs: list[RunResult] = field(default_factory=list)

    def aggregate(self) -> dict[str, dict[str, float]]:
        """``{metric: {"mean": .., "std": .., "n": ..}}`` for test micro/macro F1, lower-cased F1, per type F1."""
        names = ["micro_f1", "macro_f1", "lowercased_micro_f1"]
        types = sorted({t for run in self.runs for t in (run.results.get("test") or {}).get("per_class", {})})
        names += [f"f1:{t}" for t in types]
        table = {}
        for name in names:
            values = [v for v in (run.metric(name) for run in self.runs) if v is not None]
            if values:
                mean, std = mean_std(values)
                table[name] = {"mean": mean, "std": std, "n": len(values)}
        return table

    def table(self) -> str:
        """A Markdown table: one row per seed and a mean ± std row."""
        lines = ["| seed | test micro F1 | test macro F1 | lower-cased micro F1 |", "|---|---|---|---|"]

        def cell(value: Optional[float]) -> str:
            return "–" if value is None else f"{value:.4f}"

        for run in self.runs:
            lines.append(
                f"| {run.seed} | {cell(run.metric('micro_f1'))} | {cell(run.metric('macro_f1'))} "
                f"| {cell(run.metric('lowercased_micro_f1'))} |"
            )
        if len(self.runs) > 1:
            agg = self.aggregate()

            def ms(name: str) -> str:
                return f"{agg[name]['mean']:.4f} ± {agg[name]['std']:.4f}" if name in agg else "–"

            lines.append(f"| mean ± std | {ms('micro_f1')} | {ms('macro_f1')} | {ms('lowercased_micro_f1')} |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seeds": [run.seed for run in self.runs],
            "runs": {str(run.seed): str(run.output_dir) for run in self.runs},
            "aggregate": self.aggregate(),
        }


# ------------------------------------------------------------------------------------------------ helpers
def _distributed() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _setup_distributed() -> None:
    """Join the process group torchrun set up the environment for (one GPU per process)."""
    if torch.distributed.is_initialized():
        return
    if not torch.cuda.is_available():
        raise ValueError("torchrun with WORLD_SIZE > 1: Flair's distributed training needs one CUDA GPU per process")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local_rank)
    flair.device = torch.device("cuda", local_rank)
    torch.distributed.init_process_group(backend="nccl")


def _is_main() -> bool:
    return not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0


def _seed_everything(seed: int, deterministic: bool) -> None:
    flair.set_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def _augment(corpus: Corpus, recipe: Recipe, seed: int, out: Path) -> tuple[Corpus, Optional[dict[str, Any]]]:
    augmentation = recipe.augmentation
    if not augmentation or (isinstance(augmentation, dict) and not augmentation.get("ops")):
        return corpus, None
    from flair_modernbert.augmentation import augment_corpus
    from flair_modernbert.augmentation.config import resolve_augmentation

    config = resolve_augmentation(augmentation, source=f"{recipe.source or '<recipe>'}: augmentation")
    # a seed written in the augmentation section fixes the data; otherwise it varies with the run's seed
    augmented, report = augment_corpus(
        corpus, config, label_type=recipe.corpus.label_type, seed=config.seed if config.seed is not None else seed
    )
    data = report.to_dict()
    if _is_main():
        (out / "augmentation.json").write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return augmented, data


def _hparams(recipe: Recipe, seed: int) -> dict[str, Any]:
    ops = recipe.augmentation.get("ops", []) if isinstance(recipe.augmentation, dict) else recipe.augmentation
    names = [op.get("type", "?") if isinstance(op, dict) else str(op) for op in ops or []]
    return {
        "model": recipe.embeddings.model,
        "layers": recipe.embeddings.layers,
        "subtoken_pooling": recipe.embeddings.subtoken_pooling,
        "use_context": str(recipe.embeddings.use_context),
        "fine_tune": recipe.embeddings.fine_tune,
        "head": recipe.tagger.head,
        "loss": recipe.tagger.loss,
        "tag_format": recipe.tagger.tag_format,
        "learning_rate": recipe.training.learning_rate,
        "mini_batch_size": recipe.training.mini_batch_size,
        "max_epochs": recipe.training.max_epochs,
        "scheduler": recipe.training.scheduler,
        "warmup_fraction": recipe.training.warmup_fraction,
        "weight_decay": recipe.training.weight_decay,
        "augmentation": "+".join(names) or "none",
        "seed": seed,
    }


def _evaluate_split(tagger: SequenceTagger, sentences: Any, label_type: str, batch: int,
                    lowercase: bool = False, progress: bool = False) -> EvaluationResult:
    return evaluate_tagger(tagger, list(sentences), gold_label_type=label_type, mini_batch_size=batch,
                           lowercase=lowercase, progress=progress)


def load_tagger(path: Union[str, Path]) -> SequenceTagger:
    """Load a trained tagger from ``final-model.pt`` or from a training output folder.

    Raises:
        FileNotFoundError: nothing to load there (the message says what was looked for).
    """
    import flair_modernbert  # noqa: F401 - registers ModernBertEmbeddings for SequenceTagger.load

    model = Path(path)
    if model.is_dir():
        model = model / "final-model.pt"
    if not model.is_file():
        raise FileNotFoundError(
            f"no model at {model}: pass a final-model.pt or the output folder of a training run"
        )
    return SequenceTagger.load(model)


# ------------------------------------------------------------------------------------------------ one run
def train_run(
    recipe: Recipe,
    output_dir: Union[str, Path],
    seed: int,
    resume: bool = False,
    announce: Optional[Announce] = None,
    tensorboard_dir: Optional[Union[str, Path]] = None,
    progress: bool = True,
    extra_plugins: Sequence[Any] = (),
) -> RunResult:
    """Train and evaluate one model of a recipe with one seed (see the module docstring for the files).

    Args:
        recipe: a validated recipe (:func:`~flair_modernbert.recipes.load_recipe`).
        output_dir: the run's folder.
        seed: seeds Python, numpy and torch (weights of the head, data order, dropout, augmentation unless
            the augmentation section fixes its own seed).
        resume: continue from ``output_dir/checkpoint.pt`` when it exists (checkpoints are then written
            whatever ``training.save_checkpoints`` says).
        announce: receives progress lines; the first says where the TensorBoard log goes.
        tensorboard_dir: the TensorBoard log folder; default ``output_dir/tensorboard``.
        progress: show progress bars.
        extra_plugins: more Flair ``TrainerPlugin``s to attach (after the built-in ones).

    Returns:
        The :class:`RunResult`.

    Raises:
        ValueError: a CUDA-only option on a CPU machine, or a recipe that does not fit the corpus.
        FileNotFoundError: the corpus (or the model directory) is missing.
    """
    announce = announce or _quiet
    started = time.time()
    if _distributed():
        _setup_distributed()
        device = flair.device
    else:
        device = check_runtime(recipe)
        flair.device = device
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tb_dir = Path(tensorboard_dir).resolve() if tensorboard_dir else out / "tensorboard"
    if _is_main():
        announce(f"TensorBoard logs: {tb_dir}  (view with: tensorboard --logdir {tb_dir})")
        save_recipe(dataclasses.replace(recipe, output_dir=str(out)), out / "recipe.yaml")
    _seed_everything(seed, recipe.training.deterministic)

    label_type = recipe.corpus.label_type
    corpus = load_corpus(recipe)
    corpus, augmentation = _augment(corpus, recipe, seed, out)
    if corpus.train is None or len(corpus.train) == 0:
        raise ValueError(f"{recipe.source or '<recipe>'}: the corpus has no training sentences")
    summary = summarize_corpus(corpus, label_type)
    announce(summary.format())
    label_dictionary = corpus.make_label_dictionary(label_type, add_unk=False)
    if len(label_dictionary) == 0:
        raise ValueError(
            f"{recipe.source or '<recipe>'}: the training split has no '{label_type}' spans; check "
            "corpus.label_type and the tag column"
        )

    _seed_everything(seed, recipe.training.deterministic)  # the same weights whatever loading consumed
    embeddings = build_embeddings(recipe.embeddings)
    tagger = build_tagger(embeddings, label_dictionary, label_type, recipe.tagger)

    training = recipe.training
    checkpoint_path = out / "checkpoint.pt"
    start_epoch = 0
    plugins: list[Any] = []
    if resume:
        if checkpoint_path.is_file():
            checkpoint = torch.load(checkpoint_path, map_location=flair.device, weights_only=False)
            tagger.load_state_dict(checkpoint["model"]["state_dict"])
            start_epoch = int(checkpoint["epoch"])
            plugins.append(ResumePlugin(checkpoint))
            announce(f"resuming from {checkpoint_path} after epoch {start_epoch} of {training.max_epochs}")
        else:
            announce(f"--resume: no checkpoint at {checkpoint_path}, starting from the beginning")
    if training.save_checkpoints or resume:
        plugins.append(CheckpointPlugin(checkpoint_path))

    trainer_corpus = Corpus(
        train=corpus.train,
        dev=corpus.dev if training.train_with_dev else None,
        test=None,
        name=corpus.name,
        sample_missing_splits=False,
    )

    batches_per_epoch = -(-len(trainer_corpus.train) // training.mini_batch_size)

    # the last epoch's scores are the final model's (use_final_model_for_eval): kept to reuse for results.json
    latest: dict[str, dict[str, Any]] = {}

    def evaluate_for_tensorboard(split: str) -> dict[str, Any]:
        data = getattr(corpus, split)
        latest[split] = _evaluate_split(tagger, data, label_type, training.eval_batch_size).to_dict()
        return latest[split]

    tensorboard = TensorBoardPlugin(
        tb_dir,
        evaluate=evaluate_for_tensorboard,
        splits=("dev",) if corpus.dev is not None and len(corpus.dev) else (),
        hparams=_hparams(recipe, seed),
        batch_offset=start_epoch * batches_per_epoch,
    )
    plugins.append(tensorboard)
    plugins.append(
        ProgressPlugin(
            batches_per_epoch * training.max_epochs,
            announce,
            scores=lambda: {"dev": tensorboard.last_scores.get("dev", {})},
            first_epoch=start_epoch,
            enabled=progress,
        )
    )
    if training.scheduler == "onecycle":
        plugins.append(OneCycleSchedulerPlugin(warmup_fraction=training.warmup_fraction))
    plugins.extend(extra_plugins)

    trainer = ModelTrainer(tagger, trainer_corpus)
    if start_epoch < training.max_epochs:
        with warnings.catch_warnings():
            # Flair 0.15 builds its GradScaler with torch's deprecated spelling: nothing a user can act on
            warnings.filterwarnings("ignore", message=r".*torch\.cuda\.amp\.GradScaler", category=FutureWarning)
            trainer.fine_tune(
                out,
                learning_rate=training.learning_rate,
                decoder_learning_rate=training.decoder_learning_rate,
                mini_batch_size=training.mini_batch_size,
                mini_batch_chunk_size=training.mini_batch_chunk_size,
                eval_batch_size=training.eval_batch_size,
                max_epochs=training.max_epochs,
                optimizer=torch.optim.AdamW,
                weight_decay=training.weight_decay,
                warmup_fraction=training.warmup_fraction,
                attach_default_scheduler=training.scheduler == "linear",
                # None would also stop Flair from logging the gradient norm: never clip instead
                max_grad_norm=training.gradient_clipping if training.gradient_clipping is not None else float("inf"),
                use_amp=training.mixed_precision,
                train_with_dev=training.train_with_dev,
                use_final_model_for_eval=True,
                epoch=start_epoch,
                plugins=plugins,
                multi_gpu=torch.distributed.is_initialized(),
                shuffle=True,
            )
    else:
        announce(f"the checkpoint already holds all {training.max_epochs} epochs; evaluating it")
        if _is_main():
            tagger.save(out / "final-model.pt")
    train_seconds = time.time() - started

    if not _is_main():
        tensorboard.close()
        return RunResult(out, seed, {})

    results: dict[str, Any] = {
        "seed": seed,
        "seeds": [seed],
        "recipe": recipe.source,
        "corpus": corpus.name,
        "label_type": label_type,
        "model": recipe.embeddings.model,
        "head": recipe.tagger.head,
        "loss": recipe.tagger.loss,
        "epochs": training.max_epochs,
        "train_sentences": len(corpus.train),
        "augmentation": augmentation,
        "device": str(device),
        "train_seconds": round(train_seconds, 1),
        "tensorboard": str(tb_dir),
    }
    tagger.eval()
    step = training.max_epochs
    final_scores: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    report = []
    if corpus.dev is not None and len(corpus.dev):
        # no training ran when a resumed run's checkpoint already held every epoch: evaluate dev here then
        results["dev"] = latest.get("dev") or _evaluate_split(
            tagger, corpus.dev, label_type, training.eval_batch_size
        ).to_dict()
        results["dev_micro_f1"] = results["dev"]["micro"]["f1"]
    if corpus.test is not None and len(corpus.test):
        announce(f"evaluating on {len(corpus.test)} test sentences (original and lower-cased)")
        test = _evaluate_split(tagger, corpus.test, label_type, training.eval_batch_size, progress=progress)
        lower = _evaluate_split(tagger, corpus.test, label_type, training.eval_batch_size, lowercase=True,
                                progress=progress)
        results.update(evaluation_summary(test, lower))
        results["per_class"] = results["test"]["per_class"]
        final_scores = {"test": results["test"], "test_lowercased": results["test_lowercased"]}
        test.confusion.save(out / "confusion.png")
        figures["test/confusion_matrix"] = test.confusion.figure()
        report += [
            "Test set, seqeval entity level (strict IOB2)",
            "",
            test.report,
            "",
            "Case robustness: original vs lower-cased test set",
            "",
            format_side_by_side(test, lower),
        ]
        announce(f"test micro F1 {test.micro['f1']:.4f}, lower-cased test micro F1 {lower.micro['f1']:.4f}")
    else:
        report.append("The corpus has no test split; nothing evaluated.")
    tensorboard.log_final(final_scores, step=step, figures=figures)
    tensorboard.close()

    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "report.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    write_model_card(out / "README.md", recipe, results)
    announce(f"model and reports written to {out}")
    return RunResult(out, seed, results)


# ------------------------------------------------------------------------------------------------ recipes
def train_recipe(
    recipe: Union[str, Path, Recipe],
    overrides: Sequence[str] = (),
    output_dir: Optional[Union[str, Path]] = None,
    seeds: Optional[Sequence[int]] = None,
    resume: bool = False,
    announce: Optional[Announce] = None,
    progress: bool = True,
) -> TrainingSummary:
    """Train a recipe once per seed.

    Args:
        recipe: a recipe file or a :class:`Recipe`.
        overrides: ``--set`` strings (``training.learning_rate=1e-5``).
        output_dir: overrides the recipe's ``output_dir``.
        seeds: overrides ``training.seeds``.
        resume: continue interrupted runs from their checkpoints.
        announce: receives progress lines; the first says where the TensorBoard logs go.
        progress: show progress bars.

    Returns:
        The :class:`TrainingSummary`. One seed writes into ``output_dir``; several seeds write
        ``output_dir/seed-N`` each (TensorBoard runs under ``output_dir/tensorboard/seed-N``) plus
        ``results.json`` and ``summary.md`` with mean ± std.
    """
    announce = announce or _quiet
    if isinstance(recipe, Recipe):
        loaded = apply_overrides(recipe, overrides) if overrides else recipe
    else:
        loaded = load_recipe(recipe, overrides)
    out = Path(output_dir) if output_dir is not None else Path(loaded.output_dir)
    out = out.resolve()
    run_seeds = list(seeds) if seeds else list(loaded.training.seeds)
    if not run_seeds:
        raise ValueError("no seeds: give --seeds or training.seeds")
    if len(set(run_seeds)) != len(run_seeds):
        raise ValueError(f"seeds repeat: {run_seeds}")
    summary = TrainingSummary(out)
    if len(run_seeds) == 1:
        summary.runs.append(train_run(loaded, out, run_seeds[0], resume=resume, announce=announce, progress=progress))
        return summary
    announce(f"TensorBoard logs: {out / 'tensorboard'}  (one run per seed; tensorboard --logdir {out / 'tensorboard'})")
    for index, seed in enumerate(run_seeds, start=1):
        announce(f"--- seed {seed} ({index}/{len(run_seeds)})")
        summary.runs.append(
            train_run(loaded, out / f"seed-{seed}", seed, resume=resume, announce=announce,
                      tensorboard_dir=out / "tensorboard" / f"seed-{seed}", progress=progress)
        )
    if _is_main():
        (out / "results.json").write_text(json.dumps(summary.to_dict(), indent=2), encoding="utf-8")
        (out / "summary.md").write_text(summary.table() + "\n", encoding="utf-8")
        announce(summary.table())
    return summary


# ------------------------------------------------------------------------------------------------ evaluate
def _corpus_config(corpus: Union[str, Path], overrides: Sequence[str]) -> CorpusConfig:
    path = Path(corpus)
    if path.is_file():
        return load_recipe(path, overrides).corpus
    if path.is_dir():
        from flair_modernbert.recipes import recipe_from_dict

        return recipe_from_dict({"corpus": {"type": "column", "path": str(path.resolve())}}, overrides,
                                source=str(path)).corpus
    raise FileNotFoundError(
        f"corpus {path} does not exist: pass a recipe file (its corpus section is used) or a folder of column files"
    )


def evaluate_model(
    model: Union[str, Path, SequenceTagger],
    corpus: Union[str, Path],
    overrides: Sequence[str] = (),
    split: str = "test",
    output: Optional[Union[str, Path]] = None,
    mini_batch_size: int = 16,
    progress: bool = True,
) -> str:
    """seqeval report of a trained model on a split of a corpus, original and lower-cased side by side.

    Args:
        model: ``final-model.pt``, a training output folder, or a loaded tagger.
        corpus: a recipe file (its corpus section) or a folder of column files (``text ner``, BIO).
        overrides: ``--set`` strings for the corpus (``corpus.tag_scheme=IOB1``).
        split: ``train``, ``dev`` or ``test``.
        output: when given, writes ``results.json``, ``report.txt`` and ``confusion.png`` there.
        mini_batch_size: prediction batch size.
        progress: show progress bars.

    Returns:
        The report text (what the ``evaluate`` command prints).
    """
    tagger = model if isinstance(model, SequenceTagger) else load_tagger(model)
    cfg = _corpus_config(corpus, overrides)
    data = load_corpus(cfg)
    sentences = getattr(data, split)
    if sentences is None or len(sentences) == 0:
        raise ValueError(f"{corpus}: the corpus has no {split} split")
    if cfg.label_type != tagger.label_type:
        logger.info("gold label type %r, model label type %r", cfg.label_type, tagger.label_type)
    original = _evaluate_split(tagger, sentences, cfg.label_type, mini_batch_size, progress=progress)
    lower = _evaluate_split(tagger, sentences, cfg.label_type, mini_batch_size, lowercase=True, progress=progress)
    text = "\n".join([
        f"{split} split of {data.name}: {len(sentences)} sentences, seqeval entity level (strict IOB2)",
        "",
        format_side_by_side(original, lower),
        "",
        "Classification report (original case)",
        "",
        original.report,
    ])
    if output is not None:
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        results = {"corpus": data.name, "split": split, **evaluation_summary(original, lower, split)}
        (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
        (out / "report.txt").write_text(text + "\n", encoding="utf-8")
        original.confusion.save(out / "confusion.png")
    return text
