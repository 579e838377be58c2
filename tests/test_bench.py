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
