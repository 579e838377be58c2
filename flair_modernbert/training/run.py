"""One training run as prepare → build → fit → report, and a recipe's runs over its seeds.

- :func:`prepare`: the device, the output folder (``recipe.yaml``), the seed, the corpus and its augmented
  training split, the label dictionary.
- :func:`build`: embeddings and tagger from the recipe (re-seeded, so the weights do not depend on what loading
  consumed from the random generators).
- :func:`fit`: Flair's ``ModelTrainer.fine_tune`` on the training split, with the plugins: TensorBoard (dev
  scored with seqeval after every epoch), progress, checkpoints and resume, the one-cycle scheduler.
- :func:`report`: the final model on test and lower-cased test, then ``results.json``, ``report.txt``,
  ``confusion.png``, the model card and the TensorBoard hyper-parameters (:mod:`~flair_modernbert.training.report`).

Flair's trainer sees the train split only (and dev with ``train_with_dev``): dev is evaluated once per epoch
with seqeval by the TensorBoard plugin instead of a second time by Flair, and test once at the end.
``training.log`` holds Flair's log and this library's for the whole run.

:func:`train_recipe` runs every seed of a recipe; with several seeds each run gets a ``seed-N`` folder and the
top folder gets ``results.json`` and ``summary.md`` with mean ± std over seeds. Under ``torchrun`` each
process trains on its own device with Flair's distributed training; rank 0 evaluates and writes the files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import flair
import torch
from flair.data import Corpus, Dictionary
from flair.datasets import SentenceDataset
from flair.models import SequenceTagger
from flair.trainers import ModelTrainer

from flair_modernbert.config import Recipe, check_runtime, load_recipe, save_recipe, with_overrides
from flair_modernbert.data import document_sequences, load_corpus, summarize_corpus
from flair_modernbert.evaluation import evaluate_tagger
from flair_modernbert.tagging import build_embeddings, build_tagger
from flair_modernbert.training.distributed import (
    distributed_plugins,
    is_distributed,
    is_main_process,
    setup_distributed,
)
from flair_modernbert.training.plugins import (
    OneCycleSchedulerPlugin,
    ProgressPlugin,
    ResumableCheckpointPlugin,
    ResumePlugin,
    TensorBoardPlugin,
)
from flair_modernbert.training.report import write_run_report
from flair_modernbert.training.results import RunResult, RunResults, TrainingSummary

logger = logging.getLogger(__name__)

__all__ = ["Prepared", "Fitted", "flair_console", "logged", "prepare", "build", "fit", "report", "train_run", "train_recipe"]

Announce = Callable[[str], None]
LOG_FILE = "training.log"


def _quiet(line: str) -> None:
    logger.info("%s", line)


def logged(announce: Optional[Announce]) -> Announce:
    """``announce`` that also writes each line to the log (and so to training.log)."""
    if announce is None or announce is _quiet:
        return _quiet

    def both(line: str) -> None:
        logger.info("%s", line)
        announce(line)

    return both


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, numpy and torch (Flair's ``set_seed``); optionally ask torch for deterministic kernels."""
    flair.set_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def flair_console(level: int) -> None:
    """Show only records of ``level`` and up on Flair's console handler (its INFO lines still reach training.log)."""
    import flair  # noqa: F401 - Flair creates its console handler on import

    for handler in logging.getLogger("flair").handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(level)


@contextlib.contextmanager
def run_log(path: Path, append: bool = False) -> Iterator[None]:
    """Write Flair's and this library's log records (INFO and up) to ``path`` while the block runs."""
    handler = logging.FileHandler(path, mode="a" if append else "w", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)-15s %(message)s"))
    loggers = [logging.getLogger("flair"), logging.getLogger("flair_modernbert")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.addHandler(handler)
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels):
            log.removeHandler(handler)
            log.setLevel(level)
        handler.close()


def claim_output(out: Path, resume: bool = False, overwrite: bool = False) -> None:
    """Make sure a run may write into ``out``: empty or missing, resumed, or cleared with ``overwrite``.

    Raises:
        FileExistsError: ``out`` holds files and neither ``resume`` nor ``overwrite`` is set, or ``overwrite``
            is set for a folder that is not a run folder (no ``recipe.yaml``), which is never cleared.
    """
    if not out.is_dir() or not any(out.iterdir()) or resume:
        return
    if not overwrite:
        raise FileExistsError(
            f"output folder {out} is not empty (a finished or interrupted run?); pass --resume to continue it, "
            "--overwrite to replace it, or choose another --output"
        )
    if not (out / "recipe.yaml").is_file():
        raise FileExistsError(f"--overwrite: {out} holds no recipe.yaml, so it is not a run folder; not cleared")
    logger.warning("--overwrite: clearing %s", out)
    shutil.rmtree(out)


# ------------------------------------------------------------------------------------------------ prepare
@dataclass
class Prepared:
    """Everything a run needs before the model exists.

    Attributes:
        recipe: the recipe.
        out: the run's folder.
        tensorboard_dir: its TensorBoard folder.
        device: where it trains.
        corpus: the corpus, training split augmented.
        label_dictionary: the span labels of the training split.
        augmentation: the augmentation report (plain data), or ``None``.
        started: when the run started (``time.time()``).
    """

    recipe: Recipe
    out: Path
    tensorboard_dir: Path
    device: torch.device
    corpus: Corpus
    label_dictionary: Dictionary
    augmentation: Optional[dict[str, Any]]
    started: float

    @property
    def label_type(self) -> str:
        return self.recipe.corpus.label_type


def _augment(corpus: Corpus, recipe: Recipe, seed: int, out: Path,
             progress: bool = True) -> tuple[Corpus, Optional[dict[str, Any]]]:
    config = recipe.augmentation
    if not config.ops:
        return corpus, None
    from flair_modernbert.augmentation import augment_corpus

    # a seed written in the augmentation section fixes the data; otherwise it varies with the run's seed
    augmented, augmentation = augment_corpus(
        corpus, config, label_type=recipe.corpus.label_type, seed=config.seed if config.seed is not None else seed,
        progress=progress,
    )
    data = augmentation.to_dict()
    if is_main_process():
        (out / "augmentation.json").write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return augmented, data


def prepare(
    recipe: Recipe,
    output_dir: Union[str, Path],
    seed: int,
    tensorboard_dir: Optional[Union[str, Path]] = None,
    announce: Announce = _quiet,
    progress: bool = True,
) -> Prepared:
    """Device, output folder, seed, corpus (augmented: with a progress bar unless ``progress`` is false) and label
    dictionary of a run."""
    started = time.time()
    if is_distributed():
        # NCCL on CUDA machines, gloo on the CPU (also when the recipe asks for the CPU)
        device = check_runtime(recipe, setup_distributed("gloo" if recipe.training.device == "cpu" else None))
    else:
        device = check_runtime(recipe)
        flair.device = device
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tb_dir = Path(tensorboard_dir).resolve() if tensorboard_dir else out / "tensorboard"
    if is_main_process():
        announce(f"TensorBoard logs: {tb_dir}  (view with: tensorboard --logdir {tb_dir})")
        save_recipe(recipe.model_copy(update={"output_dir": str(out)}), out / "recipe.yaml")
    seed_everything(seed, recipe.training.deterministic)

    label_type = recipe.corpus.label_type
    corpus = load_corpus(recipe)  # its corpus and its synthetic: section
    corpus, augmentation = _augment(corpus, recipe, seed, out, progress)
    if corpus.train is None or len(corpus.train) == 0:
        raise ValueError(f"{recipe.source or '<recipe>'}: the corpus has no training sentences")
    announce(summarize_corpus(corpus, label_type).format())
    label_dictionary = corpus.make_label_dictionary(label_type, add_unk=False)
    if len(label_dictionary) == 0:
        raise ValueError(
            f"{recipe.source or '<recipe>'}: the training split has no '{label_type}' spans; check "
            "corpus.label_type and the tag column"
        )
    return Prepared(recipe, out, tb_dir, device, corpus, label_dictionary, augmentation, started)


# ------------------------------------------------------------------------------------------------ build
def build(prepared: Prepared, seed: int, make: Optional[Callable[[], SequenceTagger]] = None) -> SequenceTagger:
    """The recipe's embeddings and tagger (or ``make()``'s tagger), with weights that depend on the seed only.

    With ``corpus.documents`` the training split becomes whole-document sequences here, counted with the
    encoder's own tokenizer.
    """
    recipe = prepared.recipe
    seed_everything(seed, recipe.training.deterministic)
    if make is not None:
        tagger = make()
    else:
        embeddings = build_embeddings(recipe.embeddings)
        tagger = build_tagger(embeddings, prepared.label_dictionary, prepared.label_type, recipe.tagger)
    if recipe.corpus.documents is not None:
        corpus = prepared.corpus
        train = as_documents(list(corpus.train), prepared, tagger)
        prepared.corpus = Corpus(SentenceDataset(train), corpus.dev, corpus.test, name=corpus.name,
                                 sample_missing_splits=False)
    return tagger


def as_documents(sentences: list[Any], prepared: Prepared, tagger: SequenceTagger) -> list[Any]:
    """``sentences`` as the whole-document sequences ``corpus.documents`` describes."""
    config = prepared.recipe.corpus
    return document_sequences(sentences, prepared.label_type, tagger.embeddings.tokenizer,
                              config.documents.max_subtokens, config.documents.synthetic, config.seed)


# ------------------------------------------------------------------------------------------------ fit
@dataclass
class Fitted:
    """What training left behind for the report.

    Attributes:
        tensorboard: the run's TensorBoard plugin (still open); ``None`` in distributed ranks other than 0.
        dev_scores: the last epoch's dev evaluation (the final model's), if any.
        train_seconds: wall time from the start of the run to the end of training.
    """

    tensorboard: Optional[TensorBoardPlugin]
    dev_scores: Optional[Any] = None
    train_seconds: float = 0.0


def _hparams(recipe: Recipe, seed: int) -> dict[str, Any]:
    ops = "+".join(op.type for op in recipe.augmentation.ops) or "none"
    return {
        "model": recipe.embeddings.model,
        "head": recipe.tagger.head,
        "loss": recipe.tagger.loss,
        "augmentation": ops,
        "seed": seed,
        "learning_rate": recipe.training.learning_rate,
        "mini_batch_size": recipe.training.mini_batch_size,
        "max_epochs": recipe.training.max_epochs,
        "layers": recipe.embeddings.layers,
        "subtoken_pooling": recipe.embeddings.subtoken_pooling,
        "use_context": str(recipe.embeddings.use_context),
        "fine_tune": recipe.embeddings.fine_tune,
        "tag_format": recipe.tagger.tag_format,
        "scheduler": recipe.training.scheduler,
        "warmup_fraction": recipe.training.warmup_fraction,
        "weight_decay": recipe.training.weight_decay,
    }


def _load_checkpoint(path: Path) -> dict[str, Any]:
    from flair_modernbert.tagging.loading import load_checkpoint

    return load_checkpoint(path)


def fit(
    prepared: Prepared,
    tagger: SequenceTagger,
    seed: int,
    resume: bool = False,
    announce: Announce = _quiet,
    progress: bool = True,
    extra_plugins: Sequence[Any] = (),
    hparams: Optional[dict[str, Any]] = None,
) -> Fitted:
    """Train with Flair's ``fine_tune`` (see the module docstring), resuming from a checkpoint when asked."""
    recipe, out, corpus = prepared.recipe, prepared.out, prepared.corpus
    training = recipe.training
    checkpoint_path = out / "checkpoint.pt"
    start_epoch = 0
    plugins: list[Any] = []
    if resume:
        if checkpoint_path.is_file():
            checkpoint = _load_checkpoint(checkpoint_path)
            tagger.load_state_dict(checkpoint["model"]["state_dict"])
            start_epoch = int(checkpoint["epoch"])
            plugins.append(ResumePlugin(checkpoint))
            announce(f"resuming from {checkpoint_path} after epoch {start_epoch} of {training.max_epochs}")
        else:
            announce(f"--resume: no checkpoint at {checkpoint_path}, starting from the beginning")
    if training.save_checkpoints or resume:
        plugins.append(ResumableCheckpointPlugin(checkpoint_path))

    trainer_corpus = Corpus(
        train=corpus.train,
        dev=corpus.dev if training.train_with_dev else None,
        test=None,
        name=corpus.name,
        sample_missing_splits=False,
    )
    batches_per_epoch = -(-len(trainer_corpus.train) // training.mini_batch_size)
    has_dev = corpus.dev is not None and len(corpus.dev) > 0
    fitted = Fitted(tensorboard=None)

    def evaluate_dev(split: str) -> dict[str, Any]:
        # the last epoch's scores are the final model's (use_final_model_for_eval): kept for the report
        fitted.dev_scores = evaluate_tagger(
            tagger, list(getattr(corpus, split)), prepared.label_type, training.eval_batch_size, progress=False
        )
        return fitted.dev_scores.to_dict()

    # rank 0 alone logs to TensorBoard: the writer creates its event file as soon as it exists
    tensorboard = TensorBoardPlugin(
        prepared.tensorboard_dir,
        evaluate=evaluate_dev,
        splits=("dev",) if has_dev else (),
        hparams={**(hparams or {}), **_hparams(recipe, seed)},
        batch_offset=start_epoch * batches_per_epoch,
    ) if is_main_process() else None
    fitted.tensorboard = tensorboard
    if tensorboard is not None:
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
    plugins.extend(distributed_plugins())
    plugins.extend(extra_plugins)

    if start_epoch < training.max_epochs:
        with warnings.catch_warnings():
            # Flair 0.15 builds its GradScaler with torch's deprecated spelling: nothing a user can act on
            warnings.filterwarnings("ignore", message=r".*torch\.cuda\.amp\.GradScaler", category=FutureWarning)
            ModelTrainer(tagger, trainer_corpus).fine_tune(
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
                create_file_logs=False,  # run_log writes training.log for the whole run
            )
    else:
        announce(f"the checkpoint already holds all {training.max_epochs} epochs; evaluating it")
        if is_main_process():
            tagger.save(out / "final-model.pt")
    fitted.train_seconds = round(time.time() - prepared.started, 1)
    return fitted


# ------------------------------------------------------------------------------------------------ report
def report(
    prepared: Prepared,
    tagger: SequenceTagger,
    fitted: Fitted,
    seed: int,
    announce: Announce = _quiet,
    progress: bool = True,
) -> RunResults:
    """Score the final model (dev, test, lower-cased test) and write the run's files."""
    recipe, corpus = prepared.recipe, prepared.corpus
    batch = recipe.training.eval_batch_size
    tagger.eval()
    results = RunResults(
        seed=seed,
        recipe=recipe.source,
        corpus=str(corpus.name),
        label_type=prepared.label_type,
        model=recipe.embeddings.model,
        head=recipe.tagger.head,
        loss=recipe.tagger.loss,
        epochs=recipe.training.max_epochs,
        train_sentences=len(corpus.train),
        augmentation=prepared.augmentation,
        device=str(prepared.device),
        train_seconds=fitted.train_seconds,
        tensorboard=str(prepared.tensorboard_dir),
    )
    if corpus.dev is not None and len(corpus.dev):
        # no epoch ran when a resumed run's checkpoint already held them all: score dev here then
        results.dev = fitted.dev_scores or evaluate_tagger(tagger, list(corpus.dev), prepared.label_type, batch,
                                                           progress=False)
    if corpus.test is not None and len(corpus.test):
        announce(f"evaluating on {len(corpus.test)} test sentences (original and lower-cased)")
        test = list(corpus.test)
        results.test = evaluate_tagger(tagger, test, prepared.label_type, batch, progress=progress)
        results.test_lowercased = evaluate_tagger(tagger, test, prepared.label_type, batch, lowercase=True,
                                                  progress=progress)
        line = f"test micro F1 {results.micro_f1:.4f}, lower-cased test micro F1 {results.lowercased_micro_f1:.4f}"
        if recipe.corpus.documents is not None:
            documents = as_documents(test, prepared, tagger)
            results.test_documents = evaluate_tagger(tagger, documents, prepared.label_type, batch, progress=progress)
            line += f", as {len(documents)} whole documents {results.documents_micro_f1:.4f}"
        announce(line)
    write_run_report(prepared.out, recipe, results, fitted.tensorboard)
    announce(f"model and reports written to {prepared.out}")
    return results


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
    hparams: Optional[dict[str, Any]] = None,
    overwrite: bool = False,
) -> RunResult:
    """Train and evaluate one model of a recipe with one seed (see the module docstring).

    Args:
        recipe: a validated recipe (:func:`~flair_modernbert.config.load_recipe`).
        output_dir: the run's folder.
        seed: seeds Python, numpy and torch (weights of the head, data order, dropout, augmentation unless
            the augmentation section fixes its own seed).
        resume: continue from ``output_dir/checkpoint.pt`` when it exists (checkpoints are then written
            whatever ``training.save_checkpoints`` says).
        announce: receives progress lines; the first says where the TensorBoard log goes.
        tensorboard_dir: the TensorBoard log folder; default ``output_dir/tensorboard``.
        progress: show progress bars.
        extra_plugins: more Flair ``TrainerPlugin``s to attach (after the built-in ones).
        hparams: more hyper-parameters for TensorBoard's HParams tab (an ablation passes its variant).
        overwrite: clear a non-empty run folder first (else it is refused unless ``resume``).

    Returns:
        The :class:`~flair_modernbert.training.results.RunResult`.

    Raises:
        ValueError: a CUDA-only option on a CPU machine, or a recipe that does not fit the corpus.
        FileNotFoundError: the corpus (or the model directory) is missing.
        FileExistsError: a non-empty output folder without ``resume`` or ``overwrite``.
    """
    announce = logged(announce) if is_main_process() else _quiet  # under torchrun, rank 0 speaks
    out = Path(output_dir).resolve()
    if is_main_process():
        claim_output(out, resume, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    with run_log(out / LOG_FILE, append=resume) if is_main_process() else contextlib.nullcontext():
        prepared = prepare(recipe, out, seed, tensorboard_dir, announce, progress)
        tagger = build(prepared, seed)
        fitted = fit(prepared, tagger, seed, resume, announce, progress, extra_plugins, hparams)
        if not is_main_process():
            return RunResult(out, seed, None)
        results = report(prepared, tagger, fitted, seed, announce, progress)
    return RunResult(out, seed, results)


# ------------------------------------------------------------------------------------------------ seeds
def train_recipe(
    recipe: Union[str, Path, Recipe],
    overrides: Sequence[str] = (),
    output_dir: Optional[Union[str, Path]] = None,
    seeds: Optional[Sequence[int]] = None,
    resume: bool = False,
    announce: Optional[Announce] = None,
    progress: bool = True,
    overwrite: bool = False,
) -> TrainingSummary:
    """Train a recipe once per seed.

    Args:
        recipe: a recipe file or a :class:`~flair_modernbert.config.Recipe`.
        overrides: ``--set`` strings (``training.learning_rate=1e-5``).
        output_dir: overrides the recipe's ``output_dir``.
        seeds: overrides ``training.seeds`` (the same rules apply: at least one, no repeats).
        resume: continue interrupted runs from their checkpoints.
        announce: receives progress lines; the first says where the TensorBoard logs go.
        progress: show progress bars.
        overwrite: clear a non-empty output folder first (it is refused otherwise, unless ``resume``).

    Returns:
        The :class:`~flair_modernbert.training.results.TrainingSummary`. One seed writes into
        ``output_dir``; several seeds write ``output_dir/seed-N`` each (TensorBoard runs under
        ``output_dir/tensorboard/seed-N``) plus ``results.json`` and ``summary.md`` with mean ± std.
    """
    announce = logged(announce) if is_main_process() else _quiet  # under torchrun, rank 0 speaks
    if seeds:
        overrides = [*overrides, f"training.seeds={list(seeds)}"]
    loaded = with_overrides(recipe, overrides) if isinstance(recipe, Recipe) else load_recipe(recipe, overrides)
    out = Path(output_dir if output_dir is not None else loaded.output_dir).resolve()
    run_seeds = loaded.training.seeds
    if is_main_process():
        claim_output(out, resume, overwrite)
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
    if is_main_process():
        (out / "results.json").write_text(json.dumps(summary.to_dict(), indent=2), encoding="utf-8")
        (out / "summary.md").write_text(summary.table() + "\n", encoding="utf-8")
        announce(summary.table())
    return summary
