"""The ONNX graph of an exported tagger: subtoken ids in, the tagger's emission scores per subtoken out.

Flair computes a word's emission scores as ``linear(pool(hidden states of the word's subtokens))`` (with an
optional ``embedding2nn`` reprojection before the linear layer). Every step after the encoder is affine, and
pooling a word's subtokens (first, last or mean) commutes with an affine map, so the graph applies the head to
*every subtoken* and the browser pools emission rows instead of hidden states: the graph has the inputs and the
``logits`` output that Transformers.js' ``AutoModelForTokenClassification`` feeds and reads, and no pooling or
word structure inside.

- ``first``, ``last``, ``mean``: ``logits[b, i] = W h_i + c`` with ``W``/``c`` the head folded into one affine
  map (``T`` columns, one per tag).
- ``first_last``: Flair concatenates the first and the last subtoken's vectors, so the head splits into a part
  for each; ``logits`` has ``2T`` columns, ``W_first h_i + c`` then ``W_last h_i``, and a word's emissions are
  ``logits[first][:T] + logits[last][T:]``.

``h_i`` is the encoder's hidden state as :class:`~flair_modernbert.encoder.embeddings.ModernBertEmbeddings` or
Flair's stock ``TransformerWordEmbeddings`` selects it (the requested layers in transformers'
``output_hidden_states`` numbering, concatenated or averaged, with ModernBERT's final LayerNorm on the last layer
when ``final_norm`` is set). The encoder runs as transformers' padded model (``attention_mask`` marks real
subtokens), which equals the unpadded forward ``ModernBertEmbeddings`` ran and is the forward stock Flair runs.

Smaller copies (``--quantize``): :func:`quantize_fp16` (float16 weights and activations, float32 inputs and
``logits``), :func:`quantize_int8` (dynamic int8 MatMul and embedding weights), :func:`quantize_q4` (4-bit
block-quantized MatMul weights, ONNX Runtime's ``MatMulNBits``, and 4-bit embedding tables), the files Transformers.js
loads for ``dtype`` ``fp16``, ``q8``, ``q4``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, Iterator, Optional

import torch
from torch import nn

from flair_modernbert.export.spec import ExportSpec

logger = logging.getLogger(__name__)

__all__ = ["EmissionGraph", "export_onnx", "quantize", "quantize_fp16", "quantize_int8", "quantize_q4", "DEFAULT_OPSET",
           "Q4_BLOCK_SIZE", "Q4_EMBEDDING_BLOCK_SIZE"]

#: ONNX opset written by default: new enough for the exporter, old enough for onnxruntime-web.
DEFAULT_OPSET = 17


def folded_head(tagger: Any, spec: ExportSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """The tagger's head (``embedding2nn`` if any, then ``linear``) as one affine map ``x -> W x + c``.

    Returns:
        ``W`` of shape ``(T, embedding_length)`` and ``c`` of shape ``(T,)``, in float64 folded then cast back.
    """
    weight = tagger.linear.weight.detach().double()
    bias = tagger.linear.bias.detach().double()
    if spec.reproject:
        inner_w = tagger.embedding2nn.weight.detach().double()
        inner_b = tagger.embedding2nn.bias.detach().double()
        bias = weight @ inner_b + bias
        weight = weight @ inner_w
    dtype = tagger.linear.weight.dtype
    return weight.to(dtype), bias.to(dtype)


class EmissionGraph(nn.Module):
    """``(input_ids, attention_mask) -> logits``: per-subtoken emission scores of a Flair tagger.

    Args:
        tagger: the loaded tagger (its embeddings' model and head are used in place, not copied).
        spec: what :func:`~flair_modernbert.export.spec.export_spec` read from it.
    """

    def __init__(self, tagger: Any, spec: ExportSpec) -> None:
        super().__init__()
        if spec.embeddings == "modernbert":
            from flair_modernbert.encoder.unpadded import base_modernbert

            self.encoder = base_modernbert(tagger.embeddings.model)
        else:  # stock Flair calls the model it holds, with input_ids and attention_mask only
            self.encoder = tagger.embeddings.model
        self.layers = list(spec.layers)
        self.layer_mean = spec.layer_mean
        self.final_norm = spec.final_norm
        self.num_layers = spec.num_layers
        weight, bias = folded_head(tagger, spec)
        self.first_last = spec.pooling == "first_last"
        # the head reads a concatenation [first | last] for first_last: one weight block per part
        self.register_buffer("weight", weight if not self.first_last else torch.cat(weight.chunk(2, dim=1), dim=0))
        bias_parts = bias if not self.first_last else torch.cat([bias, torch.zeros_like(bias)])
        self.register_buffer("bias", bias_parts)
        self.use_direct_linear = not spec.reproject and not self.first_last
        self.linear = tagger.linear if self.use_direct_linear else None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        output = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        states = list(output.hidden_states)
        if self.final_norm:
            states[self.num_layers] = self.encoder.final_norm(states[self.num_layers])
        selected = [states[i] for i in self.layers]
        if len(selected) == 1:
            hidden = selected[0]
        elif self.layer_mean:
            hidden = torch.stack(selected).mean(dim=0)
        else:
            hidden = torch.cat(selected, dim=-1)
        if self.linear is not None:  # the tagger's own layer: the same arithmetic as Flair's
            return self.linear(hidden)
        # folded head; for first_last rows [0, T) read the first-subtoken half, rows [T, 2T) the last-subtoken half
        return torch.nn.functional.linear(hidden, self.weight, self.bias)


def _example_inputs(tokenizer: Any) -> tuple[torch.Tensor, torch.Tensor]:
    texts = [["Jane", "Doe", "moved", "to", "Berlin", "."], ["Hi", "!"]]
    encoding = tokenizer(texts, is_split_into_words=True, padding=True, return_tensors="pt")
    return encoding["input_ids"], encoding["attention_mask"]


def export_onnx(
    tagger: Any,
    spec: ExportSpec,
    path: os.PathLike | str,
    opset: Optional[int] = None,
    dynamo: bool = False,
) -> Path:
    """Write the tagger's :class:`EmissionGraph` to ``path`` as ONNX.

    Args:
        tagger: the loaded tagger (put in eval mode on CPU here).
        spec: from :func:`~flair_modernbert.export.spec.export_spec`.
        path: the ``.onnx`` file to write.
        opset: ONNX opset (default :data:`DEFAULT_OPSET`).
        dynamo: use torch's dynamo-based exporter instead of the TorchScript one.

    Returns:
        ``path``.
    """
    import warnings

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tagger.eval()
    graph = EmissionGraph(tagger, spec).eval()
    input_ids, attention_mask = _example_inputs(tagger.embeddings.tokenizer)
    axes = {0: "batch_size", 1: "sequence_length"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            graph,
            (input_ids, attention_mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": axes},
            opset_version=opset or DEFAULT_OPSET,
            do_constant_folding=True,
            dynamo=dynamo,
        )
    logger.info("wrote %s (%.1f MiB)", path, path.stat().st_size / 2**20)
    return path


def quantize_int8(source: os.PathLike | str, target: os.PathLike | str) -> Path:
    """Dynamic int8 quantization of the graph's weights (``onnxruntime.quantization.quantize_dynamic``), one scale
    per output channel, 7-bit weight range (``reduce_range``).

    Per-channel scales: on the trained all-MiniLM-L6-v2 WNUT-17 tagger per-tensor ones cost 0.030 test F1. The
    reduced range: ONNX Runtime's x86 kernels (Node, Python) multiply uint8 activations by int8 weights in
    saturating 16-bit pairs, WebAssembly's kernels do not, so full-range weights gave Chromium another F1 than Node
    (0.4003 vs 0.3945); with 7-bit weights nothing saturates and every runtime computes the same (0.4034, fp32 0.4062).

    Returns:
        ``target``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = Path(target)
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    logger.info("wrote %s (%.1f MiB)", target, target.stat().st_size / 2**20)
    return target


#: Weights per 4-bit block (one scale each) in :func:`quantize_q4`; Transformers.js' own q4 models use 32.
Q4_BLOCK_SIZE = 32
#: Values per 4-bit block of an embedding table row in :func:`quantize_q4`.
Q4_EMBEDDING_BLOCK_SIZE = 128


def quantize_fp16(source: os.PathLike | str, target: os.PathLike | str) -> Path:
    """The graph in float16 (``onnxruntime.transformers.float16``), keeping float32 inputs and ``logits``.

    Inputs and outputs stay as the fp32 graph's, so the JavaScript side reads ``logits`` the same way; ONNX Runtime
    runs operators without a float16 kernel (most, on CPUs) in float32 behind inserted casts.

    Returns:
        ``target``.
    """
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    target = Path(target)
    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True, disable_shape_infer=True)
    onnx.save(model, str(target))
    logger.info("wrote %s (%.1f MiB)", target, target.stat().st_size / 2**20)
    return target


def quantize_q4(source: os.PathLike | str, target: os.PathLike | str, block_size: int = Q4_BLOCK_SIZE,
                embedding_block_size: Optional[int] = Q4_EMBEDDING_BLOCK_SIZE) -> Path:
    """4-bit weights: every MatMul with a constant weight becomes ONNX Runtime's ``MatMulNBits`` (blocks of
    ``block_size`` weights, one float scale and one 4-bit zero point per block: on the trained all-MiniLM-L6-v2 WNUT-17
    tagger symmetric blocks cost 0.031 test F1, these 0.017), and every embedding table (a ``Gather`` of a constant)
    is stored in 4-bit blocks of ``embedding_block_size`` values, unpacked by standard operators
    (:mod:`flair_modernbert.export.tables`: ONNX Runtime's own ``GatherBlockQuantized`` is missing from the
    WebAssembly build Transformers.js runs in browsers). The token table is half of a small encoder's weights:
    the 3-layer MiniLM student's q4 file is 9.4 MiB with 4-bit tables instead of 14.8 with int8 ones.
    ``embedding_block_size=None`` keeps int8 tables (per channel, as :func:`quantize_int8`).

    Uses ``onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer`` (needs ``onnx-ir``).

    Args:
        source: the fp32 graph.
        target: the file to write.
        block_size: weights per block of the MatMul weights (a power of two >= 16).
        embedding_block_size: values per block of a table row (a power of two >= 16; a narrower row is one block),
            or ``None`` for int8 tables.

    Returns:
        ``target``.
    """
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    from flair_modernbert.export.tables import four_bit_tables

    for name, value in (("block_size", block_size), ("embedding_block_size", embedding_block_size)):
        if value is not None and (value < 16 or value & (value - 1)):
            raise ValueError(f"quantize_q4: {name} must be a power of two >= 16, got {value}")
    target = Path(target)
    quantizer = MatMulNBitsQuantizer(onnx.load(str(source)), bits=4, block_size=block_size, is_symmetric=False)
    quantizer.process()
    if embedding_block_size is not None:
        four_bit_tables(quantizer.model.model, embedding_block_size)
        quantizer.model.save_model_to_file(str(target))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            matmuls = Path(scratch) / "matmul_q4.onnx"
            quantizer.model.save_model_to_file(str(matmuls))
            quantize_dynamic(str(matmuls), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["Gather"],
                             per_channel=True)
    logger.info("wrote %s (%.1f MiB)", target, target.stat().st_size / 2**20)
    return target


def quantize(name: str, source: os.PathLike | str, target: os.PathLike | str) -> Path:
    """Write the ``--quantize`` copy ``name`` (``fp16``, ``int8`` or ``q4``) of the fp32 graph ``source``."""
    writers = {"fp16": quantize_fp16, "int8": quantize_int8, "q4": quantize_q4}
    if name not in writers:
        raise ValueError(f"--quantize {name!r}: choose from {', '.join(writers)}")
    with quiet_quantizers():
        return writers[name](source, target)


class _QuantizerChatter(logging.Filter):
    """Drops records that ONNX Runtime's quantizers log through the root logger (``logging.info(...)``) below
    ERROR: a line per graph node ("Ignore MatMul ...", thousands for ModernBERT-base) and advice that does not apply
    to dynamic quantization."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or f"onnxruntime{os.sep}" not in record.pathname


@contextlib.contextmanager
def quiet_quantizers() -> Iterator[None]:
    """Silence ONNX Runtime below ERROR for the duration: its quantizers log through the root logger and through
    module loggers under ``onnxruntime`` ("skip to quantize ..." per node), so a filter sits on the root logger and
    the ``onnxruntime`` logger's level is raised."""
    chatter = _QuantizerChatter()
    root, package = logging.getLogger(), logging.getLogger("onnxruntime")
    level = package.level
    root.addFilter(chatter)
    package.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.removeFilter(chatter)
        package.setLevel(level)
