"""INT8 for detectors that keeps the box/score head in float.

Why: a detector's graph ends in a *decode tail* — sigmoids, the box arithmetic
(grid offsets, strides, Ultralytics' DFL softmax + 1x1 conv) and the Concat
that puts box coordinates (0..640 pixels) and class scores (0..1) into one
tensor. Quantizing that tail with one scale per tensor rounds every score to a
few levels, and mAP collapses (the Ultralytics and NNCF issue threads). The
convolutions before it carry the compute and quantize well, so the tail is
found in the graph and left in float: onnxruntime's ``nodes_to_exclude`` and
NNCF's ``IgnoredScope``.

The tail = every node reached walking back from the graph outputs, stopping at
the last convolutions (a DFL conv fed by a Softmax is part of the tail, not a
stop). Calibration uses detection images letterboxed exactly as the model's
own preprocessing (:func:`edgekit.detection.detector.prepare`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.compress.int8 import quantize_int8, quantize_openvino
from edgekit.errors import ConversionError, require_argument
from edgekit.models.model import Model
from edgekit.progress import Progress
from edgekit.types import Format

# where the walk back from the outputs stops: the head's last compute layers
_STOP_ONNX = {"Conv", "ConvTranspose", "Gemm", "MatMul", "ConvInteger", "QLinearConv", "MatMulInteger"}
_STOP_OV = {"Convolution", "GroupConvolution", "ConvolutionBackpropData", "MatMul"}
_DFL_FEED = {"Softmax", "SoftMax", "Transpose", "Reshape"}


def head_tail(model: Model, quantizer: str = "onnxruntime", convs: bool = False) -> list[str]:
    """Names of the decode-tail nodes of ``model``, in the naming of ``quantizer``.

    Args:
        model: an ONNX (or, for "nncf", ONNX or OpenVINO IR) detector.
        quantizer: "onnxruntime" (ONNX node names, for ``nodes_to_exclude``) or "nncf"
            (OpenVINO op friendly names, for ``nncf.IgnoredScope(names=...)``).
        convs: also the last convolutions themselves (the box/score prediction layers), for
            models whose accuracy those cost too.

    Raises:
        ConversionError: a format the quantizer cannot read, or a graph with no tail.
    """
    require_argument(model, "head_tail", "a detector Model (edgekit.load_model(path))", Model)
    if model.path is None:
        raise ConversionError(f"{model.name} is held in memory; save it to a file to find its detection head")
    if quantizer == "nncf":
        return _ov_tail(model.path, convs)
    if model.format is not Format.ONNX:
        raise ConversionError(f"{model.path}: the detection head is found in ONNX graphs; export to ONNX first",
                              path=model.path)
    return _onnx_tail(model.path, convs)


def _onnx_tail(path: Path, convs: bool = False) -> list[str]:
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    producer = {out: node for node in graph.node for out in node.output}

    def is_dfl(node: Any) -> bool:  # Ultralytics' DFL: Softmax -> (Transpose) -> 1x1 Conv with fixed weights
        feed = producer.get(node.input[0])
        hops = 0
        while feed is not None and hops < 3:
            if feed.op_type == "Softmax":
                return True
            if feed.op_type not in _DFL_FEED:
                return False
            feed, hops = producer.get(feed.input[0]) if feed.input else None, hops + 1
        return False

    tail, stops = _walk([o.name for o in graph.output], lambda t: producer.get(t),
                 lambda n: n.op_type in _STOP_ONNX and not is_dfl(n),
                 lambda n: [] if n.op_type == "Shape" else list(n.input), lambda n: n.name)
    return _checked([n for n in tail + (stops if convs else []) if n], path)


def _ov_tail(path: Path, convs: bool = False) -> list[str]:
    import openvino as ov

    return _checked(ov_tail(ov.Core().read_model(str(path)), convs), path)


def ov_tail(model: Any, convs: bool = False) -> list[str]:
    """The decode tail of an ``ov.Model`` in memory, as its op friendly names (see :func:`head_tail`).

    Why a model and not a file: OpenVINO names an op the ONNX file leaves unnamed with a counter
    that runs on through the process (``Reshape_543142``), so names taken from one read of a file
    are not in the next read; YOLOX-Nano's tail has five such ops. NNCF's ignored scope is
    therefore resolved on the very model it quantizes (:func:`tail_resolver`)."""

    def feeds(node: Any) -> list[Any]:
        return [node.input_value(i).get_node() for i in range(node.get_input_size())]

    def is_dfl(node: Any) -> bool:
        feed = feeds(node)[0]
        for _ in range(3):
            kind = feed.get_type_name()
            if kind in ("SoftMax", "Softmax"):
                return True
            if kind not in _DFL_FEED or not feeds(feed):
                return False
            feed = feeds(feed)[0]
        return False

    skip = {"Constant", "Parameter", "Result"}
    starts = [feeds(r)[0] for r in model.get_results()]
    tail, stops = _walk(starts, lambda n: n, lambda n: n.get_type_name() in _STOP_OV and not is_dfl(n),
                 lambda n: [] if n.get_type_name() == "ShapeOf" else feeds(n), lambda n: n.get_friendly_name())
    kinds = {n.get_friendly_name(): n.get_type_name() for n in model.get_ops()}
    return [t for t in tail + (stops if convs else []) if kinds.get(t) not in skip]


def tail_resolver(model: Model, convs: bool = False) -> Callable[[Any], list[str]]:
    """For :func:`~edgekit.compress.int8.quantize_openvino`'s ``ignored``: a function that finds
    ``model``'s decode tail in the ``ov.Model`` being quantized (see :func:`ov_tail` for why).

    Raises:
        ConversionError: (when called) the graph has no tail.
    """
    path = model.path

    def resolve(ov_model: Any) -> list[str]:
        return _checked(ov_tail(ov_model, convs), path)

    return resolve


def _walk(starts: list, resolve, stop, inputs, name) -> tuple[list[str], list[str]]:
    """Breadth-first from the outputs back to (not through) the ``stop`` nodes: the names visited, in
    order, and the names of the stop nodes reached."""
    seen: set[str] = set()
    out: list[str] = []
    stops: list[str] = []
    todo = list(starts)
    while todo:
        node = resolve(todo.pop(0))
        if node is not None and stop(node) and name(node) not in stops:
            stops.append(name(node))
        if node is None or name(node) in seen or stop(node):
            continue
        seen.add(name(node))
        out.append(name(node))
        todo.extend(inputs(node))
    return out, stops


def _checked(tail: list[str], path: Path) -> list[str]:
    if not tail:
        raise ConversionError(f"{path}: the outputs come straight from a convolution, so there is no decode tail to "
                              "keep in float; quantize it as a whole (edgekit compress --int8)", path=path)
    return tail


def detection_calibration(dataset: Any, model: Model, n: int = 300) -> list[dict[str, np.ndarray]]:
    """Feeds ``{input_name: (1, 3, H, W)}`` from up to ``n`` detection images, letterboxed as the model expects.

    Args:
        dataset: a :class:`~edgekit.detection.datasets.DetectionDataset`, a folder/COCO json/VOC
            path, or any iterable of BGR images (or ``(image, truth)`` pairs).
        model: the detector (its card/metadata fix size, pixel order, scale and padding).
    """
    from edgekit.detection.datasets import open_detection_dataset
    from edgekit.detection.detector import prepare
    from edgekit.detection.head import detector_spec

    spec = detector_spec(model)
    if isinstance(dataset, (str, Path)):
        dataset = open_detection_dataset(dataset, labels=spec.labels, num_classes=len(spec.labels or ()) or None)
    name = model.input.name
    feeds = []
    for item in dataset:
        image = item[0] if isinstance(item, tuple) else item
        feeds.append({name: prepare(image, spec)[0]})
        if len(feeds) >= n:
            break
    return feeds


def quantize_detector(
    model: Model,
    data: Any,
    out: str | Path | None = None,
    *,
    quantizer: str = "onnxruntime",
    keep_head_float: bool = True,
    head_convs: bool = False,
    samples: int = 300,
    force: bool = False,
    progress: Progress | None = None,
    **options: Any,
) -> Model:
    """Static INT8 of a detector with its decode tail kept in float.

    Args:
        model: an FP32 ONNX detector (OpenVINO IR too for "nncf").
        data: detection images (see :func:`detection_calibration`) or ready feeds (a list of dicts).
        out: output file or folder (default ``<stem>.int8.onnx`` / ``.xml`` beside the input).
        quantizer: "onnxruntime" (QDQ ONNX) or "nncf" (OpenVINO IR).
        keep_head_float: ``False`` quantizes the tail too (to measure what it costs).
        head_convs: keep the last (prediction) convolutions float as well.
        samples: calibration images used at most.
        options: passed to :func:`~edgekit.compress.int8.quantize_int8` (``method``, ``reduce_range``…).

    Returns:
        The INT8 ``Model``; ``metadata["compression"]["exclude"|"ignored"]`` lists the float nodes.

    Raises:
        DataError: too few calibration images; ConversionError: as the quantizers, or no tail found.

    Example:
        >>> q = quantize_detector(load_model("yolox_nano.onnx"), "coco64/")   # doctest: +SKIP
    """
    require_argument(model, "quantize_detector", "a Model (edgekit.load_model(path) makes one)")
    feeds = data if isinstance(data, list) and data and isinstance(data[0], dict) else \
        detection_calibration(data, model, samples)
    if quantizer == "nncf":
        keep = tail_resolver(model, head_convs) if keep_head_float else ()
        return quantize_openvino(model, feeds, out, force=force, progress=progress, ignored=keep, **options)
    keep = head_tail(model, quantizer, convs=head_convs) if keep_head_float else []
    if quantizer != "onnxruntime":
        raise ConversionError(f"quantizer {quantizer!r} unknown; choose onnxruntime or nncf")
    return quantize_int8(model, feeds, out, exclude=keep, force=force, progress=progress, **options)


def float_nodes(path: str | Path, names: Iterable[str]) -> list[str]:
    """Which of ``names`` run in float in the quantized ONNX file ``path`` (op not an integer
    kernel, no QuantizeLinear reading its outputs): what a check of "the head stayed float" asks."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    quantizes = {i for n in graph.node if n.op_type == "QuantizeLinear" for i in n.input[:1]}
    nodes = {n.name: n for n in graph.node}
    keep = []
    for name in names:
        node = nodes.get(name)
        if node is not None and not node.op_type.startswith("QLinear") and "Integer" not in node.op_type \
                and not quantizes.intersection(node.output):
            keep.append(name)
    return keep
