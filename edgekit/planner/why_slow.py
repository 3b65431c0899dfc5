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
import json
import os
import re
import tempfile
import time
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
    """Per-layer-type time shares of an OpenVINO model on the CPU plugin (its performance counters)."""
    import openvino as ov

    model = load_model(Path(path))
    feed = random_inputs(model, 1, 0)[0]
    compiled = ov.Core().compile_model(str(path), "CPU", {"PERF_COUNT": "YES"})
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
    return OpProfile(shares, dict(count), sum(shares[k] for k in dw), sum(count[k] for k in dw))


def explain(method: str, prof: OpProfile, isa: tuple[str, ...], backend: str = "ONNX Runtime") -> str:
    """One plain sentence naming what makes a compressed model slow here, from its profile."""
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
    if top:
        return f"{pct} of its time is in {top}; the quantize/dequantize overhead outweighs the compute saved"
    return "the quantize/dequantize overhead outweighs the compute saved"


def why_slower(model: Any, method: str, backend: str, isa: tuple[str, ...], runs: int = 20) -> str | None:
    """:func:`explain` for a built candidate model (``runs`` profiled inferences), ``None`` when it
    cannot be profiled here."""
    path = getattr(model, "path", None)
    if path is None or not str(method).startswith("int8"):
        return None
    from edgekit.backends.registry import capabilities
    from edgekit.types import Format

    caps = capabilities(backend)
    try:  # the runtime that runs the candidate is the one profiled (OpenVINO also runs QDQ ONNX files)
        if caps.artifact_format is Format.OPENVINO:
            return explain(str(method), openvino_profile(path, runs), isa, caps.label)
        if str(path).endswith(".onnx") and Format.ONNX in caps.formats:
            return explain(str(method), ort_profile(path, runs), isa, caps.label)
    except Exception:  # noqa: BLE001 - a profile is an explanation, never a reason for the plan to fail
        return None
    return None
