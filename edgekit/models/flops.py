"""FLOPs for batch 1: 2 x multiply-adds of Conv/Gemm/MatMul plus 1 per output
element of every other compute op.

Why count at all: the planner and the reports say what share of the
machine's measured peak GFLOP/s a model uses, and compare models by cost
without running them. Dynamic dims count as 1 (batch 1). The same rule is
applied to ONNX graphs, OpenVINO IR graphs and PyTorch modules (by forward
hooks), so the three agree to within the cost of reshapes and adds.
"""

from __future__ import annotations

from typing import Any

import onnx

# ops that move or describe data but compute nothing
_FREE = {
    "Shape", "Constant", "ConstantOfShape", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity",
    "Transpose", "Gather", "Concat", "Slice", "Split", "Cast", "Expand", "Dropout", "Range", "Size",
    "QuantizeLinear", "DequantizeLinear",
}
# op -> (index of the weight input, index of the data input)
_CONVS = {"Conv": (1, 0), "ConvInteger": (1, 0), "QLinearConv": (3, 0)}
_MATMULS = {"MatMul": 0, "MatMulInteger": 0, "QLinearMatMul": 0, "Gemm": 0}


def count_flops(model: Any) -> int | None:
    """FLOPs of a ``Model`` (any format) or an ``onnx.ModelProto`` for batch 1.

    Returns:
        The count, or ``None`` when the shapes needed are unknown.

    Example:
        >>> count_flops(load_model("tiny.onnx"))   # doctest: +SKIP
        1843200
    """
    if isinstance(model, onnx.ModelProto):
        return onnx_flops(model)
    fmt = str(model.format)
    if fmt == "onnx":
        from edgekit.models import onnx_io

        proto, _ = onnx_io.read(model.path)
        return onnx_flops(onnx_io.infer_shapes(proto, model.path, model.size_bytes))
    if fmt == "openvino":
        from edgekit.models.openvino_io import openvino_flops

        return openvino_flops(model.path)
    from edgekit.models.torch_io import torch_flops

    return torch_flops(model.module, model.input.concrete_shape(1))


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
    """FLOPs of a shape-inferred ONNX graph; ``None`` if no compute op had shapes."""
    shapes = _shapes(proto)
    total, known = 0, False
    for node in proto.graph.node:
        out = shapes.get(node.output[0]) if node.output else None
        if node.op_type in _FREE or out is None:
            continue
        known = True
        total += _node_flops(node, out, shapes)
    return total if known else None


def _node_flops(node: onnx.NodeProto, out: tuple[int, ...], shapes: dict) -> int:
    if node.op_type in _CONVS:
        w = shapes.get(node.input[_CONVS[node.op_type][0]])
        return 2 * _numel(out) * _numel(w[1:]) if w else _numel(out)
    if node.op_type == "ConvTranspose":
        x, w = shapes.get(node.input[0]), shapes.get(node.input[1])
        return 2 * _numel(x) * _numel(w[1:]) if x and w else _numel(out)
    if node.op_type in _MATMULS:
        a = shapes.get(node.input[0])
        if not a:
            return _numel(out)
        trans_a = any(at.name == "transA" and at.i for at in node.attribute)
        k = a[0] if trans_a and len(a) == 2 else a[-1]
        return 2 * _numel(out) * k
    return _numel(out)


def conv_flops(out_numel: int, weight_per_output: int) -> int:
    """2 x multiply-adds of a convolution: shared by the torch and OpenVINO counters."""
    return 2 * out_numel * weight_per_output
