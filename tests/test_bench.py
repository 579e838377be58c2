"""The benchmark runs end to end and compares like with like (no timing assertions: speed is not a unit test)."""

import json

from flair_modernbert import cli
from flair_modernbert.experiments.bench import run_benchmark


def test_bench_compares_equal_embeddings(wnut_sample_dir):
    report = run_benchmark(
        wnut_sample_dir / "test.conll", size="tiny", batch_size=8, batches=2, warmup=1, device="cpu", progress=False
    )
    assert report.max_abs_diff < 1e-4
    assert {(r.variant, r.mode) for r in report.results} == {
        (v, m) for v in ("stock", "unpadded") for m in ("inference", "train")
    }
    for result in report.results:
        assert result.sentences == 16 and result.seconds > 0 and result.peak_mib > 0
        assert result.subtokens < result.padded_subtokens
    table = report.table()
    assert table.count("\n") == 5 and "ModernBertEmbeddings" in table and "x |" in table
    assert 0 < report.setup["real_fraction"] < 1


def test_bench_cli_writes_json(tmp_path, wnut_sample_dir, capsys):
    out = tmp_path / "bench.json"
    code = cli.main(
        ["bench", "--size", "tiny", "--data", str(wnut_sample_dir / "test.conll"), "--batches", "1",
         "--batch-size", "4", "--mode", "inference", "--no-memory", "--json", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| inference | ModernBertEmbeddings |" in printed and "Command: `flair-modernbert bench" in printed
    data = json.loads(out.read_text())
    assert data["speedup"]["inference"] > 0 and data["setup"]["attention_backend"] == "sdpa"


def test_bench_defaults_work_and_stderr_stays_clean(capfd):
    """README's `flair-modernbert bench` with the default data (the shipped sample), tiny for speed."""
    assert cli.main(["bench", "--size", "tiny", "--batches", "2", "--mode", "inference"]) == 0
    captured = capfd.readouterr()
    assert "| inference | ModernBertEmbeddings |" in captured.out and "wnut17_sample/train.conll" in captured.out
    assert "profiler_start" not in captured.err and "CPUAllocator" not in captured.err


def test_too_little_data_is_named_before_any_model_is_built(tmp_path, wnut_sample_dir, capsys):
    code = cli.main(["bench", "--size", "large", "--data", str(wnut_sample_dir / "test.conll"), "--batch-size", "64"])
    assert code == 2
    err = capsys.readouterr().err
    assert "7 batches of 64 sentences need 448 sentences, but" in err and "test.conll has 200" in err


def test_long_sequences_are_compared_on_the_same_ids(tmp_path, capsys):
    out = tmp_path / "long.json"
    assert cli.main(["bench", "--long", "200,300", "--size", "tiny", "--document-sentences", "12",
                     "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "HF padded sdpa s" in printed and "Document mode" in printed
    data = json.loads(out.read_text())
    assert [row["subtokens"] for row in data["long"]] == [200, 300]
    assert all(row["ours_seconds"] > 0 and row["hf_peak_mib"] is not None for row in data["long"])
    assert data["document"]["sentences"] == 12 and data["document"]["one_pass_seconds"] > 0


def test_predict_throughput_is_measured_against_the_embeddings(tmp_path, capsys):
    out = tmp_path / "predict.json"
    assert cli.main(["bench", "--predict", "40", "--size", "tiny", "--batch-size", "8", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "flair-modernbert predict (whole process" in printed and "redact --types all (whole process)" in printed
    data = json.loads(out.read_text())
    assert data["lines"] == 40 and data["predict_seconds"] > 0 and data["embeddings_sentences_per_s"] > 0
    assert data["redact_seconds"] > 0 and data["redact_overhead"] == data["redact_seconds"] / data["predict_seconds"] - 1


def test_predict_lines_are_one_sentence_each_as_predict_segments_them():
    from flair_modernbert.experiments.bench import _one_sentence_lines
    from flair_modernbert.segmentation import sentences

    lines = _one_sentence_lines([["Hi", "Anna", ".", "See", "you", "in", "Paris", "!"], ["ok", "then"]])
    assert lines == ["Hi Anna .", "See you in Paris !", "ok then"]
    assert all([[w.text for w in s] for s in sentences(line)] == [line.split(" ")] for line in lines)
