"""Augmentation ablations: train every variant x seed of a base recipe and compare them with the baseline.

An ablation definition is a YAML file (``augment/*.yaml``)::

    recipe: ../recipes/quickstart.yaml   # the base recipe, relative to this file
    set: [training.max_epochs=2]         # overrides for every variant (optional)
    seeds: [1, 2, 3]                     # every variant is trained once per seed
    baseline: baseline                   # the variant the others are compared with (default: the first)
    focus_type: person                   # the entity type reported on its own (default: PER or PERSON)
    output_dir: ../runs/my-ablation      # optional, relative to this file; default runs/ablation-<file name>
    variants:
      - name: baseline                   # the base recipe as it is
      - name: +lowercase
        augmentation: [{type: lowercase, p: 1.0}]   # replaces the recipe's augmentation section
      - name: +dice
        set: [tagger.loss=ce+dice]       # overrides for this variant only

Each run writes its own folder ``OUTPUT/<variant>/seed-<N>`` (model, ``results.json``, ...) and its
TensorBoard log to ``OUTPUT/tensorboard/<variant>/seed-<N>``, so ``tensorboard --logdir OUTPUT/tensorboard``
shows one run per variant and seed. A run whose ``results.json`` exists is not trained again: an interrupted
ablation continues where it stopped.

The runs are dispatched by a backend (:func:`run_ablation`'s ``backend``): ``local`` trains them one after the
other in this process; ``ray`` makes each a Ray task with its own CPUs/GPU, on a Ray instance started for the
ablation or on an existing cluster (:mod:`~flair_modernbert.experiments.ray_backend`). Both write the same
files, and the table is built from the runs' ``results.json`` in the planned order, so it does not depend on the
backend or on the order the runs finished in. A run that raises is tried once more (:data:`ATTEMPTS`); if it
fails again it is reported in the table with its error (traceback in its folder's ``error.txt``) and left out
of the means, while the other runs are summarised as usual.

The comparison (``ablation.md``, ``ablation.csv``, ``ablation.json``, ``ablation.png``) gives per variant the
mean ± sample standard deviation over seeds of the test micro F1, the focus type's F1 and the micro F1 on the
lower-cased test set, and for each the difference of the means to the baseline. A difference is marked
**significant** (``*``) when it exceeds twice the larger of the two standard deviations, is at least
:data:`MIN_EFFECT` (half an F1 point) and Welch's t-test gives p < 0.05 -- a deliberately conservative rule:
seed noise of fine-tuned NER models is easily 0.5-1 F1 point. Both sides need at least two seeds.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

from flair_modernbert.config import AblationDefinition, Recipe, Variant, load_ablation, variant_recipe
from flair_modernbert.training.results import RunResult, RunResults, mean_std

logger = logging.getLogger(__name__)

__all__ = [
    "ATTEMPTS",
    "BACKENDS",
    "FailedRun",
    "RunSpec",
    "MetricSummary",
    "VariantSummary",
    "AblationResult",
    "plan_runs",
    "run_one",
    "attempt_run",
    "describe_error",
    "record_failure",
    "run_locally",
    "dispatch",
    "summarize",
    "run_ablation",
    "read_ablation_csv",
]

#: (metric key, column title)
METRICS = (("micro_f1", "test micro F1"), ("focus_f1", "{focus} F1"), ("lowercased_micro_f1", "lower-cased test micro F1"))
#: a difference of the means smaller than this (half an F1 point) is never marked: below seed noise of NER runs
MIN_EFFECT = 0.005
#: how often a run is tried before it is reported as failed (a failed run is retried once)
ATTEMPTS = 2
#: the backends :func:`run_ablation` dispatches runs to
BACKENDS = ("local", "ray")
#: files a (possibly failed) run of this library leaves in its folder: such a folder without results.json is
#: cleared before the run is tried again
_RUN_MARKERS = ("recipe.yaml", "training.log", "error.txt")

Announce = Callable[[str], None]


@dataclass
class RunSpec:
    """One run of an ablation: a variant's recipe with one seed, and where it writes."""

    variant: str
    seed: int
    recipe: Recipe
    run_dir: Path
    tensorboard_dir: Path

    @property
    def results_file(self) -> Path:
        return self.run_dir / "results.json"

    @property
    def label(self) -> str:
        return f"{self.variant}, seed {self.seed}"


@dataclass
class FailedRun:
    """A run that raised on every one of its attempts.

    Attributes:
        variant: its variant.
        seed: its seed.
        run_dir: its folder (``error.txt`` there holds the last traceback).
        error: ``"<exception type>: <message>"`` of the last attempt.
        attempts: how often it was tried.
    """

    variant: str
    seed: int
    run_dir: Path
    error: str
    attempts: int = ATTEMPTS

    def to_dict(self, relative_to: Optional[Path] = None) -> dict[str, Any]:
        """Plain data; ``run_dir`` relative to ``relative_to`` (the ablation's folder) when inside it."""
        run_dir = self.run_dir
        if relative_to is not None and run_dir.is_relative_to(relative_to):
            run_dir = run_dir.relative_to(relative_to)
        return {"variant": self.variant, "seed": self.seed, "run_dir": run_dir.as_posix(), "error": self.error,
                "attempts": self.attempts}


#: what a backend yields for each run: a finished run or a failed one
RunOutcome = Union[RunResult, FailedRun]


def output_dir_of(definition: AblationDefinition, output_dir: Optional[Union[str, Path]] = None) -> Path:
    """``output_dir`` if given, else the definition's, else ``runs/ablation-<file name>``."""
    if output_dir is not None:
        return Path(output_dir).resolve()
    if definition.output_dir is not None:
        return Path(definition.output_dir)
    return (Path("runs") / f"ablation-{Path(str(definition.source)).stem}").resolve()


def plan_runs(definition: AblationDefinition, out: Path) -> list[RunSpec]:
    """Every variant x seed, in order: ``out/<variant>/seed-<N>``, TensorBoard in ``out/tensorboard/<variant>/seed-<N>``."""
    specs = []
    for variant in definition.variants:
        recipe = variant_recipe(definition, variant)
        for seed in definition.seeds:
            specs.append(RunSpec(variant.name, seed, recipe, out / variant.name / f"seed-{seed}",
                                 out / "tensorboard" / variant.name / f"seed-{seed}"))
    return specs


def run_one(spec: RunSpec, progress: bool = True) -> RunResult:
    """Train one run of an ablation (its own lines go to its training.log)."""
    from flair_modernbert.training import train_run

    # a folder without results.json is an interrupted run: it starts again
    return train_run(spec.recipe, spec.run_dir, spec.seed, tensorboard_dir=spec.tensorboard_dir, progress=progress,
                     hparams={"variant": spec.variant}, overwrite=True)


def attempt_run(spec: RunSpec, progress: bool = True) -> RunResult:
    """One attempt at a run, wherever it executes: clear what an earlier attempt left, then :func:`run_one`.

    An unfinished run folder (no ``results.json``) that holds files of an earlier run or attempt
    (``recipe.yaml``, ``training.log``, ``error.txt``) is removed with the run's TensorBoard folder, so a
    retried run starts as the first attempt did and TensorBoard shows no half runs. A folder with none of
    them is left to :func:`~flair_modernbert.training.run.claim_output`, which refuses a non-empty one.
    """
    if not spec.results_file.is_file():
        if spec.run_dir.is_dir() and any((spec.run_dir / name).exists() for name in _RUN_MARKERS):
            logger.info("clearing the unfinished run folder %s", spec.run_dir)
            shutil.rmtree(spec.run_dir)
        if spec.tensorboard_dir.is_dir():
            shutil.rmtree(spec.tensorboard_dir)
    return run_one(spec, progress=progress)


def describe_error(error: BaseException) -> str:
    """``"<exception type>: <message>"``, as the table shows a failed run."""
    message = str(error).strip()
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def record_failure(spec: RunSpec, error: BaseException, attempts: int, details: Optional[str] = None) -> FailedRun:
    """A :class:`FailedRun` for ``spec``; writes ``details`` (default: the traceback) to its ``error.txt``."""
    failed = FailedRun(spec.variant, spec.seed, spec.run_dir, describe_error(error), attempts)
    if details is None:
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    text = details
    try:
        spec.run_dir.mkdir(parents=True, exist_ok=True)
        (spec.run_dir / "error.txt").write_text(
            f"{spec.label}: failed {attempts} time(s); the last error:\n\n{text}", encoding="utf-8"
        )
    except OSError as problem:  # the report must not fail for want of a folder
        logger.warning("could not write %s: %s", spec.run_dir / "error.txt", problem)
    return failed


def run_locally(specs: Sequence[RunSpec], progress: bool = True,
                announce: Optional[Announce] = None) -> Iterator[tuple[RunSpec, RunOutcome]]:
    """The ``local`` backend: each run in this process, one after the other, tried up to :data:`ATTEMPTS` times.

    Yields:
        ``(spec, outcome)`` per run, in the order given.
    """
    announce = announce or _log
    for done, spec in enumerate(specs, start=1):
        announce(f"[{done}/{len(specs)}] {spec.label}")
        outcome: Optional[RunOutcome] = None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                outcome = attempt_run(spec, progress=progress)
                break
            except Exception as error:  # noqa: BLE001 - a run's failure is reported; the other runs go on
                logger.info("%s: attempt %d of %d failed: %s", spec.label, attempt, ATTEMPTS, describe_error(error))
                if attempt == ATTEMPTS:
                    outcome = record_failure(spec, error, ATTEMPTS)
                else:
                    announce(f"    failed ({describe_error(error).splitlines()[0]}); trying once more")
        assert outcome is not None
        yield spec, outcome


# ------------------------------------------------------------------------------------------------ results
@dataclass
class MetricSummary:
    """One metric of one variant over its seeds, and its difference to the baseline."""

    values: list[float]
    mean: float
    std: float
    delta: Optional[float] = None
    significant: Optional[bool] = None
    p_value: Optional[float] = None

    def cell(self) -> str:
        if not self.values:
            return "–"
        return f"{self.mean:.4f} ± {self.std:.4f}"

    def delta_cell(self) -> str:
        if self.delta is None:
            return "–"
        text = f"{self.delta:+.4f}"
        if self.significant is None:
            return text + " (1 seed)"
        text += " *" if self.significant else ""
        if self.p_value is not None:
            text += f" (p={self.p_value:.2f})"
        return text


@dataclass
class VariantSummary:
    """One variant: the seeds that finished, their metrics, and the runs that failed (not in the means)."""

    name: str
    seeds: list[int]
    metrics: dict[str, MetricSummary]
    failed: list[FailedRun] = field(default_factory=list)

    def seeds_cell(self) -> str:
        text = str(len(self.seeds))
        return text + f" ({len(self.failed)} failed)" if self.failed else text


@dataclass
class AblationResult:
    """The comparison table of an ablation (see the module docstring)."""

    output_dir: Path
    baseline: str
    focus_type: str
    variants: list[VariantSummary]

    def titles(self) -> list[tuple[str, str]]:
        return [(key, title.format(focus=self.focus_type)) for key, title in METRICS]

    def markdown(self) -> str:
        """``ablation.md``: mean ± std per variant and the difference to the baseline."""
        from tabulate import tabulate

        titles = self.titles()
        header = ["variant", "seeds"] + [t for _, t in titles] + [f"Δ {t}" for _, t in titles]
        rows = []
        for variant in self.variants:
            cells = [variant.name, variant.seeds_cell()]
            cells += [variant.metrics[key].cell() for key, _ in titles]
            cells += ["baseline" if variant.name == self.baseline else variant.metrics[key].delta_cell()
                      for key, _ in titles]
            rows.append(cells)
        note = (
            f"Mean ± sample standard deviation over seeds; Δ = difference of the means to `{self.baseline}`. "
            "`*` marks a difference beyond seed noise: larger than twice the larger of the two standard "
            f"deviations, at least {MIN_EFFECT} F1, and Welch's t-test p < 0.05 (p is shown)."
        )
        text = tabulate(rows, headers=header, tablefmt="github", disable_numparse=True) + "\n\n" + note
        failed = self.failed()
        if failed:
            lines = [f"**Failed runs** ({len(failed)}; not in the means above, each tried {failed[0].attempts} "
                     "times; the traceback is in the run folder's `error.txt`):", ""]
            lines += [f"- `{run.variant}` seed {run.seed}: {_one_line(run.error)}" for run in failed]
            text += "\n\n" + "\n".join(lines)
        return text

    def failed(self) -> list[FailedRun]:
        """The failed runs, variant by variant."""
        return [run for variant in self.variants for run in variant.failed]

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per variant (what ``ablation.csv`` holds)."""
        rows = []
        for variant in self.variants:
            row: dict[str, Any] = {"variant": variant.name, "seeds": " ".join(map(str, variant.seeds))}
            for key, _ in METRICS:
                metric = variant.metrics[key]
                row[f"{key}_mean"] = _num(metric.mean)
                row[f"{key}_std"] = _num(metric.std)
                row[f"{key}_delta"] = _num(metric.delta)
                row[f"{key}_significant"] = "" if metric.significant is None else str(metric.significant).lower()
                row[f"{key}_p"] = _num(metric.p_value)
                row[f"{key}_values"] = " ".join(f"{v:.6f}" for v in metric.values)
            row["failed_seeds"] = " ".join(str(run.seed) for run in variant.failed)
            row["errors"] = " | ".join(f"seed {run.seed}: {_one_line(run.error)}" for run in variant.failed)
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "focus_type": self.focus_type, "variants": self.rows(),
                "failed": [run.to_dict(self.output_dir) for run in self.failed()]}

    def write(self) -> dict[str, Path]:
        """Write ``ablation.md``, ``ablation.csv``, ``ablation.json`` and ``ablation.png``; returns the paths."""
        out = self.output_dir
        out.mkdir(parents=True, exist_ok=True)
        paths = {name: out / f"ablation.{name}" for name in ("md", "csv", "json", "png")}
        paths["md"].write_text(self.markdown() + "\n", encoding="utf-8")
        rows = self.rows()
        with paths["csv"].open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        self.plot(paths["png"])
        return paths

    def error_bars(self, key: str) -> tuple[list[float], list[float]]:
        """Per variant, how far the error bar of ``key`` reaches below and above the mean: the standard
        deviation, clipped so that the bar stays inside [0, 1] where F1 lives."""
        means = [_zero(v.metrics[key].mean) for v in self.variants]
        stds = [_zero(v.metrics[key].std) for v in self.variants]
        return [min(std, mean) for mean, std in zip(means, stds)], [min(std, 1.0 - mean) for mean, std in zip(means, stds)]

    def plot(self, path: Path) -> Path:
        """Bar chart of the three metrics per variant with ± std error bars."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        titles = self.titles()
        figure = Figure(figsize=(max(6.0, 1.4 * len(self.variants) + 2), 4.5))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot(1, 1, 1)
        width = 0.8 / len(titles)
        for index, (key, title) in enumerate(titles):
            means = [_zero(v.metrics[key].mean) for v in self.variants]
            below, above = self.error_bars(key)
            positions = [i + (index - (len(titles) - 1) / 2) * width for i in range(len(self.variants))]
            axes.bar(positions, means, width, yerr=[below, above], capsize=3, label=title)
        axes.set_xticks(range(len(self.variants)))
        axes.set_xticklabels([v.name for v in self.variants], rotation=20, ha="right")
        axes.set_ylabel("F1 (mean ± std over seeds)")
        axes.set_ylim(bottom=0.0)
        axes.set_title(f"Ablation vs {self.baseline}")
        axes.legend(fontsize="small")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        return path


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _num(value: Optional[float]) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.6f}"


def _zero(value: float) -> float:
    return 0.0 if value is None or math.isnan(value) else value


def read_ablation_csv(path: Union[str, Path]) -> list[dict[str, str]]:
    """Read ``ablation.csv`` back (one dict of strings per variant)."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _focus_type(runs: Sequence[RunResult], wanted: Optional[str]) -> str:
    if wanted:
        return wanted
    types = sorted({t for run in runs if run.results for t in run.results.types()})
    for candidate in ("PER", "PERSON"):
        for name in types:
            if name.upper() == candidate:
                return name
    return types[0] if types else "PER"


def _metric(run: RunResult, key: str, focus: str) -> Optional[float]:
    return run.metric(f"f1:{focus}") if key == "focus_f1" else run.metric(key)


def summarize(
    runs: dict[str, list[RunResult]],
    baseline: str,
    output_dir: Path,
    focus_type: Optional[str] = None,
    failed: Iterable[FailedRun] = (),
) -> AblationResult:
    """Aggregate finished runs (``{variant: [run per seed]}``) into an :class:`AblationResult`.

    Args:
        runs: the finished runs per variant (a variant whose runs all failed has an empty list).
        baseline: the variant the others are compared with.
        output_dir: where :meth:`AblationResult.write` writes.
        focus_type: the entity type reported on its own (default: PER or PERSON when present).
        failed: runs that failed; listed with their variant, left out of the means.
    """
    focus = _focus_type([r for rs in runs.values() for r in rs], focus_type)
    failures: dict[str, list[FailedRun]] = {}
    for run in failed:
        failures.setdefault(run.variant, []).append(run)
    summaries: dict[str, VariantSummary] = {}
    for name in [*runs, *(name for name in failures if name not in runs)]:
        variant_runs = runs.get(name, [])
        metrics = {}
        for key, _ in METRICS:
            values = [v for v in (_metric(r, key, focus) for r in variant_runs) if v is not None]
            mean, std = mean_std(values)
            metrics[key] = MetricSummary(values, mean, std)
        summaries[name] = VariantSummary(name, [r.seed for r in variant_runs], metrics, failures.get(name, []))
    base = summaries[baseline]
    for name, summary in summaries.items():
        if name == baseline:
            continue
        for key, metric in summary.metrics.items():
            reference = base.metrics[key]
            if not metric.values or not reference.values:
                continue
            metric.delta = metric.mean - reference.mean
            if len(metric.values) > 1 and len(reference.values) > 1:
                metric.p_value = _welch(metric.values, reference.values)
                metric.significant = (
                    abs(metric.delta) > 2 * max(metric.std, reference.std)
                    and abs(metric.delta) >= MIN_EFFECT
                    and (metric.p_value is None or metric.p_value < 0.05)
                )
    return AblationResult(output_dir, baseline, focus, list(summaries.values()))


def _welch(a: Sequence[float], b: Sequence[float]) -> Optional[float]:
    try:
        from scipy.stats import ttest_ind
    except ImportError:  # pragma: no cover - scipy comes with flair's scikit-learn
        return None
    if max(a) == min(a) and max(b) == min(b):
        return None if a[0] == b[0] else 0.0
    p_value = float(ttest_ind(a, b, equal_var=False).pvalue)
    return None if math.isnan(p_value) else p_value


# ------------------------------------------------------------------------------------------------ running
def _log(line: str) -> None:
    logger.info("%s", line)


def dispatch(
    specs: Sequence[RunSpec],
    backend: str = "local",
    progress: bool = True,
    announce: Optional[Announce] = None,
    address: Optional[str] = None,
    gpus_per_run: float = 0,
    cpus_per_run: Optional[float] = None,
) -> Iterator[tuple[RunSpec, RunOutcome]]:
    """Hand the runs to a backend; yields ``(spec, outcome)`` as each run finishes or fails for good.

    Raises:
        ValueError: an unknown backend, or cluster options with the ``local`` backend.
    """
    _check_backend(backend, address, gpus_per_run, cpus_per_run)
    if backend == "ray":
        from flair_modernbert.experiments.ray_backend import run_on_ray

        return run_on_ray(specs, address=address, gpus_per_run=gpus_per_run, cpus_per_run=cpus_per_run,
                          announce=announce)
    return run_locally(specs, progress=progress, announce=announce)


def _check_backend(backend: str, address: Optional[str], gpus_per_run: float, cpus_per_run: Optional[float]) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"--backend: unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "local" and (address is not None or gpus_per_run or cpus_per_run is not None):
        raise ValueError("--address, --gpus-per-run and --cpus-per-run go with --backend ray; the local backend "
                         "trains the runs in this process on its device (training.device)")


def run_ablation(
    definition: Union[str, Path, AblationDefinition],
    output_dir: Optional[Union[str, Path]] = None,
    announce: Optional[Announce] = None,
    progress: bool = True,
    backend: str = "local",
    address: Optional[str] = None,
    gpus_per_run: float = 0,
    cpus_per_run: Optional[float] = None,
) -> AblationResult:
    """Train every variant x seed (reusing runs already finished) and write the comparison files.

    Args:
        definition: an ablation file or a loaded :class:`~flair_modernbert.config.AblationDefinition`.
        output_dir: overrides the definition's ``output_dir``.
        announce: receives progress lines; the first says where the TensorBoard logs go.
        progress: show progress bars (local backend).
        backend: ``local`` (this process, one run after the other) or ``ray`` (a Ray task per run).
        address: ``ray`` only: an existing Ray cluster (``auto``, ``HOST:6379``, ``ray://HOST:10001``);
            default: start a Ray instance on this machine for the ablation and stop it afterwards.
        gpus_per_run: ``ray`` only: GPUs reserved per run (a fraction lets runs share a GPU; at most 1).
        cpus_per_run: ``ray`` only: CPUs reserved per run, also its torch threads (default 1).

    Returns:
        The :class:`AblationResult` (its files are written to the output folder); a run that failed on every
        attempt is in it as a :class:`FailedRun`.

    Raises:
        ValueError: an unknown backend or a bad backend option (named).
        ImportError: ``backend="ray"`` without Ray installed.
    """
    announce = announce or _log
    if not isinstance(definition, AblationDefinition):
        definition = load_ablation(definition)
    _check_backend(backend, address, gpus_per_run, cpus_per_run)
    out = output_dir_of(definition, output_dir)
    tensorboard = out / "tensorboard"
    announce(f"TensorBoard logs: {tensorboard}  (one run per variant and seed; tensorboard --logdir {tensorboard})")
    specs = plan_runs(definition, out)
    outcomes: dict[tuple[str, int], RunOutcome] = {}
    todo = []
    for spec in specs:
        if spec.results_file.is_file():
            announce(f"{spec.label}: finished earlier, reusing {spec.results_file}")
            outcomes[spec.variant, spec.seed] = RunResult(spec.run_dir, spec.seed, RunResults.read(spec.results_file))
        else:
            todo.append(spec)
    if todo:
        announce(f"{len(todo)} of {len(specs)} runs to train ({backend} backend)")
        runs = dispatch(todo, backend, progress=progress, announce=announce, address=address,
                        gpus_per_run=gpus_per_run, cpus_per_run=cpus_per_run)
        for spec, outcome in runs:
            outcomes[spec.variant, spec.seed] = outcome
            if isinstance(outcome, FailedRun):
                announce(f"    {spec.label} FAILED after {outcome.attempts} attempts: "
                         f"{_one_line(outcome.error, 200)}")
            else:
                announce(f"    {spec.label}: test micro F1 {_shown(outcome.metric('micro_f1'))}, "
                         f"lower-cased {_shown(outcome.metric('lowercased_micro_f1'))}")
    # the table follows the plan, whatever order the runs finished in
    finished: dict[str, list[RunResult]] = {variant.name: [] for variant in definition.variants}
    failed: list[FailedRun] = []
    for spec in specs:
        outcome = outcomes[spec.variant, spec.seed]
        if isinstance(outcome, FailedRun):
            failed.append(outcome)
        else:
            finished[spec.variant].append(outcome)
    result = summarize(finished, str(definition.baseline), out, definition.focus_type, failed=failed)
    paths = result.write()
    if failed:
        announce(f"{len(failed)} of {len(specs)} runs failed; see the table and their error.txt")
    announce(f"comparison written to {paths['md']}, {paths['csv']} and {paths['png']}")
    return result


def _shown(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.4f}"
