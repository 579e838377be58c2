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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

from flair_modernbert.config import AblationDefinition, Recipe, Variant, load_ablation, variant_recipe
from flair_modernbert.training.results import RunResult, RunResults, mean_std

logger = logging.getLogger(__name__)

__all__ = [
    "RunSpec",
    "MetricSummary",
    "VariantSummary",
    "AblationResult",
    "plan_runs",
    "run_one",
    "summarize",
    "run_ablation",
    "read_ablation_csv",
]

#: (metric key, column title)
METRICS = (("micro_f1", "test micro F1"), ("focus_f1", "{focus} F1"), ("lowercased_micro_f1", "lower-cased test micro F1"))
#: a difference of the means smaller than this (half an F1 point) is never marked: below seed noise of NER runs
MIN_EFFECT = 0.005


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
    name: str
    seeds: list[int]
    metrics: dict[str, MetricSummary]


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
            cells = [variant.name, str(len(variant.seeds))]
            cells += [variant.metrics[key].cell() for key, _ in titles]
            cells += ["baseline" if variant.name == self.baseline else variant.metrics[key].delta_cell()
                      for key, _ in titles]
            rows.append(cells)
        note = (
            f"Mean ± sample standard deviation over seeds; Δ = difference of the means to `{self.baseline}`. "
            "`*` marks a difference beyond seed noise: larger than twice the larger of the two standard "
            f"deviations, at least {MIN_EFFECT} F1, and Welch's t-test p < 0.05 (p is shown)."
        )
        return tabulate(rows, headers=header, tablefmt="github", disable_numparse=True) + "\n\n" + note

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
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "focus_type": self.focus_type, "variants": self.rows()}

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
    runs: dict[str, list[RunResult]], baseline: str, output_dir: Path, focus_type: Optional[str] = None
) -> AblationResult:
    """Aggregate finished runs (``{variant: [run per seed]}``) into an :class:`AblationResult`."""
    focus = _focus_type([r for rs in runs.values() for r in rs], focus_type)
    summaries: dict[str, VariantSummary] = {}
    for name, variant_runs in runs.items():
        metrics = {}
        for key, _ in METRICS:
            values = [v for v in (_metric(r, key, focus) for r in variant_runs) if v is not None]
            mean, std = mean_std(values)
            metrics[key] = MetricSummary(values, mean, std)
        summaries[name] = VariantSummary(name, [r.seed for r in variant_runs], metrics)
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
def run_ablation(
    definition: Union[str, Path, AblationDefinition],
    output_dir: Optional[Union[str, Path]] = None,
    announce: Optional[Callable[[str], None]] = None,
    progress: bool = True,
) -> AblationResult:
    """Train every variant x seed (reusing runs already finished) and write the comparison files.

    Args:
        definition: an ablation file or a loaded :class:`~flair_modernbert.config.AblationDefinition`.
        output_dir: overrides the definition's ``output_dir``.
        announce: receives progress lines; the first says where the TensorBoard logs go.
        progress: show progress bars.

    Returns:
        The :class:`AblationResult` (its files are written to the output folder).
    """
    announce = announce or (lambda line: logger.info("%s", line))
    if not isinstance(definition, AblationDefinition):
        definition = load_ablation(definition)
    out = output_dir_of(definition, output_dir)
    tensorboard = out / "tensorboard"
    announce(f"TensorBoard logs: {tensorboard}  (one run per variant and seed; tensorboard --logdir {tensorboard})")
    specs = plan_runs(definition, out)
    runs: dict[str, list[RunResult]] = {variant.name: [] for variant in definition.variants}
    for done, spec in enumerate(specs, start=1):
        where = f"[{done}/{len(specs)}] {spec.variant}, seed {spec.seed}"
        if spec.results_file.is_file():
            announce(f"{where}: finished earlier, reusing {spec.results_file}")
            runs[spec.variant].append(RunResult(spec.run_dir, spec.seed, RunResults.read(spec.results_file)))
            continue
        announce(where)
        run = run_one(spec, progress=progress)
        announce(f"    test micro F1 {_shown(run.metric('micro_f1'))}, lower-cased {_shown(run.metric('lowercased_micro_f1'))}")
        runs[spec.variant].append(run)
    result = summarize(runs, str(definition.baseline), out, definition.focus_type)
    paths = result.write()
    announce(f"comparison written to {paths['md']}, {paths['csv']} and {paths['png']}")
    return result


def _shown(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.4f}"
