"""A distillation run: a student with fewer layers trained against its teacher, written as an ordinary run folder.

:func:`distill` loads the teacher, builds the student (:func:`~flair_modernbert.distillation.student.make_student`)
and runs the training pipeline's own pieces (:mod:`flair_modernbert.training.run`): ``prepare`` (the recipe's
corpus and synthetic PII, augmentation, seeds), ``fit`` (Flair's trainer with the run's plugins, the student's loss
replaced by :class:`~flair_modernbert.distillation.loss.Distiller`'s mixed loss, both terms logged to TensorBoard)
and ``report`` (dev, test, lower-cased test, ``results.json``, ``report.txt``, the model card). The recipe's
``corpus``, ``synthetic``, ``augmentation`` and ``training`` sections are used; its ``embeddings`` and ``tagger``
sections are not, since the student is the teacher's tagger with fewer layers. The folder also holds
``distillation.json`` (teacher, layers kept, ``alpha``, ``temperature``); its ``final-model.pt`` is an ordinary
tagger file (the teacher is not in it).
"""

from __future__ import annotations

import json
from functools import partial
import logging
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import torch

from flair_modernbert.config import Recipe, load_recipe, with_overrides
from flair_modernbert.distillation.loss import Distiller, check_settings
from flair_modernbert.distillation.plugin import DistillationLogPlugin
from flair_modernbert.distillation.student import encoder_layers, make_student
from flair_modernbert.tagging.loading import load_tagger
from flair_modernbert.tags import entity_types
from flair_modernbert.training.results import RunResult
from flair_modernbert.training.run import (
    LOG_FILE,
    Announce,
    build,
    claim_output,
    fit,
    logged,
    prepare,
    report,
    run_log,
)

logger = logging.getLogger(__name__)

__all__ = ["distill", "DISTILLATION_FILE"]

DISTILLATION_FILE = "distillation.json"


def _check_labels(teacher: Any, label_type: str, corpus_types: Sequence[str], source: str) -> None:
    if teacher.tag_type != label_type:
        raise ValueError(f"{source}: corpus.label_type is '{label_type}' but the teacher tags '{teacher.tag_type}'")
    unknown = sorted(set(corpus_types) - set(entity_types(teacher.label_dictionary.get_items())))
    if unknown:
        raise ValueError(f"{source}: the corpus has span types the teacher does not predict: {', '.join(unknown)} "
                         f"(the teacher's: {', '.join(sorted(set(entity_types(teacher.label_dictionary.get_items()))))}); "
                         "use the teacher's corpus, or map the types with corpus.label_map")


def distill(
    teacher_path: Union[str, Path],
    recipe: Union[str, Path, Recipe],
    layers: Union[int, Sequence[int]],
    output: Union[str, Path],
    alpha: float = 0.5,
    temperature: float = 2.0,
    target: str = "emissions",
    overrides: Sequence[str] = (),
    seed: Optional[int] = None,
    progress: bool = True,
    announce: Optional[Announce] = None,
    overwrite: bool = False,
    trust: bool = False,
) -> RunResult:
    """Distil a trained tagger into a student with ``layers`` of its transformer layers (see the module docstring).

    Args:
        teacher_path: the teacher's ``final-model.pt`` or run folder.
        recipe: the recipe (file or object) whose corpus, synthetic data and training settings train the student;
            usually the teacher's own (its run folder's ``recipe.yaml``).
        layers: the student's number of layers, ``1 <= K <`` the teacher's (the teacher layers chosen as the
            module docstring says), or the teacher layers to keep (increasing, fewer than the teacher's, roles kept).
        output: the student's run folder (a non-empty one is refused unless ``overwrite``).
        alpha: weight of the distillation loss, from 0 (gold loss only) to 1 (teacher only).
        temperature: softmax temperature of the distillation loss, > 0.
        target: ``"emissions"`` or ``"marginals"`` (the CRF's per-token marginals; a CRF teacher only).
        overrides: ``--set`` strings applied to the recipe.
        seed: the run's seed; default the recipe's first ``training.seeds``.
        progress: show progress bars.
        announce: receives progress lines.
        overwrite: clear a non-empty run folder first.
        trust: load a teacher file this library did not write (runs any code it contains).

    Returns:
        The :class:`~flair_modernbert.training.results.RunResult` (folder, seed, scores).

    Raises:
        ValueError: ``layers``, ``alpha``, ``temperature`` or ``target`` out of range, a teacher that cannot be distilled, or a
            corpus whose labels the teacher does not predict; all before anything is written.
        FileNotFoundError: no teacher, recipe or corpus.
        FileExistsError: a non-empty output folder without ``overwrite``.
    """
    announce = logged(announce)
    loaded = with_overrides(recipe, overrides) if isinstance(recipe, Recipe) else load_recipe(recipe, overrides)
    check_settings(alpha, temperature, target, crf=True)  # the head is checked once the teacher is loaded
    teacher = load_tagger(teacher_path, trust=trust)
    try:
        check_settings(alpha, temperature, target, teacher.use_crf)
    except ValueError as error:
        raise ValueError(f"{teacher_path}: {error}") from None
    spec = encoder_layers(teacher)
    keep = spec.student(layers)
    run_seed = loaded.training.seeds[0] if seed is None else int(seed)
    out = Path(output).resolve()
    claim_output(out, overwrite=overwrite)
    out.mkdir(parents=True, exist_ok=True)
    with run_log(out / LOG_FILE):
        announce(f"student: {len(keep)} of the teacher's {spec.count} layers ({spec.model_type}), teacher layers "
                 f"{keep}; loss (1 - {alpha}) * gold + {alpha} * distillation ({target}) at temperature {temperature}")
        prepared = prepare(loaded, out, run_seed, None, announce, progress)
        _check_labels(teacher, prepared.label_type, prepared.label_dictionary.get_items(),
                      loaded.source or "<recipe>")
        student = build(prepared, run_seed, make=partial(make_student, teacher, keep=keep))
        distiller = Distiller(student, teacher, alpha, temperature, target)
        facts: dict[str, Any] = {
            "teacher": str(teacher_path),
            "encoder": spec.model_type,
            "teacher_layers": spec.count,
            "student_layers": len(keep),
            "kept_layers": keep,
            "alpha": alpha,
            "temperature": temperature,
            "target": target,
        }
        hparams = {**{k: v for k, v in facts.items() if k != "kept_layers"}, "kept_layers": ",".join(map(str, keep))}
        with distiller.attached():
            fitted = fit(prepared, student, run_seed, announce=announce, progress=progress,
                         extra_plugins=[DistillationLogPlugin(distiller)], hparams=hparams)
        del teacher, distiller
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        results = report(prepared, student, fitted, run_seed, announce, progress)
        (out / DISTILLATION_FILE).write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    return RunResult(out, run_seed, results)
