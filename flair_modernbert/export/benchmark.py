"""Export benchmark: file sizes fp32/fp16/int8/q4, agreement with fp32 on WNUT-17 test, latency in Node and Chromium.

    python -m flair_modernbert.export.benchmark --data ../shared/data/wnut17/emerging.test.annotated \\
        --size base --output runs/export-bench [--quantize fp16,int8,q4] [--skip-browser] [--skip-timing]

Builds a random-weight ModernBERT of the given size (a byte-level BPE tokenizer trained on the shipped WNUT-17
sample, 8,192 tokens) with an untrained CRF tagger whose head and transitions are random, so it predicts many
different tags (agreement on a mostly-O tagger would say little); exports it with ``--quantize`` (all of fp16,
int8 and q4 by default); then

1. sizes of ``onnx/model.onnx`` and of each quantized copy (``model_fp16.onnx``, ``model_quantized.onnx``,
   ``model_q4.onnx``);
2. tag agreement of each quantized graph with the fp32 graph on every word of the test file (and span-level F1 of
   its spans against fp32 spans), all run by the JavaScript module in Node;
3. latency per 100-word text (the test file's words cut into texts of 100 words, sentences split as predict
   does), median over the texts after a warm-up, in Node (onnxruntime-node) and in headless Chromium (WASM,
   through the example page), for every dtype.

Prints a Markdown table and writes ``results.json`` in the output folder. Timings depend on the machine and on
what else runs on it; the numbers in docs/export.md say how they were taken.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Optional

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
JS_DIR = HERE / "js"
TYPES = ("person", "location", "group", "product", "corporation", "creative-work")


def build_model(folder: Path, size: str, seed: int = 0) -> Path:
    """A random-weight ModernBERT of ``size`` with an 8,192-token BPE tokenizer trained on the shipped sample."""
    from flair_modernbert.encoder.random_models import build_random_modernbert

    if (folder / "config.json").is_file():
        return folder
    return build_random_modernbert(folder, size, seed=seed, vocab_size=8192)


def random_tagger(model_dir: Path, seed: int = 3, scale: float = 0.3) -> Any:
    """An untrained CRF tagger (six WNUT-17 types, BIOES) with random head weights and transitions."""
    import torch
    from flair.data import Dictionary
    from flair.models import SequenceTagger

    from flair_modernbert.encoder.embeddings import ModernBertEmbeddings

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        embeddings = ModernBertEmbeddings(str(model_dir), layers="-1", subtoken_pooling="first")
        types = Dictionary(add_unk=False)
        types.span_labels = True
        for kind in TYPES:
            types.add_item(kind)
        tagger = SequenceTagger(embeddings=embeddings, tag_dictionary=types, tag_type="ner", tag_format="BIOES",
                                use_crf=True, use_rnn=False, reproject_embeddings=False)
        with torch.no_grad():
            # hidden states of a random encoder grow with its width; keep the emissions in a similar range
            tagger.linear.weight.normal_(0, scale * (64 / tagger.linear.in_features) ** 0.5)
            tagger.linear.bias.normal_(0, scale)
            tagger.crf.transitions.normal_(0, 1.0)
            tagger.crf.transitions[:, tagger.label_dictionary.get_idx_for_item("<STOP>")] = -10000.0
            tagger.crf.transitions[tagger.label_dictionary.get_idx_for_item("<START>"), :] = -10000.0
    return tagger.eval()


def hundred_word_texts(sentences: list[list[str]], count: int) -> list[str]:
    """Consecutive words of the test set cut into texts of exactly 100 words."""
    words = [word for sentence in sentences for word in sentence]
    return [" ".join(words[i : i + 100]) for i in range(0, len(words) - 99, 100)][:count]


def run_node(export: Path, mode: str, path: Path, dtype: str, repeat: int = 1) -> dict:
    command = ["node", str(JS_DIR / "test" / "bench.mjs"), mode, str(export), str(path), dtype, str(repeat)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=7200)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def run_chromium(export: Path, texts_file: Path, dtype: str, chromium: str, profile: Path) -> dict:
    sys.path.insert(0, str(HERE.parent.parent / "examples" / "browser"))
    try:
        import serve
    finally:
        sys.path.pop(0)
    server = serve.make_server(export, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/?dtype={dtype}"
        command = ["node", str(JS_DIR / "test" / "bench-browser.mjs"), url, str(texts_file), chromium, str(profile)]
        run = subprocess.run(command, capture_output=True, text=True, timeout=7200)
    finally:
        server.shutdown()
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def agreement(fp32: list[list[list[str]]], int8: list[list[list[str]]]) -> dict:
    """Word tag agreement and span F1 (a quantized graph's spans against fp32 spans) over per-document, per-sentence
    tags (``int8`` is any quantized graph's tags; the key ``int8_spans`` counts its spans)."""
    from flair.data import get_spans_from_bio

    same = total = 0
    spans_a: set = set()
    spans_b: set = set()
    for d, (doc_a, doc_b) in enumerate(zip(fp32, int8)):
        for s, (tags_a, tags_b) in enumerate(zip(doc_a, doc_b)):
            same += sum(a == b for a, b in zip(tags_a, tags_b))
            total += len(tags_a)
            spans_a |= {(d, s, tuple(i), kind) for i, _, kind in get_spans_from_bio(list(tags_a))}
            spans_b |= {(d, s, tuple(i), kind) for i, _, kind in get_spans_from_bio(list(tags_b))}
    common = len(spans_a & spans_b)
    f1 = 2 * common / (len(spans_a) + len(spans_b)) if spans_a or spans_b else 1.0
    non_o = sum(tag != "O" for doc in fp32 for sentence in doc for tag in sentence)
    return {"words": total, "tag_agreement": same / total, "span_f1_vs_fp32": f1, "fp32_spans": len(spans_a),
            "int8_spans": len(spans_b), "fp32_non_o_tags": non_o}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="WNUT-17 test file (CoNLL columns)")
    parser.add_argument("--size", default="base", choices=["tiny", "small", "base", "large"], help="random model shape")
    parser.add_argument("--output", type=Path, default=Path("runs/export-bench"), help="work and results folder")
    parser.add_argument("--quantize", default="fp16,int8,q4",
                        help="quantized copies to compare with fp32 (export's --quantize)")
    parser.add_argument("--texts", type=int, default=20, help="100-word texts timed per runtime")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--skip-browser", action="store_true", help="no Chromium measurement")
    parser.add_argument("--skip-timing", action="store_true", help="sizes and agreement only, no latency")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from flair_modernbert.data.columns import read_words
    from flair_modernbert.export import DTYPES, export_tagger, parse_quantize

    try:
        quantize = parse_quantize(args.quantize)
    except ValueError as error:
        parser.error(str(error))
    dtypes = ["fp32", *(DTYPES[name][0] for name in quantize)]
    files = {"fp32": "onnx/model.onnx", **{DTYPES[name][0]: DTYPES[name][1] for name in quantize}}
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    export = out / "export"
    if not (export / "crf.json").is_file() or any(not (export / file).is_file() for file in files.values()):
        tagger = random_tagger(build_model(out / f"random-{args.size}", args.size))
        export_tagger(tagger, export, quantize=quantize, overwrite=True)
    sizes = {dtype: (export / file).stat().st_size for dtype, file in files.items()}

    sentences = read_words(args.data)
    lines_file = out / "test-sentences.txt"
    lines_file.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    texts_file = out / "texts-100-words.txt"
    texts_file.write_text("\n".join(hundred_word_texts(sentences, args.texts)) + "\n", encoding="utf-8")

    logger.info("tagging %d test sentences with %s in Node", len(sentences), ", ".join(dtypes))
    tags = {dtype: run_node(export, "tags", lines_file, dtype)["tags"] for dtype in dtypes}
    agree = {dtype: agreement(tags["fp32"], tags[dtype]) for dtype in dtypes[1:]}
    latency: dict[str, Any] = {}
    for dtype in [] if args.skip_timing else dtypes:
        logger.info("timing %s in Node", dtype)
        latency[f"node {dtype}"] = run_node(export, "time", texts_file, dtype)
        if not args.skip_browser:
            logger.info("timing %s in headless Chromium (WASM)", dtype)
            latency[f"chromium {dtype}"] = run_chromium(export, texts_file, dtype, args.chromium, out / f"profile-{dtype}")
    results = {
        "size": args.size, "sizes_mib": {k: v / 2**20 for k, v in sizes.items()}, "files": files, "agreement": agree,
        "latency_ms_per_100_words": latency, "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "test_sentences": len(sentences), "texts": args.texts,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results, dtypes))  # noqa: T201 - a benchmark script prints its table
    return 0


def table(results: dict, dtypes: list[str]) -> str:
    """The Markdown table of a run's ``results.json`` (one column per Transformers.js dtype)."""
    names = {"fp32": "fp32", "fp16": "fp16", "q8": "int8 (`q8`)", "q4": "q4"}
    agree, latency = results["agreement"], results["latency_ms_per_100_words"]
    lines = [
        f"random ModernBERT-{results['size']} + CRF (untrained head, many tags), {results['machine']['cpus']} CPUs",
        "",
        "| | " + " | ".join(names.get(d, d) for d in dtypes) + " |",
        "|---|" + "---|" * len(dtypes),
        "| onnx file | " + " | ".join(f"{results['sizes_mib'][d]:.1f} MiB" for d in dtypes) + " |",
        "| tag agreement with fp32 | – | " + " | ".join(f"{agree[d]['tag_agreement']:.2%}" for d in dtypes[1:]) + " |",
        "| span F1 vs fp32 spans | – | " + " | ".join(f"{agree[d]['span_f1_vs_fp32']:.3f}" for d in dtypes[1:]) + " |",
    ]
    for runtime in ("node", "chromium"):
        if f"{runtime} fp32" in latency:
            cells = [f"{latency[f'{runtime} {d}']['median_ms']:.0f} ({latency[f'{runtime} {d}']['p90_ms']:.0f})"
                     for d in dtypes]
            lines.append(f"| {runtime} ms per 100-word text (median, p90) | " + " | ".join(cells) + " |")
    first = agree[dtypes[1]] if len(dtypes) > 1 else None
    if first is not None:
        lines += ["", f"agreement on {results['test_sentences']} WNUT-17 test sentences ({first['words']} words, "
                      f"{first['fp32_spans']} fp32 spans)"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
