"""Distilled or not, over seeds: students of one teacher trained with and without it, side by side (docs/export.md).

    python benchmarks/distill_seeds.py runs/pii-minilm recipes/pii-minilm.yaml --layers 3 --seeds 1,2,3 \\
        --variants distilled=0.5,plain=0,marginals=0.5:marginals --set corpus.path=runs/conll03-wnut17 \\
        --leaks runs/redaction-quality/gold-cased-seed0.jsonl --output runs/distill-seeds

Each variant ``NAME=ALPHA[:TARGET]`` is ``flair-modernbert distill TEACHER RECIPE --layers K --alpha ALPHA --target
TARGET --seed S`` for every seed (``--alpha 0`` is the same student, the same layers and data, without the teacher),
written to ``OUTPUT/NAME-seedS``. ``--leaks`` (span JSON lines with gold spans, e.g. a presidio-evaluator set of
``benchmarks/redaction_quality.py``) is scored with ``flair_modernbert.leaks`` for the teacher and every student at
the recall bias each stores: core entity leak rate and over-redaction. ``summary.md`` holds one row per run and
one per variant with mean ± std over the seeds; ``results.json`` every number. A run whose ``results.json`` exists
is read, not redone, so an interrupted grid goes on (its ``distillation.json`` must name the same teacher, layers,
alpha, target and temperature, else the script stops: ``--set`` overrides are not compared); an interrupted run's
folder is cleared and trained again, a symbolic link never. Leak scores are kept in ``leaks.json`` next to each
run and redone when the gold file or the model differs. ``--set training.max_epochs=N`` and other recipe overrides
apply to every student.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from pathlib import Path
from typing import Any, Optional, Sequence, Union

logger = logging.getLogger("distill_seeds")


def parse_variants(text: str) -> dict[str, tuple[float, str]]:
    """``"distilled=0.5,plain=0,marginals=0.5:marginals"`` → ``{name: (alpha, target)}``."""
    from flair_modernbert.distillation.loss import TARGETS

    variants: dict[str, tuple[float, str]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        alpha, _, target = value.partition(":")
        try:
            number = float(alpha)
        except ValueError:
            number = -1.0
        if not sep or not name or not 0.0 <= number <= 1.0:
            raise SystemExit(f"--variants: '{item}' is not NAME=ALPHA[:TARGET] with ALPHA from 0 to 1")
        if name in variants:
            raise SystemExit(f"--variants: '{name}' is named twice")
        if (target or "emissions") not in TARGETS:
            raise SystemExit(f"--variants: '{item}': TARGET must be one of {', '.join(TARGETS)}")
        variants[name] = (number, target or "emissions")
    if not variants:
        raise SystemExit("--variants: give at least one NAME=ALPHA[:TARGET]")
    return variants


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (see the module docstring); a teacher that is no run folder or a missing file is refused."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("teacher", type=Path, help="the trained tagger (run folder)")
    parser.add_argument("recipe", type=Path, help="the recipe that trains the students (usually the teacher's)")
    parser.add_argument("--layers", required=True, metavar="K|T,T,...",
                        help="the students' number of layers, or the teacher layers they keep (0,1: the two lowest)")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated training seeds")
    parser.add_argument("--variants", default="distilled=0.5,plain=0",
                        help="comma-separated NAME=ALPHA[:TARGET] (TARGET: emissions or marginals)")
    parser.add_argument("--temperature", type=float, default=2.0, help="distillation temperature")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe value")
    parser.add_argument("--leaks", type=Path, default=None, help="gold span JSON lines to score leaks on")
    parser.add_argument("--output", type=Path, required=True, help="folder of the runs and the summary")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        args.seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    except ValueError:
        parser.error(f"--seeds: expected comma-separated integers, got '{args.seeds}'")
    args.variants = parse_variants(args.variants)
    from flair_modernbert.distillation.layers import parse_layers

    try:
        args.layers = parse_layers(args.layers)
    except ValueError as error:
        parser.error(f"--layers: {error}")
    if not (args.teacher / "results.json").is_file():
        parser.error(f"teacher: {args.teacher} is not a run folder with results.json (its test F1 is the reference)")
    if args.leaks is not None and not args.leaks.is_file():
        parser.error(f"--leaks: no file {args.leaks}")
    return args


def leak_numbers(model: Path, gold: Path, folder: Path) -> dict[str, float]:
    """Core leak rate and over-redaction of ``model`` on ``gold`` at its stored recall bias (cached in ``folder``)."""
    path = folder / "leaks.json"
    if not path.is_file() or _leak_source(path) != (model.resolve(), gold.resolve()):
        from flair_modernbert.leaks.report import write_json
        from flair_modernbert.leaks.run import leak_report

        run = leak_report(str(model), gold)
        write_json(path, run.reports, **run.meta)
    report = json.loads(path.read_text(encoding="utf-8"))["reports"][0]
    return {"leak_rate": report["core"]["leak_rate"], "over_redaction": report["overall"]["over_redaction"],
            "recall_bias": report["recall_bias"]}


def _leak_source(path: Path) -> tuple[Path, Path]:
    meta = json.loads(path.read_text(encoding="utf-8"))
    return Path(str(meta.get("model"))).resolve(), Path(str(meta.get("data"))).resolve()


def check_run(folder: Path, teacher: Path, layers: Union[int, list[int]], alpha: float, target: str,
              temperature: float) -> None:
    """Stop if a finished run in ``folder`` was trained otherwise than asked (a stale grid, a wrong link)."""
    facts = json.loads((folder / "distillation.json").read_text(encoding="utf-8"))
    kept = facts["student_layers"] if isinstance(layers, int) else facts["kept_layers"]
    found = (Path(facts["teacher"]).resolve(), kept, facts["alpha"],
             facts.get("target", "emissions"), facts["temperature"])  # runs before --target distilled emissions
    wanted = (teacher.resolve(), layers, alpha, target, temperature)
    if found != wanted:
        names = ("teacher", "layers", "alpha", "target", "temperature")
        differ = ", ".join(f"{n} {f} (asked {w})" for n, f, w in zip(names, found, wanted) if f != w)
        raise SystemExit(f"{folder}: a finished run trained with {differ}; remove it or choose another --output")


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(teacher: dict[str, Any], rows: list[dict[str, Any]], seeds: Sequence[int]) -> str:
    """The Markdown of ``summary.md``: one row per run, then mean ± std per variant."""
    from tabulate import tabulate

    def pct(value: Optional[float]) -> str:
        return "–" if value is None else f"{100 * value:.1f} %"

    head = ["run", "alpha", "target", "seed", "test F1", "of teacher", "core leaked", "over-redaction", "train s"]
    table = [["teacher", "", "", "", f"{teacher['f1']:.4f}", "100 %", pct(teacher.get("leak_rate")),
              pct(teacher.get("over_redaction")), ""]]
    table += [[row["variant"], row["alpha"], row["target"], row["seed"], f"{row['f1']:.4f}",
               pct(row["f1"] / teacher["f1"]), pct(row.get("leak_rate")), pct(row.get("over_redaction")),
               f"{row['train_seconds']:.0f}"] for row in rows]
    lines = [f"# Students of {teacher['run']} over seeds {', '.join(map(str, seeds))}", "",
             tabulate(table, head, tablefmt="github", disable_numparse=True), "", "Mean ± std over the seeds:", ""]
    summary = []
    for variant in dict.fromkeys(row["variant"] for row in rows):
        mine = [row for row in rows if row["variant"] == variant]
        cells = [variant, len(mine)]
        for key, scale in (("f1", 1.0), ("f1", 1.0 / teacher["f1"]), ("leak_rate", 1.0), ("over_redaction", 1.0)):
            values = [row[key] * scale for row in mine if row.get(key) is not None]
            if not values:
                cells.append("–")
                continue
            mean, std = mean_std(values)
            cells.append(f"{mean:.4f} ± {std:.4f}" if key == "f1" and scale == 1.0
                         else f"{100 * mean:.1f} ± {100 * std:.1f} %")
        summary.append(cells)
    lines.append(tabulate(summary, ["variant", "seeds", "test F1", "of teacher", "core leaked", "over-redaction"],
                          tablefmt="github", disable_numparse=True))
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    from flair_modernbert.distillation import distill

    args.output.mkdir(parents=True, exist_ok=True)
    teacher_results = json.loads((args.teacher / "results.json").read_text(encoding="utf-8"))
    teacher: dict[str, Any] = {"run": str(args.teacher), "f1": teacher_results["micro_f1"]}
    if args.leaks is not None:
        teacher.update(leak_numbers(args.teacher, args.leaks, args.output / "teacher-leaks"))
    rows: list[dict[str, Any]] = []
    for name, (alpha, target) in args.variants.items():
        for seed in args.seeds:
            folder = args.output / f"{name}-seed{seed}"
            if (folder / "results.json").is_file():
                check_run(folder, args.teacher, args.layers, alpha, target, args.temperature)
            elif folder.is_symlink():
                raise SystemExit(f"{folder} is a link to a run without results.json (still training?); not cleared")
            else:
                logger.info("training %s (alpha %g, %s, seed %d)", folder, alpha, target, seed)
                distill(args.teacher, args.recipe, args.layers, folder, alpha=alpha, temperature=args.temperature,
                        target=target, overrides=args.set, seed=seed, progress=not args.no_progress,
                        overwrite=True)
            results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
            if results.get("micro_f1") is None:
                raise SystemExit(f"{folder}: no test F1 in results.json (the recipe's corpus needs a test split)")
            row = {"variant": name, "alpha": alpha, "target": target, "seed": seed, "run": str(folder),
                   "f1": results["micro_f1"], "train_seconds": results["train_seconds"]}
            if args.leaks is not None:
                row.update(leak_numbers(folder, args.leaks, folder / "leaks"))
            rows.append(row)
    (args.output / "results.json").write_text(json.dumps({"teacher": teacher, "runs": rows}, indent=2) + "\n",
                                              encoding="utf-8")
    text = summarise(teacher, rows, args.seeds)
    (args.output / "summary.md").write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
