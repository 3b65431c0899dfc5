"""What a backend can do, declared once, so nothing outside ``backends/`` compares its name.

Every :class:`~edgekit.backends.base.Backend` subclass sets a
:class:`BackendCapabilities` as its ``capabilities`` class attribute. The
planner, the benchmark, ``deploy``, the targets, the CLI and the GUI ask the
registry (:func:`edgekit.backends.registry.capabilities`,
:func:`~edgekit.backends.registry.backends_for`) instead of branching on
``"openvino"``: a new backend is one module plus one registry line.

Reading the capabilities imports the backend's module, never its runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from edgekit.types import DeviceKind, Format, Method, Precision


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _member(enum: type, value: Any) -> Any:
    try:
        return enum.parse(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class BackendCapabilities:
    """A backend's declared abilities.

    Attributes:
        label / short_label: names for people ("OpenVINO"; "ORT" where space is short).
        formats: model formats it loads.
        devices: device kinds it can run on (a target YAML's ``devices``).
        precisions: precisions it executes (a target YAML's ``precisions``).
        methods: how the files it runs may be made (``Method``): e.g. onnxruntime runs
            ONNX FP32/FP16/INT8 QDQ/QOperator/dynamic; OpenVINO runs FP32, FP16 and INT8
            (QDQ ONNX or NNCF IR); torch runs the module itself (``eager``).
        options: its options dataclass (``None`` -> defaults, a dict -> fields).
        needs_module: it runs an ``nn.Module`` / TorchScript, not a file another tool made.
        artifact_format: the format the planner writes compressed copies in for it.
        int8_quantizer: the tool making its static INT8 models: ``"onnxruntime"`` (QDQ
            ONNX) or ``"nncf"`` (OpenVINO IR); ``None`` = it makes none.
        cpu_fp16_runs_as: execution precision asked for an FP16-weight model on a CPU
            (OpenVINO decompresses the weights and runs FP32); ``None`` = FP16 as stored.
        sets_precision: it sets the execution precision itself (OpenVINO's hint);
            otherwise it runs a model in the precision it is stored in.
        bundle: a deployment bundle may name it (torch is the CUDA development path).
        packages: pip requirement lines a bundle running on it needs.
        triton: Triton Inference Server backend serving the same files, or ``None``.
        kserve_platform: KServe / Open Inference Protocol platform name, or ``None``.
        bench_devices: devices ``bench`` tries by default beyond "cpu" (reported
            unavailable with the reason when absent: the torch CUDA path).
        throughput_options: option fields for a throughput benchmark (OpenVINO's hint).
        shared_cpu_options: option fields for when other threads of the process need
            the same cores (the live pipeline: onnxruntime stops spin-waiting when a run returns).
        graph_runtime: an optimizing graph runtime, which the targets' peak-FLOP/s
            latency estimate describes (not eager PyTorch).
        stand_ins: runtimes whose published figures may stand in for its own in a
            latency estimate for a target that is not here.
        concurrent_predict: one session may be called from several threads at once, so a
            live pipeline can run one-thread calls side by side (onnxruntime: ``Run`` is thread-safe).
        profile_parts: the hardware-profile probes (``edgekit.hardware.profile.PARTS``) its
            devices and ``support()`` read, so a command about it probes only those.
    """

    label: str
    formats: tuple[Format, ...]
    devices: tuple[DeviceKind, ...]
    precisions: tuple[Precision, ...]
    methods: tuple[Method, ...]
    options: type
    short_label: str = ""
    needs_module: bool = False
    artifact_format: Format = Format.ONNX
    int8_quantizer: str | None = None
    cpu_fp16_runs_as: Precision | None = None
    sets_precision: bool = False
    bundle: bool = True
    packages: tuple[str, ...] = ()
    triton: str | None = None
    kserve_platform: str | None = None
    bench_devices: tuple[str, ...] = ()
    throughput_options: Mapping[str, Any] = field(default_factory=_frozen)
    shared_cpu_options: Mapping[str, Any] = field(default_factory=_frozen)
    graph_runtime: bool = False
    stand_ins: tuple[str, ...] = ()
    profile_parts: tuple[str, ...] = ()
    concurrent_predict: bool = False

    def __post_init__(self) -> None:
        parsed = {
            "formats": tuple(Format.parse(f, "format") for f in self.formats),
            "devices": tuple(DeviceKind.parse(d, "device kind") for d in self.devices),
            "precisions": tuple(Precision.parse(p, "precision") for p in self.precisions),
            "methods": tuple(Method.parse(m, "method") for m in self.methods),
            "throughput_options": _frozen(self.throughput_options),
            "shared_cpu_options": _frozen(self.shared_cpu_options),
            "short_label": self.short_label or self.label,
        }
        for name, value in parsed.items():
            object.__setattr__(self, name, value)  # a frozen dataclass normalising its own fields

    def loads(self, fmt: Format | str) -> bool:
        """True when it reads models of format ``fmt`` (False for a name that is no format)."""
        return _member(Format, fmt) in self.formats

    def runs(self, precision: Precision | str) -> bool:
        """True when it executes ``precision``."""
        return _member(Precision, precision) in self.precisions

    def runs_method(self, method: Method | str) -> bool:
        """True when it runs files made by ``method``."""
        return _member(Method, method) in self.methods

    def make_options(self, **fields: Any) -> Any:
        """An instance of its options type with ``fields`` set."""
        return self.options(**fields)

    def to_dict(self) -> dict:
        """JSON-ready dict (the options type by name), for ``edgekit backends --json`` and notes."""
        return {
            "label": self.label, "short_label": self.short_label,
            "formats": [str(f) for f in self.formats], "devices": [str(d) for d in self.devices],
            "precisions": [str(p) for p in self.precisions], "methods": [str(m) for m in self.methods],
            "options": f"{self.options.__module__}.{self.options.__qualname__}",
            "needs_module": self.needs_module, "artifact_format": str(self.artifact_format),
            "int8_quantizer": self.int8_quantizer,
            "cpu_fp16_runs_as": None if self.cpu_fp16_runs_as is None else str(self.cpu_fp16_runs_as),
            "sets_precision": self.sets_precision, "bundle": self.bundle, "packages": list(self.packages),
            "triton": self.triton, "kserve_platform": self.kserve_platform,
            "bench_devices": list(self.bench_devices), "throughput_options": dict(self.throughput_options),
            "shared_cpu_options": dict(self.shared_cpu_options), "graph_runtime": self.graph_runtime,
            "stand_ins": list(self.stand_ins), "profile_parts": list(self.profile_parts),
            "concurrent_predict": self.concurrent_predict,
        }
