"""Read an ONNX file safely: sniff, parse, confine external data, check, describe.

Why by hand instead of a bare ``onnx.load``: a user's file can be empty,
truncated, a text file or a PDF renamed ``.onnx``, or carry external-data
``location`` entries such as ``../../etc/passwd`` that would make the loader
read outside the model's folder. Each case gets one sentence naming the file
and the fix, and nothing outside the model's folder is ever opened.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx
from onnx import external_data_helper

from edgekit._io import is_within
from edgekit.errors import ModelLoadError
from edgekit.models.spec import Dim, TensorSpec, guess_layout
from edgekit.types import Precision

_TWO_GB = 2**31 - 1
_INT8_OPS = {
    "QuantizeLinear",
    "DequantizeLinear",
    "QLinearConv",
    "QLinearMatMul",
    "ConvInteger",
    "MatMulInteger",
}
MAX_ONNX_BYTES = 2 << 30  # protobuf's hard limit for one message
_FIX = "re-export it (torch.onnx.export / edgekit convert) or download it again"


def sniff(path: Path, kind: str = "ONNX model") -> None:
    """Refuse missing, empty, text and PDF files before a parser sees them.

    Raises:
        ModelLoadError: naming ``path`` and what to do instead.
    """
    if not path.exists():
        raise ModelLoadError(f"model file {path} does not exist; check the path", path=path)
    if path.is_dir():
        raise ModelLoadError(
            f"{path} is a folder, not a model file; pass the model file inside it", path=path
        )
    size = path.stat().st_size
    if size == 0:
        raise ModelLoadError(f"model file {path} is empty (0 bytes); {_FIX}", path=path)
    if kind == "ONNX model" and size >= MAX_ONNX_BYTES:  # refused before a byte is parsed (was read whole: 2.1 GB)
        raise ModelLoadError(f"{path} is {size / 2**30:.1f} GiB; an ONNX protobuf cannot exceed 2 GiB, so larger "
                             "models keep their weights in external data files: re-export it with "
                             "save_as_external_data=True", path=path)
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"%PDF"):
        raise ModelLoadError(
            f"{path} is a PDF document, not an {kind}; pass the model file itself", path=path
        )
    if kind == "ONNX model" and _looks_like_text(head):
        raise ModelLoadError(f"{path} is a text file, not an {kind} (a binary protobuf); {_FIX}", path=path)


def _looks_like_text(head: bytes) -> bool:
    """True for UTF-8 text without control bytes (an ONNX protobuf starts with field tags)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in text)


def read(path: Path) -> tuple[onnx.ModelProto, tuple[Path, ...]]:
    """Parse ``path`` without external data; return the graph and every file it needs.

    Raises:
        ModelLoadError: unreadable, truncated, invalid, or external data
            outside the model's folder or missing.
    """
    sniff(path)
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError, RuntimeError, ...
        raise ModelLoadError(
            f"{path} is not a readable ONNX model (truncated or corrupt: {_first_line(exc)}); {_FIX}",
            path=path,
        ) from exc
    if not proto.opset_import or not proto.graph.node:
        raise ModelLoadError(f"{path} is not a valid ONNX model (no graph or opset); {_FIX}", path=path)
    files = (path, *external_files(proto, path))
    try:
        onnx.checker.check_model(str(path))
    except Exception as exc:
        raise ModelLoadError(
            f"{path} failed the ONNX checker ({_first_line(exc)}); {_FIX}", path=path
        ) from exc
    return proto, files


def external_files(proto: onnx.ModelProto, path: Path) -> list[Path]:
    """The external-data files ``proto`` names, each confined to ``path``'s folder.

    Raises:
        ModelLoadError: a location is absolute, escapes the folder (``..``,
            a symlink out) or does not exist.
    """
    base = path.parent
    found: list[Path] = []
    for tensor in external_data_helper._get_all_tensors(proto):
        if not external_data_helper.uses_external_data(tensor):
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        target = base / location
        if not location or Path(location).is_absolute() or not is_within(target, base):
            raise ModelLoadError(
                f"{path} refers to external data {location!r} outside the model's folder {base}; "
                "refusing to read it (keep the .onnx and its data files together in one folder)",
                path=path,
            )
        if not target.is_file():
            raise ModelLoadError(
                f"{path} needs external data file {location!r}, which is missing from {base}; "
                "copy it beside the model",
                path=path,
            )
        if target.resolve() not in found:
            found.append(target.resolve())
    return found


def infer_shapes(proto: onnx.ModelProto, path: Path, size: int) -> onnx.ModelProto:
    """Shape-inferred copy of the graph (weights not loaded); on failure the graph as is."""
    try:
        if size <= _TWO_GB:
            return onnx.shape_inference.infer_shapes(proto)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "inferred.onnx"
            onnx.shape_inference.infer_shapes_path(str(path), str(out))
            return onnx.load(str(out), load_external_data=False)
    except Exception:  # noqa: BLE001 - inference is a nicety; FLOPs then count less
        return proto


def _dim(d: onnx.TensorShapeProto.Dimension) -> Dim:
    if d.HasField("dim_value") and d.dim_value > 0:
        return int(d.dim_value)
    if d.HasField("dim_param") and d.dim_param:
        return d.dim_param
    return None


def _spec(value: onnx.ValueInfoProto) -> TensorSpec:
    ttype = value.type.tensor_type
    shape = tuple(_dim(d) for d in ttype.shape.dim) if ttype.HasField("shape") else ()
    try:
        dtype = onnx.helper.tensor_dtype_to_np_dtype(ttype.elem_type).name
    except Exception:  # noqa: BLE001 - undefined/odd element types
        dtype = "float32"
    return TensorSpec(value.name, shape, dtype, guess_layout(shape))


def io_specs(proto: onnx.ModelProto) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """Graph inputs (initializers excluded, as old opsets list them) and outputs."""
    weights = {t.name for t in proto.graph.initializer}
    inputs = tuple(_spec(v) for v in proto.graph.input if v.name not in weights)
    return inputs, tuple(_spec(v) for v in proto.graph.output)


def precision(proto: onnx.ModelProto) -> Precision:
    """INT8 for QDQ/QLinear/Integer graphs, INT8_DYNAMIC for dynamic quantization,
    FP16 when most weights are float16, else FP32."""
    ops = {n.op_type for n in proto.graph.node}
    if "DynamicQuantizeLinear" in ops:
        return Precision.INT8_DYNAMIC
    if ops & _INT8_OPS:
        return Precision.INT8
    sizes = {onnx.TensorProto.FLOAT16: 0, onnx.TensorProto.FLOAT: 0}
    for t in proto.graph.initializer:
        if t.data_type in sizes:
            sizes[t.data_type] += _numel(t.dims)
    return (
        Precision.FP16 if sizes[onnx.TensorProto.FLOAT16] > sizes[onnx.TensorProto.FLOAT] else Precision.FP32
    )


def count_params(proto: onnx.ModelProto) -> int:
    """Sum of initializer sizes (elements), shapes only: weights need not be loaded."""
    return sum(_numel(t.dims) for t in proto.graph.initializer)


def _numel(dims) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
