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
**significant** when it exceeds twice the larger of the two standard deviations (a deliberately simple,
conservative rule: seed noise of fine-tuned NER models is easily 0.5-1 F1 point); Welch's t-test p-value is
given next to it when both sides have at least two seeds.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import yaml

from flair_modernbert.recipes import RecipeError, load_recipe, resolve_path
from flair_modernbert.training import RunResult, mean_std, train_run

logger = logging.getLogger(__name__)

__all__ = [
    "AblationError",
    "Variant",
    "AblationDefinition",
    "MetricSummary",
    "VariantSummary",
    "AblationResult",
    "load_ablation",
    "run_ablation",
    "read_ablation_csv",
]

_KEYS = ("recipe", "set", "seeds", "baseline", "focus_type", "output_dir", "variants")
_VARIANT_KEYS = ("name", "augmentation", "set")
#: (metric key, column title)
METRICS = (("micro_f1", "test micro F1"), ("focus_f1", "{focus} F1"), ("lowercased_micro_f1", "lower-cased test micro F1"))


class AblationError(ValueError):
    """An ablation definition is invalid; the message names the file and the key."""


@dataclass
class Variant:
    """One variant: the base recipe with its own augmentation and overrides."""

    name: str
    augmentation: Optional[Union[list, dict]] = None
    overrides: list[str] = field(default_factory=list)


@dataclass
class AblationDefinition:
    """A parsed ablation file (see the module docstring)."""

    source: Path
    recipe: Path
    seeds: list[int]
    variants: list[Variant]
    baseline: str
    overrides: list[str] = field(default_factory=list)
    focus_type: Optional[str] = None
    output_dir: Optional[Path] = None


def _strings(value: Any, key: str, source: Path) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AblationError(f"{source}: {key}: expected a list of KEY=VALUE strings, got {value!r}")
    return value


def load_ablation(path: Union[str, Path]) -> AblationDefinition:
    """Read and check an ablation definition; every variant's recipe is validated before anything trains.

    Raises:
        FileNotFoundError: the file or its base recipe is missing.
        AblationError: an unknown or malformed key, a duplicate variant, an unknown baseline, or a variant
            whose recipe does not validate (the recipe error is included).
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"ablation definition {source} does not exist")
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise AblationError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise AblationError(f"{source}: expected a mapping with the keys {', '.join(_KEYS)}")
    for key in data:
        if key not in _KEYS:
            raise AblationError(f"{source}: unknown key {key!r}; valid keys: {', '.join(_KEYS)}")
    if "recipe" not in data or not isinstance(data["recipe"], str):
        raise AblationError(f"{source}: recipe: the base recipe file is required (a path relative to this file)")
    recipe = resolve_path(data["recipe"], source.resolve().parent)
    if not recipe.is_file():
        raise FileNotFoundError(f"{source}: recipe: {recipe} does not exist")
    seeds = data.get("seeds", [42])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise AblationError(f"{source}: seeds: expected a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise AblationError(f"{source}: seeds: {seeds} repeats a seed")
    raw_variants = data.get("variants")
    if not isinstance(raw_variants, list) or not raw_variants:
        raise AblationError(f"{source}: variants: expected a non-empty list of {{name, augmentation, set}}")
    variants = []
    for index, raw in enumerate(raw_variants):
        where = f"variants[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
            raise AblationError(f"{source}: {where}: expected a mapping with a 'name'")
        for key in raw:
            if key not in _VARIANT_KEYS:
                raise AblationError(f"{source}: {where}: unknown key {key!r}; valid keys: {', '.join(_VARIANT_KEYS)}")
        if "/" in raw["name"] or raw["name"] in (".", ".."):
            raise AblationError(f"{source}: {where}.name: {raw['name']!r} is used as a folder name; avoid '/'")
        variants.append(Variant(raw["name"], copy.deepcopy(raw.get("augmentation")), _strings(raw.get("set"), f"{where}.set", source)))
    names = [v.name for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise AblationError(f"{source}: variants: the names {', '.join(duplicates)} repeat")
    baseline = data.get("baseline", names[0])
    if baseline not in names:
        raise AblationError(f"{source}: baseline: {baseline!r} is not a variant; variants: {', '.join(names)}")
    output_dir = data.get("output_dir")
    definition = AblationDefinition(
        source=source,
        recipe=recipe,
        seeds=list(seeds),
        variants=variants,
        baseline=baseline,
        overrides=_strings(data.get("set"), "set", source),
        focus_type=data.get("focus_type"),
        output_dir=resolve_path(output_dir, source.resolve().parent) if output_dir else None,
    )
    for variant in variants:
        variant_recipe(definition, variant)  # fail now, not after hours of training
    return definition


def variant_recipe(definition: AblationDefinition, variant: Variant):
    """The validated recipe of one variant: base recipe + common overrides + the variant's."""
    overrides = list(definition.overrides) + list(variant.overrides)
    try:
        recipe = load_recipe(definition.recipe, overrides)
        if variant.augmentation is not None:
            from flair_modernbert.augmentation.config import parse_augmentation

            parse_augmentation(variant.augmentation, source=f"{definition.source}: variant {variant.name}",
                               base_dir=definition.source.resolve().parent)
            recipe.augmentation = copy.deepcopy(variant.augmentation)
    except (RecipeError, ValueError) as error:
        raise AblationError(f"{definition.source}: variant {variant.name!r}: {error}") from error
    return recipe


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
        titles = self.titles()
        header = ["variant", "seeds"] + [t for _, t in titles] + [f"Δ {t}" for _, t in titles]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for variant in self.variants:
            cells = [variant.name, str(len(variant.seeds))]
            cells += [variant.metrics[key].cell() for key, _ in titles]
            cells += ["baseline" if variant.name == self.baseline else variant.metrics[key].delta_cell()
                      for key, _ in titles]
            lines.append("| " + " | ".join(cells) + " |")
        lines += [
            "",
            f"Mean ± sample standard deviation over seeds; Δ = difference of the means to `{self.baseline}`. "
            "`*` marks a difference larger than twice the larger of the two standard deviations (beyond seed "
            "noise); p is Welch's t-test.",
        ]
        return "\n".join(lines)

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
            stds = [_zero(v.metrics[key].std) for v in self.variants]
            positions = [i + (index - (len(titles) - 1) / 2) * width for i in range(len(self.variants))]
            axes.bar(positions, means, width, yerr=stds, capsize=3, label=title)
        axes.set_xticks(range(len(self.variants)))
        axes.set_xticklabels([v.name for v in self.variants], rotation=20, ha="right")
        axes.set_ylabel("F1 (mean ± std over seeds)")
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
    types = sorted({t for run in runs for t in (run.results.get("test") or {}).get("per_class", {})})
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
                metric.significant = abs(metric.delta) > 2 * max(metric.std, reference.std)
                metric.p_value = _welch(metric.values, reference.values)
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
    """Train every variant x seed (skipping runs already finished) and write the comparison files.

    Args:
        definition: an ablation file or a loaded :class:`AblationDefinition`.
        output_dir: overrides the definition's ``output_dir``.
        announce: receives progress lines; the first says where the TensorBoard logs go.
        progress: show progress bars.

    Returns:
        The :class:`AblationResult` (its files are written to the output folder).
    """
    announce = announce or (lambda line: logger.info("%s", line))
    if not isinstance(definition, AblationDefinition):
        definition = load_ablation(definition)
    out = Path(output_dir) if output_dir else definition.output_dir or Path("runs") / f"ablation-{definition.source.stem}"
    out = out.resolve()
    tensorboard = out / "tensorboard"
    announce(f"TensorBoard logs: {tensorboard}  (one run per variant and seed; tensorboard --logdir {tensorboard})")
    total = len(definition.variants) * len(definition.seeds)
    runs: dict[str, list[RunResult]] = {}
    done = 0
    for variant in definition.variants:
        recipe = variant_recipe(definition, variant)
        runs[variant.name] = []
        for seed in definition.seeds:
            done += 1
            run_dir = out / variant.name / f"seed-{seed}"
            results_file = run_dir / "results.json"
            if results_file.is_file():
                announce(f"[{done}/{total}] {variant.name}, seed {seed}: finished earlier, reusing {results_file}")
                results = json.loads(results_file.read_text(encoding="utf-8"))
                runs[variant.name].append(RunResult(run_dir, seed, results))
                continue
            announce(f"[{done}/{total}] {variant.name}, seed {seed}")
            # the run's own lines go to the log; the console gets one line per run
            run = train_run(recipe, run_dir, seed, tensorboard_dir=tensorboard / variant.name / f"seed-{seed}",
                            progress=progress)
            announce(
                f"    test micro F1 {run.results.get('micro_f1', float('nan')):.4f}, lower-cased "
                f"{run.results.get('lowercased_micro_f1', float('nan')):.4f}"
            )
            runs[variant.name].append(run)
    result = summarize(runs, definition.baseline, out, definition.focus_type)
    paths = result.write()
    announce(f"comparison written to {paths['md']}, {paths['csv']} and {paths['png']}")
    return result
