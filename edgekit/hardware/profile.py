"""The :class:`HardwareProfile` of a machine and :func:`profile_hardware`, which builds it.

A profile is data: frozen, JSON round-trip, comparable. It is what the planner
keys its cache on (:attr:`HardwareProfile.fingerprint`), what the ``local``
target is built from, and what ``edgekit profile`` prints. Every probe that
cannot answer leaves its reason in :attr:`HardwareProfile.probe_notes`; no
probe failure ever raises out of :func:`profile_hardware`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from edgekit.errors import TargetError
from edgekit.hardware.accelerators import (
    Absent,
    CudaDevice,
    OpenVINODevice,
    probe_cuda,
    probe_openvino,
    probe_ort_providers,
)
from edgekit.hardware.cpu import ARM_ISA, X86_ISA, CpuInfo, isa_from_flags, probe_cpu
from edgekit.hardware.memory import probe_memory
from edgekit.hardware.microbench import measure_mem_bandwidth, measure_peak_gflops
from edgekit.hardware.versions import runtime_versions
from edgekit.progress import Progress, emit, scaled

SCHEMA_VERSION = 1
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}
# runtimes whose version changes which kernels run, hence measured speed
_FINGERPRINT_RUNTIMES = ("numpy", "onnxruntime", "openvino", "torch")
T = TypeVar("T")


@dataclass(frozen=True)
class HardwareProfile:
    """What this machine is and what it can run, as found by :func:`profile_hardware`.

    Attributes:
        os: "Linux", "Darwin", "Windows".
        os_release: full platform string ("Linux-6.8.0-x86_64-with-glibc2.39").
        cpu_name: CPU model ("AMD EPYC", "Cortex-A72").
        arch: normalised machine ("x86_64", "aarch64", "armv7l").
        physical_cores: cores without SMT siblings; None when unknown.
        logical_cores: hardware threads (``os.cpu_count()``).
        usable_cores: threads this process may run on (CPU affinity).
        isa: ISA flag -> present (sse4_2, avx2, fma, avx512f, avx512_vnni, avx_vnni,
            amx_bf16, amx_int8, neon, dotprod, i8mm, ...); see :meth:`has`.
        memory_total: bytes of RAM; None when unknown.
        memory_available: bytes free for new work when profiled; None when unknown.
        cuda_devices: CUDA GPUs (empty: see ``probe_notes["cuda"]``).
        openvino_devices: OpenVINO devices with full names.
        ort_providers: onnxruntime execution providers, in priority order.
        versions: runtime -> version, None when not installed.
        board: board/system model when the OS says ("Raspberry Pi 5 Model B Rev 1.0").
        peak_gflops: measured FP32 matmul GFLOP/s (``bench=True`` only).
        mem_bandwidth_gbs: measured copy bandwidth GB/s (``bench=True`` only).
        probe_notes: probe -> why it found nothing or failed ("cuda": "no CUDA device: ...").
        created_at: UTC time of profiling, ISO 8601.
        schema_version: layout version of :meth:`to_dict`.
    """

    os: str
    os_release: str
    cpu_name: str
    arch: str
    physical_cores: int | None
    logical_cores: int
    usable_cores: int
    isa: dict[str, bool]
    memory_total: int | None
    memory_available: int | None
    cuda_devices: tuple[CudaDevice, ...] = ()
    openvino_devices: tuple[OpenVINODevice, ...] = ()
    ort_providers: tuple[str, ...] = ()
    versions: dict[str, str | None] = field(default_factory=dict)
    board: str | None = None
    peak_gflops: float | None = None
    mem_bandwidth_gbs: float | None = None
    probe_notes: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    schema_version: int = SCHEMA_VERSION

    # ---- convenience -------------------------------------------------------------
    def has(self, flag: str) -> bool:
        """True when the CPU has ISA ``flag`` ("avx2", "avx512_vnni", "dotprod"); unknown -> False."""
        return bool(self.isa.get(flag.lower(), False))

    @property
    def cuda_available(self) -> bool:
        """True when at least one CUDA GPU was found."""
        return bool(self.cuda_devices)

    @property
    def openvino_device_names(self) -> tuple[str, ...]:
        """OpenVINO device names ("CPU", "GPU.0", ...)."""
        return tuple(d.name for d in self.openvino_devices)

    @property
    def probe_errors(self) -> dict[str, str]:
        """Alias of :attr:`probe_notes` (the name other parts were promised)."""
        return self.probe_notes

    @property
    def arch_family(self) -> str:
        """The ISA family ("x86", "arm", else the raw arch): which flags are meaningful here."""
        if self.arch in ("x86_64", "i386", "i686"):
            return "x86"
        return "arm" if self.arch.startswith(("arm", "aarch64")) else self.arch

    @property
    def isa_keys(self) -> tuple[str, ...]:
        """The ISA flags that apply to this arch family, in a stable order."""
        return {"x86": X86_ISA, "arm": ARM_ISA}.get(self.arch_family, tuple(self.isa))

    @property
    def fingerprint(self) -> str:
        """16 hex chars identifying the hardware + runtimes (a cache key for measurements).

        Stable across runs on one machine: it leaves out free memory, time and bench figures.
        """
        key = {
            "cpu": [self.cpu_name, self.arch, self.physical_cores, self.logical_cores],
            "isa": sorted(k for k, v in self.isa.items() if v),
            "runtimes": {k: self.versions.get(k) for k in _FINGERPRINT_RUNTIMES},
            "cuda": [[d.name, d.compute_capability] for d in self.cuda_devices],
            "openvino": list(self.openvino_device_names),
            "ort": list(self.ort_providers),
        }
        blob = json.dumps(key, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def summary(self) -> str:
        """One line for logs and status bars.

        Example: ``AMD EPYC (x86_64, 2 cores/2 threads, avx2 fma), 23.5 GiB RAM, no CUDA, OpenVINO: CPU``
        """
        flags = " ".join(k for k in self.isa_keys if self.has(k)) or "no SIMD flags found"
        cores = f"{self.physical_cores or '?'} cores/{self.logical_cores} threads"
        ram = f"{self.memory_total / 2**30:.1f} GiB RAM" if self.memory_total else "RAM unknown"
        cuda = ", ".join(d.name for d in self.cuda_devices) or "no CUDA"
        ov = ", ".join(self.openvino_device_names) or "none"
        return f"{self.cpu_name} ({self.arch}, {cores}, {flags}), {ram}, {cuda}, OpenVINO: {ov}"

    # ---- serialisation -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["cuda_devices"] = [d.to_dict() for d in self.cuda_devices]
        data["openvino_devices"] = [d.to_dict() for d in self.openvino_devices]
        data["ort_providers"] = list(self.ort_providers)
        data["isa"] = dict(self.isa)
        data["versions"] = dict(self.versions)
        data["probe_notes"] = dict(self.probe_notes)
        data["fingerprint"] = self.fingerprint  # for readers of the JSON; ignored on load
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HardwareProfile:
        """Inverse of :meth:`to_dict`; unknown keys (from newer versions) are ignored.

        Raises:
            TargetError: when a required key is missing.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if "probe_errors" in data and "probe_notes" not in data:
            kwargs["probe_notes"] = data["probe_errors"]
        kwargs["cuda_devices"] = tuple(CudaDevice.from_dict(d) for d in data.get("cuda_devices", ()))
        kwargs["openvino_devices"] = tuple(
            OpenVINODevice.from_dict(d) for d in data.get("openvino_devices", ())
        )
        kwargs["ort_providers"] = tuple(data.get("ort_providers", ()))
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise TargetError(
                f"hardware profile is incomplete ({exc}); regenerate it with `edgekit profile --json`"
            ) from exc

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> HardwareProfile:
        """Inverse of :meth:`to_json`.

        Raises:
            TargetError: when the text is not JSON or not a profile.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TargetError(
                f"hardware profile is not valid JSON ({exc}); regenerate it with "
                "`edgekit profile --json --out FILE`"
            ) from exc
        if not isinstance(data, dict):
            raise TargetError("hardware profile JSON must be an object; regenerate it with `edgekit profile`")
        return cls.from_dict(data)


def _probe(name: str, fn: Callable[[], T], fallback: T, notes: dict[str, str]) -> T:
    """Run one probe; on any failure keep ``fallback`` and write the reason in ``notes``."""
    try:
        return fn()
    except Absent as exc:
        notes[name] = str(exc)
    except Exception as exc:  # noqa: BLE001 - the contract: a failing probe never raises
        notes[name] = f"{name} probe failed: {type(exc).__name__}: {exc}".strip()
    return fallback


def _only(parts: tuple[str, ...] | None) -> Callable:
    """:func:`_probe`, skipping (with a note) the parts not asked for."""
    if parts is None:
        return _probe

    def probe(name: str, fn: Callable[[], T], fallback: T, notes: dict[str, str]) -> T:
        if name in parts or name.startswith("bench_"):
            return _probe(name, fn, fallback, notes)
        notes[name] = f"{name} not probed (profile_hardware(parts={tuple(parts)!r}))"
        return fallback

    return probe


def _usable_cores(logical: int) -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        return logical


PARTS = ("cpu", "memory", "cuda", "openvino", "onnxruntime", "versions")
"""What :func:`profile_hardware` can probe; ``cuda`` may import torch, ``openvino`` imports OpenVINO."""


def profile_hardware(bench: bool = False, progress: Progress | None = None,
                     parts: tuple[str, ...] | None = None) -> HardwareProfile:
    """Profile this machine: CPU, ISA, memory, CUDA/OpenVINO devices, onnxruntime EPs, versions.

    Args:
        bench: also measure peak FP32 GFLOP/s and memory bandwidth (a few seconds).
        progress: receives "microbenchmark" :class:`~edgekit.progress.ProgressEvent` s during the benchmarks.
        parts: probe only these of :data:`PARTS` (``None``: all). Why: ``edgekit bench -b onnxruntime``
            needs no OpenVINO ``Core`` and no torch import (a third of its cold start); a part left
            out keeps its empty value and says so in ``probe_notes``.

    Returns:
        A :class:`HardwareProfile`; probes that found nothing or failed say why
        in ``probe_notes`` (it never raises for a probe).

    Example:
        >>> p = profile_hardware()                   # doctest: +SKIP
        >>> p.has("avx2"), p.cuda_available, p.probe_notes.get("cuda")  # doctest: +SKIP
        (True, False, 'no CUDA device: torch 2.13.0+cpu is a CPU-only build and nvidia-smi is not installed')
    """
    notes: dict[str, str] = {}
    unknown = sorted(set(parts or ()) - set(PARTS))
    if unknown:
        raise TargetError(f"profile_hardware(parts=...) got unknown part(s) {unknown}; choose from {', '.join(PARTS)}")
    _probe = _only(parts)
    logical = os.cpu_count() or 1
    cpu = _probe(
        "cpu",
        probe_cpu,
        CpuInfo(platform.processor() or "unknown", logical, None, isa_from_flags(set())),
        notes,
    )
    total, available = _probe("memory", probe_memory, (None, None), notes)
    gflops = bandwidth = None
    if bench:
        gflops = _probe("bench_gflops", lambda: measure_peak_gflops(progress=scaled(progress, 0.0, 0.7)), None, notes)
        bandwidth = _probe("bench_bandwidth", lambda: measure_mem_bandwidth(progress=scaled(progress, 0.7, 1.0)),
                           None, notes)
        emit(progress, "microbenchmark", "done", fraction=1.0)
    machine = platform.machine().lower()
    return HardwareProfile(
        os=platform.system(),
        os_release=platform.platform(),
        cpu_name=cpu.name,
        arch=_ARCH_ALIASES.get(machine, machine),
        physical_cores=cpu.physical_cores,
        logical_cores=cpu.logical_cores,
        usable_cores=_usable_cores(cpu.logical_cores),
        isa=cpu.isa,
        memory_total=total,
        memory_available=available,
        cuda_devices=_probe("cuda", probe_cuda, (), notes),
        openvino_devices=_probe("openvino", probe_openvino, (), notes),
        ort_providers=_probe("onnxruntime", probe_ort_providers, (), notes),
        versions=_probe("versions", runtime_versions, {"python": platform.python_version()}, notes),
        board=cpu.board,
        peak_gflops=gflops,
        mem_bandwidth_gbs=bandwidth,
        probe_notes=notes,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
