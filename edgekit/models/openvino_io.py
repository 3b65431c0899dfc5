"""OpenVINO IR (``.xml`` + ``.bin``): read, describe, count FLOPs.

``openvino`` itself (an optional extra) is imported only when an IR is read,
so this module is cheap to import.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgekit._io import sha256_files
from edgekit.errors import BackendUnavailable, ModelLoadError, error_text
from edgekit.models.flops import conv_flops, input_shapes
from edgekit.models.model import Model
from edgekit.models.onnx_io import sniff
from edgekit.models.spec import TensorSpec, guess_layout
from edgekit.types import Format, Precision

_FREE = {
    "Parameter",
    "Constant",
    "Result",
    "Convert",
    "ShapeOf",
    "Reshape",
    "Squeeze",
    "Unsqueeze",
    "Transpose",
    "Gather",
    "Concat",
    "StridedSlice",
    "FakeQuantize",
}


def openvino():
    """The ``openvino`` module, or a clear error naming the extra to install."""
    try:
        import openvino as ov
    except ImportError as exc:
        raise BackendUnavailable(
            'OpenVINO IR needs openvino; install it with: pip install "edgekit[openvino]"'
        ) from exc
    return ov


def read_ir(path: Path) -> Any:
    """``ov.Model`` for ``path`` after checking both files are there and readable.

    Raises:
        ModelLoadError: missing/empty ``.xml`` or ``.bin``, or an unreadable IR.
    """
    sniff(path, kind="OpenVINO IR .xml file")
    weights = path.with_suffix(".bin")
    if not weights.is_file():
        raise ModelLoadError(
            f"OpenVINO IR {path} needs its weights file {weights}, which is missing; "
            "keep the .xml and .bin together (same name, same folder)",
            path=weights,
        )
    ov = openvino()
    try:
        return ov.Core().read_model(str(path), str(weights))
    except Exception as exc:
        first = error_text(exc, 200)
        raise ModelLoadError(
            f"{path} is not a readable OpenVINO IR ({first}); re-convert the model", path=path
        ) from exc


def load_ir(path: Path, *, name: str) -> Model:
    """Load an IR into a :class:`Model` (the ``ov.Model`` is not kept)."""
    ir = read_ir(path)
    if not ir.inputs or not ir.outputs:  # a layer-less IR reads fine and then runs nothing
        raise ModelLoadError(f"OpenVINO IR {path} has no {'inputs' if not ir.inputs else 'outputs'} (no layers "
                             "to run); re-convert the model", path=path)
    files = (path, path.with_suffix(".bin"))
    model = Model(
        name=name,
        format=Format.OPENVINO,
        path=path,
        files=files,
        inputs=tuple(_spec(p) for p in ir.inputs),
        outputs=tuple(_spec(p) for p in ir.outputs),
        precision=_precision(ir),
        sha256=sha256_files(list(files)),
        params=_params(ir),
        metadata={"ov_rt_info": rt_info(ir)},
    )
    shapes = input_shapes(model)  # None while image H/W are dynamic: counted once the card gives a size
    return model if shapes is None else model.replace(flops=graph_flops(ir, shapes))


def rt_info(ir: Any) -> dict[str, dict[str, str]]:
    """The IR's ``model_info`` (OpenVINO Model API: labels, mean/scale values, resize type) and
    ``conversion_parameters`` (Model Optimizer flags) sections, as text; read by the card."""
    out: dict[str, dict[str, str]] = {}
    for section in ("model_info", "conversion_parameters"):
        with contextlib.suppress(Exception):  # an odd rt_info entry is no reason to refuse the model
            if ir.has_rt_info([section]):
                out[section] = {str(k): str(v.astype(str)) for k, v in ir.get_rt_info()[section].items()}
    return out


def _spec(port: Any) -> TensorSpec:
    dims = []
    for i, d in enumerate(port.get_partial_shape()):
        dims.append(d.get_length() if d.is_static else ("batch" if i == 0 else f"d{i}"))
    shape = tuple(dims)
    try:
        name = port.get_any_name()
    except RuntimeError:  # unnamed port
        name = port.get_node().get_friendly_name()
    return TensorSpec(name, shape, port.get_element_type().to_dtype().name, guess_layout(shape))


def _constants(ir: Any):
    return [op for op in ir.get_ordered_ops() if op.get_type_name() == "Constant"]


def _precision(ir: Any) -> Precision:
    types = {op.get_type_name() for op in ir.get_ordered_ops()}
    if "FakeQuantize" in types or any(
        c.get_element_type().to_dtype().name in ("int8", "uint8") for c in _constants(ir)
    ):
        return Precision.INT8
    f16 = sum(_numel(c) for c in _constants(ir) if c.get_element_type().to_dtype().name == "float16")
    f32 = sum(_numel(c) for c in _constants(ir) if c.get_element_type().to_dtype().name == "float32")
    return Precision.FP16 if f16 > f32 else Precision.FP32


def _numel(op: Any) -> int:
    n = 1
    for d in op.get_output_partial_shape(0).to_shape():
        n *= d
    return n


def _params(ir: Any) -> int:
    """Elements of floating/int8 constants larger than a scalar (shape constants are int64)."""
    keep = ("float32", "float16", "bfloat16", "int8", "uint8")
    return sum(
        _numel(c) for c in _constants(ir) if c.get_element_type().to_dtype().name in keep and _numel(c) > 1
    )


def graph_int8_share(ir: Any, shapes: dict[str, tuple[int, ...]]) -> float | None:
    """Share of an IR's convolution and matrix-product FLOPs that run in INT8: those whose data input
    a ``FakeQuantize`` makes (:func:`fake_quantized`; a layer kept in float has none). ``None`` without any."""
    int8 = total = 0
    for op, flops in _op_flops(ir, shapes):
        if op.get_type_name() in ("Convolution", "GroupConvolution", "MatMul"):
            total += flops
            int8 += flops if fake_quantized(op) else 0
    return int8 / total if total else None


def graph_flops(ir: Any, shapes: dict[str, tuple[int, ...]]) -> int | None:
    """FLOPs for the concrete input ``shapes`` (same rule as :mod:`edgekit.models.flops`)."""
    return sum(flops for _, flops in _op_flops(ir, shapes))


def _op_flops(ir: Any, shapes: dict[str, tuple[int, ...]]) -> Iterator[tuple[Any, int]]:
    """``(op, FLOPs)`` for each op that computes, at the concrete input ``shapes``."""
    ir = ir.clone()
    with contextlib.suppress(Exception):  # already static, or unnamed inputs: count as is
        ir.reshape({name: list(shape) for name, shape in shapes.items()})
    for op in ir.get_ordered_ops():
        kind = op.get_type_name()
        if kind in _FREE or not op.get_output_partial_shape(0).is_static:
            continue
        out = 1
        for d in op.get_output_partial_shape(0).to_shape():
            out *= d
        if kind in ("Convolution", "GroupConvolution"):
            w = list(op.input(1).get_partial_shape().to_shape())
            per = 1
            for d in w[(2 if kind == "GroupConvolution" else 1) :]:
                per *= d
            yield op, conv_flops(out, per)
        elif kind == "MatMul":
            a = list(op.input(0).get_partial_shape().to_shape())
            yield op, conv_flops(out, a[-2] if op.get_attributes().get("transpose_a") else a[-1])
        else:
            yield op, out


# ops NNCF moves a FakeQuantize up through (they give the same result on quantized values), so a
# quantized convolution's data can reach it through them: FakeQuantize -> MaxPool -> Convolution
_PASS_THROUGH = {"MaxPool", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Split", "VariadicSplit",
                 "StridedSlice", "Slice", "Pad", "Convert", "Gather", "DepthToSpace", "SpaceToDepth"}


def fake_quantized(op: Any) -> bool:
    """Whether ``op``'s data input (input 0) is a FakeQuantize's output, directly or through
    :data:`_PASS_THROUGH` ops: an INT8 layer of an NNCF-quantized IR (one kept float has none)."""
    node = op.input_value(0).get_node()
    for _ in range(16):
        kind = node.get_type_name()
        if kind == "FakeQuantize":
            return True
        if kind not in _PASS_THROUGH or node.get_input_size() == 0:
            return False
        node = node.input_value(0).get_node()
    return False


