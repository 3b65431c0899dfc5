"""Build the candidate models a target supports: one small function per method.

Each builder returns a ``Model`` written under the plan's work folder (the
source model is never touched). A builder that cannot run here raises an
``EdgekitError``; the planner records it as a failed candidate with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.backends._common import sums_saturate
from edgekit.backends.capabilities import BackendCapabilities
from edgekit.backends.registry import capabilities
from edgekit.compress._common import quantized_as
from edgekit.compress.accuracy_control import quantize_openvino_controlled, quantize_ort_controlled
from edgekit.compress.detection import head_tail, tail_resolver
from edgekit.compress.fp16 import to_fp16
from edgekit.compress.int8 import quantize_dynamic_int8, quantize_int8, quantize_openvino
from edgekit.compress.prune import prune_channels
from edgekit.data.sampling import at_most
from edgekit.errors import ConversionError
from edgekit.models.model import Model
from edgekit.progress import Progress
from edgekit.targets import Target
from edgekit.types import Method, Precision


@dataclass(frozen=True)
class Spec:
    """A candidate to build: where it runs and how it is made."""

    backend: str
    device: str
    precision: str  # precision the backend is asked to run
    method: Method  # how the model file is made
    stored: bool = False  # the model file as given, already quantized: named by its own precision
    label: str = ""  # for a stored file: its own precision (an FP16 file may run at FP32 on a CPU plugin)

    @property
    def key(self) -> str:
        return f"{self.backend}/{self.device}/{(self.label or self.precision) if self.stored else self.method}"


def as_stored(specs: list[Spec], model: Any, target: Target | None = None) -> tuple[list[Spec], str | None]:
    """The specs for a model stored at reduced precision (INT8 QDQ/QOperator, or FP16), and a log line.

    Such a model is measured as it is on every backend whose ``target`` entry lists its precision,
    labelled with its own precision ("onnxruntime/cpu/int8", never "fp32"), and its accuracy is
    measured like any other's. Quantizing it again or making an FP16 copy needs the FP32 model, so
    those methods are left out rather than listed as failed. Why the target check: a choice the
    target does not list is one ``edgekit deploy`` refuses for it (a plan of the dynamic-INT8
    YOLOv8n chose openvino/cpu/int8-dynamic, which the deploy of that very plan then refused).
    """
    stored = Precision.parse(model.precision)
    if stored not in (Precision.INT8, Precision.INT8_DYNAMIC, Precision.FP16):
        return specs, None
    fp32 = [s for s in specs if s.method == Method.FP32]
    listed = [s for s in fp32 if target is None or target.supports(s.backend, s.device, str(stored))]
    kept = [Spec(s.backend, s.device, _run_precision(capabilities(s.backend), s.device, stored), s.method,
                 stored=True, label=str(stored)) for s in listed]
    what = "stored in FP16" if stored == Precision.FP16 else f"already quantized ({stored})"
    line = (f"{model.name} is {what}: each backend runs it as stored and its accuracy is measured; "
            "FP16/INT8 variants need the FP32 model (plan that one to compare).")
    left = sorted({f"{s.backend}/{s.device}" for s in fp32 if s not in listed})
    if left:
        line += f" Not planned: {', '.join(left)} (target {target.name} does not list {stored} there)."
    return kept, line


def reference_name(model: Any) -> str:
    """What the plan's accuracy reference is called in its progress: the FP32 model, or for a model
    stored quantized or in FP16, that file as stored (a plan of an INT8 ShuffleNet showed
    "FP32 reference" while it scored the INT8 file)."""
    stored = Precision.parse(model.precision)
    if stored in (Precision.INT8, Precision.INT8_DYNAMIC, Precision.FP16):
        return f"reference ({stored}, as stored)"
    return "FP32 reference"


def left_out(specs: list[Spec], model: Any, target: Target | None = None) -> list[tuple[Spec, str]]:
    """The specs :func:`as_stored` leaves out for a model stored at reduced precision, each with why.

    The planner records them as failed candidates only when nothing else is left to plan, so that
    "none could be built" says why (``--methods int8`` on an INT8 QDQ file planned nothing at all).
    """
    stored = Precision.parse(model.precision)
    if stored not in (Precision.INT8, Precision.INT8_DYNAMIC, Precision.FP16):
        return []
    made = sorted({str(s.method) for s in specs if s.method != Method.FP32})
    found = quantized_as(model) if stored != Precision.FP16 else None
    what = "stored in FP16" if stored == Precision.FP16 else \
        f"already {'INT8' if stored == Precision.INT8 else 'dynamic INT8'}{f' ({found})' if found else ''}"
    remade = (f"{model.name} is {what}: it runs as stored, so {'/'.join(made)} candidates cannot be made from it; "
              "include fp32 in --methods (it runs the model as stored) or start from the FP32 model")
    out = []
    for s in specs:
        if s.method != Method.FP32:
            out.append((s, remade))
        elif target is not None and not target.supports(s.backend, s.device, str(stored)):
            why = f"{model.name} is {stored} and target {target.name} does not list {stored} on {s.backend}/{s.device}"
            out.append((s, why))
    return out


# what each asked-for method builds, and the precision its file holds
_METHOD_PRECISION = {Method.FP32: Precision.FP32, Method.FP16: Precision.FP16, Method.BF16: Precision.BF16,
                     Method.INT8: Precision.INT8,
                     Method.INT8_QOP: Precision.INT8, Method.INT8_DYNAMIC: Precision.INT8_DYNAMIC}


def specs_for(target: Target, methods: tuple[str, ...], has_torch: bool) -> list[Spec]:
    """Every backend x device x method the target lists and the backend can run (FP32 first on each).

    What a backend runs comes from its declared capabilities (the registry), so a backend
    registered later is planned like the built-in ones.
    """
    out = []
    for backend, entry in target.backends.items():
        caps = capabilities(backend)
        for device in entry["devices"]:
            if caps.needs_module:
                if has_torch and "fp32" in entry["precisions"] and caps.runs_method(Method.EAGER):
                    out.append(Spec(backend, device, "fp32", Method.EAGER))
                continue
            for method in methods:
                precision = _METHOD_PRECISION.get(method)
                if precision and precision in entry["precisions"] and caps.runs_method(method):
                    out.append(Spec(backend, device, _run_precision(caps, device, precision), Method.parse(method)))
            if Method.PRUNE in methods and has_torch and "fp32" in entry["precisions"] and caps.runs_method(
                    Method.PRUNED):
                out.append(Spec(backend, device, "fp32", Method.PRUNED))
    return out


def _run_precision(caps: BackendCapabilities, device: str, precision: str) -> str:
    """Precision a session is asked for: an OpenVINO FP16-weight IR runs at FP32 on a CPU
    (the plugin decompresses the weights, ``cpu_fp16_runs_as``); GPUs/NPUs run it in FP16."""
    if caps.cpu_fp16_runs_as is not None and device == "cpu" and precision == Precision.FP16:
        return str(caps.cpu_fp16_runs_as)
    return str(precision)


@dataclass
class BuildContext:
    """What builders share: the source model, its PyTorch twin, data and the work folder."""

    source: Model
    torch_model: Model | None
    calibration: list
    calib_labels: list[int]
    train_data: Any
    work: Path
    progress: Progress | None = None  # the plan sets it per candidate (building, calibrating n/N)
    cache: dict | None = None
    reduce_range: bool | None = None  # from the *target's* ISA (see target_reduce_range)
    detector: bool = False  # INT8 keeps the decode tail float (edgekit.compress.detection)


def build(spec: Spec, ctx: BuildContext) -> Model:
    """Make (or reuse) the model file for ``spec``."""
    ctx.cache = {} if ctx.cache is None else ctx.cache
    if getattr(spec, "maker", ""):  # a file another backend's builder makes (planner.crossbuild): reuse it
        spec = Spec(spec.maker, spec.device, spec.precision, spec.method)
    caps = capabilities(spec.backend)
    # backends that make the same file share it (e.g. two onnxruntime-based backends)
    key = ((caps.artifact_format, caps.int8_quantizer) if spec.method in (Method.INT8, Method.FP16) else "",
           spec.method)
    if key not in ctx.cache:
        ctx.cache[key] = _BUILDERS[spec.method](spec, ctx)
    return ctx.cache[key]


def _fp32(spec: Spec, ctx: BuildContext) -> Model:
    return ctx.source


def _eager(spec: Spec, ctx: BuildContext) -> Model:
    if ctx.torch_model is None:
        raise ConversionError("no PyTorch module for this model (an ONNX file without its .pt checkpoint)")
    return ctx.torch_model


def _fp16(spec: Spec, ctx: BuildContext) -> Model:
    fmt = capabilities(spec.backend).artifact_format
    return to_fp16(ctx.source, ctx.work / f"{spec.backend}-fp16", fmt=fmt, force=True, progress=ctx.progress)


def _int8(spec: Spec, ctx: BuildContext) -> Model:
    out = ctx.work / f"{spec.backend}-int8"
    quantizer = capabilities(spec.backend).int8_quantizer
    if quantizer == "nncf":
        return quantize_openvino(ctx.source, ctx.calibration, out, labels=ctx.calib_labels, force=True,
                                 progress=ctx.progress, ignored=tail_resolver(ctx.source) if ctx.detector else (),
                                 reduce_range=ctx.reduce_range)
    if quantizer != "onnxruntime":
        raise ConversionError(f"backend {spec.backend} declares no INT8 quantizer edgekit knows ({quantizer!r}); "
                              "drop int8 from --methods for it")
    return quantize_int8(ctx.source, ctx.calibration, out, labels=ctx.calib_labels, reduce_range=ctx.reduce_range,
                         force=True, progress=ctx.progress, exclude=_head(ctx))


def _head(ctx: BuildContext) -> list[str]:
    """A detector's decode-tail ONNX nodes, kept float by onnxruntime's INT8 (none for a classifier)."""
    return head_tail(ctx.source) if ctx.detector else []


def controlled_quantizer(backend: str) -> Callable[..., Any] | None:
    """The accuracy-controlled INT8 function for ``backend``'s INT8 quantizer (NNCF's
    ``quantize_with_accuracy_control`` or the onnxruntime layer search), or ``None``
    when the backend runs no accuracy-controlled INT8."""
    caps = capabilities(backend)
    if not caps.runs_method(Method.INT8_AC):
        return None
    return {"nncf": quantize_openvino_controlled, "onnxruntime": quantize_ort_controlled}.get(caps.int8_quantizer)


def _int8_qop(spec: Spec, ctx: BuildContext) -> Model:
    """onnxruntime static INT8 written as QLinearConv/QLinearMatMul (QOperator) instead of QDQ."""
    return quantize_int8(ctx.source, ctx.calibration, ctx.work / "onnxruntime-int8-qop", labels=ctx.calib_labels,
                         quant_format="qoperator", reduce_range=ctx.reduce_range, force=True, progress=ctx.progress,
                         exclude=_head(ctx))


def _int8_dynamic(spec: Spec, ctx: BuildContext) -> Model:
    return quantize_dynamic_int8(ctx.source, ctx.work / "int8-dynamic", reduce_range=ctx.reduce_range, force=True,
                                 progress=ctx.progress)


def target_reduce_range(target: Target) -> bool:
    """7-bit weights only where the *target* runs U8S8 without VNNI/AMX (x86 AVX2/AVX-512F):
    the artifact is built for the device it will run on, not for this machine."""
    return sums_saturate(target.cpu_arch, target.has)


def _pruned(spec: Spec, ctx: BuildContext) -> Model:
    if ctx.torch_model is None:
        raise ConversionError("pruning needs the PyTorch module (a .pt checkpoint beside the ONNX file)")
    return prune_channels(ctx.torch_model, 0.3, ctx.work / "pruned", train_data=at_most(ctx.train_data, 512),
                          epochs=1, force=True, progress=ctx.progress).model


_BUILDERS = {Method.FP32: _fp32, Method.BF16: _fp32, Method.EAGER: _eager, Method.FP16: _fp16, Method.INT8: _int8,
             Method.INT8_QOP: _int8_qop, Method.INT8_DYNAMIC: _int8_dynamic, Method.PRUNED: _pruned}
