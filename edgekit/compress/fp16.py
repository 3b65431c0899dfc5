"""FP16: halve the weights (ONNX float16 graph, or OpenVINO FP16 weight compression).

ONNX: every float tensor becomes float16 except the graph's inputs and
outputs, which stay float32 (``keep_io_types``) so callers, preprocessing and
the runtime see the same interface; casts are inserted at the edges. Uses
``onnxruntime.transformers.float16`` (shipped with onnxruntime: no new
dependency). On CPUs without FP16 arithmetic this is a *size* win that can be
slower: the planner measures and rejects it then.

OpenVINO: ``ov.save_model(..., compress_to_fp16=True)`` stores FP16 weights;
the plugin decompresses or runs them natively as the device allows.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.compress._common import output_path, say, write_result
from edgekit.errors import ConversionError, map_exceptions, require_argument
from edgekit.models.model import Model
from edgekit.progress import Progress
from edgekit.types import Format, Precision


def to_fp16(
    model: Model,
    out: str | Path | None = None,
    *,
    fmt: str | Format | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Model:
    """Return a new FP16 copy of ``model``; the input file is never touched.

    Args:
        model: an ONNX or OpenVINO model.
        out: output file or folder (default: beside the input, ``<stem>.fp16.onnx``).
        fmt: ``"onnx"`` or ``"openvino"`` output (default: the input's format).
        force: replace an existing output.

    Raises:
        ConversionError: unsupported format or a failed conversion.
        OutputExists: the output exists and ``force`` is false.

    Example:
        >>> half = to_fp16(load_model("net.onnx"))   # doctest: +SKIP
        >>> half.path.name
        'net.fp16.onnx'
    """
    require_argument(model, "to_fp16", "a Model (edgekit.load_model(path) makes one)")
    target = Format.parse(fmt or model.format, "format")
    if model.precision is not Precision.FP32:
        fix = ("it is FP16 already: run it as it is" if model.precision is Precision.FP16 else
               "give the FP32 model it was quantized from, or run this one as it is")
        raise ConversionError(f"{model.name} is stored in {model.precision}; FP16 conversion starts from FP32: "
                              f"{fix}", path=model.path)
    dest = output_path(model, out, "fp16", target)
    say(progress, "converting", f"{model.name} to FP16 ({target})", 0.0)
    writers = {Format.ONNX: _onnx_fp16, Format.OPENVINO: _openvino_fp16}
    if target not in writers:
        raise ConversionError(f"FP16 conversion writes onnx or openvino, not {target}")
    result = write_result(dest, target, model, force, "fp16", {"format": str(target)},
                          lambda tmp: writers[target](model, tmp))
    say(progress, "writing", str(result.path), 1.0)
    return result.replace(precision=Precision.FP16)


def _onnx_fp16(model: Model, tmp: Path) -> None:
    if model.format is not Format.ONNX:
        raise ConversionError(f"ONNX FP16 needs an ONNX model; {model.name} is {model.format}", path=model.path)
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    with map_exceptions({Exception: ConversionError}, f"FP16 conversion of {model.path} failed: {{error}}",
                        path=model.path):
        proto = onnx.load(str(model.path))
        half = convert_float_to_float16(proto, keep_io_types=True, disable_shape_infer=False)
        topological_sort(half.graph)
        onnx.save(half, str(tmp))


def topological_sort(graph) -> None:
    """Reorder ``graph.node`` so every input is produced before use (the float16
    pass appends its input casts at the end, which the ONNX checker rejects)."""
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        progress = [n for n in pending if all(i in ready for i in n.input)]
        if not progress:
            raise ConversionError("the FP16 graph has a cycle or a dangling input; cannot order its nodes")
        for node in progress:
            ordered.append(node)
            ready.update(node.output)
        pending = [n for n in pending if n not in progress]
    del graph.node[:]
    graph.node.extend(ordered)


def _openvino_fp16(model: Model, tmp: Path) -> None:
    if model.format not in (Format.ONNX, Format.OPENVINO):
        raise ConversionError(f"OpenVINO FP16 reads ONNX or IR; {model.name} is {model.format}", path=model.path)
    import openvino as ov

    with map_exceptions({Exception: ConversionError}, f"OpenVINO FP16 of {model.path} failed: {{error}}",
                        path=model.path):
        ov_model = ov.Core().read_model(str(model.path))
        ov.save_model(ov_model, str(tmp), compress_to_fp16=True)
