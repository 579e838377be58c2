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

``h_i`` is the encoder's hidden state as :class:`~flair_modernbert.encoder.embeddings.ModernBertEmbeddings` selects
it (the requested layers in transformers' ``output_hidden_states`` numbering, concatenated or averaged, with the
final LayerNorm on the last layer when ``final_norm`` is set). The encoder runs as transformers' padded
ModernBERT (``attention_mask`` marks real subtokens), which equals the unpadded forward Flair ran.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn

from flair_modernbert.export.spec import ExportSpec

logger = logging.getLogger(__name__)

__all__ = ["EmissionGraph", "export_onnx", "quantize_int8", "DEFAULT_OPSET"]

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
        tagger: the loaded tagger (its ``ModernBertEmbeddings`` and head are used in place, not copied).
        spec: what :func:`~flair_modernbert.export.spec.export_spec` read from it.
    """

    def __init__(self, tagger: Any, spec: ExportSpec) -> None:
        super().__init__()
        from flair_modernbert.encoder.unpadded import base_modernbert

        self.encoder = base_modernbert(tagger.embeddings.model)
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
    """Dynamic int8 quantization of the graph's weights (``onnxruntime.quantization.quantize_dynamic``).

    Returns:
        ``target``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = Path(target)
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    logger.info("wrote %s (%.1f MiB)", target, target.stat().st_size / 2**20)
    return target
