"""benchmarks/distill_seeds.py: students with and without the teacher over seeds, mean ± std, end to end on the
names tagger."""

import json
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "quickstart.yaml"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def ds(load_benchmark):
    return load_benchmark("distill_seeds")


def test_variants_are_parsed_and_bad_ones_named(ds):
    assert ds.parse_variants("distilled=0.5, plain=0,m=1:marginals") == {
        "distilled": (0.5, "emissions"), "plain": (0.0, "emissions"), "m": (1.0, "marginals")}
    for text, message in [("half", "'half' is not NAME=ALPHA"), ("a=2", "'a=2' is not NAME=ALPHA"),
                          ("a=x", "'a=x' is not NAME=ALPHA"), ("a=0,a=1", "'a' is named twice"), ("", "at least one"),
                          ("m=0.5:marginal", "'m=0.5:marginal': TARGET must be one of emissions, marginals")]:
        with pytest.raises(SystemExit, match=message):
            ds.parse_variants(text)


def test_the_summary_gives_each_run_and_mean_and_std_per_variant(ds):
    teacher = {"run": "runs/t", "f1": 0.8, "leak_rate": 0.04, "over_redaction": 0.05}
    rows = [{"variant": "distilled", "alpha": 0.5, "target": "emissions", "seed": s, "f1": f1, "train_seconds": 600,
             "leak_rate": leak, "over_redaction": 0.08} for s, f1, leak in [(1, 0.72, 0.04), (2, 0.76, 0.06)]]
    rows.append({"variant": "plain", "alpha": 0.0, "target": "emissions", "seed": 1, "f1": 0.78, "train_seconds": 500,
                 "leak_rate": 0.03, "over_redaction": 0.06})
    text = ds.summarise(teacher, rows, [1, 2])
    assert "| distilled | 0.5     | emissions | 2      | 0.7600    | 95.0 %       | 6.0 %         | 8.0 %" in text
    assert "| teacher   |         |           |        | 0.8000    | 100 %        | 4.0 %         | 5.0 %" in text
    # mean ± sample std: F1 0.74 ± 0.0283, of the teacher 92.5 ± 3.5 %, leaks 5.0 ± 1.4 %
    assert "| distilled | 2       | 0.7400 ± 0.0283 | 92.5 ± 3.5 % | 5.0 ± 1.4 %   | 8.0 ± 0.0 %" in text
    assert "| plain     | 1       | 0.7800 ± 0.0000 | 97.5 ± 0.0 % | 3.0 ± 0.0 %   | 6.0 ± 0.0 %" in text


def test_students_with_and_without_the_teacher_end_to_end(ds, names_model, tmp_path, capsys):
    teacher, corpus = names_model
    gold = tmp_path / "gold.jsonl"
    texts = [("We met John Smith in Paris .", [(7, 17, "person"), (21, 26, "location")]),
             ("My name is Anna .", [(11, 15, "person")])]
    gold.write_text("".join(json.dumps({"text": t, "spans": [{"start": a, "end": b, "type": k} for a, b, k in s]})
                            + "\n" for t, s in texts), encoding="utf-8")
    out = tmp_path / "grid"
    argv = [str(teacher), str(RECIPE), "--layers", "2", "--seeds", "1", "--variants", "distilled=0.5,plain=0",
            "--set", f"corpus.path={corpus}", "--set", "corpus.train_file=train.txt", "--set",
            "corpus.dev_file=dev.txt", "--set", "corpus.test_file=test.txt", "--set", "training.max_epochs=1",
            "--leaks", str(gold), "--output", str(out), "--no-progress"]
    assert ds.main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert [(r["variant"], r["alpha"], r["seed"]) for r in results["runs"]] == [("distilled", 0.5, 1), ("plain", 0.0, 1)]
    for row in results["runs"]:
        facts = json.loads((Path(row["run"]) / "distillation.json").read_text())
        assert facts["alpha"] == row["alpha"] and facts["student_layers"] == 2
        assert row["f1"] == json.loads((Path(row["run"]) / "results.json").read_text())["micro_f1"]
        assert 0.0 <= row["leak_rate"] <= 1.0 and row["recall_bias"] == results["teacher"]["recall_bias"]
    assert results["teacher"]["leak_rate"] == 0.0  # the names tagger finds all three names and places
    summary = (out / "summary.md").read_text()
    assert summary == capsys.readouterr().out and "| plain " in summary
    model = out / "plain-seed1" / "final-model.pt"
    stamp = model.stat().st_mtime_ns
    assert ds.main(argv) == 0  # done runs are read, not trained again
    assert model.stat().st_mtime_ns == stamp
    assert (out / "summary.md").read_text() == summary
    stale = [*argv]
    stale[stale.index("distilled=0.5,plain=0")] = "plain=0.5"  # the same folder, asked with another alpha
    with pytest.raises(SystemExit, match=r"plain-seed1: a finished run trained with alpha 0.0 \(asked 0.5\)"):
        ds.main(stale)
    lowest = [*argv]
    lowest[lowest.index("--layers") + 1] = "0,1"  # the same count, other teacher layers (the runs kept [0, 2])
    with pytest.raises(SystemExit, match=r"distilled-seed1: a finished run trained with layers \[0, 2\] "
                                         r"\(asked \[0, 1\]\)"):
        ds.main(lowest)
    with pytest.raises(SystemExit):
        ds.main([*argv[:argv.index("--layers") + 1], "0,x", *argv[argv.index("--layers") + 2:]])
    assert "--layers: expected a number of layers or teacher layers like 0,1, got '0,x'" in capsys.readouterr().err
    (out / "linked-seed1").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    linked = [*argv]
    linked[linked.index("distilled=0.5,plain=0")] = "linked=0"
    with pytest.raises(SystemExit, match="linked-seed1 is a link to a run without results.json"):
        ds.main(linked)
    assert (tmp_path / "elsewhere").is_dir()
    with pytest.raises(SystemExit):
        ds.main([str(tmp_path), *argv[1:]])  # a teacher folder without results.json
    assert "is not a run folder with results.json" in capsys.readouterr().err
