"""4-bit embedding tables written with standard ONNX operators, for the ``q4`` file.

An encoder's token table is half of a small model's weights (all-MiniLM-L6-v2: 30,523 x 384 of 22.7M), so the q4
file's size is mostly the table's. ONNX Runtime's own 4-bit table operator (``GatherBlockQuantized``) runs in its
CPU, Node and plain WebAssembly builds but not in the WebAssembly build Transformers.js loads in browsers (the
WebGPU-enabled one: "Could not find an implementation for GatherBlockQuantized"). So the table is rewritten here
with operators every runtime has:

- the rows are split into blocks of ``block_size`` values; each block keeps a float16 ``scale`` and ``minimum``
  and its values as 4-bit codes ``round((x - minimum) / scale)`` (0..15), two codes a byte;
- the graph gathers the looked-up rows' bytes, scales and minimums (``Gather``; the two small float16 tables are cast
  to float32 first, once, by ONNX Runtime's constant folding), unpacks the codes with float
  arithmetic (``Cast``, ``Div``, ``Floor``, ``Mul``, ``Sub``: exact on integers below 256) and computes
  ``code * scale + minimum``.

Each value is within half a step (``scale / 2``) of the float table, give or take float16 rounding of the scale
and minimum (the codes are computed against the rounded ones). Work is proportional to the looked-up rows, never to
the table.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["quantize_table", "four_bit_tables", "TABLE_OVERHEAD_BITS"]

#: Bits per block besides the codes: a float16 scale and a float16 minimum.
TABLE_OVERHEAD_BITS = 32


def quantize_table(table: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4-bit codes of a 2-d float table in blocks of ``block_size`` values along its rows.

    Args:
        table: ``[rows, width]`` float values.
        block_size: values per block; ``width`` is padded with zeros to a multiple of it.

    Returns:
        ``(packed, scales, minimums)``: ``packed`` ``[rows, padded_width / 2]`` uint8 (the even position's code in the
        low nibble), ``scales`` and ``minimums`` ``[rows, blocks]`` float16.
    """
    rows, width = table.shape
    padded = -(-width // block_size) * block_size
    values = np.zeros((rows, padded), dtype=np.float32)
    values[:, :width] = table
    blocks = values.reshape(rows, padded // block_size, block_size)
    minimums = blocks.min(-1).astype(np.float16)
    scales = ((blocks.max(-1) - minimums.astype(np.float32)) / 15).astype(np.float16)
    # a constant block (e.g. an all-zero padding row) has no spread: any positive scale codes it exactly as 0
    scales = np.where(scales > 0, scales, np.float16(1.0))
    codes = np.rint((blocks - minimums.astype(np.float32)[..., None]) / scales.astype(np.float32)[..., None])
    codes = codes.clip(0, 15).astype(np.uint8).reshape(rows, padded)
    packed = (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)
    return packed, scales, minimums


def four_bit_tables(model: Any, block_size: int) -> int:
    """Rewrite, in place, every ``Gather`` of a constant 2-d float32 table along its rows into 4-bit blocks.

    Args:
        model: an ``onnx.ModelProto`` (opset >= 13).
        block_size: values per block (the row width is padded to a multiple; a narrower row is one block).

    Returns:
        The number of tables rewritten.
    """
    from onnx import TensorProto, helper, numpy_helper

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13:
        raise ValueError(f"4-bit tables need opset 13 or later (Unsqueeze with axes as an input), the graph has {opset}")
    graph = model.graph
    inputs = {value.name for value in graph.input}
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    rewritten = 0
    nodes = []
    for node in graph.node:
        tensor = initializers.get(node.input[0]) if node.op_type == "Gather" else None
        axis = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "axis"), 0)
        if (tensor is None or tensor.data_type != TensorProto.FLOAT or len(tensor.dims) != 2 or axis != 0
                or uses[tensor.name] != 1):
            nodes.append(node)
            continue
        table = numpy_helper.to_array(tensor)
        width = table.shape[1]
        size = min(block_size, 1 << (width - 1).bit_length())  # a narrow row: one block of the next power of two
        packed, scales, minimums = quantize_table(table, size)
        blocks, padded = scales.shape[1], packed.shape[1] * 2
        prefix = f"{tensor.name}_q4"
        graph.initializer.remove(tensor)
        if tensor.name in inputs:  # older IR versions list initializers among the graph's inputs too
            graph.input.remove(next(value for value in graph.input if value.name == tensor.name))
        graph.initializer.extend([
            numpy_helper.from_array(packed, f"{prefix}_codes"),
            numpy_helper.from_array(scales, f"{prefix}_scales"),
            numpy_helper.from_array(minimums, f"{prefix}_minimums"),
            numpy_helper.from_array(np.array([padded // 2, 1], dtype=np.int64), f"{prefix}_pair_shape"),
            numpy_helper.from_array(np.array([blocks, size], dtype=np.int64), f"{prefix}_block_shape"),
            numpy_helper.from_array(np.array([padded], dtype=np.int64), f"{prefix}_padded"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), f"{prefix}_last"),
            numpy_helper.from_array(np.array(16.0, dtype=np.float32), f"{prefix}_sixteen"),
        ])
        ids, out = node.input[1], node.output[0]

        def name(step: str) -> str:
            return f"{prefix}/{step}"

        def shape_of(tail: str) -> tuple[str, Any]:
            # the ids' shape followed by the initializer `tail`, computed at run time (ids may be [batch, length]
            # or [length]): the name of the shape and the node computing it
            shape = name(f"shape_{tail}")
            return shape, helper.make_node("Concat", [name("ids_shape"), f"{prefix}_{tail}"], [shape], axis=0)

        pairs_shape, pairs_node = shape_of("pair_shape")
        blocks_shape, blocks_node = shape_of("block_shape")
        rows_shape, rows_node = shape_of("padded")
        rows = out if padded == width else name("rows")
        nodes += [
            helper.make_node("Shape", [ids], [name("ids_shape")]),
            helper.make_node("Gather", [f"{prefix}_codes", ids], [name("bytes")], axis=0),
            helper.make_node("Cast", [name("bytes")], [name("bytes_f")], to=TensorProto.FLOAT),
            helper.make_node("Div", [name("bytes_f"), f"{prefix}_sixteen"], [name("over16")]),
            helper.make_node("Floor", [name("over16")], [name("high")]),
            helper.make_node("Mul", [name("high"), f"{prefix}_sixteen"], [name("high16")]),
            helper.make_node("Sub", [name("bytes_f"), name("high16")], [name("low")]),
            # interleave: code 2k is the low nibble of byte k, code 2k + 1 its high nibble
            pairs_node,
            helper.make_node("Reshape", [name("low"), pairs_shape], [name("low2")]),
            helper.make_node("Reshape", [name("high"), pairs_shape], [name("high2")]),
            helper.make_node("Concat", [name("low2"), name("high2")], [name("pairs")], axis=-1),
            blocks_node,
            helper.make_node("Reshape", [name("pairs"), blocks_shape], [name("codes")]),
            # float16 on disk, float32 before the lookup: ONNX Runtime folds the Cast of a constant once at load,
            # and WebGPU devices without shader-f16 cannot gather float16 ("Program Gather requires f16")
            helper.make_node("Cast", [f"{prefix}_scales"], [name("scale_table")], to=TensorProto.FLOAT),
            helper.make_node("Cast", [f"{prefix}_minimums"], [name("minimum_table")], to=TensorProto.FLOAT),
            helper.make_node("Gather", [name("scale_table"), ids], [name("scales")], axis=0),
            helper.make_node("Gather", [name("minimum_table"), ids], [name("minimums")], axis=0),
            helper.make_node("Unsqueeze", [name("scales"), f"{prefix}_last"], [name("scales1")]),
            helper.make_node("Unsqueeze", [name("minimums"), f"{prefix}_last"], [name("minimums1")]),
            helper.make_node("Mul", [name("codes"), name("scales1")], [name("scaled")]),
            helper.make_node("Add", [name("scaled"), name("minimums1")], [name("blocks")]),
            rows_node,
            helper.make_node("Reshape", [name("blocks"), rows_shape], [rows]),
        ]
        if rows != out:  # the row width was padded to whole blocks: cut it back
            graph.initializer.extend([numpy_helper.from_array(np.array([0], dtype=np.int64), f"{prefix}_zero"),
                                      numpy_helper.from_array(np.array([width], dtype=np.int64), f"{prefix}_width")])
            nodes.append(helper.make_node("Slice", [rows, f"{prefix}_zero", f"{prefix}_width", f"{prefix}_last"],
                                          [out]))
        rewritten += 1
        logger.debug("4-bit table %s: %d x %d in blocks of %d", tensor.name, table.shape[0], width, size)
    del graph.node[:]
    graph.node.extend(nodes)
    return rewritten
