"""The :class:`Target` dataclass (its YAML schema is :mod:`edgekit.targets.schema`).

A target says what a device is (CPU, memory, accelerators), what runs there
(backend -> devices + precisions), the default budgets of a deployment on it,
and published reference figures -- each with its ``source`` URL -- used to
estimate latency on a device that is not this machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    """A published number with its source (peak GFLOP/s, bandwidth GB/s)."""

    value: float
    source: str
    precision: str = ""
    approximate: bool = False
    note: str = ""


@dataclass(frozen=True)
class Accelerator:
    """A GPU/NPU on the target, with its published peak."""

    name: str
    kind: str
    source: str
    peak_tops: float | None = None
    precision: str = ""
    approximate: bool = False
    note: str = ""


@dataclass(frozen=True)
class ReferenceLatency:
    """A published latency of a known model on the target (batch 1)."""

    model: str
    flops: int
    latency_ms: float
    precision: str
    runtime: str
    device: str
    source: str
    approximate: bool = False
    note: str = ""

    @property
    def achieved_gflops(self) -> float:
        """FLOPs per second the runtime reached on this model, in GFLOP/s."""
        return self.flops / (self.latency_ms * 1e6)


@dataclass(frozen=True)
class Budgets:
    """Default limits of a deployment; ``None`` = no limit."""

    latency_ms: float | None = None
    model_mb: float | None = None
    memory_mb: float | None = None


@dataclass(frozen=True)
class Target:
    """A device a model is planned for.

    Attributes:
        name: lookup name ("raspberry-pi-5", "local").
        cpu_arch / cpu_model / cores / freq_ghz / isa: the CPU.
        memory_mb: RAM.
        backends: backend -> {"devices": [...], "precisions": [...]}.
        budgets: default budgets.
        peak_gflops / mem_bandwidth_gbs: published figures (or measured, for local).
        references: published model latencies used for estimates.
        is_local: True for the machine edgekit runs on (latency is measured, not estimated).
        path: the YAML it came from (None for ``local``).
    """

    name: str
    cpu_arch: str
    cores: int
    memory_mb: int
    backends: dict[str, dict[str, tuple[str, ...]]]
    description: str = ""
    cpu_model: str = ""
    freq_ghz: float | None = None
    isa: tuple[str, ...] = ()
    accelerators: tuple[Accelerator, ...] = ()
    budgets: Budgets = field(default_factory=Budgets)
    peak_gflops: Figure | None = None
    mem_bandwidth_gbs: Figure | None = None
    references: tuple[ReferenceLatency, ...] = ()
    is_local: bool = False
    path: Path | None = None

    def supports(self, backend: str, device: str = "cpu", precision: str = "fp32") -> bool:
        """True when the target lists ``backend`` with ``device`` and ``precision``."""
        entry = self.backends.get(backend)
        return bool(entry) and device in entry["devices"] and precision in entry["precisions"]

    def has(self, flag: str) -> bool:
        """True when the CPU has ISA ``flag``."""
        return flag.lower() in self.isa

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        data = asdict(self)
        data["path"] = None if self.path is None else str(self.path)
        data["isa"] = list(self.isa)
        data["backends"] = {b: {k: list(v) for k, v in e.items()} for b, e in self.backends.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict, path: Path | None = None, is_local: bool = False) -> Target:
        """Build from the YAML dict (``cpu:`` nested) or from :meth:`to_dict` output."""
        cpu = data.get("cpu") or {}
        fig = lambda d: None if not d else Figure(**d)
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            cpu_arch=cpu.get("arch", data.get("cpu_arch", "")),
            cpu_model=cpu.get("model", data.get("cpu_model", "")),
            cores=cpu.get("cores", data.get("cores", 1)),
            freq_ghz=cpu.get("freq_ghz", data.get("freq_ghz")),
            isa=tuple(s.lower() for s in cpu.get("isa", data.get("isa", ()))),
            memory_mb=data["memory_mb"],
            accelerators=tuple(Accelerator(**a) for a in data.get("accelerators") or ()),
            backends={b: {"devices": tuple(e["devices"]), "precisions": tuple(e["precisions"])}
                      for b, e in data["backends"].items()},
            budgets=Budgets(**(data.get("budgets") or {})),
            peak_gflops=fig(data.get("peak_gflops")),
            mem_bandwidth_gbs=fig(data.get("mem_bandwidth_gbs")),
            references=tuple(ReferenceLatency(**r) for r in data.get("references") or ()),
            is_local=data.get("is_local", is_local),
            path=path if path is not None else (Path(data["path"]) if data.get("path") else None),
        )
