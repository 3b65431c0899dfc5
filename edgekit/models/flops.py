"""FLOPs for batch 1: 2 x multiply-adds of Conv/Gemm/MatMul plus 1 per output
element of every other compute op.

Why count at all: the planner and the reports say what share of the
machine's measured peak GFLOP/s a model uses, and compare models by cost
without running them. A dynamic batch counts as 1; dynamic image height and
width come from the model's preprocess size, and without one the count is
``None`` (never a count for a 1x1 image). The same rule is
applied to ONNX graphs, OpenVINO IR graphs and PyTorch modules (by forward
hooks), so the three agree to within the cost of reshapes and adds.

This module holds the rule and the ONNX counter; the OpenVINO and PyTorch
counters live beside their readers, and :func:`edgekit.models.cost.count_flops`
picks one by the model's format.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import onnx

from edgekit.models.contrib_shapes import complete_shapes

# ops that move or describe data but compute nothing
_FREE = {
    "Shape",
    "Constant",
    "ConstantOfShape",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Identity",
    "Transpose",
    "Gather",
    "Concat",
    "Slice",
    "Split",
    "Cast",
    "Expand",
    "Dropout",
    "Range",
    "Size",
    "QuantizeLinear",
    "DequantizeLinear",
}
# op -> (index of the weight input, index of the data input)
_CONVS = {"Conv": (1, 0), "ConvInteger": (1, 0), "QLinearConv": (3, 0)}
_MATMULS = {"MatMul": 0, "MatMulInteger": 0, "QLinearMatMul": 0, "Gemm": 0}


def input_shapes(model: Any) -> dict[str, tuple[int, ...]] | None:
    """Input name -> concrete shape: batch 1, dynamic image H/W from the preprocess size.

    Returns ``None`` when any other dim is still unknown.
    """
    out = {}
    for spec in model.inputs:
        shape = list(spec.shape)
        if shape and not isinstance(shape[0], int):
            shape[0] = 1
        spatial = {"NCHW": (2, 3), "NHWC": (1, 2)}.get(spec.layout, ())
        if model.preprocess is not None:
            for axis, value in zip(spatial, model.preprocess.size):
                if not isinstance(shape[axis], int):
                    shape[axis] = int(value)
        if any(not isinstance(d, int) or d <= 0 for d in shape):
            return None
        out[spec.name] = tuple(shape)
    return out


def fix_inputs(proto: onnx.ModelProto, shapes: dict[str, tuple[int, ...]]) -> onnx.ModelProto:
    """A copy of ``proto`` whose graph inputs have the given concrete shapes."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(proto)
    for value in fixed.graph.input:
        if value.name in shapes:
            for dim, size in zip(value.type.tensor_type.shape.dim, shapes[value.name]):
                dim.ClearField("dim_param")
                dim.dim_value = size
    return fixed


def _numel(shape: tuple[int, ...] | None) -> int:
    n = 1
    for d in shape or ():
        n *= d
    return n


def _shapes(proto: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Name -> concrete shape for every tensor shape inference knows (dynamic -> 1)."""
    shapes: dict[str, tuple[int, ...]] = {}
    graph = proto.graph
    for value in (*graph.input, *graph.value_info, *graph.output):
        ttype = value.type.tensor_type
        if ttype.HasField("shape"):
            shapes[value.name] = tuple(d.dim_value if d.dim_value > 0 else 1 for d in ttype.shape.dim)
    for t in graph.initializer:
        shapes[t.name] = tuple(int(d) for d in t.dims)
    return shapes


def onnx_flops(proto: onnx.ModelProto) -> int | None:
    """FLOPs of a shape-inferred ONNX graph; ``None`` if no compute op had shapes.

    Integer ops count like their float forms (``QLinearConv``, ``ConvInteger``,
    ``MatMulInteger``, ``QLinearMatMul``); shapes behind onnxruntime's contrib ops
    (``QLinearAdd``, ``QLinearConcat``...) are completed first (:mod:`~edgekit.models.contrib_shapes`).
    """
    costs = list(_node_costs(proto))
    return sum(flops for _, flops in costs) if costs else None


def onnx_int8_share(proto: onnx.ModelProto) -> float | None:
    """Share of a shape-inferred ONNX graph's multiply-add FLOPs (convolutions and matrix products)
    that run in INT8; ``None`` when it has none with shapes.

    INT8 is an integer op (``QLinearConv``, ``ConvInteger``...) or, in a QDQ graph, a float
    ``Conv``/``MatMul``/``Gemm`` whose data input a ``DequantizeLinear`` makes (onnxruntime fuses the
    pair into an INT8 kernel); a layer an accuracy-controlled quantization kept float has none.
    Why: a latency estimate for another device scales INT8's speed-up by it.
    """
    made_by = {out: node.op_type for node in proto.graph.node for out in node.output}
    int8 = total = 0
    for node, flops in _node_costs(proto):
        if node.op_type in _CONVS or node.op_type in _MATMULS:
            total += flops
            quantized = node.op_type not in ("Conv", "MatMul", "Gemm") or made_by.get(node.input[0]) == "DequantizeLinear"
            int8 += flops if quantized else 0
    return int8 / total if total else None


def _node_costs(proto: onnx.ModelProto) -> Iterator[tuple[onnx.NodeProto, int]]:
    """``(node, FLOPs)`` for each compute node with a known output shape."""
    if any(n.domain == "com.microsoft" for n in proto.graph.node):
        proto = complete_shapes(proto, _shapes)
    shapes = _shapes(proto)
    for node in proto.graph.node:
        out = shapes.get(node.output[0]) if node.output else None
        if node.op_type not in _FREE and out is not None:
            yield node, _node_flops(node, out, shapes)


def _node_flops(node: onnx.NodeProto, out: tuple[int, ...], shapes: dict) -> int:
    if node.op_type in _CONVS:
        w = shapes.get(node.input[_CONVS[node.op_type][0]])
        return 2 * _numel(out) * _numel(w[1:]) + _bias(node, out) if w else _numel(out)
    if node.op_type == "ConvTranspose":
        x, w = shapes.get(node.input[0]), shapes.get(node.input[1])
        return 2 * _numel(x) * _numel(w[1:]) if x and w else _numel(out)
    if node.op_type in _MATMULS:
        a = shapes.get(node.input[0])
        if not a:
            return _numel(out)
        trans_a = any(at.name == "transA" and at.i for at in node.attribute)
        k = a[0] if trans_a and len(a) == 2 else a[-1]
        return 2 * _numel(out) * k + _bias(node, out)
    return _numel(out)


def _bias(node: onnx.NodeProto, out: tuple[int, ...]) -> int:
    """One add per output for a fused bias (Conv input 2, Gemm input C), as an
    OpenVINO graph or a torch layer with bias counts it."""
    at = {"Conv": 2, "Gemm": 2, "QLinearConv": 8}.get(node.op_type)
    has_bias = at is not None and len(node.input) > at and node.input[at]
    return _numel(out) if has_bias else 0


def conv_flops(out_numel: int, weight_per_output: int) -> int:
    """2 x multiply-adds of a convolution: shared by the torch and OpenVINO counters."""
    return 2 * out_numel * weight_per_output
