"""The numeric check every conversion passes: same inputs, outputs compared.

Why: an exporter can silently change a model (an unsupported op lowered
differently, weights rounded, a layout flipped). Running source and result
on the same seeded inputs and comparing logits catches that before anyone
deploys the file. Runtimes are driven directly (onnxruntime, OpenVINO in
f32, torch under ``no_grad``) so the check does not depend on the backends
layer it is meant to protect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from edgekit.errors import ConversionError, map_exceptions, require_argument
from edgekit.models.model import Model
from edgekit.models.openvino_io import openvino
from edgekit.types import Precision

# Absolute tolerance on logits by the converted model's stored precision.
# fp32: kernels sum in different orders, so logits of size ~10 differ by ~1e-5;
# fp16 weights round to 11 bits, ~1e-3 relative.
DEFAULT_TOLERANCE = {Precision.FP32: 1e-3, Precision.FP16: 5e-2, Precision.BF16: 1e-1}
# Quantized and half-precision models also pass by *relative* error (max abs diff / largest
# reference output) with top-1 agreement: their logits legitimately move by a few percent
# between runtimes (an INT8 ShuffleNet's by 0.44 when OpenVINO folds its QDQ pairs, with
# 100% top-1 agreement), which no absolute bound made for FP32 accepts.
# precision -> (max relative error, min top-1 agreement)
RELATIVE_RULE = {Precision.INT8: (0.15, 0.875), Precision.INT8_DYNAMIC: (0.15, 0.875),
                 Precision.FP16: (0.02, 0.875), Precision.BF16: (0.05, 0.875)}

Runner = Callable[[list[np.ndarray]], list[np.ndarray]]


@dataclass(frozen=True)
class ConversionReport:
    """What a conversion did and how closely the result matches its source.

    Attributes:
        source_format / target_format: e.g. ``"torch"`` -> ``"onnx"``.
        source_path / target_path: files (``None`` for an in-memory module).
        max_abs_diff: largest absolute output difference over all samples
            (``None`` when the check was skipped).
        mean_abs_diff: mean absolute output difference.
        top1_agreement: share of samples whose arg-max class agrees (``None``
            for outputs that are not class scores).
        tolerance: the bound ``max_abs_diff`` had to stay within.
        passed: ``True``/``False``; ``None`` when the check was skipped.
        seconds: wall time of the conversion itself.
        samples: number of inputs compared.
        check_seconds: wall time of the check.
        output_bytes: size of the files written.
        relative_diff: ``max_abs_diff`` over the largest absolute reference output.
        rule: the pass rule applied, in words (shown with the result).
    """

    source_format: str
    target_format: str
    source_path: str | None
    target_path: str | None
    max_abs_diff: float | None
    mean_abs_diff: float | None
    top1_agreement: float | None
    tolerance: float
    passed: bool | None
    seconds: float
    samples: int
    check_seconds: float = 0.0
    output_bytes: int = 0
    relative_diff: float | None = None
    rule: str = ""

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ConversionReport:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)

    def replace(self, **changes: Any) -> ConversionReport:
        """Copy with ``changes``."""
        return replace(self, **changes)


def sample_inputs(model: Model, samples: int = 8, seed: int = 0) -> list[list[np.ndarray]]:
    """``samples`` seeded batch-1 inputs (one array per model input, in order)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(samples):
        arrays = []
        for spec in model.inputs:
            shape = _sample_shape(model, spec)
            if np.issubdtype(np.dtype(spec.dtype), np.floating):
                arrays.append(rng.standard_normal(shape).astype(spec.dtype))
            else:
                arrays.append(rng.integers(0, 10, size=shape).astype(spec.dtype))
        out.append(arrays)
    return out


def _sample_shape(model: Model, spec) -> tuple[int, ...]:
    """Batch 1; dynamic image height/width from the preprocess size, else 224
    (a 1x1 image would not exercise the convolutions being checked)."""
    shape = list(spec.concrete_shape(1))
    spatial = {"NCHW": (2, 3), "NHWC": (1, 2)}.get(spec.layout, ())
    size = model.preprocess.size if model.preprocess is not None else (224, 224)
    for axis, value in zip(spatial, size):
        if not isinstance(spec.shape[axis], int):
            shape[axis] = int(value)
    return tuple(shape)


def _as_samples(inputs: Sequence[Any]) -> list[list[np.ndarray]]:
    """Accept arrays, lists of arrays or dicts; split batches into batch-1 samples."""
    out: list[list[np.ndarray]] = []
    for item in inputs:
        arrays = (
            list(item.values())
            if isinstance(item, dict)
            else (list(item) if isinstance(item, list | tuple) else [item])
        )
        arrays = [np.asarray(a) for a in arrays]
        out += [[a[i : i + 1] for a in arrays] for i in range(arrays[0].shape[0])]
    return out


def runner(model: Model) -> Runner:
    """A function running ``model`` on a list of arrays with its own runtime."""
    fmt = str(model.format)
    if fmt == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(model.path), providers=["CPUExecutionProvider"])
        names = [i.name for i in sess.get_inputs()]
        return lambda xs: sess.run(None, dict(zip(names, xs)))
    if fmt == "openvino":
        compiled = (
            openvino().Core().compile_model(str(model.path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        )
        return lambda xs: [np.asarray(v) for v in compiled(list(xs)).values()]
    return _torch_runner(model)


def _torch_runner(model: Model) -> Runner:
    import torch

    def run(xs: list[np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            out = model.module(*[torch.from_numpy(np.ascontiguousarray(x)) for x in xs])
        outs = out if isinstance(out, list | tuple) else [out]
        return [o.detach().cpu().numpy() for o in outs]

    return run


def check_conversion(
    source: Model,
    converted: Model,
    *,
    samples: int = 8,
    tolerance: float | None = None,
    inputs: Sequence[Any] | None = None,
    seed: int = 0,
    raise_on_fail: bool = True,
) -> ConversionReport:
    """Run both models on the same inputs and compare their outputs.

    Args:
        source: the model converted from.
        converted: the result.
        samples: seeded random inputs to use (batch 1 each).
        tolerance: bound on the max absolute difference; default by the
            models' precision (``DEFAULT_TOLERANCE``); without one, an INT8 or
            FP16 model also passes by relative error and top-1 agreement
            (``RELATIVE_RULE``).
        inputs: real inputs to compare on as well (arrays, lists or dicts).
        raise_on_fail: raise instead of returning a failed report.

    Raises:
        ConversionError: outputs differ in count/shape, or by more than
            ``tolerance`` (the report is attached as ``.report``).
    """
    require_argument(source, "check_conversion", "a Model (edgekit.load_model(path) makes one)")
    lossy = _lossy_precision(source, converted)
    tol = float(tolerance if tolerance is not None else DEFAULT_TOLERANCE.get(lossy, 1e-3))
    relative = RELATIVE_RULE.get(lossy) if tolerance is None else None
    batches = sample_inputs(source, samples, seed) + (_as_samples(inputs) if inputs is not None else [])
    start = time.perf_counter()
    with map_exceptions(
        {Exception: ConversionError}, "cannot run the models to check the conversion: {error}"
    ):
        ref_run, new_run = runner(source), runner(converted)
    diffs, agree, top1_total, scale = [], 0, 0, 0.0
    for xs in batches:
        with map_exceptions(
            {Exception: ConversionError}, "running the models on a check input failed: {error}"
        ):
            ref, new = ref_run(xs), new_run(xs)
        _same_structure(ref, new, converted)
        for r, n in zip(ref, new):
            scale = max(scale, float(np.nanmax(np.abs(r))) if r.size else 0.0)
            d = np.abs(r.astype(np.float64) - n.astype(np.float64))
            diffs.append(np.where(np.isnan(d), np.inf, d).ravel())
        if ref[0].ndim == 2 and ref[0].shape[-1] > 1:
            agree += int((ref[0].argmax(-1) == new[0].argmax(-1)).sum())
            top1_total += ref[0].shape[0]
    flat = np.concatenate(diffs) if diffs else np.zeros(1)
    top1 = agree / top1_total if top1_total else None
    rel = float(flat.max()) / scale if scale > 0 else float(flat.max())
    passed, rule = _verdict(float(flat.max()), tol, rel, top1, relative, lossy)
    report = ConversionReport(
        source_format=str(source.format),
        target_format=str(converted.format),
        source_path=None if source.path is None else str(source.path),
        target_path=None if converted.path is None else str(converted.path),
        max_abs_diff=float(flat.max()),
        mean_abs_diff=float(flat.mean()),
        top1_agreement=top1,
        tolerance=tol,
        passed=passed,
        seconds=0.0,
        samples=len(batches),
        check_seconds=time.perf_counter() - start,
        relative_diff=rel,
        rule=rule,
    )
    if raise_on_fail and not report.passed:
        raise failure(report, source)
    return report


def _lossy_precision(source: Model, converted: Model) -> Precision:
    """The least precise of the two models' stored precisions (INT8 before FP16 before FP32)."""
    order = (Precision.INT8, Precision.INT8_DYNAMIC, Precision.BF16, Precision.FP16)
    stored = {Precision.parse(source.precision), Precision.parse(converted.precision)}
    return next((p for p in order if p in stored), Precision.FP32)


def _verdict(max_abs: float, tol: float, rel: float, top1: float | None,
             relative: tuple[float, float] | None, precision: Precision) -> tuple[bool, str]:
    """Pass/fail and the rule in words: the absolute bound, or for INT8/FP16 also relative error + top-1."""
    rule = f"max abs diff <= {tol:.3g}"
    if relative is None:
        return max_abs <= tol, rule
    max_rel, min_top1 = relative
    by_rel = rel <= max_rel and (top1 is None or top1 >= min_top1)
    need = f"relative error <= {max_rel:.0%}" + ("" if top1 is None else f" and top-1 agreement >= {min_top1:.1%}")
    return max_abs <= tol or by_rel, f"{precision} model: {rule}, or {need}"


def _same_structure(ref: list[np.ndarray], new: list[np.ndarray], converted: Model) -> None:
    shapes = [r.shape for r in ref], [n.shape for n in new]
    if shapes[0] != shapes[1]:
        raise ConversionError(
            f"the converted model {converted.path} gives outputs of shapes {shapes[1]} where the source "
            f"gives {shapes[0]}; the conversion changed the model",
            path=converted.path,
        )


def failure(report: ConversionReport, source: Model) -> ConversionError:
    """The error for a report over tolerance, with its figures."""
    top1 = "n/a" if report.top1_agreement is None else f"{report.top1_agreement:.1%}"
    err = ConversionError(
        f"converting {source.path or source.name} to {report.target_format} changed its outputs: "
        f"max abs diff {report.max_abs_diff:.3g} > tolerance {report.tolerance:.3g} "
        f"(mean {report.mean_abs_diff:.3g}, top-1 agreement {top1} over {report.samples} samples"
        + (f"; relative error {report.relative_diff:.1%}, rule: {report.rule}" if report.rule and
           report.relative_diff is not None else "") + "); "
        "nothing was written. Raise the tolerance only if this difference is acceptable",
        path=source.path,
    )
    err.report = report
    return err
