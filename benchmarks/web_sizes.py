"""Which size for the web: file size × test F1 × leaks × speed, for a tagger and its students, per dtype (docs/export.md).

One command writes the whole table of issue 26:

    python benchmarks/web_sizes.py --taggers runs/pii-minilm,runs/student-4,runs/student-3,runs/student-2 \\
        --corpus recipes/pii-minilm.yaml --set corpus.path=runs/conll03-wnut17 \\
        --vocab runs/dev-mixed.jsonl --leaks runs/redaction-quality/gold-cased-seed0.jsonl \\
        --output runs/web-sizes

For every tagger of ``--taggers`` (the first is the teacher the others are compared with), without and with the
trimmed vocabulary of ``--vocab``, ``python -m flair_modernbert.export.benchmark`` exports fp32 and the
``--quantize`` copies and measures, per Transformers.js dtype, the ONNX file's size, the test F1 (the JavaScript
module in Node on the first ``--sentences`` sentences of the corpus's test split) and the latency per 100-word text
in Node and in headless Chromium (WASM; median and p90 of ``--texts`` texts). Then ``node predict.mjs --types all
--dtype D`` redacts ``--leaks`` (span JSON lines with gold spans, e.g. a presidio-evaluator set written by
``benchmarks/redaction_quality.py``) and ``flair_modernbert.leaks`` scores it: core entity leak rate and
over-redaction, each file at the recall bias its tagger stores. Last, random-weight ModernBERT-base at its real
50,368-token vocabulary, with ``--modernbert-layers`` layers (a student's layer choice, untrained: size and speed
only), on ``--modernbert-data``.

Written to ``--output``: one folder per measured export (the export benchmark's ``results.json``, ``tags.json`` and
the export itself; ``leaks-<dtype>/`` with the spans and ``leaks.json``), ``results.json`` (every row) and
``summary.md`` (the table, the smallest file within 2 points of the fp32 teacher's leak rate, and the goals of issue
26). Each stage is skipped when its results exist and ``--redo`` is not given, so an interrupted run goes on.
Timings depend on what else runs on the machine: run it alone.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from redaction_quality import score_export

from flair_modernbert.export.benchmark import add_vocab_options
from flair_modernbert.inference import run_recall_bias

logger = logging.getLogger("web_sizes")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODERNBERT_DATA = ROOT.parent / "shared" / "data" / "wnut17" / "emerging.test.annotated"
NAMES = {"fp32": "fp32", "fp16": "fp16", "q8": "int8", "q4": "q4"}
#: The most over-redaction a file may have to count as a usable small file (issue 25's goal).
OVER_REDACTION_CAP = 0.05


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--taggers", default="", help="trained taggers, comma-separated; the first is the teacher")
    parser.add_argument("--corpus", type=Path, default=None, help="the recipe (or column folder) whose test split is scored")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a corpus value")
    add_vocab_options(parser, "also export each tagger with the vocabulary trimmed to CORPUS (export's --vocab)")
    parser.add_argument("--leaks", type=Path, default=None,
                        help="span JSON lines with gold spans: each file's core leak rate on them")
    parser.add_argument("--quantize", default="int8,q4", help="quantized copies next to fp32 (default int8,q4)")
    parser.add_argument("--texts", type=int, default=20, help="100-word texts timed per runtime (default 20)")
    parser.add_argument("--sentences", type=int, default=300, help="test sentences scored (default 300)")
    parser.add_argument("--modernbert-layers", default="22,11,7",
                        help="random ModernBERT-base depths, size and speed only ('' for none; default 22,11,7)")
    parser.add_argument("--modernbert-data", type=Path, default=DEFAULT_MODERNBERT_DATA,
                        help="a column file whose words the random ModernBERT tags and times (default: WNUT-17 test)")
    parser.add_argument("--modernbert-sentences", type=int, default=200, help="its sentences tagged (default 200)")
    parser.add_argument("--skip-browser", action="store_true", help="no Chromium measurement")
    parser.add_argument("--redo", action="store_true", help="measure again what the output folder already holds")
    parser.add_argument("--output", type=Path, default=ROOT / "runs" / "web-sizes", help="work and results folder")
    args = parser.parse_args(argv)
    args.taggers = [Path(t) for t in args.taggers.split(",") if t.strip()]
    try:
        args.modernbert_layers = [int(k) for k in args.modernbert_layers.split(",") if k.strip()]
    except ValueError:
        parser.error(f"--modernbert-layers: give whole numbers separated by commas, got {args.modernbert_layers!r}")
    if not args.taggers and not args.modernbert_layers:
        parser.error("nothing to measure: give --taggers and/or --modernbert-layers")
    if args.taggers and args.corpus is None:
        parser.error("--taggers needs --corpus: the recipe or column folder whose test split is scored")
    for tagger in args.taggers:
        if not tagger.exists():
            parser.error(f"--taggers: {tagger} does not exist")
    for name in ("leaks", "corpus"):
        value = getattr(args, name)
        if value is not None and not value.exists():
            parser.error(f"--{name}: {value} does not exist")
    if args.modernbert_layers and not args.modernbert_data.is_file():
        parser.error(f"--modernbert-data: {args.modernbert_data} is not a file (give a CoNLL column file)")
    return args


def export_benchmark(out: Path, options: list[str], redo: bool) -> dict[str, Any]:
    """``python -m flair_modernbert.export.benchmark OPTIONS --output OUT``, unless ``OUT/results.json`` exists."""
    results = out / "results.json"
    if results.is_file() and not redo:
        logger.info("%s: measured before, kept (--redo measures again)", out)
        return json.loads(results.read_text(encoding="utf-8"))
    command = [sys.executable, "-m", "flair_modernbert.export.benchmark", *options, "--output", str(out)]
    logger.info("$ %s", " ".join(command))
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    (out / "benchmark.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if not results.is_file() or done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}), see {out / 'benchmark.log'}:\n"
                           f"{done.stderr[-3000:]}")
    measured = json.loads(results.read_text(encoding="utf-8"))
    if done.returncode == 1:  # measured, but a JavaScript F1 differs from Python's: kept, and said in the summary
        logger.error("%s: %s", out.name, "; ".join(measured["f1_failures"]))
    logger.info("%s: %.0f s", out.name, time.perf_counter() - started)
    return measured


def leak_scores(export: Path, gold: Path, out: Path, dtype: str, recall_bias: Optional[float],
                redo: bool) -> dict[str, Optional[float]]:
    """Core leak rate and over-redaction of ``export``'s ``dtype`` file on ``gold``, as ``predict.mjs --recall-bias``
    redacts."""
    path = out / "leaks.json"
    if not path.is_file() or redo:
        report = score_export(export, gold, out, recall_bias, dtype=dtype)
        path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"core_leak_rate": data["core"]["leak_rate"], "over_redaction": data["overall"]["over_redaction"]}


def layers_of(export: Path) -> int:
    config = json.loads((export / "config.json").read_text(encoding="utf-8"))
    return int(config.get("num_hidden_layers") or config.get("n_layers"))


def rows_of(name: str, kind: str, vocabulary: str, results: dict[str, Any], export: Path) -> list[dict[str, Any]]:
    """One row per dtype of one export benchmark's results."""
    rows, layers, latency = [], layers_of(export), results["latency_ms_per_100_words"]
    for dtype, size in results["sizes_mib"].items():
        rows.append({
            "model": name, "kind": kind, "layers": layers, "vocabulary": vocabulary, "dtype": dtype,
            "size_mib": size, "f1": results["f1"].get(f"node {dtype}"),
            "node_ms": latency.get(f"node {dtype}"), "chromium_ms": latency.get(f"chromium wasm {dtype}"),
            "f1_failures": results.get("f1_failures", []),
        })
    return rows


def measure_taggers(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    vocabularies = [None] + ([args.vocab] if args.vocab else [])
    for tagger in args.taggers:
        name = _name(tagger)
        # F1 is the model's own decoding; leaks are measured as the run redacts, at its recipe's recall bias
        bias = run_recall_bias(tagger) or 0.0
        for vocab in vocabularies:
            out = args.output / (name + ("-trimmed" if vocab else ""))
            options = ["--tagger", str(tagger), "--corpus", str(args.corpus), "--quantize", args.quantize,
                       "--texts", str(args.texts), "--sentences", str(args.sentences)]
            options += [item for value in args.set for item in ("--set", value)]
            if vocab:
                options += ["--vocab", vocab, "--vocab-min-agreement", str(args.vocab_min_agreement)]
                options += [item for value in args.vocab_set for item in ("--vocab-set", value)]
            if args.skip_browser:
                options.append("--skip-browser")
            results = export_benchmark(out, options, args.redo)
            found = rows_of(name, "trained", "trimmed" if vocab else "full", results, out / "export")
            for row in found:
                row["recall_bias"] = bias
                if args.leaks is not None:
                    logger.info("%s %s: redacting %s in Node (recall bias %g)", out.name, row["dtype"],
                                args.leaks.name, bias)
                    row.update(leak_scores(out / "export", args.leaks, out / f"leaks-{row['dtype']}", row["dtype"],
                                           bias, args.redo))
            rows += found
    return rows


def measure_modernbert(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for layers in args.modernbert_layers:
        out = args.output / f"modernbert-base-{layers}"
        options = ["--data", str(args.modernbert_data), "--size", "base", "--layers", str(layers),
                   "--quantize", args.quantize, "--texts", str(args.texts),
                   "--sentences", str(args.modernbert_sentences)]
        if args.skip_browser:
            options.append("--skip-browser")
        results = export_benchmark(out, options, args.redo)
        rows += rows_of("ModernBERT-base (random)", "random", "full", results, out / "export")
    return rows


def _ms(entry: Optional[dict[str, Any]]) -> str:
    return "–" if not entry else f"{entry['median_ms']:.0f} ({entry['p90_ms']:.0f})"


def _pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def summary(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The Markdown table, the smallest file near the teacher's leak rate, and the goals of issue 26."""
    teacher = {row["dtype"]: row for row in rows if args.taggers and row["model"] == _name(args.taggers[0])
               and row["vocabulary"] == "full"}
    random_full = {row["dtype"]: row for row in rows if row["kind"] == "random"
                   and row["layers"] == max(args.modernbert_layers or [0])}
    header = ["model", "layers", "vocabulary", "dtype", "file MiB", "test F1", "F1 vs teacher", "core leak %",
              "over-redaction %", "Node ms / 100 words, median (p90)", "Chromium WASM ms, median (p90)",
              "Chromium × faster"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        base = (teacher if row["kind"] == "trained" else random_full).get(row["dtype"])
        f1_ratio = (row["f1"] / base["f1"]) if base and row["f1"] and base["f1"] else None
        speedup = (base["chromium_ms"]["median_ms"] / row["chromium_ms"]["median_ms"]
                   if base and base.get("chromium_ms") and row.get("chromium_ms") else None)
        lines.append("| " + " | ".join([
            row["model"], str(row["layers"]), row["vocabulary"], NAMES.get(row["dtype"], row["dtype"]),
            f"{row['size_mib']:.1f}", "–" if row["f1"] is None else f"{row['f1']:.3f}",
            "–" if f1_ratio is None else f"{100 * f1_ratio:.1f} %", _pct(row.get("core_leak_rate")),
            _pct(row.get("over_redaction")), _ms(row["node_ms"]), _ms(row["chromium_ms"]),
            "–" if speedup is None else f"{speedup:.2f}×"]) + " |")
    notes = [""]
    reference = teacher.get("fp32", {}).get("core_leak_rate")
    if reference is not None:
        near = [row for row in rows if row.get("core_leak_rate") is not None
                and row["core_leak_rate"] <= reference + 0.02]
        # hiding more also leaks less: the same rule among files that hide at most 5 % of what is not personal data
        tidy = [row for row in near if row.get("over_redaction") is not None
                and row["over_redaction"] <= OVER_REDACTION_CAP]
        for found, what in ((near, ""), (tidy, f" and at most {100 * OVER_REDACTION_CAP:.0f} % over-redaction")):
            if not found:
                notes.append(f"No file within 2 points of the fp32 teacher's core leak rate{what}.")
                continue
            smallest = min(found, key=lambda row: row["size_mib"])
            notes.append(
                f"Smallest file within 2 points of the fp32 teacher's core leak rate ({100 * reference:.1f} %){what}: "
                f"{smallest['model']} ({smallest['layers']} layers, {smallest['vocabulary']} vocabulary, "
                f"{NAMES.get(smallest['dtype'], smallest['dtype'])}), {smallest['size_mib']:.1f} MiB, core leak "
                f"{100 * smallest['core_leak_rate']:.1f} %, over-redaction {_pct(smallest['over_redaction'])} % "
                "(goal: ≤ 10 MiB).")
    notes += goals(rows, teacher)
    failures = [f"{row['model']} ({row['vocabulary']} vocabulary): {failure}" for row in rows
                if row["dtype"] == "fp32" for failure in row.get("f1_failures", [])]
    notes += [f"- JavaScript F1 differs from Python's: {failure}" for failure in failures]
    return "\n".join(lines + notes) + "\n"


def _name(tagger: Path) -> str:
    """A run's name: its folder's (``runs/x`` or ``runs/x/final-model.pt`` -> ``x``)."""
    return tagger.parent.name if tagger.suffix == ".pt" else tagger.name


def goals(rows: list[dict[str, Any]], teacher: dict[str, dict[str, Any]]) -> list[str]:
    """Issue 26's goals for the students with half and a third of the teacher's layers (full vocabulary)."""
    if "fp32" not in teacher:
        return []
    layers, lines = teacher["fp32"]["layers"], []
    for share, least in ((2, 0.98), (3, 0.95)):
        for row in rows:
            if row["kind"] != "trained" or row["vocabulary"] != "full" or row["layers"] * share != layers:
                continue
            base = teacher.get(row["dtype"])
            if not base or row["f1"] is None or base["f1"] is None:
                continue
            line = (f"{row['model']} ({row['layers']} of {layers} layers, {NAMES.get(row['dtype'], row['dtype'])}): "
                    f"F1 {100 * row['f1'] / base['f1']:.1f} % of the teacher's (goal ≥ {100 * least:.0f} %)")
            if share == 2 and row.get("core_leak_rate") is not None and base.get("core_leak_rate") is not None:
                line += (f", core leak {100 * (row['core_leak_rate'] - base['core_leak_rate']):+.1f} points "
                         "(goal ≤ +1)")
            if share == 2 and row.get("chromium_ms") and base.get("chromium_ms"):
                line += (f", {base['chromium_ms']['median_ms'] / row['chromium_ms']['median_ms']:.2f}× faster in "
                         "Chromium (goal ≥ 1.8×)")
            lines.append("- " + line)
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.output.mkdir(parents=True, exist_ok=True)
    rows = measure_taggers(args) + measure_modernbert(args)
    (args.output / "results.json").write_text(json.dumps({"rows": rows, "teacher": str(args.taggers[0].name)
                                                          if args.taggers else None}, indent=2) + "\n",
                                              encoding="utf-8")
    text = summary(rows, args)
    (args.output / "summary.md").write_text(text, encoding="utf-8")
    print(text)  # noqa: T201 - a benchmark script prints its table
    return 0


if __name__ == "__main__":
    sys.exit(main())
