"""``count_flops``: the FLOPs of a ``Model`` in any format, by the counter for its format; ``int8_share``:
how much of them runs in INT8.

Kept apart from :mod:`edgekit.models.flops` (the counting rule) so that the
format readers can use the rule without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import onnx

from edgekit.errors import require_argument
from edgekit.models import onnx_io, openvino_io, torch_io
from edgekit.models.flops import fix_inputs, input_shapes, onnx_flops, onnx_int8_share
from edgekit.types import Format


def count_flops(model: Any) -> int | None:
    """FLOPs of a ``Model`` (any format) or a shape-inferred ``onnx.ModelProto``, batch 1.

    Dynamic image height/width are taken from ``model.preprocess.size``.

    Returns:
        The count, or ``None`` when a needed dim is unknown (dynamic and no
        preprocess) rather than a count for a 1x1 image.

    Example:
        >>> count_flops(load_model("tiny.onnx"))   # doctest: +SKIP
        1843200
    """
    require_argument(model, "count_flops", "a Model (edgekit.load_model(path) makes one)")
    if isinstance(model, onnx.ModelProto):
        return onnx_flops(model)
    return _by_format(model, onnx_flops, openvino_io.graph_flops, torch_io.torch_flops)


def int8_share(model: Any) -> float | None:
    """Share of a quantized ``Model``'s multiply-add FLOPs that run in INT8 (ONNX QDQ/QOperator, or
    an OpenVINO IR's ``FakeQuantize``); ``None`` where it cannot be read (no shapes, a PyTorch
    module). See :func:`edgekit.models.flops.onnx_int8_share`."""
    return _by_format(model, onnx_int8_share, openvino_io.graph_int8_share)


def _by_format(model: Any, on_onnx: Callable, on_openvino: Callable, on_torch: Callable | None = None) -> Any:
    """``model``'s graph at concrete input shapes, handed to the counter for its format: a
    shape-inferred ONNX proto, an OpenVINO IR with the shapes, or a module with its input shape;
    ``None`` when a needed dim is unknown (dynamic and no preprocess) or the format has no counter."""
    shapes = input_shapes(model)
    if shapes is None:
        return None
    fmt = Format.parse(model.format)
    if fmt is Format.ONNX:
        proto, _ = onnx_io.read(model.path)
        return on_onnx(onnx_io.infer_shapes(fix_inputs(proto, shapes), model.path, model.size_bytes))
    if fmt is Format.OPENVINO:
        return on_openvino(openvino_io.read_ir(model.path), shapes)
    return on_torch(model.module, next(iter(shapes.values()))) if on_torch else None
