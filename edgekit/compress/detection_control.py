"""Accuracy-controlled INT8 for detectors: keep the layers that cost mAP in float, scored by mAP.

Why a second search beside :mod:`.accuracy_control`: that one scores top-1 and
re-quantizes (re-calibrates) at every step. A detector is judged in COCO
mAP@0.5:0.95, and a real one (YOLOX-Nano: 113 convolutions, 416 px) takes
far longer to calibrate than to score, so the search here never re-calibrates:
it edits the QDQ graph the quantizer wrote.

1. Start from INT8 with the decode tail float (:mod:`.detection`; the planner
   passes the one it already built and scored).
2. **Layers** are the quantized Conv/Gemm/MatMul, each with the activation
   nodes reading its output (SiLU's Sigmoid + Mul get their own Q/DQ). A layer
   is *reverted* to float inside the graph: its inputs re-pointed at the float
   activations (a Relu the quantizer folded into the Q is put back) and the
   float weights; the calibration ranges of everything else stay.
3. **Rank** (the idea of OpenVINO's accuracy-aware quantization -- one layer at a
   time -- with a cheap proxy instead of the metric): with every other layer
   float, each layer alone is quantized, and the error it adds to the head's
   prediction maps (the last convolutions' outputs, each relative to its FP32
   value) on a few validation images is its cost. Costliest first.
4. **Grow**: keep the top k float, k = 1, 2, 4, 8, ..., and re-score mAP on
   the validation images (the same :func:`~edgekit.detection.evaluate.evaluate_detection`
   the planner uses) until the drop fits ``max_drop`` or ``max_trials``
   re-scorings are spent (``why`` says which stopped it). The best graph
   scored (the smallest k within budget, else the highest mAP) is written, as
   scored, through the usual atomic writer; its card lists the layers.

onnxruntime only: NNCF's ``quantize_with_accuracy_control`` would need a
validation function that decodes boxes from a compiled OpenVINO model, and it
ranks on the full metric (~100 layer groups x the validation set); not wired.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.compress._common import as_onnx, output_path, refuse_existing, say, write_result
from edgekit.compress.accuracy_control import _QUANTIZABLE, _intermediates, _rel
from edgekit.compress.detection import detection_calibration, head_tail, quantize_detector
from edgekit.compress.int8 import _preprocess
from edgekit.errors import BudgetNotMet, ConversionError, require_argument
from edgekit.models.model import Model
from edgekit.progress import Progress
from edgekit.types import Format, Precision

STAGE = "accuracy control"


@dataclass(frozen=True)
class DetectorControlResult:
    """Outcome of :func:`quantize_detector_controlled`.

    Attributes:
        model: the INT8 model written (the best found, within budget or not: see ``met``).
        baseline: FP32 mAP@0.5:0.95 on the validation images.
        accuracy: the written model's mAP@0.5:0.95 on the same images.
        float_layers: layers kept float besides the decode tail, most sensitive first.
        steps: ``(layers kept float, mAP)`` for every scoring, in order (``0`` = plain INT8).
        met: the drop fits ``max_drop``.
        why: how the search ended, in one sentence (budget met, the re-scoring cap, all layers tried).
    """

    model: Model
    baseline: float
    accuracy: float
    float_layers: tuple[str, ...]
    steps: tuple[tuple[int, float], ...]
    met: bool
    why: str

    @property
    def drop(self) -> float:
        return self.baseline - self.accuracy


def quantize_detector_controlled(
    model: Model,
    calibration: Any,
    validation: Any,
    out: str | Path | None = None,
    *,
    max_drop: float = 0.01,
    start: Model | None = None,
    baseline: float | None = None,
    max_trials: int = 8,
    probe: int = 8,
    force: bool = False,
    progress: Progress | None = None,
    **int8_options: Any,
) -> DetectorControlResult:
    """Static INT8 of a detector that keeps its most mAP-costly layers float until ``max_drop`` holds.

    Args:
        model: the FP32 ONNX detector.
        calibration: feeds (list of dicts) or detection images (see :func:`.detection.detection_calibration`).
        validation: a :class:`~edgekit.detection.datasets.DetectionDataset` or a YOLO/COCO/VOC path.
        out: output file or folder (default ``<stem>.int8.onnx`` beside the input).
        max_drop: budget in mAP@0.5:0.95 (0.01 = one point).
        start: the plain INT8 (QDQ, decode tail float) already made from these feeds; made here if ``None``.
        baseline: the FP32 mAP on ``validation``, when already measured.
        max_trials: most re-scorings of the growing search (bounds the time).
        probe: validation images the layer ranking runs on.
        int8_options: passed to :func:`~edgekit.compress.int8.quantize_int8` (``reduce_range`` ...).

    Returns:
        The best model found, with the mAP of every step and whether the budget was met.

    Raises:
        BudgetNotMet: plain INT8 is over budget and no layer kept float raised its mAP (nothing better to write).
        Cancelled: ``progress`` raised it; nothing is written.
        ConversionError: ``start`` is no QDQ model of onnxruntime.

    Example:
        >>> r = quantize_detector_controlled(load_model("yolox_nano.onnx"), "coco64/", "coco64/")  # doctest: +SKIP
        >>> r.float_layers, r.steps
    """
    require_argument(model, "quantize_detector_controlled", "a detector Model (edgekit.load_model(path))")
    feeds = calibration if isinstance(calibration, list) and calibration and isinstance(calibration[0], dict) \
        else detection_calibration(calibration, model)
    dest = output_path(model, out, "int8", Format.ONNX)
    refuse_existing(dest, Format.ONNX, model, force)  # before the minutes of search, not after
    if baseline is None:
        baseline = score(model, validation, "fp32", progress)
    with tempfile.TemporaryDirectory(prefix="edgekit-det-ac-") as tmp:
        work = Path(tmp)
        if start is None:
            start = quantize_detector(model, feeds, work / "int8.onnx", progress=progress, **int8_options)
        search = _Search(model, start, validation, work, progress)
        steps, ranking, why = search.run(baseline, max_drop, max_trials, probe)
        k, best = max(steps, key=lambda s: (s[1], -s[0]))
        if k == 0 and baseline - best > max_drop:
            raise BudgetNotMet(f"keeping layers of {model.name} in float did not raise INT8's mAP@0.5:0.95 "
                               f"({best:.3f}, FP32 {baseline:.3f}) in {len(steps) - 1} tries; {why}",
                               closest=list(steps))
        kept = tuple(ranking[:k])
        say(progress, STAGE, f"writing INT8 with {k} more layer(s) in float ({why})", 0.95)
        made = search.trial(kept, "final")  # the very graph that scored ``best``: what was measured is what is written
        compression = dict(start.metadata.get("compression", {}))
        settings = {**compression, "exclude": sorted({*compression.get("exclude", ()), *search.members(kept)}),
                    "float_layers": list(kept), "steps": [list(s) for s in steps], "accuracy_control": "mAP@0.5:0.95"}
        final = write_result(dest, Format.ONNX, model, force, "int8-ac", settings,
                             lambda path: shutil.copyfile(made.path, path))
    return DetectorControlResult(final.replace(precision=Precision.INT8), baseline, best, kept, tuple(steps),
                                 baseline - best <= max_drop, why)


def score(model: Model, validation: Any, precision: str, progress: Progress | None = None) -> float:
    """mAP@0.5:0.95 of ``model`` on ``validation`` with onnxruntime (no bootstrap: a search step)."""
    from edgekit.detection.evaluate import evaluate_detection

    sub = None if progress is None else (lambda e: say(progress, STAGE, f"scoring: {e.message}"))
    return evaluate_detection(model, validation, "onnxruntime", precision=precision, bootstrap=0,
                              progress=sub).metrics.map


class _Search:
    """The ranking and the growing search on one QDQ model (kept off the public API)."""

    def __init__(self, model: Model, start: Model, validation: Any, work: Path, progress: Progress | None):
        import onnx

        if start.path is None or not _is_qdq(onnx.load(str(start.path))):
            raise ConversionError(f"{start.name}: accuracy control of detectors reverts layers in an onnxruntime "
                                  "QDQ graph; give start=None or an INT8 made by edgekit compress --int8 (QDQ)")
        self.model, self.start, self.validation, self.work, self.progress = model, start, validation, work, progress
        self.quant = onnx.load(str(start.path))
        self.groups = _groups(self.quant)
        source = as_onnx(model, work, progress)
        self.float = onnx.load(str(_preprocess(source.path, work)))  # the graph the quantizer saw: same names
        self.inits = {i.name: i for i in self.float.graph.initializer}
        self.float_producer = {o: n for n in self.float.graph.node for o in n.output}

    def run(self, baseline: float, max_drop: float, max_trials: int, probe: int) -> tuple[list, list[str], str]:
        """(steps, ranking, why it stopped)."""
        acc = score(self.start, self.validation, "int8", self.progress)
        steps = [(0, acc)]
        say(self.progress, STAGE, f"plain INT8 mAP {acc:.3f} vs FP32 {baseline:.3f} "
                                  f"(budget {100 * max_drop:.2f} points)", 0.05)
        if baseline - acc <= max_drop:
            return steps, [], "plain INT8 already fits the budget"
        ranking = self.rank(detection_calibration(self.validation, self.model, probe))
        for k in _sizes(len(ranking)):
            if len(steps) - 1 >= max_trials:
                return steps, ranking, (f"stopped by the cap of {max_trials} re-scorings at {steps[-1][0]} layer(s) "
                                        f"float (of {len(ranking)} quantized)")
            acc = score(self.trial(ranking[:k], f"keep{k}"), self.validation, "int8", self.progress)
            steps.append((k, acc))
            say(self.progress, STAGE, f"{k} layer(s) float ({', '.join(ranking[:min(k, 3)])}"
                                      f"{'...' if k > 3 else ''}): mAP {acc:.3f}, drop {100 * (baseline - acc):.2f} "
                                      f"points", 0.3 + 0.6 * len(steps) / (max_trials + 1))
            if baseline - acc <= max_drop:
                return steps, ranking, f"budget met with {k} layer(s) float"
        return steps, ranking, f"every one of the {len(ranking)} quantized layers was tried in float"

    def rank(self, feeds: list[dict]) -> list[str]:
        """Quantized layer names, the one whose quantization alone adds the most head error first.

        Measured in a float context (every other layer reverted): in the quantized model the errors
        of ~100 layers mix, and reverting one changes the head error by noise (YOLOX-Nano: the top 64
        of such a ranking kept float won back 3 of 20 lost mAP points)."""
        heads = self._heads()
        ref = _intermediates(copy.deepcopy(self.float), heads, feeds)
        heads = [h for h in heads if h in ref]
        layers = list(self.groups)
        # each graph run without its dead Q/DQ (_tidy): the reverted layers' quantize/dequantize pairs
        # still ran, unread (YOLOX-Nano: 1282 nodes, 460 live; 0.55 -> 0.19 s per ranking step on 4
        # images, the same head outputs), as the trials the search scores are run
        floor = self._error(_tidy(self._reverted(self.members(layers))), heads, feeds, ref)
        cost = {}
        for i, name in enumerate(layers):
            say(self.progress, STAGE, f"ranking layers: {i + 1}/{len(layers)} quantized one at a time",
                0.05 + 0.25 * (i + 1) / len(layers))
            rest = self.members([n for n in layers if n != name])
            cost[name] = self._error(_tidy(self._reverted(rest)), heads, feeds, ref) - floor
        return sorted(layers, key=lambda n: cost[n], reverse=True)

    def _heads(self) -> list[str]:
        """Output tensors of the head's prediction convolutions (the graph outputs if none is found)."""
        try:
            tail = set(head_tail(self.model))
            stops = [n for n in head_tail(self.model, convs=True) if n not in tail]
        except ConversionError:
            stops = []
        names = [n.output[0] for n in self.float.graph.node if n.name in stops]
        return names or [o.name for o in self.float.graph.output]

    @staticmethod
    def _error(proto: Any, heads: list[str], feeds: list[dict], ref: dict) -> float:
        got = _intermediates(copy.deepcopy(proto), heads, feeds)
        return float(np.mean([_rel(a, b) for h in heads for a, b in zip(ref[h], got.get(h, ref[h]))]))

    def _reverted(self, names: Sequence[str]) -> Any:
        """A copy of the QDQ graph with ``names`` computing in float (calibration untouched)."""
        proto = copy.deepcopy(self.quant)
        graph = proto.graph
        producer = {o: n for n in graph.node for o in n.output}
        inits = {i.name: i for i in graph.initializer}
        wanted = set(names)
        for node in graph.node:
            if node.name in wanted:
                for i, tensor in enumerate(node.input):
                    node.input[i] = self._float_input(graph, producer, inits, tensor)
        return proto

    def _float_input(self, graph: Any, producer: dict, inits: dict, tensor: str) -> str:
        dq = producer.get(tensor)
        if dq is None or dq.op_type != "DequantizeLinear":
            return tensor
        q = producer.get(dq.input[0])
        if q is not None and q.op_type == "QuantizeLinear":
            return self._activation(graph, producer, inits, q.input[0])
        name = dq.input[0].removesuffix("_quantized")
        fresh = f"{name}__float"
        if fresh not in inits:
            value = self.inits.get(name)
            value = _dequantized(dq, inits) if value is None else value
            if value is None:
                return tensor
            init = copy.deepcopy(value)
            init.name = fresh
            graph.initializer.append(init)
            inits[fresh] = init
        return fresh

    def _activation(self, graph: Any, producer: dict, inits: dict, tensor: str) -> str:
        """The float activation ``tensor``. onnxruntime folds a Relu/Clip into the QuantizeLinear after it
        (uint8 clips the same), so a layer reading it in float needs that Relu/Clip back."""
        orig, mine = self.float_producer.get(tensor), producer.get(tensor)
        if orig is None or orig.op_type not in ("Relu", "Clip") or (mine is not None and mine.op_type == orig.op_type):
            return tensor
        fresh = f"{tensor}__float"
        if fresh not in producer:
            node = copy.deepcopy(orig)
            node.name, node.input[0], node.output[0] = f"{orig.name}__float", tensor, fresh
            for t in node.input[1:]:  # Clip's min/max
                if t and t not in inits and t not in producer and t in self.inits:
                    graph.initializer.append(copy.deepcopy(self.inits[t]))
                    inits[t] = self.inits[t]
            graph.node.append(node)
            producer[fresh] = node
        return fresh

    def members(self, layers: Sequence[str]) -> list[str]:
        """The nodes reverted for ``layers``: each layer with its activation (see :func:`_groups`)."""
        return [m for name in layers for m in self.groups.get(name, [name])]

    def trial(self, names: Sequence[str], stem: str) -> Model:
        """The QDQ model with ``names`` in float, saved (dead Q/DQ dropped, nodes in order) under the work folder."""
        import onnx

        path = self.work / f"{stem}.onnx"
        onnx.save(_tidy(self._reverted(self.members(names))), str(path))
        return self.start.replace(path=path, files=(path,), sha256="")


def _sizes(n: int) -> list[int]:
    """1, 2, 4, ... up to ``n`` (``n`` itself last)."""
    out, k = [], 1
    while k < n:
        out.append(k)
        k *= 2
    return [*out, n] if n else []


def _tidy(proto: Any) -> Any:
    """``proto`` with its nodes in topological order (the ONNX rule; re-added Relu/Clip were appended) and
    without the nodes and initializers nothing reads any more (the reverted layers' Q/DQ)."""
    graph = proto.graph
    ready = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    ordered, todo = [], list(graph.node)
    while todo:
        rest = []
        for node in todo:
            if set(node.input) <= ready:
                ordered.append(node)
                ready.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(todo):
            ordered += rest  # inputs nobody makes: leave them for onnxruntime to name
            break
        todo = rest
    needed = {o.name for o in graph.output}
    live = []
    for node in reversed(ordered):
        if needed.intersection(node.output):
            live.append(copy.deepcopy(node))
            needed.update(t for t in node.input if t)
    kept = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(reversed(live))
    return proto


def _is_qdq(proto: Any) -> bool:
    return any(n.op_type == "DequantizeLinear" for n in proto.graph.node)


def _quantized_layers(proto: Any) -> list[str]:
    """Conv/Gemm/MatMul nodes of a QDQ graph that read a dequantized input."""
    dq = {o for n in proto.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    return [n.name for n in proto.graph.node if n.op_type in _QUANTIZABLE and n.name and dq.intersection(n.input)]


_ACTIVATIONS = {"Sigmoid", "Mul", "Relu", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish", "Tanh", "Softplus", "Elu"}


def _groups(proto: Any) -> dict[str, list[str]]:
    """Each quantized layer with the activation nodes that read its output (through Q/DQ), in order.

    Why: a SiLU (YOLOX, YOLOv5/8) is Sigmoid + Mul on the convolution's output, and the quantizer gives
    both their own Q/DQ; on YOLOX-Nano reverting every conv alone won back 12 of 29 lost mAP points and
    every non-conv node alone 5, both together all of them. So a layer kept float takes its activation along.
    """
    consumers: dict[str, list] = {}
    for node in proto.graph.node:
        for t in node.input:
            consumers.setdefault(t, []).append(node)
    groups = {}
    for name in _quantized_layers(proto):
        node = next(n for n in proto.graph.node if n.name == name)
        members, todo = [name], list(node.output)
        for _ in range(8):  # conv -> Q -> DQ -> Sigmoid -> Q -> DQ -> Mul: a few hops at most
            nxt = []
            for t in todo:
                for c in consumers.get(t, []):
                    if c.op_type in ("QuantizeLinear", "DequantizeLinear"):
                        nxt += list(c.output)
                    elif c.op_type in _ACTIVATIONS and c.name and c.name not in members:
                        members.append(c.name)
                        nxt += list(c.output)
            todo = nxt
        groups[name] = members
    return groups


def _dequantized(dq: Any, inits: dict) -> Any:
    """The float initializer a DequantizeLinear of constants computes (when the float one is not at hand)."""
    from onnx import numpy_helper

    parts = [inits.get(t) for t in dq.input]
    if any(p is None for p in parts[:2]):
        return None
    q, scale = (numpy_helper.to_array(p).astype(np.float32) for p in parts[:2])
    zero = numpy_helper.to_array(parts[2]).astype(np.float32) if len(parts) > 2 and parts[2] is not None else 0.0
    axis = next((a.i for a in dq.attribute if a.name == "axis"), 1)
    if np.ndim(scale) == 1 and q.ndim > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), np.reshape(zero, shape) if np.ndim(zero) else zero
    return numpy_helper.from_array((q - zero) * scale, dq.input[0])
