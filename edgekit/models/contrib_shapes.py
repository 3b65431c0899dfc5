"""Output shapes of onnxruntime's ``com.microsoft`` quantized ops, which ONNX shape inference skips.

Why: a QOperator INT8 graph (``QLinearConv`` joined by ``QLinearAdd``,
``QLinearConcat``, ``QLinearGlobalAveragePool``...) loses every shape after
the first contrib op, so FLOPs of the convolutions behind it went uncounted
(about 4x under for a ShuffleNet). The rules here give those ops an output
shape; ONNX shape inference then carries on to the next standard op, and so
on until no shape is missing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx

Shape = tuple[int, ...]


def _same(node: onnx.NodeProto, shapes: dict[str, Shape]) -> Shape | None:
    return shapes.get(node.input[0])


def _broadcast(node: onnx.NodeProto, shapes: dict[str, Shape]) -> Shape | None:
    a, b = shapes.get(node.input[0]), shapes.get(node.input[3]) if len(node.input) > 3 else None
    if a is None or b is None:
        return None
    try:
        return tuple(int(d) for d in np.broadcast_shapes(a, b))
    except ValueError:
        return None


def _global_pool(node: onnx.NodeProto, shapes: dict[str, Shape]) -> Shape | None:
    x = shapes.get(node.input[0])
    if x is None or len(x) < 3:
        return None
    last = any(a.name == "channels_last" and a.i for a in node.attribute)
    return (x[0], *([1] * (len(x) - 2)), x[-1]) if last else (x[0], x[1], *([1] * (len(x) - 2)))


def _concat(node: onnx.NodeProto, shapes: dict[str, Shape]) -> Shape | None:
    parts = [shapes.get(name) for name in node.input[2::3]]  # Y_scale, Y_zp, then (X, scale, zp) triples
    if not parts or any(p is None for p in parts):
        return None
    axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
    axis = axis % len(parts[0])
    return (*parts[0][:axis], sum(p[axis] for p in parts), *parts[0][axis + 1:])


def _gemm(node: onnx.NodeProto, shapes: dict[str, Shape]) -> Shape | None:
    a, b = shapes.get(node.input[0]), shapes.get(node.input[3])
    if a is None or b is None or len(a) != 2 or len(b) != 2:
        return None
    trans = {at.name: at.i for at in node.attribute}
    return (a[1] if trans.get("transA") else a[0], b[0] if trans.get("transB") else b[1])


RULES: dict[str, Callable[[onnx.NodeProto, dict[str, Shape]], Shape | None]] = {
    "QLinearAdd": _broadcast,
    "QLinearMul": _broadcast,
    "QLinearSigmoid": _same,
    "QLinearLeakyRelu": _same,
    "QLinearSoftmax": _same,
    "QLinearGlobalAveragePool": _global_pool,
    "QLinearConcat": _concat,
    "QGemm": _gemm,
}


def complete_shapes(proto: onnx.ModelProto, known: Callable[[onnx.ModelProto], dict[str, Shape]],
                    rounds: int = 200) -> onnx.ModelProto:
    """``proto`` (shape-inferred) with the outputs of contrib ops shaped and inference re-run after them.

    Args:
        proto: a shape-inferred graph.
        known: name -> shape of every tensor with a known shape (the FLOPs counter's reader).
        rounds: upper bound on re-inference passes (one per chain of contrib ops).
    """
    for _ in range(rounds):
        shapes = known(proto)
        added = [_value_info(node, shape, proto) for node in proto.graph.node
                 if node.domain == "com.microsoft" and node.op_type in RULES and node.output
                 and node.output[0] not in shapes and (shape := RULES[node.op_type](node, shapes)) is not None]
        if not added:
            return proto
        proto.graph.value_info.extend(added)
        try:
            proto = onnx.shape_inference.infer_shapes(proto)
        except Exception:  # noqa: BLE001 - inference is a nicety; the count stays as far as it got
            return proto
    return proto


def _value_info(node: onnx.NodeProto, shape: Shape, proto: onnx.ModelProto) -> onnx.ValueInfoProto:
    """An output of the quantized type its first input has (uint8 when not recorded)."""
    types = {v.name: v.type.tensor_type.elem_type for v in (*proto.graph.input, *proto.graph.value_info)}
    elem = types.get(node.input[0]) or onnx.TensorProto.UINT8
    return onnx.helper.make_tensor_value_info(node.output[0], elem, list(shape))
