"""Writing an export folder that Transformers.js loads as is.

Layout of ``OUT``::

    config.json              the encoder's config + id2label/label2id (the tags), its model_type ("modernbert", "bert")
    tokenizer.json           the tagger's tokenizer (a ByteLevel pre-tokenizer with add_prefix_space: true)
    tokenizer_config.json    its config (special tokens, model_max_length)
    special_tokens_map.json
    onnx/model.onnx          (input_ids, attention_mask) -> logits: per-subtoken emission scores
    onnx/model_fp16.onnx     with --quantize fp16 (Transformers.js dtype "fp16")
    onnx/model_quantized.onnx  with --quantize int8 (dtype "q8")
    onnx/model_q4.onnx       with --quantize q4 (dtype "q4")
    crf.json                 tags, CRF transitions / softmax, tag format, pooling, windows, context
    tagger.mjs ...           the JavaScript module (see js/README.md), predict.mjs, package.json + lock
    rules.json               the redaction rules (patterns, type names, placeholder, restore grammar)
    README.md                how to use the folder

The folder is written next to ``OUT`` and renamed into place when complete, so a failed export leaves nothing
half-written behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from flair_modernbert.export.crf import decoder_config
from flair_modernbert.export.spec import ExportSpec
from flair_modernbert.redaction.rules import RULES_PATH

logger = logging.getLogger(__name__)

__all__ = ["JS_DIR", "JS_FILES", "ExportResult", "write_folder", "check_output_dir", "prefix_space_in",
           "word_id_mismatches", "node_word_id_mismatches", "python_word_ids"]

#: The JavaScript module shipped with the package (copied into every export).
JS_DIR = Path(__file__).parent / "js"
#: Files of :data:`JS_DIR` copied into an export.
JS_FILES = (
    "tagger.mjs",
    "redaction.mjs",
    "segmentation.mjs",
    "sequences.mjs",
    "decode.mjs",
    "pyjson.mjs",
    "predict.mjs",
    "package.json",
    "package-lock.json",
)


@dataclass
class ExportResult:
    """What :func:`~flair_modernbert.export.export_tagger` wrote.

    Attributes:
        folder: the export folder.
        files: file name (relative) -> size in bytes.
        max_abs_diff: largest difference between Flair's and the fp32 graph's emission scores on check sentences.
        quantized_diffs: the same for each quantized graph written, by ``--quantize`` name (``fp16``, ``int8``, ``q4``).
        node_modules: where ``node_modules`` points (a link into the installed package), if linked.
        vocabulary: with a trimmed vocabulary (``--vocab``): what was kept and the tag agreement (as in ``crf.json``).
    """

    folder: Path
    files: dict[str, int] = field(default_factory=dict)
    max_abs_diff: Optional[float] = None
    quantized_diffs: dict[str, float] = field(default_factory=dict)
    node_modules: Optional[Path] = None
    vocabulary: Optional[dict[str, Any]] = None

    @property
    def max_abs_diff_int8(self) -> Optional[float]:
        """The int8 graph's largest difference from Flair's emission scores, when one was written and checked."""
        return self.quantized_diffs.get("int8")

    def vocabulary_summary(self) -> str:
        """Lines about a trimmed vocabulary (rows kept, file sizes with and without it, tag agreement); "" without."""
        if self.vocabulary is None:
            return ""
        from flair_modernbert.export.vocab import summary_lines

        return "\n".join(summary_lines(self.vocabulary, self.files))

    def summary(self) -> str:
        """Lines for the command line."""
        from flair_modernbert.export import DTYPES

        lines = [f"exported to {self.folder}"]
        for name in ("onnx/model.onnx", *(file for _, file in DTYPES.values())):
            if name in self.files:
                lines.append(f"  {name}: {self.files[name] / 2**20:.1f} MiB")
        if self.max_abs_diff is not None:
            lines.append(f"  emission scores vs Flair: max abs difference {self.max_abs_diff:.2e} (fp32)")
        for name, diff in self.quantized_diffs.items():
            lines.append(f"  emission scores vs Flair: max abs difference {diff:.2e} ({name})")
        if self.node_modules is not None:
            lines.append(f"  node_modules -> {self.node_modules}")
            lines.append(f"  try: echo 'Jane Doe moved to Berlin .' | node {self.folder / 'predict.mjs'} -")
        else:
            lines.append(f"  next: (cd {self.folder} && npm ci --omit=dev) then: node {self.folder / 'predict.mjs'} FILE")
        return "\n".join(lines)


def check_output_dir(out: Path, overwrite: bool) -> None:
    """Refuse an output folder that holds files (unless ``overwrite``), before any work.

    Raises:
        FileExistsError: ``out`` is a file, or a non-empty folder without ``overwrite``.
    """
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"export output {out} is a file; give a folder to create")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"export output {out} is not empty; choose a new folder or pass --overwrite to replace it")


def prefix_space_in(tokenizer_json: dict[str, Any]) -> Optional[bool]:
    """The ``add_prefix_space`` of the ``ByteLevel`` pre-tokenizer in a parsed ``tokenizer.json`` (None if none)."""

    def find(node: Any) -> Optional[bool]:
        if isinstance(node, dict):
            if node.get("type") == "ByteLevel":
                return bool(node.get("add_prefix_space"))
            for value in node.values():
                found = find(value)
                if found is not None:
                    return found
        elif isinstance(node, list):
            for value in node:
                found = find(value)
                if found is not None:
                    return found
        return None

    return find(tokenizer_json.get("pre_tokenizer"))


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _model_config(tagger: Any, spec: ExportSpec) -> dict[str, Any]:
    model_config = tagger.embeddings.model.config
    config = {key: value for key, value in model_config.to_dict().items() if not key.startswith("_")}
    # BertConfig -> BertForTokenClassification: the class Transformers.js builds for the model_type
    config["architectures"] = [type(model_config).__name__.removesuffix("Config") + "ForTokenClassification"]
    config["id2label"] = {str(i): tag for i, tag in enumerate(spec.tags)}
    config["label2id"] = {tag: i for i, tag in enumerate(spec.tags)}
    config["vocab_size"] = int(tagger.embeddings.model.get_input_embeddings().weight.shape[0])
    return config


#: Words whose ids :func:`word_id_mismatches` compares (cases, accents, punctuation inside words, digits, URLs).
TOKENIZER_CHECK_WORDS = [
    ["Jane", "Doe", "moved", "from", "Paris", "to", "Berlin", "in", "2019", "."],
    ["@jdoe", "posted", "www.example.com/a?b=1", "again", "!", "O'Neil", "e.g.", "Zoë", "Köln", "東京"],
    ["JOHN", "smith's", "co-founder", "3.5%", "#Paris2024", "👍🏽", "née", "don't", "U.S.", "…"],
]


def word_id_mismatches(tokenizer: Any, tokenizer_json: str,
                       sentences: Sequence[Sequence[str]] = TOKENIZER_CHECK_WORDS) -> list[str]:
    """Words that ``tokenizer.json`` tokenized on its own (as the JavaScript module tokenizes each word) gives other
    ids than Python's tokenizer gives them in a sentence with ``is_split_into_words`` (as Flair does).

    Args:
        tokenizer: the tagger's (fast) tokenizer.
        tokenizer_json: the text of the ``tokenizer.json`` it saved.
        sentences: sentences of words to compare.
    """
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(tokenizer_json)
    return [word for word, ids in python_word_ids(tokenizer, sentences)
            if backend.encode(word, add_special_tokens=False).ids != ids]


def python_word_ids(tokenizer: Any, sentences: Sequence[Sequence[str]]) -> list[tuple[str, list[int]]]:
    """Each word of ``sentences`` with the ids Python's tokenizer gives it inside its sentence (``is_split_into_words``,
    no special tokens), as Flair tokenizes."""
    found = []
    for words in sentences:
        encoding = tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
        grouped: list[list[int]] = [[] for _ in words]
        for token_id, word in zip(encoding["input_ids"], encoding.word_ids()):
            grouped[word].append(token_id)
        found += list(zip(words, grouped))
    return found


def node_word_id_mismatches(tokenizer: Any, folder: Path,
                            sentences: Sequence[Sequence[str]] = TOKENIZER_CHECK_WORDS) -> Optional[list[str]]:
    """Words whose ids Transformers.js (in Node, reading ``folder/tokenizer.json``) differ from Python's
    is_split_into_words ids; None when Node or the JavaScript module's ``node_modules`` is not there to ask.

    Raises:
        ValueError: Transformers.js cannot load the tokenizer (its message is quoted).
    """
    import subprocess

    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "@huggingface" / "transformers").is_dir():
        logger.info("Node or the JavaScript module's node_modules is missing: Transformers.js' tokenization not checked")
        return None
    expected = python_word_ids(tokenizer, sentences)
    with tempfile.TemporaryDirectory() as scratch:
        words_file = Path(scratch) / "words.json"
        words_file.write_text(json.dumps([word for word, _ in expected], ensure_ascii=False), encoding="utf-8")
        run = subprocess.run([node, str(JS_DIR / "check-tokenizer.mjs"), str(folder), str(words_file)],
                             capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines() or ["no message"]
        message = next((line[len("error: "):] for line in lines if line.startswith("error: ")), lines[-1])
        raise ValueError(f"Transformers.js cannot load the exported tokenizer.json: {message}")
    found = json.loads(run.stdout.strip().splitlines()[-1])["ids"]
    return [word for (word, ids), js_ids in zip(expected, found) if ids != js_ids]


def _write_tokenizer(tagger: Any, folder: Path, check_node: bool = True) -> None:
    tokenizer = tagger.embeddings.tokenizer
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer.save_pretrained(scratch)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            if (Path(scratch) / name).is_file():
                shutil.copyfile(Path(scratch) / name, folder / name)
    if not (folder / "tokenizer.json").is_file():
        raise ValueError(
            f"the tagger's tokenizer ({type(tokenizer).__name__}) wrote no tokenizer.json, the only file "
            "Transformers.js tokenizes with; export needs a fast tokenizer"
        )
    text = (folder / "tokenizer.json").read_text(encoding="utf-8")
    if prefix_space_in(json.loads(text)) is False:
        raise ValueError(
            "the tagger's tokenizer has a ByteLevel pre-tokenizer without add_prefix_space; Transformers.js would "
            "tokenize words differently from Flair"
        )
    wrong = word_id_mismatches(tokenizer, text)
    if wrong:
        raise ValueError(
            f"tokenizer.json tokenizes {len(wrong)} check word(s) on their own differently from Flair's "
            f"is_split_into_words ({', '.join(repr(w) for w in wrong[:5])}); the JavaScript module would feed the "
            "model other ids than Python"
        )
    wrong = node_word_id_mismatches(tokenizer, folder) if check_node else None
    if wrong:
        raise ValueError(
            f"Transformers.js tokenizes {len(wrong)} check word(s) differently from Flair "
            f"({', '.join(repr(w) for w in wrong[:5])}); the JavaScript module would feed the model other ids than Python"
        )


def _readme(spec: ExportSpec, quantized: Sequence[str], vocabulary: Optional[dict[str, Any]] = None) -> str:
    from flair_modernbert.export import DTYPES

    dtype = DTYPES[quantized[0]][0] if quantized else None
    return f"""# Exported flair-modernbert tagger

Tags ({spec.tag_format}, {spec.head} decoding): {", ".join(t for t in spec.tags if not t.startswith("<"))}

Encoder `{spec.model_type}` ({"ModernBertEmbeddings" if spec.embeddings == "modernbert" else "TransformerWordEmbeddings"}),
pooling `{spec.pooling}`, layers {spec.layers}{" (mean)" if spec.layer_mean and len(spec.layers) > 1 else ""},
final norm {str(spec.final_norm).lower()}, context {spec.context_length} words, window {spec.max_length} subtokens.
Models (`dtype`): fp32 `onnx/model.onnx`{"".join(f", {DTYPES[q][0]} `{DTYPES[q][1]}`" for q in quantized)}.

Node (prints what `flair-modernbert predict` prints for the same input):

```bash
npm ci --omit=dev           # once: the pinned @huggingface/transformers (package-lock.json)
node predict.mjs input.txt  # or - for stdin; --types person,location; --redact; --dtype fp32|fp16|q8|q4
```

Browser or Node, from JavaScript:

```js
import {{ loadTagger }} from "./tagger.mjs";
const tagger = await loadTagger(new URL("./", import.meta.url).href{f", {{ dtype: '{dtype}' }}" if dtype else ""});
const [doc] = await tagger.predict(["Jane Doe moved to Berlin ."]);
const {{ text, spans }} = await tagger.redact("Jane Doe moved to Berlin .", {{ types: ["person"] }});
```

JAVASCRIPT.md describes the module's options, long texts and the browser setup.
""" + _vocabulary_readme(vocabulary)


def _vocabulary_readme(vocabulary: Optional[dict[str, Any]]) -> str:
    if vocabulary is None:
        return ""
    corpus = Path(vocabulary["corpus"].partition(":")[2] or vocabulary["corpus"]).name  # no paths of this machine
    return f"""
## Trimmed vocabulary

The embedding matrix keeps {vocabulary["rows_kept"]} of {vocabulary["rows_total"]} rows: the {vocabulary["seen"]} tokens
of the corpus `{corpus}` ({vocabulary["corpus_kind"]}, {vocabulary["words"]} words) and every token the
{vocabulary["model"]} tokenizer needs to spell any text in smaller pieces. On that corpus the fp32 graph tags
{vocabulary["agreeing"]} of {vocabulary["words"]} words ({vocabulary["agreement"]:.2%}) as the untrimmed tagger does; words
it never saw are split into smaller pieces than the untrimmed tokenizer would use, so their tags may differ.
"""


def _link_node_modules(folder: Path) -> Optional[Path]:
    source = JS_DIR / "node_modules"
    if not (source / "@huggingface" / "transformers").is_dir():
        return None
    try:
        os.symlink(source.resolve(), folder / "node_modules", target_is_directory=True)
    except OSError as error:  # e.g. no symlinks on this file system
        logger.info("could not link node_modules into %s: %s", folder, error)
        return None
    return source.resolve()


def write_folder(
    tagger: Any,
    spec: ExportSpec,
    out: os.PathLike | str,
    quantize: Sequence[str] = (),
    opset: Optional[int] = None,
    exporter: str = "torchscript",
    overwrite: bool = False,
    check: bool = True,
    link_node_modules: bool = True,
    vocabulary: Optional["VocabularyCheck"] = None,  # noqa: F821
) -> ExportResult:
    """Write the export folder for a loaded tagger whose :class:`ExportSpec` has been read.

    Args:
        tagger: the tagger.
        spec: from :func:`~flair_modernbert.export.spec.export_spec`.
        out: the folder to create.
        quantize: names of :data:`~flair_modernbert.export.QUANTIZATIONS` (``fp16``, ``int8``, ``q4``): the
            quantized copies to write besides ``onnx/model.onnx``.
        opset: ONNX opset.
        exporter: ``torchscript`` or ``dynamo``.
        overwrite: replace a non-empty ``out``.
        check: compare the graph's emission scores with Flair's on a few sentences, and (where Node and the
            JavaScript module's node_modules are installed) Transformers.js' ids of sample words with Python's.
        link_node_modules: link ``node_modules`` of the installed JavaScript module into the folder, when there is one.
        vocabulary: for a tagger whose vocabulary was trimmed (:func:`~flair_modernbert.export.vocab.trimmed`):
            the check of the fp32 graph's tags against the untrimmed tagger's on the corpus, run once the graph
            is written (refused below its threshold: nothing is kept); its record goes to ``crf.json``
            (``vocabulary``) and the README.

    Returns:
        The :class:`ExportResult`.
    """
    from flair_modernbert.export import DTYPES, parse_quantize
    from flair_modernbert.export.onnx_graph import export_onnx, folded_head
    from flair_modernbert.export.onnx_graph import quantize as write_quantized
    from flair_modernbert.export.verify import check_export

    quantize = parse_quantize(quantize)
    out = Path(out)
    check_output_dir(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        result = ExportResult(folder=out)
        _write_tokenizer(tagger, work, check_node=check)
        _write_json(work / "config.json", _model_config(tagger, spec))
        model = export_onnx(tagger, spec, work / "onnx" / "model.onnx", opset=opset, dynamo=exporter == "dynamo")
        if vocabulary is not None:  # refused below its threshold before the quantized copies are made
            result.vocabulary = vocabulary.run(tagger, spec, model)
        files = {"fp32": "onnx/model.onnx"}
        for name in quantize:
            dtype, file = DTYPES[name]
            write_quantized(name, model, work / file)
            files[dtype] = file
        _, bias = folded_head(tagger, spec)  # what a word without subtokens gets (zero vectors through the head)
        decoder = decoder_config(tagger, spec, bias.detach().cpu(), files, exporter)
        if result.vocabulary is not None:
            decoder["vocabulary"] = result.vocabulary
        _write_json(work / "crf.json", decoder)
        for name in JS_FILES:
            shutil.copyfile(JS_DIR / name, work / name)
        shutil.copyfile(RULES_PATH, work / "rules.json")  # the one definition the JavaScript module reads
        (work / "README.md").write_text(_readme(spec, quantize, result.vocabulary), encoding="utf-8")
        shutil.copyfile(JS_DIR / "README.md", work / "JAVASCRIPT.md")
        if check:
            result.max_abs_diff = check_export(tagger, spec, model)
            logger.info("fp32 graph vs Flair: max abs difference %.2e", result.max_abs_diff)
            for name in quantize:
                result.quantized_diffs[name] = check_export(tagger, spec, work / DTYPES[name][1])
                logger.info("%s graph vs Flair: max abs difference %.2e", name, result.quantized_diffs[name])
            if result.max_abs_diff > 1e-3:
                raise ValueError(
                    f"the exported graph's emission scores differ from Flair's by {result.max_abs_diff:.2e} "
                    "(more than 1e-3); the export is wrong and was not kept. Please report this with the model's settings."
                )
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(work, 0o777 & ~umask)  # mkdtemp made it private; the folder is meant to be served
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if link_node_modules:
        result.node_modules = _link_node_modules(out)
    result.files = {
        str(path.relative_to(out)): path.stat().st_size
        for path in sorted(out.rglob("*"))
        if path.is_file() and "node_modules" not in path.relative_to(out).parts
    }
    return result
