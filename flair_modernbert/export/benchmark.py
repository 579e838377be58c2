"""Export benchmark: file size, agreement with fp32, test F1 and latency per dtype, in Node and headless Chromium.

Random-weight ModernBERT (size and speed; real shapes, untrained head)::

    python -m flair_modernbert.export.benchmark --data ../shared/data/wnut17/emerging.test.annotated \\
        --size base --output runs/export-bench-base [--quantize fp16,int8,q4] [--skip-browser] [--skip-timing]

A trained tagger (quality as well)::

    python -m flair_modernbert.export.benchmark --tagger runs/wnut17-minilm --corpus recipes/wnut17-minilm-crf.yaml \\
        --output runs/export-bench-minilm [--webgpu]

Without ``--tagger`` it builds a random-weight ModernBERT of ``--size`` with the real model's configuration and a
token embedding matrix of ``--vocab-rows`` rows (50,368, ModernBERT's; the tokenizer itself is a small byte-level
BPE trained on the shipped WNUT-17 sample) under an untrained CRF whose head and transitions are random, so it
predicts many different tags (agreement on a mostly-O tagger would say little). With ``--tagger`` it takes that
trained tagger and the gold sentences of ``--split`` of ``--corpus``. Either is exported with ``--quantize`` (all of
fp16, int8 and q4 by default), then, per Transformers.js dtype (fp32, fp16, q8, q4):

1. the size of its ONNX file;
2. tag agreement with the fp32 graph on every word of the sentences (JavaScript module, Node);
3. with ``--tagger``: seqeval micro F1 (strict, IOB2) of the gold split as predicted by Flair (torch, fp32), by the
   same ONNX file in Python (ONNX Runtime, Flair's Viterbi), and by the JavaScript module in Node and in headless
   Chromium (the example page's Web Worker; with ``--webgpu`` on WebGPU too). The JavaScript F1 must equal
   Python's to 0.001 (exit status 1 otherwise);
4. latency per 100-word text (the sentences' words cut into texts of 100 words, split into sentences as predict
   does), median and p90 after a warm-up, in Node (onnxruntime-node) and in Chromium (WASM; with ``--webgpu`` also
   WebGPU, a software adapter where the machine has no GPU).

Prints a Markdown table and writes ``results.json`` (and every runtime's tags, ``tags.json``) in the output folder.
The export in ``OUTPUT/export`` is reused while the tagger, ``--quantize`` and the export code stay the same.
Timings depend on the machine and on what else runs on it; docs/export.md says how its numbers were taken.
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
#: The example page Chromium is measured on (a source checkout's examples/browser).
PAGE_DIR = HERE.parent.parent / "examples" / "browser"
TYPES = ("person", "location", "group", "product", "corporation", "creative-work")


#: Rows of ModernBERT's token embedding matrix (``vocab_size`` of answerdotai/ModernBERT-base and -large).
MODERNBERT_VOCAB_ROWS = 50368


def build_model(folder: Path, size: str, seed: int = 0, rows: int = MODERNBERT_VOCAB_ROWS) -> Path:
    """A random-weight ModernBERT of ``size`` with ``rows`` token embeddings; a byte-level BPE tokenizer of up to
    8,192 tokens trained on the shipped sample fills the first of them."""
    from flair_modernbert.encoder.random_models import build_random_modernbert

    config = folder / "config.json"
    if config.is_file() and json.loads(config.read_text(encoding="utf-8")).get("vocab_size") == rows:
        return folder
    return build_random_modernbert(folder, size, seed=seed, vocab_size=min(8192, rows), embedding_rows=rows)


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


def run_chromium(export: Path, mode: str, path: Path, dtype: str, chromium: str, profile: Path,
                 device: str = "wasm") -> dict:
    """``bench-browser.mjs`` over the example page serving ``export`` (``mode`` ``tags`` or ``time``)."""
    sys.path.insert(0, str(PAGE_DIR))
    try:
        import serve
    finally:
        sys.path.pop(0)
    server = serve.make_server(export, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/?dtype={dtype}&device={device}"
        command = ["node", str(JS_DIR / "test" / "bench-browser.mjs"), mode, url, str(path), chromium, str(profile)]
        if device == "webgpu":
            command.append("--webgpu")
        run = subprocess.run(command, capture_output=True, text=True, timeout=7200)
    finally:
        server.shutdown()
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def ran_on(run: dict, device: str, dtype: str, fallbacks: dict[str, str]) -> bool:
    """Whether a Chromium run used the ``device`` asked for; a run the page moved to another device (WebGPU
    without an adapter, or without the dtype's kernels) is noted in ``fallbacks`` and left out of the table, so it
    never stands in for that device's numbers or replaces the other device's."""
    if run.get("device") == device:
        return True
    reason = run.get("fallback") or run.get("console") or "no reason given"
    fallbacks[f"{dtype} on {device}"] = f"ran on {run.get('device')}: {reason}"
    logger.warning("Chromium ran %s on %s, not %s: %s", dtype, run.get("device"), device, reason)
    return False


def agreement(reference: list[list[str]], other: list[list[str]]) -> dict:
    """Word tag agreement and span F1 of ``other``'s spans against ``reference``'s (per-sentence tags)."""
    from flair_modernbert.tags import spans_from_tags

    same = total = 0
    spans_a: set = set()
    spans_b: set = set()
    for s, (tags_a, tags_b) in enumerate(zip(reference, other)):
        same += sum(a == b for a, b in zip(tags_a, tags_b))
        total += len(tags_a)
        spans_a |= {(s, *span) for span in spans_from_tags(tags_a)}
        spans_b |= {(s, *span) for span in spans_from_tags(tags_b)}
    common = len(spans_a & spans_b)
    f1 = 2 * common / (len(spans_a) + len(spans_b)) if spans_a or spans_b else 1.0
    non_o = sum(tag != "O" for sentence in reference for tag in sentence)
    return {"words": total, "tag_agreement": same / total if total else 1.0, "span_f1_vs_fp32": f1,
            "fp32_spans": len(spans_a), "spans": len(spans_b), "fp32_non_o_tags": non_o}


def python_onnx_tags(tagger: Any, export: Path, file: str, sentences: list[list[str]]) -> Optional[list[list[str]]]:
    """Tags of each sentence alone from an exported ONNX file run by ONNX Runtime in Python and decoded by the
    tagger's own head; ``None`` (with the reason logged) where that would not be what the export computes."""
    from flair_modernbert.export.spec import export_spec
    from flair_modernbert.export.verify import decode_emissions, onnx_emissions

    spec = export_spec(tagger)
    if spec.context_length:
        logger.warning("no Python ONNX scores: the tagger reads %d words of context, which only the JavaScript "
                       "module and Flair reproduce", spec.context_length)
        return None
    tokenizer = tagger.embeddings.tokenizer
    if json.loads((export / "crf.json").read_text(encoding="utf-8")).get("vocabulary"):
        # a trimmed vocabulary renumbered the ids: the export's own tokenizer.json feeds its graph
        tokenizer = type(tokenizer).from_pretrained(str(export))
    try:
        emissions = onnx_emissions(export / file, tokenizer, spec, sentences)
    except ValueError as error:
        logger.warning("no Python ONNX scores: %s", error)
        return None
    return decode_emissions(tagger, emissions)


def export_code_digest() -> str:
    """A digest of what writes an export folder (the Python export code, the JavaScript files it copies, the
    redaction rules): a cached export is used only while none of it changed."""
    import hashlib

    from flair_modernbert.export.folder import JS_DIR, JS_FILES
    from flair_modernbert.redaction.rules import RULES_PATH

    digest = hashlib.sha256()
    code = [path for path in sorted(HERE.glob("*.py")) if path.name != "benchmark.py"]
    for path in [*code, *(JS_DIR / name for name in JS_FILES), Path(RULES_PATH)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_benchmark_tagger(args: argparse.Namespace, out: Path) -> tuple[Any, list[list[str]], Any, str]:
    """The tagger to export, the sentences (words), the gold sentences (or None) and a description."""
    from flair_modernbert.data.columns import read_words

    if args.tagger is None:
        tagger = random_tagger(build_model(out / f"random-{args.size}", args.size, rows=args.vocab_rows))
        layers = tagger.embeddings.model.config.num_hidden_layers
        if args.layers is not None and args.layers != layers:
            from flair_modernbert.distillation import make_student

            # the layers a distilled student of this size would keep (global-attention roles kept)
            tagger = make_student(tagger, args.layers).eval()
            layers = args.layers
        return tagger, read_words(args.data), None, (
            f"random ModernBERT-{args.size}, {layers} layers ({args.vocab_rows:,} token embeddings) + CRF "
            "(untrained head, many tags)")
    from flair_modernbert.evaluation import load_split
    from flair_modernbert.tagging.loading import load_tagger

    tagger = load_tagger(args.tagger)
    cfg, name, gold = load_split(args.corpus, args.set, args.split)
    words = [[token.text for token in sentence] for sentence in gold]
    config = tagger.embeddings.model.config
    encoder = (f"{config.model_type} ({config.num_hidden_layers} layers, hidden {config.hidden_size}, "
               f"{config.vocab_size:,} tokens)")
    return tagger, words, (gold, cfg.label_type), f"trained {encoder} + {'CRF' if tagger.use_crf else 'softmax'}, " \
        f"{args.split} split of {Path(str(name)).name}"


def add_vocab_options(parser: argparse.ArgumentParser, vocab_help: str) -> None:
    """``--vocab``, ``--vocab-set`` and ``--vocab-min-agreement``, passed on to the export as they are."""
    parser.add_argument("--vocab", default=None, metavar="CORPUS", help=vocab_help)
    parser.add_argument("--vocab-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value of a --vocab recipe (export's --vocab-set)")
    parser.add_argument("--vocab-min-agreement", type=float, default=0.995,
                        help="export's --vocab-min-agreement (default 0.995)")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tagger", type=Path, default=None,
                        help="a trained tagger (final-model.pt or training output folder); default: a random ModernBERT")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="with --tagger: gold corpus, a recipe (its corpus section) or a folder of column files")
    parser.add_argument("--split", default="test", choices=["train", "dev", "test"], help="the corpus split scored")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a corpus value")
    parser.add_argument("--data", type=Path, default=None, help="without --tagger: a CoNLL column file (its words)")
    parser.add_argument("--size", default="base", choices=["tiny", "small", "base", "large"], help="random model shape")
    parser.add_argument("--vocab-rows", type=int, default=MODERNBERT_VOCAB_ROWS,
                        help=f"random model: token embedding rows (default {MODERNBERT_VOCAB_ROWS:,}, ModernBERT's)")
    parser.add_argument("--layers", type=int, default=None, metavar="K",
                        help="random model: keep K of its layers, as `distill --layers K` would (size and speed)")
    add_vocab_options(parser, "export a trimmed vocabulary kept from CORPUS (export's --vocab)")
    parser.add_argument("--output", type=Path, default=Path("runs/export-bench"), help="work and results folder")
    parser.add_argument("--quantize", default="fp16,int8,q4",
                        help="quantized copies to compare with fp32 (export's --quantize)")
    parser.add_argument("--texts", type=int, default=20, help="100-word texts timed per runtime")
    parser.add_argument("--sentences", type=int, default=None, metavar="N",
                        help="tag and score only the first N sentences (e.g. for a slow software WebGPU adapter)")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--skip-browser", action="store_true", help="no Chromium measurement")
    parser.add_argument("--skip-timing", action="store_true", help="sizes, agreement and F1 only, no latency")
    parser.add_argument("--webgpu", action="store_true",
                        help="Chromium on WebGPU too (--enable-unsafe-webgpu; a software adapter without a GPU)")
    args = parser.parse_args(argv)
    if args.tagger is None and args.data is None:
        parser.error("give --data (a column file) for a random model, or --tagger and --corpus")
    if args.tagger is not None and args.corpus is None:
        parser.error("--tagger needs --corpus: the recipe or column folder whose gold split is scored")
    if args.layers is not None and args.tagger is not None:
        parser.error("--layers applies to the random model; distill a trained tagger with `flair-modernbert distill`")
    if args.layers is not None and args.layers < 1:
        parser.error(f"--layers must be at least 1, got {args.layers}")
    if args.sentences is not None and args.sentences < 1:
        parser.error(f"--sentences must be at least 1, got {args.sentences}")
    for needed in [JS_DIR / "test" / "bench.mjs", *([] if args.skip_browser else [PAGE_DIR / "serve.py"])]:
        if not needed.is_file():
            parser.error(f"{needed} is missing: the benchmark runs from a source checkout of flair-modernbert "
                         "(git clone; pip install -e .)" + ("" if args.skip_browser else ", or give --skip-browser"))
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from flair_modernbert.export import DTYPES, check_vocab_options, export_tagger, parse_quantize

    try:
        quantize = parse_quantize(args.quantize)
        if args.vocab is not None:
            check_vocab_options(args.vocab, args.vocab_set, args.vocab_min_agreement)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    dtypes = ["fp32", *(DTYPES[name][0] for name in quantize)]
    files = {"fp32": "onnx/model.onnx", **{DTYPES[name][0]: DTYPES[name][1] for name in quantize}}
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    tagger, sentences, gold, description = load_benchmark_tagger(args, out)
    if args.sentences is not None:
        sentences = sentences[: args.sentences]
        gold = None if gold is None else (gold[0][: args.sentences], gold[1])
        description += f" (first {len(sentences)} sentences)"
    export = out / "export"
    source = out / "export-source.json"
    vocab = None
    if args.vocab is not None:
        from flair_modernbert.export.vocab import vocab_source

        vocab = {"corpus": str(vocab_source(args.vocab)[1].resolve()), "set": args.vocab_set,
                 "min_agreement": args.vocab_min_agreement}
    key = {"tagger": str(args.tagger.resolve()) if args.tagger else f"random-{args.size}-{args.vocab_rows}",
           "mtime": (args.tagger.stat().st_mtime if args.tagger else None), "quantize": list(quantize),
           "layers": args.layers, "vocab": vocab, "code": export_code_digest()}
    if (not (export / "crf.json").is_file() or any(not (export / file).is_file() for file in files.values())
            or not source.is_file() or json.loads(source.read_text(encoding="utf-8")) != key):
        export_tagger(tagger, export, quantize=quantize, overwrite=True, vocab=args.vocab,
                      vocab_overrides=args.vocab_set, vocab_min_agreement=args.vocab_min_agreement)
        source.write_text(json.dumps(key) + "\n", encoding="utf-8")
    sizes = {dtype: (export / file).stat().st_size for dtype, file in files.items()}

    sentences_file = out / "sentences.json"
    sentences_file.write_text(json.dumps({"sentences": sentences}, ensure_ascii=False) + "\n", encoding="utf-8")
    texts_file = out / "texts-100-words.txt"
    texts_file.write_text("\n".join(hundred_word_texts(sentences, args.texts)) + "\n", encoding="utf-8")
    devices = ["wasm", "webgpu"] if args.webgpu else ["wasm"]

    logger.info("tagging %d sentences with %s in Node", len(sentences), ", ".join(dtypes))
    tags = {("node", dtype): run_node(export, "tags", sentences_file, dtype)["tags"] for dtype in dtypes}
    agree = {dtype: agreement(tags[("node", "fp32")], tags[("node", dtype)]) for dtype in dtypes[1:]}
    scores: dict[str, Any] = {}
    failures: list[str] = []
    fallbacks: dict[str, str] = {}
    if gold is not None:
        from flair_modernbert.evaluation import evaluate_tagger, evaluate_tags

        gold_sentences, label_type = gold
        logger.info("scoring the Flair model (torch) on %d sentences", len(gold_sentences))
        scores["flair"] = evaluate_tagger(tagger, gold_sentences, label_type, progress=False).micro["f1"]
        for dtype in dtypes:
            logger.info("tagging with %s in Python (ONNX Runtime)", dtype)
            found = python_onnx_tags(tagger, export, files[dtype], sentences)
            if found is not None:
                tags[("python", dtype)] = found
            for device in [] if args.skip_browser else devices:
                logger.info("tagging with %s in headless Chromium (%s)", dtype, device)
                run = run_chromium(export, "tags", sentences_file, dtype, args.chromium, out / f"profile-{dtype}",
                                   device)
                if ran_on(run, device, dtype, fallbacks):
                    tags[(f"chromium {device}", dtype)] = run["tags"]
        for (runtime, dtype), found in tags.items():
            scores[f"{runtime} {dtype}"] = evaluate_tags(gold_sentences, label_type, found).micro["f1"]
        # Flair runs the untrimmed tagger: with --vocab only the runtimes on the same files must agree
        failures = f1_failures({k: v for k, v in scores.items() if not (args.vocab and k == "flair")}, dtypes)
    latency: dict[str, Any] = {}
    for dtype in [] if args.skip_timing else dtypes:
        logger.info("timing %s in Node", dtype)
        latency[f"node {dtype}"] = run_node(export, "time", texts_file, dtype)
        for device in [] if args.skip_browser else devices:
            if f"{dtype} on {device}" in fallbacks:
                continue  # tagging already found that the page moves this dtype off this device
            logger.info("timing %s in headless Chromium (%s)", dtype, device)
            run = run_chromium(export, "time", texts_file, dtype, args.chromium, out / f"profile-{dtype}", device)
            if ran_on(run, device, dtype, fallbacks):
                latency[f"chromium {device} {dtype}"] = run
    results = {
        "model": description, "sizes_mib": {k: v / 2**20 for k, v in sizes.items()}, "files": files,
        "agreement": agree, "f1": scores, "f1_failures": failures, "latency_ms_per_100_words": latency,
        "fallbacks": fallbacks,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "sentences": len(sentences),
        "texts": args.texts,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "tags.json").write_text(json.dumps({f"{runtime} {dtype}": found for (runtime, dtype), found in tags.items()})
                                   + "\n", encoding="utf-8")
    print(table(results, dtypes))  # noqa: T201 - a benchmark script prints its table
    for failure in failures:
        logger.error("F1 differs: %s", failure)
    return 1 if failures else 0


#: The largest difference allowed between the JavaScript module's F1 and Python's on the same ONNX file.
F1_TOLERANCE = 0.001


def f1_failures(scores: dict[str, float], dtypes: list[str]) -> list[str]:
    """Every JavaScript F1 more than :data:`F1_TOLERANCE` from Python's on the same file (ONNX Runtime in Python;
    Flair's own where Python could not run the file alone, and for fp32 also Flair's)."""
    failures = []
    for dtype in dtypes:
        reference = scores.get(f"python {dtype}")
        if reference is None and dtype == "fp32":
            reference = scores.get("flair")
        pairs = [(f"{key}", value) for key, value in scores.items()
                 if key.endswith(f" {dtype}") and not key.startswith("python ")]
        if dtype == "fp32" and f"python {dtype}" in scores and "flair" in scores:
            pairs.append(("flair", scores["flair"]))
        for name, value in pairs:
            if reference is not None and abs(value - reference) > F1_TOLERANCE:
                failures.append(f"{name}: {value:.4f} vs Python's {reference:.4f}")
    return failures


def table(results: dict, dtypes: list[str]) -> str:
    """The Markdown table of a run's ``results.json``: one row per Transformers.js dtype."""
    names = {"fp32": "fp32", "fp16": "fp16", "q8": "int8 (`q8`)", "q4": "q4"}
    agree, latency, f1 = results["agreement"], results["latency_ms_per_100_words"], results.get("f1", {})
    runtimes = sorted({key.rsplit(" ", 1)[0] for key in latency}, key=lambda r: (r != "node", r))
    f1_columns = [r for r in ("python", "node", "chromium wasm", "chromium webgpu") if f"{r} fp32" in f1]
    header = ["dtype", "onnx file", "tag agreement with fp32", "span F1 vs fp32"]
    header += [f"test F1 {r}" for r in f1_columns]
    header += [f"{r} ms per 100 words, median (p90)" for r in runtimes]
    lines = [f"{results['model']}; {results['sentences']} sentences, {results['machine']['cpus']} CPUs", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for dtype in dtypes:
        cells = [names.get(dtype, dtype), f"{results['sizes_mib'][dtype]:.1f} MiB"]
        cells += ["–", "–"] if dtype == "fp32" else [f"{agree[dtype]['tag_agreement']:.2%}",
                                                     f"{agree[dtype]['span_f1_vs_fp32']:.3f}"]
        cells += [f"{f1[f'{r} {dtype}']:.4f}" if f"{r} {dtype}" in f1 else "–" for r in f1_columns]
        for runtime in runtimes:
            entry = latency.get(f"{runtime} {dtype}")
            cells.append(f"{entry['median_ms']:.0f} ({entry['p90_ms']:.0f})" if entry else "–")
        lines.append("| " + " | ".join(cells) + " |")
    for what, why in results.get("fallbacks", {}).items():
        lines += ["", f"{what}: not measured, the page {why}"]
    if "flair" in f1:
        lines += ["", f"Flair (torch, fp32) test F1: {f1['flair']:.4f}; JavaScript F1 equal to Python's on the same "
                      f"file to {F1_TOLERANCE}: " + ("FAIL: " + "; ".join(results["f1_failures"])
                                                      if results["f1_failures"] else "PASS")]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
