"""Latency estimates for a target that is not this machine, and fit checks.

How an estimate is made (roofline-ish, always labelled an *estimate*):

1. **Compute time** = model FLOPs / the GFLOP/s the target's runtime really
   reached on a published reference model of the same device, *runtime* (the
   candidate's backend) and, when possible, precision. Several references ->
   geometric mean. A runtime differs too much from another to borrow its
   figure, with one stated exception: a TFLite figure stands in for
   onnxruntime/OpenVINO (all three run a pre-optimized graph on tuned
   kernels), with a wider band and a line in the basis saying so.
   Without a reference for that device: FLOPs / (peak GFLOP/s x efficiency),
   where efficiency is measured here when we can (this machine's measured
   latency vs its measured peak) or an assumed 15 % -- for those graph
   runtimes only. PyTorch eager (op by op from Python) has no stand-in and no
   assumed efficiency: without a ``torch`` figure its estimate is unavailable
   (a ``TargetError`` that says which figure to add), never another runtime's.
2. **Memory floor** = weight bytes / memory bandwidth: a model cannot run
   faster than it can stream its weights once.
3. The estimate is the larger of the two; the **error band** widens with
   every assumption (another model: x2; an approximate source: x2.5;
   peak-only: x3; a precision not measured: x1.5 more).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from edgekit.backends.registry import capabilities, is_backend
from edgekit.errors import TargetError
from edgekit.targets.model import ReferenceLatency, Target

DEFAULT_EFFICIENCY = 0.15  # share of peak FLOP/s a small CNN reaches on a CPU graph runtime
_INT8_ISA = ("dotprod", "i8mm", "avx512_vnni", "avx_vnni", "amx_int8")


@dataclass(frozen=True)
class Estimate:
    """An estimated latency with its band.

    Attributes:
        latency_ms: central estimate.
        low_ms / high_ms: the error band.
        method: "reference" or "peak" (what the compute time was scaled from).
        basis: plain words saying which figures were used, with their sources.
        is_estimate: always True: shown as "~12 ms (est.)" everywhere.
    """

    latency_ms: float
    low_ms: float
    high_ms: float
    method: str
    basis: tuple[str, ...]
    is_estimate: bool = True

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        data = asdict(self)
        data["basis"] = list(self.basis)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Estimate:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "basis": tuple(data.get("basis", ()))})

    def __str__(self) -> str:
        return f"~{self.latency_ms:.3g} ms (est. {self.low_ms:.3g}-{self.high_ms:.3g})"


def precision_factor(target: Target, device: str, precision: str, ref_precision: str) -> float:
    """Latency ratio of ``precision`` vs ``ref_precision`` assumed on this target.

    INT8 is assumed to help a CPU only with dot-product instructions (VNNI, ARM
    dotprod); without them *slower* (x1.15: the quantize/dequantize steps cost
    more than the emulated INT8 saves -- true of narrow models, while a full-width
    MobileNetV2 gains on an AVX2-only CPU). That is why the planner replaces this
    assumption by a ratio timed here (``measured_ratio`` of :func:`estimate_latency`)
    wherever one carries over: always for dynamic INT8, for static INT8 on a target
    whose CPU has this machine's INT8 instructions. FP16 helps GPUs/NPUs and CPUs
    with FP16 arithmetic; elsewhere it is converted back to FP32 at run time (x1.05).
    """
    def cost(p: str) -> float:
        if p.startswith("int8"):
            fast = device != "cpu" or any(target.has(f) for f in _INT8_ISA)
            return 0.4 if fast else 1.15
        if p == "fp16":
            return 0.5 if device != "cpu" or target.has("fp16") else 1.05
        return 1.0

    return cost(precision) / cost(ref_precision)


def _declared(backend: str | None) -> tuple[bool, tuple[str, ...]]:
    """What the registry says of ``backend``: is it a graph runtime (what DEFAULT_EFFICIENCY
    describes), and whose published figures may stand in for its own (see the module doc).
    A name the registry does not know (a target may name a runtime not installed here) has neither."""
    if backend is None or not is_backend(backend):
        return False, ()
    caps = capabilities(backend)
    return caps.graph_runtime, caps.stand_ins


def estimate_latency(
    target: Target,
    *,
    flops: float,
    weight_bytes: int = 0,
    device: str = "cpu",
    precision: str = "fp32",
    local_efficiency: float | None = None,
    backend: str | None = None,
    int8_share: float | None = None,
    measured_ratio: tuple[float, str] | None = None,
) -> Estimate:
    """Estimate batch-1 latency of a model with ``flops`` on ``target``.

    Args:
        local_efficiency: achieved / peak FLOP/s of the same model measured
            here, used when the target has only a peak figure.
        backend: the runtime the model will run on ("onnxruntime", "torch"...):
            only that runtime's reference figures are used (see the module
            doc); ``None`` uses every figure for ``device``.
        int8_share: for an INT8 ``precision``, the share of the multiply-adds that run in INT8
            (:func:`edgekit.models.cost.int8_share`); the rest is costed at the fp32 rate. An
            accuracy-controlled INT8 model that kept most of its convolutions in float was
            estimated as fast as plain INT8 (2.5x FP32 on a Raspberry Pi 5); ``None``: all of it.
        measured_ratio: ``(ratio, words)``: this precision's latency over FP32's, measured here on
            the same runtime, used instead of the assumed :func:`precision_factor` (band x1.5: another
            CPU), with ``words`` saying why it carries over. Why: a dynamic-INT8 graph is slow for its
            structure (unfused ``ConvInteger`` nodes), not for the CPU's INT8 instructions; it was
            estimated 2.4x *faster* than FP32 on a Raspberry Pi 5 while it ran 16x slower here.

    Raises:
        TargetError: when the target has no figure for ``device`` (and
            ``backend``) to estimate from, naming the figure to add.
    """
    refs = [r for r in target.references if r.device == device]
    where = target.path or target.name
    has_peak = device == "cpu" and target.peak_gflops is not None
    graph_runtime, stand_ins = _declared(backend)
    peak_ok = has_peak and (backend is None or graph_runtime)
    stand_in = ""
    if backend is not None:
        own = [r for r in refs if r.runtime == backend]
        others = [r for r in refs if r.runtime in stand_ins]
        if not own and others:
            stand_in = (f"no {backend} figure for {target.name}: {others[0].runtime}'s stands in "
                        "(both run a pre-optimized graph; assumed equally fast, band x1.5)")
        if not own and not others and not peak_ok and (refs or has_peak):
            runtimes = ", ".join(sorted({r.runtime for r in refs}))
            why = (f"its {runtimes} figures would mislead for {backend}" if runtimes
                   else f"its peak_gflops estimate assumes a graph runtime, not {backend}")
            raise TargetError(
                f"latency estimate unavailable for {backend}/{device} on {target.name!r}: no {backend} reference "
                f"figure, and {why}; add a `references:` entry with runtime: {backend}, device: {device} "
                f"and its source to {where}"
            )
        refs = own or others

    def compute_at(prec: str) -> tuple[float, float, tuple[str, ...], str]:
        if refs:
            compute, band, basis = _from_references(target, refs, flops, device, prec)
            if stand_in:
                band, basis = band * 1.5, (*basis, stand_in)
            return compute, band, basis, "reference"
        if peak_ok:
            return (*_from_peak(target, flops, prec, local_efficiency), "peak")
        raise TargetError(
            f"target {target.name!r} has no reference latency for device {device!r} and no peak_gflops; "
            f"add a `references:` entry with device: {device} to {where}"
        )

    if measured_ratio is not None:
        ratio, why = measured_ratio
        compute, band, basis, method = compute_at("fp32")
        compute, band, basis = compute * ratio, band * 1.5, (*basis, why)
    else:
        compute, band, basis, method = compute_at(precision)
    share = (1.0 if int8_share is None or measured_ratio is not None or not precision.startswith("int8")
             else min(1.0, max(0.0, int8_share)))
    if share < 1.0:  # linear in FLOPs: the INT8 share at the INT8 rate, the rest at the fp32 rate
        float_compute, float_band, float_basis, _ = compute_at("fp32")
        compute = share * compute + (1.0 - share) * float_compute
        band = max(band, float_band)
        basis = (*basis, *(b for b in float_basis if b not in basis),
                 (f"{share:.0%} of the multiply-adds run in INT8, the rest in float (layers kept float): "
                 "costed at the INT8 and fp32 rates in that proportion"))
    floor, floor_note = _memory_floor(target, weight_bytes)
    latency = max(compute, floor)
    if floor_note:
        basis = (*basis, floor_note)
    return Estimate(latency, latency / band, latency * band, method, tuple(basis))


def _from_references(
    target: Target, refs: list[ReferenceLatency], flops: float, device: str, precision: str
) -> tuple[float, float, tuple[str, ...]]:
    same = [r for r in refs if r.precision == precision]
    use = same or refs
    logs, basis = [], []
    for ref in use:
        factor = precision_factor(target, device, precision, ref.precision)
        logs.append(math.log(flops / (ref.achieved_gflops * 1e9) * 1e3 * factor))
        basis.append(f"{ref.model} {ref.precision} on {ref.runtime}/{ref.device}: {ref.latency_ms} ms "
                     f"({ref.achieved_gflops:.1g} GFLOP/s reached){' approx.' if ref.approximate else ''} "
                     f"[{ref.source}]")
    band = 2.5 if any(r.approximate for r in use) else 2.0
    if not same:
        band *= 1.5
        basis.append(f"no {precision} reference: scaled from {use[0].precision} by an assumed factor")
    return math.exp(sum(logs) / len(logs)), band, tuple(basis)


def _from_peak(
    target: Target, flops: float, precision: str, local_efficiency: float | None
) -> tuple[float, float, tuple[str, ...]]:
    peak = target.peak_gflops
    fp32_peak = peak.value * (2.0 if peak.precision == "fp64" else 1.0)
    eff = local_efficiency if local_efficiency else DEFAULT_EFFICIENCY
    factor = precision_factor(target, "cpu", precision, "fp32")
    compute = flops / (fp32_peak * eff * 1e9) * 1e3 * factor
    how = "measured here on the same model" if local_efficiency else "assumed"
    basis = ((f"peak {fp32_peak:.3g} GFLOP/s fp32{' approx.' if peak.approximate else ''} [{peak.source}] "
             f"x {eff:.0%} efficiency ({how})"),)
    return compute, 3.0, basis


def _memory_floor(target: Target, weight_bytes: int) -> tuple[float, str]:
    bw = target.mem_bandwidth_gbs
    if not bw or not weight_bytes:
        return 0.0, ""
    floor = weight_bytes / (bw.value * 1e9) * 1e3
    return floor, f"memory floor {floor:.3g} ms = {weight_bytes / 1e6:.1f} MB / {bw.value} GB/s [{bw.source}]"


@dataclass(frozen=True)
class Fit:
    """Whether a model fits a target's budgets; ``reasons`` says why not."""

    ok: bool
    reasons: tuple[str, ...] = ()


def check_fit(
    target: Target,
    *,
    model_mb: float,
    memory_mb: float | None = None,
    backend: str | None = None,
    device: str = "cpu",
    precision: str = "fp32",
    max_model_mb: float | None = None,
) -> Fit:
    """Check size, memory and backend/precision support against ``target``.

    ``max_model_mb`` overrides the target's default model budget.
    """
    reasons = []
    limit = max_model_mb if max_model_mb is not None else target.budgets.model_mb
    if limit is not None and model_mb > limit:
        reasons.append(f"model is {model_mb:.2f} MB, over the {limit:g} MB size budget")
    mem_limit = target.budgets.memory_mb or target.memory_mb
    if memory_mb is not None and mem_limit and memory_mb > mem_limit:
        reasons.append(f"needs ~{memory_mb:.0f} MB of memory, over the {mem_limit:g} MB available on {target.name}")
    if backend is not None and not target.supports(backend, device, precision):
        reasons.append(f"{target.name} does not list {backend}/{device}/{precision} as supported")
    return Fit(not reasons, tuple(reasons))
