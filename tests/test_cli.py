"""The flair-modernbert command line: train, evaluate, predict, redact, as a user runs them."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flair_modernbert.cli import main

ROOT = Path(__file__).resolve().parent.parent

def test_train_prints_tensorboard_location_first_and_learns(names_model, capsys):
    out, _ = names_model
    results = json.loads((out / "results.json").read_text())
    assert results["micro_f1"] > 0.9  # the corpus is memorisable: the whole path learns
    assert results["lowercased_micro_f1"] < results["micro_f1"]  # ... and leans on capitals


def test_train_cli_first_line(tmp_path, capsys):
    code = main(["train", str(ROOT / "recipes" / "quickstart.yaml"), "--set", "corpus.sample=16",
                 "--set", "training.max_epochs=1", "--output", str(tmp_path)])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"TensorBoard logs: {tmp_path / 'tensorboard'}  (view with: tensorboard --logdir {tmp_path / 'tensorboard'})"
    assert any(line.startswith("epoch 1/1: train loss") and "dev micro F1" in line for line in lines)
    assert lines[-1] == f"model and reports written to {tmp_path}"
    # without -v the console stays short, and training.log still holds Flair's full log
    log = (tmp_path / "training.log").read_text(encoding="utf-8")
    assert "EPOCH 1 done: loss" in log and "corpus" in log and "test micro F1" in log
    assert not any("EPOCH 1 done" in line for line in lines)


def test_redact_fixed_example(names_model, tmp_path, capsys):
    out, _ = names_model
    source = tmp_path / "in.txt"
    source.write_text(
        "We met John Smith in Paris .\nMy name is Anna .\n"
        '{"id": 7, "text": "Lisa Miller lives in New York ."}\n', encoding="utf-8"
    )
    span_map = tmp_path / "map.jsonl"
    assert main(["redact", str(out), str(source), "--no-progress", "--span-map", str(span_map)]) == 0
    # with a span map, entities are numbered across the whole input
    assert capsys.readouterr().out.splitlines() == [
        "We met [PER_1] in [LOC_1] .",
        "My name is [PER_2] .",
        '{"id": 7, "text": "[PER_3] lives in [LOC_2] ."}',
    ]
    entries = [json.loads(line) for line in span_map.read_text().splitlines()]
    assert entries[0] == {"format": "flair-modernbert-span-map", "version": 2, "placeholder": "[{type}_{n}]",
                          "scope": "input", "types": ["PER", "LOC", "url", "email", "iban", "credit_card", "ip",
                                                      "ssn", "phone"], "recall_bias": 0.0}
    assert entries[1:4] == [
        {"entity": "[PER_1]", "type": "PER", "text": "John Smith"},
        {"entity": "[LOC_1]", "type": "LOC", "text": "Paris"},
        {"line": 1, "spans": [
            {"placeholder": "[PER_1]", "type": "PER", "text": "John Smith", "start": 7, "end": 17,
             "redacted_start": 7, "redacted_end": 14},
            {"placeholder": "[LOC_1]", "type": "LOC", "text": "Paris", "start": 21, "end": 26,
             "redacted_start": 18, "redacted_end": 25},
        ], "redacted": "We met [PER_1] in [LOC_1] ."},
    ]
    assert [entry.get("line") for entry in entries if "line" in entry] == [1, 2, 3]
    # only the types asked for; without a span map, numbering starts again in each line
    assert main(["redact", str(out), str(source), "--no-progress", "--types", "LOC"]) == 0
    assert capsys.readouterr().out.splitlines()[::2] == ["We met John Smith in [LOC_1] .",
                                                         '{"id": 7, "text": "Lisa Miller lives in [LOC_1] ."}']


def test_predict_prints_spans_with_character_offsets(names_model, tmp_path, capsys):
    out, _ = names_model
    source = tmp_path / "in.txt"
    source.write_text("We met John Smith in Paris .\n\n", encoding="utf-8")
    assert main(["predict", str(out / "final-model.pt"), str(source), "--no-progress"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 2 and records[1] == {"text": "", "spans": []}
    spans = records[0]["spans"]
    assert [(s["type"], s["text"], s["start"], s["end"]) for s in spans] == [("PER", "John Smith", 7, 17),
                                                                            ("LOC", "Paris", 21, 26)]
    assert all(0 < s["score"] <= 1 for s in spans)


def test_predict_in_a_fresh_process_with_the_console_script(names_model, tmp_path):
    out, _ = names_model
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    script = Path(sys.executable).parent / "flair-modernbert"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "flair_modernbert.cli"]
    done = subprocess.run([*command, "predict", str(out), "-", "--no-progress"], input="We met Anna in London .\n",
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    spans = json.loads(done.stdout)["spans"]
    assert [(s["type"], s["text"]) for s in spans] == [("PER", "Anna"), ("LOC", "London")]


def test_evaluate_prints_original_and_lowercased_side_by_side(names_model, tmp_path, capsys):
    out, corpus = names_model
    assert main(["evaluate", str(out), str(corpus), "--output", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "original" in text and "lower-cased" in text and "Classification report" in text
    results = json.loads((tmp_path / "results.json").read_text())
    trained = json.loads((out / "results.json").read_text())
    assert results["micro_f1"] == trained["micro_f1"]
    assert results["lowercased_micro_f1"] == trained["lowercased_micro_f1"]


def test_errors_name_the_file_and_line(names_model, tmp_path, capsys):
    out, _ = names_model
    assert main(["train", str(tmp_path / "missing.yaml")]) == 2
    assert f"recipe {tmp_path / 'missing.yaml'} does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"text": broken\n', encoding="utf-8")
    assert main(["predict", str(out), str(bad), "--no-progress"]) == 2
    assert f"{bad}, line 2: not valid JSON" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "nothing"), "-"]) == 2
    assert f"no model at {tmp_path / 'nothing'}: pass a final-model.pt" in capsys.readouterr().err
    recipe = tmp_path / "r.yaml"
    recipe.write_text("corpus: {type: column, path: .}\ntraining: {learning_rat: 1}\n", encoding="utf-8")
    assert main(["train", str(recipe)]) == 2
    assert "training.learning_rat" in capsys.readouterr().err


def test_readme_quickstart_recipe_runs_as_shipped(tmp_path, capsys):
    """README's first command, minus the install: the shipped recipe, unchanged."""
    assert main(["train", str(ROOT / "recipes" / "quickstart.yaml"), "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["epochs"] == 10 and results["train_sentences"] == 600
    assert (tmp_path / "final-model.pt").is_file() and (tmp_path / "tensorboard").is_dir()


def test_augment_writes_inspectable_files_with_the_config_seed(wnut_sample_dir, tmp_path, capsys):
    """README's augment command with the shipped example config: the config's seed, --seed overrides it."""
    config = ROOT / "examples" / "augmentation.yaml"
    first, again, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert main(["augment", str(wnut_sample_dir), str(first), "--config", str(config)]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("augmentation (seed 13, ratio 1): 600 training sentences kept, ")
    added = json.loads((first / "augmentation-report.json").read_text())["added"]
    assert added > 0 and f"train: {first / 'train.conll'} (BIO, {600 + added} sentences)" in summary
    for split in ("dev.conll", "test.conll"):
        assert (first / split).read_bytes() == (wnut_sample_dir / split).read_bytes()
    original = (wnut_sample_dir / "train.conll").read_text(encoding="utf-8").strip()
    assert (first / "train.conll").read_text(encoding="utf-8").startswith(original)  # originals kept, first
    assert main(["augment", str(wnut_sample_dir), str(again), "--config", str(config)]) == 0
    assert (again / "train.conll").read_bytes() == (first / "train.conll").read_bytes()
    assert main(["augment", str(wnut_sample_dir), str(other), "--config", str(config), "--seed", "5"]) == 0
    assert "(seed 5," in capsys.readouterr().out
    assert (other / "train.conll").read_bytes() != (first / "train.conll").read_bytes()


def test_every_option_explains_itself():
    from flair_modernbert.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == {"train", "evaluate", "predict", "redact", "augment", "ablate", "bench"} or "export" in commands
    for name, command in commands.items():
        for action in command._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.dest} has no help text"


def test_help_imports_nothing_heavy():
    """`flair-modernbert --help` must not load torch, flair or transformers (it ran 7 s before)."""
    code = ("import sys; from flair_modernbert.cli import build_parser; import flair_modernbert.config; "
            "build_parser().format_help(); "
            "print(sorted(m for m in ('torch', 'flair', 'transformers', 'datasets') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


def test_readme_commands_write_only_under_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for match in re.finditer(r"--span-map (\S+)", readme):
        assert match.group(1).startswith("runs/"), match.group(0)


def test_no_progress_also_silences_flairs_own_bars(tmp_path):
    from conftest import write_names_corpus

    corpus = write_names_corpus(tmp_path / "corpus")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("TQDM_DISABLE", None)
    recipe = Path(__file__).resolve().parent.parent / "recipes" / "quickstart.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "flair_modernbert.cli", "train", str(recipe), "--set", f"corpus.path={corpus}",
         "--set", "corpus.train_file=train.txt", "--set", "corpus.dev_file=dev.txt", "--set",
         "corpus.test_file=test.txt", "--set", "training.max_epochs=1", "--output", str(tmp_path / "run"),
         "--set", "augmentation=[{type: lowercase, p: 1.0}]", "--no-progress"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    # Flair's label-dictionary and corpus passes draw "600it [00:00, 88680.75it/s]" bars of their own; the
    # augmentation draws "augmenting: 10%|...| 70/677 [00:00<00:09, 691.73sent/s]"
    assert (tmp_path / "run" / "augmentation.json").is_file()
    assert not re.search(r"\d+it \[|it/s\]|augmenting|sent/s", done.stderr), done.stderr[-2000:]


def test_no_progress_leaves_the_callers_environment_as_it_was(tmp_path, monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert main(["predict", str(tmp_path / "no-model"), "-", "--no-progress"]) == 2
    assert "TQDM_DISABLE" not in os.environ
