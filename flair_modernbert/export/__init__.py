"""Export a trained tagger for the browser: ONNX + Transformers.js, with CRF decoding in JavaScript.

``export_tagger(MODEL, OUT)`` writes a folder that Transformers.js loads as is (``config.json`` with the tags,
a ``tokenizer.json`` with the prefix-space rule, ``onnx/model.onnx`` emitting the tagger's per-subtoken
emission scores), plus ``crf.json`` (the decoder) and the JavaScript module that segments text, tokenizes,
pools, decodes and returns the spans ``flair-modernbert predict`` prints (:mod:`flair_modernbert.export.folder`).

Modules: :mod:`~flair_modernbert.export.spec` (what a tagger computes; what cannot be exported),
:mod:`~flair_modernbert.export.onnx_graph` (the graph), :mod:`~flair_modernbert.export.crf` (``crf.json``),
:mod:`~flair_modernbert.export.folder` (the folder), :mod:`~flair_modernbert.export.verify` (graph vs Flair).
The JavaScript lives in ``flair_modernbert/export/js`` (see its README.md).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

from flair_modernbert.export.spec import ExportSpec, UnsupportedModelError, export_spec

logger = logging.getLogger(__name__)

__all__ = ["export_tagger", "check_export_options", "check_vocab_options", "parse_quantize", "export_spec",
           "ExportSpec", "UnsupportedModelError", "QUANTIZATIONS", "DTYPES", "EXPORTERS"]

#: ``--quantize`` values, in the order their files are written.
QUANTIZATIONS = ("fp16", "int8", "q4")
#: ``--quantize`` value -> (Transformers.js ``dtype``, the file it loads). fp32 (``onnx/model.onnx``) is always written.
DTYPES = {
    "fp16": ("fp16", "onnx/model_fp16.onnx"),
    "int8": ("q8", "onnx/model_quantized.onnx"),
    "q4": ("q4", "onnx/model_q4.onnx"),
}
#: Transformers.js dtype names accepted for ``--quantize`` too.
_ALIASES = {"q8": "int8"}
#: ``--exporter`` values: torch's TorchScript-based exporter (fast) or the dynamo-based one (opset >= 18).
EXPORTERS = ("torchscript", "dynamo")


def parse_quantize(quantize: Union[None, str, Iterable[str]]) -> tuple[str, ...]:
    """The quantized copies asked for: ``"fp16,q4"``, ``["int8"]`` or ``None`` -> names of :data:`QUANTIZATIONS`.

    Transformers.js' ``q8`` is accepted for ``int8``; the result is in :data:`QUANTIZATIONS` order, without repeats.

    Raises:
        ValueError: naming the value that is not one of :data:`QUANTIZATIONS`.
    """
    if quantize is None:
        return ()
    names = quantize.split(",") if isinstance(quantize, str) else list(quantize)
    chosen = set()
    for name in names:
        name = name.strip()
        if not name:
            continue
        name = _ALIASES.get(name, name)
        if name not in QUANTIZATIONS:
            raise ValueError(
                f"--quantize {name!r}: choose from {', '.join(QUANTIZATIONS)} (several with commas, e.g. fp16,q4)"
            )
        chosen.add(name)
    return tuple(name for name in QUANTIZATIONS if name in chosen)


def check_export_options(quantize: Union[None, str, Iterable[str]], opset: Optional[int], exporter: str,
                         check: bool = True) -> None:
    """Refuse option values that cannot work (or lack their packages), before a model is loaded.

    Raises:
        ValueError: naming the option and what is accepted, or the package to install.
    """
    quantize = parse_quantize(quantize)
    if exporter not in EXPORTERS:
        raise ValueError(f"--exporter {exporter!r}: choose one of {', '.join(EXPORTERS)}")
    if opset is not None:
        low = 18 if exporter == "dynamo" else 14
        if not low <= opset <= 21:
            raise ValueError(
                f"--opset {opset}: the {exporter} exporter writes opsets {low} to 21 for this graph "
                "(onnxruntime-web and onnxruntime-node run all of them)"
            )
    # packages last: a wrong value is reported even where the packages are missing
    import importlib.util

    needs = []
    if quantize or check:
        needs += ["onnx", "onnxruntime"]
    if "q4" in quantize:
        needs.append("onnx_ir")  # onnxruntime's MatMulNBits quantizer imports it
    if exporter == "dynamo":
        needs.append("onnxscript")
    absent = [name.replace("_", "-") for name in needs if importlib.util.find_spec(name) is None]
    if absent:
        raise ValueError(
            f"export needs {', '.join(absent)}: pip install 'flair-modernbert[export]'"
            + (" onnxscript (for --exporter dynamo)" if "onnxscript" in absent else "")
        )


def export_tagger(
    model: Union[str, os.PathLike, Any],
    out: Union[str, os.PathLike],
    quantize: Union[None, str, Iterable[str]] = None,
    opset: Optional[int] = None,
    exporter: str = "torchscript",
    overwrite: bool = False,
    trust: bool = False,
    check: bool = True,
    link_node_modules: bool = True,
    vocab: Union[None, str, os.PathLike] = None,
    vocab_overrides: Sequence[str] = (),
    vocab_min_agreement: float = 0.995,
) -> "ExportResult":  # noqa: F821
    """Export a trained tagger to a folder that Transformers.js loads, with the JavaScript decoder.

    Every option and every setting of the model is checked before anything is written; a model that cannot be
    exported (a BiLSTM head, ``use_context: document``, an encoder Transformers.js cannot run, ...) is refused
    with all the reasons. The encoder is a ``ModernBertEmbeddings`` or Flair's stock ``TransformerWordEmbeddings``
    over a model Transformers.js runs for token classification (BERT, RoBERTa, DistilBERT, ...).

    Args:
        model: a ``final-model.pt``, a training output folder, or a loaded ``SequenceTagger``.
        out: the folder to create.
        quantize: quantized copies besides ``onnx/model.onnx``, one or several of :data:`QUANTIZATIONS` (a
            comma-separated string or a list): ``fp16`` -> ``onnx/model_fp16.onnx`` (dtype ``fp16``), ``int8`` ->
            ``onnx/model_quantized.onnx`` (dynamic int8 weights, dtype ``q8``), ``q4`` -> ``onnx/model_q4.onnx``
            (4-bit block-quantized MatMul weights, dtype ``q4``).
        opset: ONNX opset (default 17 for the TorchScript exporter, 18 for dynamo).
        exporter: ``torchscript`` (default) or ``dynamo``.
        overwrite: replace a non-empty ``out``.
        trust: load a model file this library did not write (runs code from the file; see ``load_tagger``).
        check: compare the graph's emission scores with Flair's on a few sentences (fails above 1e-3) and, where
            Node and the JavaScript module's node_modules are installed, the ids Transformers.js gives sample words
            with Python's (fails on any difference, or when Transformers.js cannot read the tokenizer).
        link_node_modules: link the installed JavaScript module's ``node_modules`` into ``out`` when present,
            so ``node OUT/predict.mjs`` runs without ``npm ci``.
        vocab: a corpus (a recipe: its train split; a column file; span documents; JSON lines with ``"text"``;
            plain text, one document a line; ``KIND:PATH`` to say which): export a trimmed vocabulary, keeping the
            embedding rows of the tokens the corpus uses plus what spells any text (see
            :mod:`~flair_modernbert.export.vocab`), after checking the trimmed graph tags the corpus as the tagger does.
        vocab_overrides: ``KEY=VALUE`` overrides of a ``vocab`` recipe.
        vocab_min_agreement: the least share of the corpus's words the trimmed graph must tag as the tagger does.

    Returns:
        An :class:`~flair_modernbert.export.folder.ExportResult` (files, sizes, check results).

    Raises:
        UnsupportedModelError: the model cannot be exported (every reason listed).
        FileExistsError: ``out`` is not empty and ``overwrite`` is not set.
        ValueError: an invalid option, a ``vocab`` corpus without words, or a trimmed export below
            ``vocab_min_agreement``.
        FileNotFoundError: no model, or no ``vocab`` file.
    """
    from flair_modernbert.export.folder import check_output_dir, write_folder

    check_export_options(quantize, opset, exporter, check)
    quantize = parse_quantize(quantize)
    check_output_dir(Path(out), overwrite)
    if vocab is not None:
        check_vocab_options(vocab, vocab_overrides, vocab_min_agreement)
    elif vocab_overrides:
        raise ValueError("--vocab-set needs --vocab RECIPE")
    if exporter == "dynamo" and opset is None:
        opset = 18
    if isinstance(model, (str, os.PathLike)):
        from flair_modernbert.inference import load_tagger  # sets the run folder's recall_bias default

        tagger = load_tagger(model, trust=trust)
    else:
        tagger = model
    spec = export_spec(tagger)
    tagger.eval()
    options = dict(quantize=quantize, opset=opset, exporter=exporter, overwrite=overwrite, check=check,
                   link_node_modules=link_node_modules)
    if vocab is None:
        return write_folder(tagger, spec, out, **options)
    from flair_modernbert.export.vocab import VocabularyCheck, read_vocab_corpus, trim_vocabulary, trimmed

    sentences, kind = read_vocab_corpus(vocab, vocab_overrides)
    trim = trim_vocabulary(tagger, sentences, corpus=str(vocab), corpus_kind=kind)
    vocabulary = VocabularyCheck.prepare(tagger, spec, trim, sentences, vocab_min_agreement)  # untrimmed tags first
    with trimmed(tagger, trim):
        return write_folder(tagger, export_spec(tagger), out, vocabulary=vocabulary, **options)


def check_vocab_options(vocab: Union[str, os.PathLike], overrides: Sequence[str] = (),
                        min_agreement: float = 0.995) -> None:
    """Refuse ``--vocab`` arguments that cannot work, before a model is loaded.

    Raises:
        ValueError: a ``--vocab-min-agreement`` outside [0, 1], or an unknown ``KIND:`` prefix.
        FileNotFoundError: no ``--vocab`` file.
    """
    from flair_modernbert.export.vocab import vocab_source

    if not 0.0 <= min_agreement <= 1.0:
        raise ValueError(f"--vocab-min-agreement {min_agreement}: give a share of words between 0 and 1 (e.g. 0.995)")
    kind, path = vocab_source(vocab)
    is_recipe = kind == "recipe" or (kind is None and path.suffix.lower() in (".yaml", ".yml"))
    if overrides and not is_recipe:
        raise ValueError(f"--vocab-set applies to a recipe, but --vocab is {vocab}")
