"""Accuracy-controlled INT8: keep the most sensitive layers in float until the drop fits the budget.

- OpenVINO: NNCF's ``quantize_with_accuracy_control`` does the search; we
  then read the result's graph to report which layers stayed float.
- onnxruntime: our own ranking. Every Conv/Gemm/MatMul output is compared
  between the float and the fully quantized model on a few calibration
  samples; a layer's *sensitivity* is the error it adds on top of the error
  already present at its inputs. The most sensitive layers are excluded
  (``nodes_to_exclude``) in growing steps (1, 2, 4, ...) and the model is
  re-quantized and re-validated until the budget holds.

Validation data is a list of ``(feed, label)`` pairs; accuracy is top-1.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.compress._common import say
from edgekit.compress.int8 import (
    Feed,
    needs_reduce_range,
    nncf_advanced,
    nncf_dataset,
    nncf_output,
    overflow_fix,
    quantize_int8,
    quantize_openvino,
)
from edgekit.errors import BudgetNotMet, require_argument
from edgekit.models.model import Model
from edgekit.models.openvino_io import fake_quantized
from edgekit.progress import Progress
from edgekit.types import Format

_QUANTIZABLE = ("Conv", "Gemm", "MatMul")


@dataclass(frozen=True)
class ControlledResult:
    """Outcome of accuracy-controlled quantization.

    Attributes:
        model: the INT8 model that meets the budget.
        baseline: FP32 top-1 on the validation data.
        accuracy: INT8 top-1 on the same data.
        float_layers: layers kept in float (most sensitive first).
        steps: ``(layers kept float, accuracy)`` for every try, in order.
    """

    model: Model
    baseline: float
    accuracy: float
    float_layers: tuple[str, ...]
    steps: tuple[tuple[int, float], ...]

    @property
    def drop(self) -> float:
        return self.baseline - self.accuracy


def top1(run: Callable[[Feed], np.ndarray], validation: Sequence[tuple[Feed, int]]) -> float:
    """Share of ``validation`` whose arg-max output equals the label."""
    hits = sum(int(np.argmax(run(feed).reshape(-1)) == label) for feed, label in validation)
    return hits / max(1, len(validation))


def _ort_runner(path: Path) -> Callable[[Feed], np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda feed: sess.run(None, feed)[0]


def quantize_ort_controlled(
    model: Model,
    calibration: list[Feed],
    validation: Sequence[tuple[Feed, int]],
    out: str | Path | None = None,
    *,
    max_drop: float = 0.01,
    max_float_layers: int = 64,
    force: bool = False,
    progress: Progress | None = None,
    **int8_options,
) -> ControlledResult:
    """Static INT8 for onnxruntime that reverts sensitive layers to float until ``max_drop`` holds.

    Raises:
        BudgetNotMet: even with ``max_float_layers`` layers in float the drop exceeds ``max_drop``.
    """
    baseline = top1(_ort_runner(model.path), validation)
    with tempfile.TemporaryDirectory(prefix="edgekit-ac-") as work:
        trial = quantize_int8(model, calibration, Path(work) / "all.onnx", progress=progress, **int8_options)
        acc = top1(_ort_runner(trial.path), validation)
        steps = [(0, acc)]
        ranking = sensitivity_ranking(model.path, trial.path, calibration[:8]) if baseline - acc > max_drop else []
        k = 1
        while baseline - acc > max_drop and k <= min(len(ranking), max_float_layers):
            say(progress, "accuracy control", f"INT8 drop {100 * (baseline - acc):.2f} points > budget: keeping {k} layer(s) in float")
            trial = quantize_int8(model, calibration, Path(work) / f"keep{k}.onnx", exclude=ranking[:k], **int8_options)
            acc = top1(_ort_runner(trial.path), validation)
            steps.append((k, acc))
            k = k * 2 if baseline - acc > max_drop else k
        if baseline - acc > max_drop:
            raise BudgetNotMet(
                f"INT8 of {model.name} drops {100 * (baseline - acc):.2f} points even with {steps[-1][0]} layers in "
                f"float (budget {100 * max_drop:.2f}); keep this model in FP32/FP16", closest=list(steps))
        kept = tuple(ranking[: steps[-1][0]])
        final = quantize_int8(model, calibration, out, exclude=kept, force=force, **int8_options)
    return ControlledResult(final, baseline, acc, kept, tuple(steps))


def sensitivity_ranking(float_path: Path, quant_path: Path, feeds: list[Feed]) -> list[str]:
    """Quantizable node names, most sensitive first (error added by the node itself)."""
    import onnx

    proto = onnx.load(str(float_path))
    nodes = [n for n in proto.graph.node if n.op_type in _QUANTIZABLE and n.name]
    producer = {o: n for n in proto.graph.node for o in n.output}
    names = [n.output[0] for n in nodes]
    ref, got = _intermediates(proto, names, feeds), _intermediates(onnx.load(str(quant_path)), names, feeds)
    err = {t: float(np.mean([_rel(a, b) for a, b in zip(ref[t], got[t])])) for t in names if t in got}
    added = {}
    for node in nodes:
        upstream = err.get(_upstream(producer, node.input[0], err), 0.0)
        added[node.name] = err.get(node.output[0], 0.0) - upstream
    return sorted(added, key=added.get, reverse=True)


def _upstream(producer: dict, tensor: str, err: dict[str, float]) -> str:
    """The nearest measured (quantizable) output upstream of ``tensor``, through Relu/Clip/Add..."""
    for _ in range(32):
        if tensor in err or tensor not in producer or not producer[tensor].input:
            return tensor
        tensor = producer[tensor].input[0]
    return tensor


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + 1e-12))


def _intermediates(proto, names: list[str], feeds: list[Feed]) -> dict[str, list[np.ndarray]]:
    """Run the ``onnx.ModelProto`` with ``names`` exposed as extra outputs (those that exist in it; added in place)."""
    import onnx
    import onnxruntime as ort

    present = {o for n in proto.graph.node for o in n.output}
    have = {o.name for o in proto.graph.output}
    wanted = [t for t in names if t in present]
    for t in wanted:
        if t not in have:
            proto.graph.output.append(onnx.ValueInfoProto(name=t))
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    out = {t: [] for t in wanted}
    for feed in feeds:
        for t, v in zip(wanted, sess.run(wanted, feed)):
            out[t].append(v)
    return out


def quantize_openvino_controlled(
    model: Model,
    calibration: list[Feed],
    validation: Sequence[tuple[Feed, int]],
    out: str | Path | None = None,
    *,
    max_drop: float = 0.01,
    force: bool = False,
    progress: Progress | None = None,
    reduce_range: bool | None = None,
) -> ControlledResult:
    """NNCF ``quantize_with_accuracy_control`` on an OpenVINO model, then a report of float layers.

    The search runs on a scratch copy; the final model is re-quantized with
    the same layers ignored so it is written through the usual atomic path.
    ``reduce_range``: as :func:`~edgekit.compress.int8.quantize_openvino` (NNCF's overflow fix on
    every layer for a CPU whose U8S8 sums saturate), for the search and the final model alike.
    """
    import nncf
    import openvino as ov

    reduce_range = needs_reduce_range() if reduce_range is None else reduce_range
    core = ov.Core()
    src = core.read_model(str(model.path))
    data = [(feed, label) for feed, label in validation]

    runs = 0

    def validate(compiled, items) -> float:
        nonlocal runs
        runs += 1  # NNCF's own bars are dropped where progress is shown: say where the work is
        rows = list(items)
        say(progress, "accuracy control", f"validation run {runs} on {len(rows)} images")
        return top1(lambda feed: compiled(list(feed.values()))[0], rows)

    say(progress, "accuracy control", f"NNCF accuracy-controlled quantization of {model.name} (max drop {100 * max_drop:.2f} points)")
    with nncf_output(progress):
        quantized = nncf.quantize_with_accuracy_control(
            src, nncf_dataset(calibration, progress), nncf.Dataset(data, lambda item: item), validate,
            max_drop=max_drop, drop_type=nncf.DropType.ABSOLUTE, subset_size=len(calibration),
            advanced_quantization_parameters=nncf_advanced(overflow_fix(reduce_range)),
        )
    floats = float_layers_openvino(quantized)
    final = quantize_openvino(model, calibration, out, ignored=floats, force=force, progress=progress,
                              reduce_range=reduce_range)
    # FP32 for the float layers, as NNCF's search and the planner run them: OpenVINO's default on a CPU with
    # AMX or AVX512-BF16 is BF16, which scored both models at another precision than the one reported
    fp32 = {"INFERENCE_PRECISION_HINT": "f32"}
    baseline = validate(core.compile_model(src, "CPU", fp32), data)
    acc = validate(core.compile_model(core.read_model(str(final.path)), "CPU", fp32), data)
    return ControlledResult(final, baseline, acc, tuple(floats), ((len(floats), acc),))


def float_layers_openvino(ov_model) -> list[str]:
    """Convolution/MatMul layers of an NNCF-quantized ``ov.Model`` whose input is not fake-quantized
    (:func:`~edgekit.models.openvino_io.fake_quantized`: NNCF moves a FakeQuantize above a MaxPool, and a
    convolution behind one, INT8 all the same, was listed float and re-quantized float)."""
    kinds = ("Convolution", "GroupConvolution", "MatMul")
    return [op.get_friendly_name() for op in ov_model.get_ordered_ops()
            if op.get_type_name() in kinds and not fake_quantized(op)]


def controlled(model: Model, *args, **kwargs) -> ControlledResult:
    """Dispatch on the model's format: OpenVINO IR -> NNCF, ONNX -> our ranking."""
    require_argument(model, "controlled", "a Model (edgekit.load_model(path) makes one)")
    if model.format is Format.OPENVINO:
        return quantize_openvino_controlled(model, *args, **kwargs)
    return quantize_ort_controlled(model, *args, **kwargs)
