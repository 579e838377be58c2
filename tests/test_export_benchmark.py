"""The export benchmark (``python -m flair_modernbert.export.benchmark``): a trained tagger's test F1 as the
JavaScript module computes it in Node and in headless Chromium equals Python's on the same ONNX file, for fp32 and a
quantized copy; the decoding and scoring it rests on; the random-model mode (real vocabulary size, latency table).

The Node and Chromium parts need Node 20, the JavaScript module's node_modules and Chromium (see conftest's
``require_js``: skipped locally without them, a failure in CI).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from flair.data import Sentence

from flair_modernbert.data.columns import read_words
from flair_modernbert.export import export_tagger
from flair_modernbert.export.benchmark import F1_TOLERANCE, f1_failures, main, python_onnx_tags, ran_on, table
from flair_modernbert.export.folder import JS_DIR
from flair_modernbert.export.spec import export_spec
from flair_modernbert.export.verify import decode_emissions, flair_emissions, onnx_emissions
from flair_modernbert.tags import spans_from_tags, spans_of

from conftest import require_js

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SAMPLE = Path(__file__).parent.parent / "flair_modernbert" / "data" / "wnut17_sample"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
WORDS = [line.split() for line in [
    "john smith moved to berlin .", "ok", "the new york said a lot of things to paris and the john", "paris , paris",
]]


@pytest.mark.parametrize("head", ["crf", "softmax"])
def test_decoding_word_emissions_is_flairs_predict(tiny_bert_dir, make_random_tagger, head):
    """decode_emissions (Flair's Viterbi or argmax over given emissions) = the spans Flair's predict labels, for
    sentences of mixed lengths in any order (Flair's Viterbi needs the longest first)."""
    tagger = make_random_tagger(tiny_bert_dir, head=head, stock=True, layers="-1", subtoken_pooling="first")
    tags = decode_emissions(tagger, flair_emissions(tagger, WORDS))
    sentences = [Sentence(list(words)) for words in WORDS]
    tagger.predict(sentences, label_name="predicted")
    assert [spans_from_tags(t) for t in tags] == [spans_of(s, "predicted") for s in sentences]
    assert sum(len(spans_from_tags(t)) for t in tags) >= 3  # a random head: many spans, so the check means something
    assert decode_emissions(tagger, []) == []


def test_python_onnx_scoring_refuses_what_it_would_compute_differently(tiny_bert_dir, make_random_tagger, tmp_path,
                                                                      caplog):
    """Each sentence must fit in one window (the JavaScript module strides longer ones, this check does not), and a
    tagger with context is left to Flair and the JavaScript module."""
    tagger = make_random_tagger(tiny_bert_dir, stock=True, layers="-1", subtoken_pooling="first")
    export_tagger(tagger, tmp_path / "out", link_node_modules=False)
    spec = export_spec(tagger)
    long = ["smith"] * (spec.max_length + 5)
    with pytest.raises(ValueError, match=rf"sentence 2 has \d+ subtokens, more than the {spec.max_length} of one window"):
        onnx_emissions(tmp_path / "out" / "onnx" / "model.onnx", tagger.embeddings.tokenizer, spec, [WORDS[0], long])
    with caplog.at_level(logging.WARNING):
        assert python_onnx_tags(tagger, tmp_path / "out", "onnx/model.onnx", [WORDS[0], long]) is None
    assert "no Python ONNX scores: sentence 2 has" in caplog.text
    tagger.embeddings.context_length = 8
    with caplog.at_level(logging.WARNING):
        assert python_onnx_tags(tagger, tmp_path / "out", "onnx/model.onnx", WORDS) is None
    assert "reads 8 words of context" in caplog.text


def test_f1_failures_name_the_runtime_and_both_scores():
    scores = {"flair": 0.5, "python fp32": 0.5, "node fp32": 0.5004, "chromium wasm fp32": 0.502,
              "python q8": 0.45, "node q8": 0.45, "chromium wasm q8": 0.4491, "chromium webgpu q8": 0.4511}
    assert f1_failures(scores, ["fp32", "q8"]) == [
        "chromium wasm fp32: 0.5020 vs Python's 0.5000", "chromium webgpu q8: 0.4511 vs Python's 0.4500"]
    # no Python ONNX score (a tagger with context): fp32 is held to Flair's
    assert f1_failures({"flair": 0.5, "node fp32": 0.503}, ["fp32"]) == ["node fp32: 0.5030 vs Python's 0.5000"]
    assert F1_TOLERANCE == 0.001


def test_a_run_the_page_moved_to_another_device_is_left_out_and_said():
    """WebGPU without fp16 kernels (SwiftShader): the page runs fp16 on WASM; that run must neither appear as WebGPU's
    numbers nor replace WASM's, and the table says why the cell is empty."""
    fallbacks: dict[str, str] = {}
    assert ran_on({"device": "webgpu", "tags": []}, "webgpu", "q8", fallbacks) and fallbacks == {}
    moved = {"device": "wasm", "fallback": "device webgpu failed: The device (webgpu) does not support fp16"}
    assert not ran_on(moved, "webgpu", "fp16", fallbacks)
    assert fallbacks == {"fp16 on webgpu": "ran on wasm: device webgpu failed: The device (webgpu) does not support fp16"}
    results = {"model": "m", "sentences": 3, "machine": {"cpus": 2}, "sizes_mib": {"fp32": 1.0, "fp16": 0.5},
               "agreement": {"fp16": {"tag_agreement": 1.0, "span_f1_vs_fp32": 1.0}}, "f1": {},
               "latency_ms_per_100_words": {"chromium webgpu fp32": {"median_ms": 5.0, "p90_ms": 6.0}},
               "fallbacks": fallbacks}
    printed = table(results, ["fp32", "fp16"])
    assert "| fp16 | 0.5 MiB | 100.00% | 1.000 | – |" in printed
    assert "fp16 on webgpu: not measured, the page ran on wasm: device webgpu failed" in printed


def test_trained_tagger_f1_in_node_and_chromium_equals_pythons(node, names_model, tmp_path, capsys):
    """The names tagger exported with int8 and q4 (4-bit MatMuls and embedding tables: contrib operators the WASM
    build must run): per dtype the micro F1 of the JavaScript module (Node, and Chromium through
    the example page's worker, on WASM and on WebGPU) equals Python's on the same ONNX file, and fp32 equals Flair's
    own. Headless Chromium with --enable-unsafe-webgpu offers SwiftShader's software adapter on a machine without a
    GPU (tests/test_browser_page.py checks that it is there)."""
    require_js((JS_DIR / "node_modules" / "puppeteer-core").is_dir(), "puppeteer-core is not installed (npm ci)")
    require_js(Path(CHROMIUM).is_file(), f"Chromium is not installed ({CHROMIUM})")
    run, corpus = names_model
    out = tmp_path / "bench"
    code = main(["--tagger", str(run), "--corpus", str(corpus), "--set", "corpus.train_file=train.txt",
                 "--set", "corpus.dev_file=dev.txt", "--set", "corpus.test_file=test.txt", "--quantize", "int8,q4",
                 "--skip-timing", "--webgpu", "--output", str(out), "--chromium", CHROMIUM])
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert code == 0, results["f1_failures"]
    f1 = results["f1"]
    runtimes = ("python", "node", "chromium wasm", "chromium webgpu")
    assert set(f1) == {"flair", *(f"{r} {d}" for r in runtimes for d in ("fp32", "q8", "q4"))}
    assert f1["flair"] > 0.5  # a tagger that finds most names, so equal scores are not equal zeros
    for dtype in ("fp32", "q8", "q4"):
        for runtime in runtimes[1:]:
            assert abs(f1[f"{runtime} {dtype}"] - f1[f"python {dtype}"]) <= F1_TOLERANCE
    assert abs(f1["python fp32"] - f1["flair"]) <= F1_TOLERANCE
    tags = json.loads((out / "tags.json").read_text(encoding="utf-8"))
    assert tags["node fp32"] == tags["python fp32"] == tags["chromium wasm fp32"] == tags["chromium webgpu fp32"]
    assert results["agreement"]["q8"]["words"] == sum(len(s) for s in tags["node fp32"])
    assert "| fp32 |" in printed and "| int8 (`q8`) |" in printed and "| q4 |" in printed and "PASS" in printed
    # the export is reused while the tagger and --quantize stay the same
    stamp = (out / "export" / "onnx" / "model.onnx").stat().st_mtime_ns
    assert main(["--tagger", str(run), "--corpus", str(corpus), "--set", "corpus.train_file=train.txt",
                 "--set", "corpus.dev_file=dev.txt", "--set", "corpus.test_file=test.txt", "--quantize", "int8,q4",
                 "--skip-timing", "--skip-browser", "--output", str(out)]) == 0
    assert (out / "export" / "onnx" / "model.onnx").stat().st_mtime_ns == stamp


def test_random_model_has_the_real_vocabulary_rows_and_a_latency_table(node, tmp_path, capsys):
    """Without --tagger: a random ModernBERT whose embedding matrix has --vocab-rows rows (ModernBERT's 50,368 by
    default), sizes and agreement per dtype (on the first --sentences), Node latency per 100-word text."""
    out = tmp_path / "bench"
    assert main(["--size", "tiny", "--vocab-rows", "6000", "--data", str(SAMPLE / "train.conll"), "--quantize", "fp16",
                 "--texts", "3", "--sentences", "40", "--skip-browser", "--output", str(out)]) == 0
    config = json.loads((out / "random-tiny" / "config.json").read_text(encoding="utf-8"))
    assert config["vocab_size"] == 6000
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert set(results["latency_ms_per_100_words"]) == {"node fp32", "node fp16"}
    assert results["latency_ms_per_100_words"]["node fp32"]["texts"] == 3
    assert results["agreement"]["fp16"]["tag_agreement"] > 0.99 and results["f1"] == {}
    assert results["sentences"] == 40
    assert results["agreement"]["fp16"]["words"] == sum(map(len, read_words(SAMPLE / "train.conll", limit=40)))
    assert results["sizes_mib"]["fp16"] < 0.6 * results["sizes_mib"]["fp32"]
    printed = capsys.readouterr().out
    assert "6,000 token embeddings" in printed and "| fp16 |" in printed and "node ms per 100 words" in printed


def test_sentences_below_one_are_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--data", str(SAMPLE / "train.conll"), "--sentences", "0"])
    assert "--sentences must be at least 1, got 0" in capsys.readouterr().err


def test_embedding_rows_below_the_tokenizer_size_are_refused(tmp_path):
    from flair_modernbert.encoder.random_models import build_random_modernbert

    with pytest.raises(ValueError, match=r"embedding_rows=100 is smaller than the tokenizer's \d+ tokens"):
        build_random_modernbert(tmp_path / "m", "tiny", vocab_size=512, embedding_rows=100)


def test_random_model_keeps_the_layers_a_student_would(node, tmp_path, capsys):
    """--layers K: the random model cut to K layers as `distill --layers K` cuts a teacher (global-attention layers
    stay global), exported and measured at that depth."""
    out = tmp_path / "bench"
    assert main(["--size", "tiny", "--vocab-rows", "6000", "--layers", "2", "--data", str(SAMPLE / "train.conll"),
                 "--quantize", "int8", "--sentences", "10", "--skip-timing", "--skip-browser",
                 "--output", str(out)]) == 0
    config = json.loads((out / "export" / "config.json").read_text(encoding="utf-8"))
    assert config["num_hidden_layers"] == 2
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert "2 layers" in results["model"]
    full = json.loads((out / "random-tiny" / "config.json").read_text(encoding="utf-8"))
    assert full["num_hidden_layers"] == 4
    assert "2 layers" in capsys.readouterr().out


def test_layers_apply_only_to_the_random_model(names_model, capsys):
    run, corpus = names_model
    with pytest.raises(SystemExit):
        main(["--tagger", str(run), "--corpus", str(corpus), "--layers", "1"])
    assert "--layers applies to the random model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--data", str(SAMPLE / "train.conll"), "--layers", "0"])
    assert "--layers must be at least 1, got 0" in capsys.readouterr().err


def test_trimmed_vocabulary_is_exported_and_scored_like_the_full_one(node, names_model, tmp_path):
    """--vocab CORPUS: the benchmark measures the trimmed export (fewer tokenizer entries, smaller file); its
    JavaScript F1 equals Python's on the same file, and a changed --vocab exports again."""
    run, corpus = names_model
    common = ["--tagger", str(run), "--corpus", str(corpus), "--set", "corpus.train_file=train.txt",
              "--set", "corpus.dev_file=dev.txt", "--set", "corpus.test_file=test.txt", "--quantize", "int8",
              "--skip-timing", "--skip-browser"]
    full, trimmed = tmp_path / "full", tmp_path / "trimmed"
    assert main([*common, "--output", str(full)]) == 0
    assert main([*common, "--vocab", str(corpus / "train.txt"), "--vocab-min-agreement", "0.9",
                 "--output", str(trimmed)]) == 0
    sizes = [json.loads((out / "results.json").read_text(encoding="utf-8"))["sizes_mib"] for out in (full, trimmed)]
    assert sizes[1]["fp32"] < sizes[0]["fp32"] and sizes[1]["q8"] < sizes[0]["q8"]
    vocab = [len(json.loads((out / "export" / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"])
             for out in (full, trimmed)]
    assert vocab[1] < vocab[0]
    f1 = json.loads((trimmed / "results.json").read_text(encoding="utf-8"))["f1"]
    assert abs(f1["node fp32"] - f1["python fp32"]) <= F1_TOLERANCE and f1["node fp32"] > 0.5
    key = json.loads((trimmed / "export-source.json").read_text(encoding="utf-8"))
    assert key["vocab"]["corpus"] == str((corpus / "train.txt").resolve())
