"""Ablations: definition checks, the comparison arithmetic, and the shipped smoke ablation end to end."""

import json
import math
import statistics
from pathlib import Path

import pytest

from flair_modernbert.cli import main
from flair_modernbert.config import ConfigError, load_ablation
from flair_modernbert.evaluation import EvaluationResult
from flair_modernbert.experiments.ablation import read_ablation_csv, run_ablation, summarize
from flair_modernbert.training import RunResult, RunResults

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "augment" / "wnut17-smoke.yaml"


def _write(tmp_path, text):
    path = tmp_path / "ablation.yaml"
    recipe = (ROOT / "recipes" / "quickstart.yaml").as_posix()
    path.write_text(text.replace("RECIPE", recipe), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("recipe: RECIPE\nvariants: [{name: a}]\nseed: [1]\n", "seed: unknown key; did you mean 'seeds'?"),
        ("recipe: RECIPE\nvariants: [{name: a}, {name: a}]\n", "variants: the names a repeat"),
        ("recipe: RECIPE\nbaseline: b\nvariants: [{name: a}]\n", "baseline: 'b' is not a variant; variants: a"),
        ("recipe: RECIPE\nvariants: [{name: a, set: [training.max_epoch=2]}]\n",
         "variant 'a': .*training.max_epoch: unknown key; did you mean 'max_epochs'"),
        ("recipe: RECIPE\nvariants: [{name: a, augmentation: [{type: shout}]}]\n",
         r"variants\[0\]\.augmentation\.ops\[0\]\.type: expected one of .*'shout'"),
        ("recipe: RECIPE\nseeds: [1, 1]\nvariants: [{name: a}]\n", r"seeds: seeds must be distinct, got \[1, 1\]"),
        ("recipe: RECIPE\nvariants: [{name: a, sets: []}]\n", r"variants\[0\]\.sets: unknown key"),
        ("recipe: nowhere.yaml\nvariants: [{name: a}]\n", "recipe: .*nowhere.yaml does not exist"),
    ],
)
def test_bad_definitions_name_file_and_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as error:
        load_ablation(path)
    assert str(error.value).startswith(f"{path}: ")


def test_the_shipped_definitions_validate():
    smoke = load_ablation(SMOKE)
    assert [v.name for v in smoke.variants] == ["baseline", "+lowercase", "+swap", "+noise", "+dice", "all"]
    assert smoke.baseline == "baseline" and len(smoke.seeds) >= 2
    real = load_ablation(ROOT / "augment" / "ontonotes5-base.yaml")
    assert Path(real.recipe).name == "ontonotes5-base-crf.yaml" and len(real.seeds) >= 3


def _scores(micro, person=None):
    entry = {"precision": micro, "recall": micro, "f1": micro, "support": 1}
    per_class = {"person": {**entry, "f1": person}} if person is not None else {}
    return EvaluationResult.from_dict({"micro": entry, "macro": entry, "per_class": per_class})


def _run(seed, micro, person, lower):
    results = RunResults(seed, "corpus", "ner", "random:tiny", "crf", "ce", 1, 10, test=_scores(micro, person),
                         test_lowercased=_scores(lower))
    return RunResult(Path("."), seed, results)


def _row(markdown, name):
    """The cells of a variant's row in a Markdown table."""
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {name} "))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_comparison_arithmetic_is_mean_std_delta_and_the_two_std_rule(tmp_path):
    runs = {
        "baseline": [_run(1, 0.50, 0.40, 0.30), _run(2, 0.52, 0.42, 0.32)],
        "+lowercase": [_run(1, 0.51, 0.41, 0.60), _run(2, 0.53, 0.43, 0.62)],
    }
    result = summarize(runs, "baseline", tmp_path)
    assert result.focus_type == "person"
    base, variant = result.variants
    std = statistics.stdev([0.50, 0.52])  # 0.0141...
    assert base.metrics["micro_f1"].mean == pytest.approx(0.51) and base.metrics["micro_f1"].std == pytest.approx(std)
    # +0.01 micro F1 is within 2 std (0.028): not significant; +0.30 lower-cased F1 is
    assert variant.metrics["micro_f1"].delta == pytest.approx(0.01)
    assert variant.metrics["micro_f1"].significant is False
    assert variant.metrics["lowercased_micro_f1"].delta == pytest.approx(0.30)
    assert variant.metrics["lowercased_micro_f1"].significant is True
    assert variant.metrics["lowercased_micro_f1"].p_value < 0.01
    markdown = result.markdown()
    assert _row(markdown, "+lowercase")[:5] == ["+lowercase", "2", "0.5200 ± 0.0141", "0.4200 ± 0.0141", "0.6100 ± 0.0141"]
    assert _row(markdown, "+lowercase")[-1].startswith("+0.3000 *") and _row(markdown, "baseline")[1] == "2"
    paths = result.write()
    rows = read_ablation_csv(paths["csv"])
    assert [r["variant"] for r in rows] == ["baseline", "+lowercase"]
    assert float(rows[1]["lowercased_micro_f1_delta"]) == pytest.approx(0.30)
    assert rows[1]["micro_f1_significant"] == "false" and rows[1]["lowercased_micro_f1_significant"] == "true"
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"


def test_near_zero_scores_are_never_marked_significant(tmp_path):
    # random-weight smoke runs: F1 near 0 with tiny spread must not earn a star
    runs = {"baseline": [_run(1, 0.0001, 0.0, 0.0), _run(2, 0.0002, 0.0, 0.0)],
            "v": [_run(1, 0.0030, 0.0, 0.0), _run(2, 0.0031, 0.0, 0.0)]}
    metric = summarize(runs, "baseline", tmp_path).variants[1].metrics["micro_f1"]
    assert metric.delta == pytest.approx(0.0029) and metric.significant is False


def test_error_bars_stay_inside_zero_and_one(tmp_path):
    # mean 0.255, std 0.35: a plain ± std bar would reach -0.1
    result = summarize({"b": [_run(1, 0.01, 0.0, 0.0), _run(2, 0.5, 0.0, 0.0)]}, "b", tmp_path)
    below, above = result.error_bars("micro_f1")
    mean = result.variants[0].metrics["micro_f1"].mean
    assert mean - below[0] == pytest.approx(0.0) and above[0] == pytest.approx(result.variants[0].metrics["micro_f1"].std)
    assert result.write()["png"].read_bytes()[:4] == b"\x89PNG"


def test_one_seed_gives_deltas_without_a_significance_claim(tmp_path):
    result = summarize({"b": [_run(1, 0.5, 0.5, 0.5)], "v": [_run(1, 0.6, 0.5, 0.5)]}, "b", tmp_path)
    metric = result.variants[1].metrics["micro_f1"]
    assert metric.delta == pytest.approx(0.1) and metric.significant is None
    assert "+0.1000 (1 seed)" in result.markdown()


def test_smoke_ablation_runs_end_to_end_and_its_table_reads_back(tmp_path, capsys):
    """The shipped augment/wnut17-smoke.yaml, as a user runs it: every variant x seed, then the table."""
    assert main(["ablate", str(SMOKE), "--output", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith(f"TensorBoard logs: {tmp_path / 'tensorboard'}")
    definition = load_ablation(SMOKE)
    rows = read_ablation_csv(tmp_path / "ablation.csv")
    assert [r["variant"] for r in rows] == [v.name for v in definition.variants]
    means = {}
    for row in rows:
        assert row["seeds"] == " ".join(map(str, definition.seeds))
        values = []
        for seed in definition.seeds:
            run_dir = tmp_path / row["variant"] / f"seed-{seed}"
            results = json.loads((run_dir / "results.json").read_text())
            values.append(results["micro_f1"])
            assert (tmp_path / "tensorboard" / row["variant"] / f"seed-{seed}").is_dir()
            if row["variant"] in ("+lowercase", "+swap", "+noise", "all"):
                assert results["augmentation"]["added"] > 0
            else:
                assert results["augmentation"] is None
        assert float(row["micro_f1_mean"]) == pytest.approx(statistics.fmean(values), abs=1e-6)
        assert float(row["micro_f1_std"]) == pytest.approx(statistics.stdev(values), abs=1e-6)
        means[row["variant"]] = statistics.fmean(values)
        if row["variant"] != "baseline":
            # from the unrounded means: the CSV's delta is rounded once, not the difference of two rounded means
            expected = means[row["variant"]] - means["baseline"]
            assert float(row["micro_f1_delta"]) == pytest.approx(expected, abs=1e-6)
    assert (tmp_path / "ablation.png").is_file()
    markdown = (tmp_path / "ablation.md").read_text()
    assert markdown in printed and "person F1" in markdown
    assert not any(math.isnan(float(r["micro_f1_mean"])) for r in rows)
    # a second call reuses the finished runs instead of training again
    result = run_ablation(SMOKE, output_dir=tmp_path, announce=lambda line: None, progress=False)
    assert result.markdown() == markdown.rstrip("\n")
