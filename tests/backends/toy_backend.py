"""A second onnxruntime backend under another name, with its own options: the "one new module"
half of adding a backend (the other half is one ``register_backend`` line in the test).

It is real, not a fake: it runs the model with onnxruntime, on one intra-op
thread by default, without the optimized-graph cache, and says so in its
sessions' ``info``. Everything the rest of edgekit needs to know about it is in
its declared capabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from edgekit.backends._common import build_options
from edgekit.backends.base import Session
from edgekit.backends.capabilities import BackendCapabilities
from edgekit.backends.onnxruntime import OnnxRuntimeBackend, OrtOptions
from edgekit.types import DeviceKind, Format, Method, Precision


@dataclass(frozen=True)
class LeanOrtOptions:
    """Settings of the lean onnxruntime backend.

    Attributes:
        threads: intra-op threads (one: leave the other cores to the rest of the process).
        graph_optimization: onnxruntime's level ("disable", "basic", "extended", "all").
    """

    threads: int = 1
    graph_optimization: str = "basic"


class LeanOrtBackend(OnnxRuntimeBackend):
    """onnxruntime on one thread, basic graph optimisation, no cache: a small-footprint runtime."""

    capabilities = BackendCapabilities(
        label="ONNX Runtime (lean)",
        short_label="ORT-lean",
        formats=(Format.ONNX,),
        devices=(DeviceKind.CPU,),
        precisions=(Precision.FP32, Precision.FP16, Precision.INT8, Precision.INT8_DYNAMIC),
        methods=(Method.FP32, Method.FP16, Method.INT8, Method.INT8_DYNAMIC),
        options=LeanOrtOptions,
        artifact_format=Format.ONNX,
        int8_quantizer="onnxruntime",
        packages=("onnxruntime>=1.17",),
        triton="onnxruntime",
        graph_runtime=True,
    )

    def devices(self, profile: Any = None) -> list[str]:
        return ["cpu"] if self.available(profile)[0] else []

    def device_status(self, profile: Any = None) -> list[tuple[str, bool, str]]:
        return [("cpu", *self.available(profile))]

    def compile(self, model: Any, device: str = "cpu", precision: str = "fp32", options: Any = None) -> Session:
        opts = build_options(LeanOrtOptions, options, self.name)
        ort = OrtOptions(threads=opts.threads, graph_optimization=opts.graph_optimization, cache=False,
                         spin=False)
        session = super().compile(model, device, precision, ort)
        session.info = replace(session.info, backend=self.name, notes=(*session.info.notes, "lean: one thread"))
        return session
