"""Writing an export folder that Transformers.js loads as is.

Layout of ``OUT``::

    config.json              ModernBERT config + id2label/label2id (the tags), model_type "modernbert"
    tokenizer.json           the tagger's tokenizer, ByteLevel pre-tokenizer with add_prefix_space: true
    tokenizer_config.json    its config (special tokens, model_max_length)
    special_tokens_map.json
    onnx/model.onnx          (input_ids, attention_mask) -> logits: per-subtoken emission scores
    onnx/model_quantized.onnx  with --quantize int8 (Transformers.js loads it with dtype: "q8")
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
from typing import Any, Optional

from flair_modernbert.export.crf import decoder_config
from flair_modernbert.export.spec import ExportSpec
from flair_modernbert.redaction.rules import RULES_PATH

logger = logging.getLogger(__name__)

__all__ = ["JS_DIR", "JS_FILES", "ExportResult", "write_folder", "check_output_dir", "prefix_space_in"]

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
        max_abs_diff_int8: the same for the int8 graph, when one was written.
        node_modules: where ``node_modules`` points (a link into the installed package), if linked.
    """

    folder: Path
    files: dict[str, int] = field(default_factory=dict)
    max_abs_diff: Optional[float] = None
    max_abs_diff_int8: Optional[float] = None
    node_modules: Optional[Path] = None

    def summary(self) -> str:
        """Lines for the command line."""
        lines = [f"exported to {self.folder}"]
        for name in ("onnx/model.onnx", "onnx/model_quantized.onnx"):
            if name in self.files:
                lines.append(f"  {name}: {self.files[name] / 2**20:.1f} MiB")
        if self.max_abs_diff is not None:
            lines.append(f"  emission scores vs Flair: max abs difference {self.max_abs_diff:.2e} (fp32)")
        if self.max_abs_diff_int8 is not None:
            lines.append(f"  emission scores vs Flair: max abs difference {self.max_abs_diff_int8:.2e} (int8)")
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
    config = tagger.embeddings.model.config.to_dict()
    config = {key: value for key, value in config.items() if not key.startswith("_")}
    config["architectures"] = ["ModernBertForTokenClassification"]
    config["id2label"] = {str(i): tag for i, tag in enumerate(spec.tags)}
    config["label2id"] = {tag: i for i, tag in enumerate(spec.tags)}
    config["vocab_size"] = int(tagger.embeddings.model.get_input_embeddings().weight.shape[0])
    return config


def _write_tokenizer(tagger: Any, folder: Path) -> None:
    tokenizer = tagger.embeddings.tokenizer
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer.save_pretrained(scratch)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            if (Path(scratch) / name).is_file():
                shutil.copyfile(Path(scratch) / name, folder / name)
    state = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    if prefix_space_in(state) is not True:
        raise ValueError(
            "the tagger's tokenizer has no ByteLevel pre-tokenizer with add_prefix_space; Transformers.js would "
            "tokenize words differently from Flair"
        )


def _readme(spec: ExportSpec, quantized: bool) -> str:
    return f"""# Exported flair-modernbert tagger

Tags ({spec.tag_format}, {spec.head} decoding): {", ".join(t for t in spec.tags if not t.startswith("<"))}

Pooling `{spec.pooling}`, layers {spec.layers}{" (mean)" if spec.layer_mean and len(spec.layers) > 1 else ""},
final norm {str(spec.final_norm).lower()}, context {spec.context_length} words, window {spec.max_length} subtokens.

Node (prints what `flair-modernbert predict` prints for the same input):

```bash
npm ci --omit=dev           # once: the pinned @huggingface/transformers (package-lock.json)
node predict.mjs input.txt  # or - for stdin; --types person,location; --redact
```

Browser or Node, from JavaScript:

```js
import {{ loadTagger }} from "./tagger.mjs";
const tagger = await loadTagger(new URL("./", import.meta.url).href{", { dtype: 'q8' }" if quantized else ""});
const [doc] = await tagger.predict(["Jane Doe moved to Berlin ."]);
const {{ text, spans }} = await tagger.redact("Jane Doe moved to Berlin .", {{ types: ["person"] }});
```

JAVASCRIPT.md describes the module's options, long texts and the browser setup.
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
    quantize: Optional[str] = None,
    opset: Optional[int] = None,
    exporter: str = "torchscript",
    overwrite: bool = False,
    check: bool = True,
    link_node_modules: bool = True,
) -> ExportResult:
    """Write the export folder for a loaded tagger whose :class:`ExportSpec` has been read.

    Args:
        tagger: the tagger.
        spec: from :func:`~flair_modernbert.export.spec.export_spec`.
        out: the folder to create.
        quantize: ``None`` or ``"int8"`` (adds ``onnx/model_quantized.onnx``).
        opset: ONNX opset.
        exporter: ``torchscript`` or ``dynamo``.
        overwrite: replace a non-empty ``out``.
        check: compare the graph's emission scores with Flair's on a few sentences.
        link_node_modules: link ``node_modules`` of the installed JavaScript module into the folder, when there is one.

    Returns:
        The :class:`ExportResult`.
    """
    from flair_modernbert.export.onnx_graph import export_onnx, folded_head, quantize_int8
    from flair_modernbert.export.verify import check_export

    out = Path(out)
    check_output_dir(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        result = ExportResult(folder=out)
        _write_tokenizer(tagger, work)
        _write_json(work / "config.json", _model_config(tagger, spec))
        model = export_onnx(tagger, spec, work / "onnx" / "model.onnx", opset=opset, dynamo=exporter == "dynamo")
        files = {"fp32": "onnx/model.onnx"}
        if quantize == "int8":
            quantize_int8(model, work / "onnx" / "model_quantized.onnx")
            files["q8"] = "onnx/model_quantized.onnx"
        _, bias = folded_head(tagger, spec)  # what a word without subtokens gets (zero vectors through the head)
        _write_json(work / "crf.json", decoder_config(tagger, spec, bias.detach().cpu(), files, exporter))
        for name in JS_FILES:
            shutil.copyfile(JS_DIR / name, work / name)
        shutil.copyfile(RULES_PATH, work / "rules.json")  # the one definition the JavaScript module reads
        (work / "README.md").write_text(_readme(spec, quantize is not None), encoding="utf-8")
        shutil.copyfile(JS_DIR / "README.md", work / "JAVASCRIPT.md")
        if check:
            result.max_abs_diff = check_export(tagger, spec, model)
            logger.info("fp32 graph vs Flair: max abs difference %.2e", result.max_abs_diff)
            if quantize:
                result.max_abs_diff_int8 = check_export(tagger, spec, work / "onnx" / "model_quantized.onnx")
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
