"""Ablations on Ray: the same files and table as the local runner, finished runs reused, failed runs reported.

The shipped smoke ablation (augment/wnut17-smoke.yaml), cut down to run in CI: its first two variants, two of its
seeds, 40 sentences per split and one epoch, plus a variant whose model folder does not exist, so each of its
runs raises (after writing recipe.yaml: the retry has to clear that). The local runner and the Ray backend (a Ray
instance started on this machine, one CPU per run) train it; the tables must be identical.
"""

import json
import os
import shutil
from pathlib import Path

import torch
import yaml

from flair_modernbert.cli import main
from flair_modernbert.config import load_ablation
from flair_modernbert.experiments.ablation import read_ablation_csv
from flair_modernbert.experiments.ray_backend import ray_runtime_env

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "augment" / "wnut17-smoke.yaml"
SEEDS = 2


def _reduced_smoke(tmp_path: Path) -> tuple[Path, Path]:
    """The smoke definition cut down (see the module docstring); returns it and the missing model folder."""
    smoke = load_ablation(SMOKE)
    data = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    missing = tmp_path / "missing-model"
    data["recipe"] = smoke.recipe
    data["set"] = [*data.get("set", []), "training.max_epochs=1", "corpus.sample=40"]
    data["seeds"] = smoke.seeds[:SEEDS]
    data["variants"] = data["variants"][:2] + [{"name": "missing-model", "set": [f"embeddings.model={missing}"]}]
    path = tmp_path / "smoke-reduced.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path, missing


def _files(out: Path) -> set[str]:
    # event files are named after time, host and process: compare their folders
    return {str(p.relative_to(out)).split("events.out.tfevents")[0] for p in out.rglob("*") if p.is_file()}


def _same_numbers(first: Path, second: Path) -> None:
    a, b = (json.loads((folder / "results.json").read_text()) for folder in (first, second))
    for key in ("train_seconds", "tensorboard"):
        a.pop(key), b.pop(key)
    assert a == b
    weights = [torch.load(folder / "final-model.pt", map_location="cpu", weights_only=False)["state_dict"]
               for folder in (first, second)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


def test_ray_backend_matches_the_local_runner_reuses_runs_and_reports_failures(tmp_path, capsys):
    definition, missing = _reduced_smoke(tmp_path)
    local, on_ray = tmp_path / "local", tmp_path / "ray"

    # one torch thread, as a Ray task with one CPU has: then even the weights are bitwise equal
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["ablate", str(definition), "--output", str(local), "--no-progress"]) == 0
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    assert printed.count("failed (OSError: Could not load the config of") == SEEDS  # each tried once more

    # a finished run is reused, whichever backend finished it
    for part in (Path("baseline/seed-1"), Path("tensorboard/baseline/seed-1")):
        shutil.copytree(local / part, on_ray / part)
    assert main(["ablate", str(definition), "--output", str(on_ray), "--backend", "ray", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "baseline, seed 1: finished earlier, reusing" in printed
    assert f"{3 * SEEDS - 1} of {3 * SEEDS} runs to train (ray backend)" in printed
    assert "runs as Ray tasks on a Ray instance on this machine (1 CPU, 0 GPU each" in printed

    # the same table, files and numbers
    for name in ("ablation.csv", "ablation.md", "ablation.json"):
        assert (local / name).read_text() == (on_ray / name).read_text(), name
    assert _files(local) == _files(on_ray)
    for variant in ("baseline", "+lowercase"):
        for seed in (1, 2):
            _same_numbers(local / variant / f"seed-{seed}", on_ray / variant / f"seed-{seed}")

    # the failed runs are in the table with their error; the others are summarised as usual
    rows = {row["variant"]: row for row in read_ablation_csv(on_ray / "ablation.csv")}
    assert list(rows) == ["baseline", "+lowercase", "missing-model"]
    assert rows["baseline"]["seeds"] == rows["+lowercase"]["seeds"] == "1 2"
    assert rows["+lowercase"]["micro_f1_delta"] != "" and rows["baseline"]["failed_seeds"] == ""
    failed = rows["missing-model"]
    assert failed["seeds"] == "" and failed["failed_seeds"] == "1 2" and failed["micro_f1_mean"] == ""
    assert failed["errors"].startswith(f"seed 1: OSError: Could not load the config of '{missing}'")
    markdown = (on_ray / "ablation.md").read_text()
    assert "| missing-model | 0 (2 failed) |" in markdown
    assert f"- `missing-model` seed 2: OSError: Could not load the config of '{missing}'" in markdown
    report = json.loads((on_ray / "ablation.json").read_text())
    assert [(run["run_dir"], run["attempts"]) for run in report["failed"]] == [
        ("missing-model/seed-1", 2), ("missing-model/seed-2", 2)]
    error = (on_ray / "missing-model" / "seed-1" / "error.txt").read_text()
    # Ray's remote traceback, down to the frame that raised
    assert "failed 2 time(s)" in error and "in model_type_of" in error and "\x1b[" not in error


def test_ray_tasks_get_the_drivers_environment(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    env = ray_runtime_env(embedded=True)["env_vars"]
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["FLAIR_MODERNBERT_CACHE"] == os.environ["FLAIR_MODERNBERT_CACHE"]  # set by conftest
    assert env["PYTHONPATH"].split(os.pathsep) == [str(ROOT), "/somewhere/else"]
    # a remote cluster imports its own installation: no local paths are sent there
    assert "PYTHONPATH" not in ray_runtime_env(embedded=False)["env_vars"]


def test_cluster_options_need_the_ray_backend(tmp_path, capsys):
    definition, _ = _reduced_smoke(tmp_path)
    assert main(["ablate", str(definition), "--address", "auto"]) == 2
    assert "--address, --gpus-per-run and --cpus-per-run go with --backend ray" in capsys.readouterr().err
