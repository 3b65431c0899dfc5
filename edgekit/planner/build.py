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

from edgekit.errors import ConversionError
from edgekit.models.model import Model
from edgekit.targets import Target
from edgekit.types import Format


@dataclass(frozen=True)
class Spec:
    """A candidate to build: where it runs and how it is made."""

    backend: str
    device: str
    precision: str  # precision the backend is asked to run
    method: str  # how the model file is made

    @property
    def key(self) -> str:
        return f"{self.backend}/{self.device}/{self.method}"


_METHOD_PRECISION = {"fp32": "fp32", "fp16": "fp16", "int8": "int8", "int8-qop": "int8", "int8-dynamic": "int8-dynamic"}
_ONLY = {"int8-qop": "onnxruntime", "int8-dynamic": "onnxruntime"}  # methods one backend makes


def specs_for(target: Target, methods: tuple[str, ...], has_torch: bool) -> list[Spec]:
    """Every backend x device x method the target lists (FP32 first on each backend)."""
    out = []
    for backend, entry in target.backends.items():
        for device in entry["devices"]:
            if backend == "torch":
                if has_torch and "fp32" in entry["precisions"]:
                    out.append(Spec("torch", device, "fp32", "eager"))
                continue
            for method in methods:
                precision = _METHOD_PRECISION.get(method)
                if precision and precision in entry["precisions"] and _ONLY.get(method, backend) == backend:
                    out.append(Spec(backend, device, _run_precision(backend, device, precision), method))
            if "prune" in methods and has_torch and "fp32" in entry["precisions"] and backend == "onnxruntime":
                out.append(Spec(backend, device, "fp32", "pruned"))
    return out


def _run_precision(backend: str, device: str, precision: str) -> str:
    """Precision a session is asked for: an OpenVINO FP16-weight IR runs at FP32 on a CPU
    (the plugin decompresses the weights); GPUs/NPUs run it in FP16."""
    if backend == "openvino" and device == "cpu" and precision == "fp16":
        return "fp32"
    return precision


@dataclass
class BuildContext:
    """What builders share: the source model, its PyTorch twin, data and the work folder."""

    source: Model
    torch_model: Model | None
    calibration: list
    calib_labels: list[int]
    train_data: Any
    work: Path
    progress: Callable[[str], None] | None = None
    cache: dict | None = None
    reduce_range: bool | None = None  # from the *target's* ISA (see target_reduce_range)


def build(spec: Spec, ctx: BuildContext) -> Model:
    """Make (or reuse) the model file for ``spec``."""
    ctx.cache = {} if ctx.cache is None else ctx.cache
    key = (spec.backend if spec.method in ("int8", "fp16") else "", spec.method)
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
    from edgekit.compress.fp16 import to_fp16

    fmt = Format.OPENVINO if spec.backend == "openvino" else Format.ONNX
    return to_fp16(ctx.source, ctx.work / f"{spec.backend}-fp16", fmt=fmt, force=True, progress=ctx.progress)


def _int8(spec: Spec, ctx: BuildContext) -> Model:
    from edgekit.compress.int8 import quantize_int8, quantize_openvino

    out = ctx.work / f"{spec.backend}-int8"
    if spec.backend == "openvino":
        return quantize_openvino(ctx.source, ctx.calibration, out, labels=ctx.calib_labels, force=True,
                                 progress=ctx.progress)
    return quantize_int8(ctx.source, ctx.calibration, out, labels=ctx.calib_labels, reduce_range=ctx.reduce_range,
                         force=True, progress=ctx.progress)


def _int8_qop(spec: Spec, ctx: BuildContext) -> Model:
    """onnxruntime static INT8 written as QLinearConv/QLinearMatMul (QOperator) instead of QDQ."""
    from edgekit.compress.int8 import quantize_int8

    return quantize_int8(ctx.source, ctx.calibration, ctx.work / "onnxruntime-int8-qop", labels=ctx.calib_labels,
                         quant_format="qoperator", reduce_range=ctx.reduce_range, force=True, progress=ctx.progress)


def _int8_dynamic(spec: Spec, ctx: BuildContext) -> Model:
    from edgekit.compress.int8 import quantize_dynamic_int8

    return quantize_dynamic_int8(ctx.source, ctx.work / "int8-dynamic", reduce_range=ctx.reduce_range, force=True,
                                 progress=ctx.progress)


def target_reduce_range(target: Target) -> bool:
    """7-bit weights only where the *target* runs U8S8 without VNNI/AMX (x86 AVX2/AVX-512F):
    the artifact is built for the device it will run on, not for this machine."""
    x86 = target.cpu_arch in ("x86_64", "i386", "i686")
    return x86 and not any(target.has(f) for f in ("avx512_vnni", "avx_vnni", "amx_int8"))


def _pruned(spec: Spec, ctx: BuildContext) -> Model:
    from edgekit.compress.prune import prune_channels

    if ctx.torch_model is None:
        raise ConversionError("pruning needs the PyTorch module (a .pt checkpoint beside the ONNX file)")
    return prune_channels(ctx.torch_model, 0.3, ctx.work / "pruned", train_data=_few(ctx.train_data, 512),
                          epochs=1, force=True, progress=ctx.progress).model


def _few(ds: Any, n: int) -> Any:
    """At most ``n`` class-balanced images for the short fine-tune (keeps the plan within minutes)."""
    if ds is None or len(ds) <= n:
        return ds
    from edgekit.data import stratified_split

    return stratified_split(ds, n / len(ds), seed=0)[1]


_BUILDERS = {"fp32": _fp32, "eager": _eager, "fp16": _fp16, "int8": _int8, "int8-qop": _int8_qop,
             "int8-dynamic": _int8_dynamic,
             "pruned": _pruned}


def torch_twin(model: Model) -> Model | None:
    """The PyTorch version of a model: itself, or ``X.pt`` + card architecture beside ``X.onnx``."""
    if model.format is Format.TORCH:
        return model
    card = model.metadata.get("card", {})
    pt = model.path.with_suffix(".pt") if model.path else None
    if not (pt and pt.is_file() and card.get("architecture")):
        return None
    from edgekit.models import load_model

    shape = (1, *card["input_size"]) if card.get("input_size") else model.input.concrete_shape(1)
    try:
        return load_model(pt, arch=card["architecture"], arch_kwargs=card.get("arch_kwargs"), input_shape=shape,
                          name=f"{model.name} (PyTorch)")
    except Exception:  # noqa: BLE001 - no torch, or a mismatched checkpoint: plan without the eager baseline
        return None
