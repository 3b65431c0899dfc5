"""Why a compressed candidate runs slower than its FP32: read from a per-operator profile and the graph.

Why not a fixed sentence: "no VNNI" was printed for every slow INT8 model,
while on an AVX2 CPU static INT8 *is* faster for a full-width MobileNetV2 and
dynamic INT8 loses 10x because it lowers to unfused ``ConvInteger`` nodes. So
the reason is measured: onnxruntime's profiler (per node, a few runs) or
OpenVINO's performance counters say which operators take the time; the graph
says which convolutions are depthwise. The missing VNNI is named only when the
hardware profile lacks it *and* the time is in INT8 convolutions/GEMMs.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.backends.parity import random_inputs
from edgekit.models import load_model

MIN_RUNS, BUDGET_S = 3, 0.3  # profiled inferences: at least, and the time after which to stop

INT8_ISA = ("avx512_vnni", "avx_vnni", "amx_int8", "dotprod", "i8mm")
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear")
INT8_COMPUTE = ("QLinearConv", "QLinearMatMul", "QGemm", "MatMulInteger", "ConvInteger")


@dataclass(frozen=True)
class OpProfile:
    """Where a model's time goes, by operator type.

    Attributes:
        shares: op type -> fraction of the summed node time.
        nodes: op type -> nodes of that type run per inference.
        depthwise: fraction of the time in depthwise convolutions (one input channel per group).
        depthwise_nodes: how many depthwise convolutions ran.
    """

    shares: dict[str, float]
    nodes: dict[str, int]
    depthwise: float = 0.0
    depthwise_nodes: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def top(self) -> tuple[str, float]:
        """The op type taking the most time and its share."""
        return max(self.shares.items(), key=lambda kv: kv[1]) if self.shares else ("", 0.0)

    def share(self, ops: tuple[str, ...]) -> float:
        """Summed share of ``ops``."""
        return sum(self.shares.get(op, 0.0) for op in ops)


def dynamic_nodes(path: Path | str | None) -> str:
    """"52 ConvInteger nodes quantize their inputs at run time" for a dynamic-INT8 ONNX graph, or
    "" (no such nodes, not an ONNX file, unreadable): what a dynamic model's speed comes from."""
    if path is None or not str(path).endswith(".onnx"):
        return ""
    from edgekit.compress._common import onnx_op_counts

    try:
        ops = onnx_op_counts(path)
    except Exception:  # noqa: BLE001 - words for an estimate's basis, never a reason to fail
        return ""
    counts = collections.Counter({op: ops[op] for op in ("ConvInteger", "MatMulInteger") if ops[op]})
    if not counts:
        return ""
    return " and ".join(f"{n} {op} node{'s' if n > 1 else ''}" for op, n in counts.most_common()) + \
        " quantize their inputs at run time"


INT8_CLASS = ("avx2", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8", "neon", "dotprod", "i8mm")


def same_int8_instructions(profile: Any, target: Any) -> str | None:
    """"x86_64, avx2; no avx512bw/avx512_vnni/avx_vnni/amx_int8" when ``target``'s CPU has the same
    architecture and the same instructions INT8 kernels are chosen by (:data:`INT8_CLASS`) as the
    machine ``profile`` describes; ``None`` when they differ or ``target`` is this machine.

    Why: how much static INT8 saves over FP32 is decided by those instructions (and the model);
    a ratio measured on this CPU says nothing of a Pi's, but holds for an AVX2 laptop when this
    is an AVX2 server."""
    if getattr(target, "is_local", False) or str(profile.arch) != str(target.cpu_arch):
        return None
    here = {f for f in INT8_CLASS if profile.has(f)}
    there = {f for f in INT8_CLASS if target.has(f)}
    family = {f for f in INT8_CLASS if f in profile.isa_keys}
    if here != there or not family:
        return None
    has, lacks = sorted(here, key=INT8_CLASS.index), sorted(family - here, key=INT8_CLASS.index)
    return ", ".join((str(target.cpu_arch), *has)) + (f"; no {'/'.join(lacks)}" if lacks else "")


def _depthwise_convs(path: Path) -> set[str]:
    """Names of the Conv nodes whose weight has one input channel per group (depthwise)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    shapes = {t.name: tuple(t.dims) for t in graph.initializer}
    producers = {o: n for n in graph.node for o in n.output}
    names = set()
    for node in graph.node:
        if node.op_type not in ("Conv", "ConvInteger", "QLinearConv"):
            continue
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        w = node.input[3] if node.op_type == "QLinearConv" else node.input[1]
        if w in producers and producers[w].op_type == "DequantizeLinear":  # QDQ: weight behind a DQ
            w = producers[w].input[0]
        shape = shapes.get(w, ())
        if group > 1 and len(shape) == 4 and shape[1] == 1:
            names.add(node.name)
    return names


def _enough(done: int, started: float, runs: int) -> bool:
    """Profiled inferences stop at ``runs``, or after ``BUDGET_S`` once ``MIN_RUNS`` are in: the shares
    of a slow model (a 50 ms dynamic-INT8 one) are as clear after a few runs as after twenty."""
    return done >= runs or (done >= MIN_RUNS and time.perf_counter() - started >= BUDGET_S)


def ort_profile(path: str | Path, runs: int = 20, threads: int | None = None) -> OpProfile:
    """Per-op-type time shares of an ONNX model on onnxruntime's CPU provider (up to ``runs`` inferences)."""
    import onnxruntime as ort

    path = Path(path)
    model = load_model(path)
    feed = random_inputs(model, 1, 0)[0]
    with tempfile.TemporaryDirectory(prefix="edgekit-prof-") as tmp:
        so = ort.SessionOptions()
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, "p")
        if threads:
            so.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        feed = {i.name: np.asarray(feed[i.name]) for i in sess.get_inputs()}
        done, started = 0, time.perf_counter()
        while not _enough(done, started, runs):
            sess.run(None, feed)
            done += 1
        events = json.loads(Path(sess.end_profiling()).read_text(encoding="utf-8"))
    return _aggregate(events, _depthwise_convs(path), done)


def _aggregate(events: list[dict], depthwise: set[str], runs: int) -> OpProfile:
    spent: collections.Counter = collections.Counter()
    count: collections.Counter = collections.Counter()
    dw_time, dw_nodes = 0.0, set()
    for e in events:
        if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
            continue
        op, node = e.get("args", {}).get("op_name", "?"), e["name"][: -len("_kernel_time")]
        spent[op] += e.get("dur", 0)
        count[op] += 1
        base = re.sub(r"(_token_\d+|_quant|_fused.*)$", "", node)
        if base in depthwise or node in depthwise:
            dw_time += e.get("dur", 0)
            dw_nodes.add(base)
    total = sum(spent.values()) or 1
    return OpProfile({k: v / total for k, v in spent.items()}, {k: max(1, v // max(1, runs)) for k, v in count.items()},
                     dw_time / total, len(dw_nodes))


def openvino_profile(path: str | Path, runs: int = 20) -> OpProfile:
    """Per-layer-type time shares of an OpenVINO model on the CPU plugin (its performance counters),
    its float layers run in FP32 as the planner measures an FP32 or INT8 candidate.

    Why the explicit precision: on a CPU with AMX or AVX512-BF16 OpenVINO runs an FP32 model's layers in
    BF16 unless told otherwise, so the FP32 baseline a slow INT8 candidate is explained against was
    profiled in BF16 while its latency was measured in FP32 (2-core Xeon with AMX). ``notes`` says the
    precision the counters were read at."""
    import openvino as ov

    model = load_model(Path(path))
    feed = random_inputs(model, 1, 0)[0]
    compiled = ov.Core().compile_model(str(path), "CPU", {"PERF_COUNT": "YES", "INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    spent: collections.Counter = collections.Counter()
    count: collections.Counter = collections.Counter()
    compute = ("Convolution", "GroupConvolution", "FullyConnected", "MatMul")
    request.infer(list(feed.values()))  # warm-up
    done, started = 0, time.perf_counter()
    while not _enough(done, started, runs):  # the counters describe the last inference: summed over the runs
        request.infer(list(feed.values()))
        done += 1
        for info in request.get_profiling_info():
            us = info.real_time.total_seconds() * 1e6
            if us <= 0:
                continue
            precise = "I8" if "I8" in info.exec_type or "i8" in info.exec_type else "F32"
            kind = f"{info.node_type}({precise})" if info.node_type in compute else info.node_type
            spent[kind] += us
            count[kind] += 1
    count = collections.Counter({k: v // done for k, v in count.items()})
    total = sum(spent.values()) or 1
    shares = {k: v / total for k, v in spent.items()}
    dw = [k for k in shares if k.startswith("GroupConvolution")]  # MobileNet-style: depthwise
    hint = compiled.get_property("INFERENCE_PRECISION_HINT")
    notes = {"inference_precision": getattr(hint, "to_string", lambda: str(hint))()}
    return OpProfile(shares, dict(count), sum(shares[k] for k in dw), sum(count[k] for k in dw), notes)


# op kinds whose work INT8 is meant to make cheaper (ONNX Runtime's and OpenVINO's names, FP32 and INT8)
COMPUTE_KINDS = frozenset({"Conv", "FusedConv", "QLinearConv", "ConvInteger", "Convolution", "GroupConvolution",
                           "MatMul", "FusedMatMul", "Gemm", "QGemm", "QLinearMatMul", "MatMulInteger",
                           "FullyConnected"})
_GLOSS = {"Subgraph": " (OpenVINO's fused element-wise kernels)"}


def _ms_by_kind(prof: OpProfile, ms: float) -> tuple[dict[str, float], dict[str, int]]:
    """Milliseconds and nodes per op kind, ``Convolution(I8)`` and ``Convolution(F32)`` counted as one kind."""
    spent: collections.Counter = collections.Counter()
    nodes: collections.Counter = collections.Counter()
    for op, share in prof.shares.items():
        spent[op.split("(")[0]] += share * ms
    for op, n in prof.nodes.items():
        nodes[op.split("(")[0]] += n
    return dict(spent), dict(nodes)


def _grown(prof: OpProfile, base: OpProfile, ms: tuple[float, float]) -> str | None:
    """The op kinds that gained the most time over the FP32 profile, the fewest (at most three, each at
    least a tenth of the slow-down) that together account for half of it, said against what INT8 saved
    (or did not) in the convolutions/GEMMs; else ``None``.

    Why: a share alone ("61% of its time is in Subgraph") names an operator without saying whether
    INT8 made it slow. Measured on YOLOX-Nano's QDQ file on OpenVINO (AVX2 EPYC): the convolutions
    went from 10.6 to 5.2 ms, while 123 ``Subgraph`` kernels took 9.3 ms where FP32 ran 7 in 0.1 ms.
    Why more than one: its accuracy-controlled INT8 on onnxruntime (Xeon with AMX) ran 9.3 ms slower,
    4.5 ms of it in 3 MaxPool nodes (0.2 ms in FP32) and the rest spread over the Q/DQ steps around its
    64 float layers; one kind short of half fell back to "22% of its time is in Conv"."""
    (now, nodes), (before, nodes0) = _ms_by_kind(prof, ms[0]), _ms_by_kind(base, ms[1])
    slower = ms[0] - ms[1]
    grown = sorted(((v - before.get(k, 0.0), k) for k, v in now.items() if k not in COMPUTE_KINDS), reverse=True)
    if slower <= 0 or not grown:
        return None
    picked, total = [], 0.0
    for gained, kind in grown[:3]:
        if gained < 0.1 * slower:
            break
        picked.append(kind)
        total += gained
        if total >= 0.5 * slower:
            break
    if total < 0.5 * slower:
        return None
    c1 = sum(v for k, v in now.items() if k in COMPUTE_KINDS)
    c0 = sum(v for k, v in before.items() if k in COMPUTE_KINDS)
    saved = (f"more than INT8 saves in the convolutions ({c0:.1f} -> {c1:.1f} ms)" if c1 < c0
             else f"and the convolutions are no faster in INT8 ({c0:.1f} -> {c1:.1f} ms)")

    def part(kind: str, where: str) -> str:
        fp32 = f"FP32 runs {nodes0.get(kind, 0)} in {before[kind]:.1f} ms" if before.get(kind) else "FP32 has none"
        return (f"{100 * now[kind] / ms[0]:.0f}% {where} {nodes.get(kind, 0)} {kind} nodes{_GLOSS.get(kind, '')}, "
                f"{now[kind]:.1f} ms where {fp32}")

    parts = [part(kind, "of its time is in" if i == 0 else "in") for i, kind in enumerate(picked)]
    return f"{'; and '.join(parts)}; {saved}"


def explain(method: str, prof: OpProfile, isa: tuple[str, ...], backend: str = "ONNX Runtime",
            base: OpProfile | Callable[[], OpProfile | None] | None = None,
            ms: tuple[float, float] | None = None) -> str:
    """One plain sentence naming what makes a compressed model slow here, from its profile, and from
    the FP32 model's (``base``) with both p50 latencies (``ms``: this model's, FP32's) when given.
    ``base`` may be a function that profiles FP32: it is called only when the rules that read this
    model's profile alone name no cause (a dynamic model's ConvInteger nodes need no FP32 profile)."""
    top, share = prof.top()
    no_vnni = not any(f in isa for f in INT8_ISA)
    pct = f"{100 * share:.0f}%"
    if top == "ConvInteger":
        return (f"{pct} of its time is in {prof.nodes.get(top, 0)} ConvInteger nodes: dynamic INT8 quantizes every "
                "activation at run time and onnxruntime does not fuse ConvInteger with its scale and activation "
                "(static INT8 avoids both)")
    qdq = prof.share(QDQ_OPS) + prof.shares.get("FakeQuantize", 0.0)
    if qdq >= 0.15:
        return (f"{100 * qdq:.0f}% of its time is in quantize/dequantize steps that {backend} could not fuse "
                "into the neighbouring layers")
    reorder = prof.shares.get("Reorder", 0.0)
    if prof.depthwise >= 0.15 and prof.depthwise + reorder >= 0.3:
        kept = " (kept in FP32)" if prof.nodes.get("GroupConvolution(F32)") else " (INT8)"
        extra = f" and {100 * reorder:.0f}% in Reorder conversions between INT8 and FP32 layers" if reorder >= 0.05 \
            else ""
        return (f"{100 * prof.depthwise:.0f}% of its time is in {prof.depthwise_nodes} depthwise convolutions{kept}"
                f"{extra}: depthwise layers do little arithmetic per byte, so narrow models leave too little "
                "compute for INT8 to save")
    if reorder >= 0.15:
        return (f"{100 * reorder:.0f}% of its time is in Reorder nodes: layout/precision conversions between INT8 "
                "and FP32 layers")
    int8 = prof.share(INT8_COMPUTE) + sum(v for k, v in prof.shares.items() if k.endswith("(I8)"))
    if int8 >= 0.5 and no_vnni:
        return (f"{100 * int8:.0f}% of its time is in INT8 convolutions/GEMMs, and this CPU has no VNNI "
                "(INT8 dot products take three instructions instead of one)")
    if callable(base) and ms:
        base = base()
    grown = _grown(prof, base, ms) if base is not None and ms else None
    if grown:
        return grown
    if top:
        return f"{pct} of its time is in {top}; the quantize/dequantize overhead outweighs the compute saved"
    return "the quantize/dequantize overhead outweighs the compute saved"


def why_slower(model: Any, method: str, backend: str, isa: tuple[str, ...], runs: int = 20,
               baseline: Any = None, ms: tuple[float, float] | None = None) -> str | None:
    """:func:`explain` for a built candidate model (``runs`` profiled inferences), ``None`` when it
    cannot be profiled here; ``baseline``: its FP32 model, profiled too, with ``ms`` (the p50 of
    each, measured) so the cause is said against what FP32 spends."""
    path = getattr(model, "path", None)
    if path is None or not str(method).startswith("int8"):
        return None
    from edgekit.backends.registry import capabilities
    from edgekit.types import Format

    caps = capabilities(backend)
    try:  # the runtime that runs the candidate is the one profiled (OpenVINO also runs QDQ ONNX files)
        if caps.artifact_format is Format.OPENVINO:
            profile = openvino_profile
        elif str(path).endswith(".onnx") and Format.ONNX in caps.formats:
            profile = ort_profile
        else:
            return None
        prof = profile(path, runs)
    except Exception:  # noqa: BLE001 - a profile is an explanation, never a reason for the plan to fail
        return None
    base_path = getattr(baseline, "path", None)
    base = (lambda: _profile_of(profile, Path(base_path), runs)) if base_path is not None else None
    return explain(str(method), prof, isa, caps.label, base, ms)


def _profile_of(profile: Callable[..., OpProfile], path: Path, runs: int) -> OpProfile | None:
    """``profile(path, runs)``, kept per file (its size and time) for the process: one plan's FP32 model
    is the baseline of every slow INT8 candidate of its runtime; ``None`` when it cannot be profiled."""
    try:
        stat = path.stat()
        return _profiles(profile, str(path), stat.st_size, stat.st_mtime_ns, runs)
    except Exception:  # noqa: BLE001 - without it, the cause is said from the candidate's profile alone
        return None


@functools.lru_cache(maxsize=16)
def _profiles(profile: Callable[..., OpProfile], path: str, size: int, mtime_ns: int, runs: int) -> OpProfile:
    return profile(path, runs)
