"""Accelerators and execution providers: CUDA GPUs, OpenVINO devices, onnxruntime EPs.

Each probe returns what it found or raises :class:`Absent` with the reason in
plain words ("torch 2.13.0+cpu is a CPU-only build and nvidia-smi is not
installed"), so a profile can say *why* a device is missing instead of just
leaving it out. Heavy runtimes are imported only inside the probes.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

from edgekit.errors import require_argument
from edgekit.hardware.versions import RUNTIMES, dist_version

_SMI_FIELDS = "index,name,memory.total,compute_cap,driver_version"


class Absent(Exception):
    """A device or runtime is not there; the message says why (not an error)."""


@dataclass(frozen=True)
class CudaDevice:
    """One CUDA GPU.

    Attributes:
        index: CUDA ordinal (``cuda:<index>``).
        name: e.g. "NVIDIA GeForce RTX 4090".
        memory_bytes: total device memory, None when the driver does not say (Jetson).
        compute_capability: "8.9"; None when unknown (old drivers).
        source: "torch" or "nvidia-smi", where the facts came from.
    """

    index: int
    name: str
    memory_bytes: int | None
    compute_capability: str | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CudaDevice:
        return cls(**data)


@dataclass(frozen=True)
class OpenVINODevice:
    """One OpenVINO device ("CPU", "GPU.0", "NPU") with its full name and capabilities."""

    name: str
    full_name: str
    capabilities: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "full_name": self.full_name, "capabilities": list(self.capabilities)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenVINODevice:
        return cls(data["name"], data["full_name"], tuple(data.get("capabilities", ())))


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(float(text)) if text.replace(".", "", 1).isdigit() else None


def parse_nvidia_smi_csv(text: str) -> tuple[CudaDevice, ...]:
    """Parse ``nvidia-smi --query-gpu=index,name,memory.total[,compute_cap] --format=csv,noheader,nounits``.

    Memory is in MiB; "[N/A]" fields (Jetson) become None.
    """
    require_argument(text, "parse_nvidia_smi_csv", "the text nvidia-smi printed (str)", str)
    devices = []
    for line in text.strip().splitlines():
        cols = [c.strip() for c in line.split(",")]
        if len(cols) < 3 or not cols[0].isdigit():
            continue
        mib = _int_or_none(cols[2])
        cap = cols[3] if len(cols) > 4 and cols[3][:1].isdigit() else None
        devices.append(
            CudaDevice(int(cols[0]), cols[1], None if mib is None else mib * 2**20, cap, "nvidia-smi")
        )
    return tuple(devices)


def _cuda_from_torch(version: str) -> tuple[tuple[CudaDevice, ...], str]:
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - a broken install is a reason, not a crash
        return (), f"torch {version} failed to import ({type(exc).__name__}: {exc})"
    if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
        return (), f"torch {version} is built without CUDA"
    if not torch.cuda.is_available():
        return (), f"torch {version} (CUDA {torch.version.cuda}) sees no GPU (driver missing?)"
    devices = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        devices.append(CudaDevice(i, p.name, int(p.total_memory), f"{p.major}.{p.minor}", "torch"))
    return tuple(devices), ""


def _run_smi(smi: str, fields: str) -> subprocess.CompletedProcess:
    cmd = [smi, f"--query-gpu={fields}", "--format=csv,noheader,nounits"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=15, check=False)


def _cuda_from_smi(smi: str) -> tuple[tuple[CudaDevice, ...], str]:
    try:
        out = _run_smi(smi, _SMI_FIELDS)
        if out.returncode != 0 and "compute_cap" in (out.stdout + out.stderr):  # drivers < 510
            out = _run_smi(smi, _SMI_FIELDS.replace("compute_cap,", ""))
    except (OSError, subprocess.SubprocessError) as exc:
        return (), f"nvidia-smi failed to run ({exc})"
    if out.returncode != 0:
        first = (out.stdout + out.stderr).strip().splitlines() or ["no output"]
        return (), f"nvidia-smi failed: {first[0]}"
    devices = parse_nvidia_smi_csv(out.stdout)
    return devices, "" if devices else "nvidia-smi lists no GPU"


def probe_cuda() -> tuple[CudaDevice, ...]:
    """List CUDA GPUs via torch (when a CUDA build is installed), else nvidia-smi.

    A ``+cpu`` torch wheel is recognised from its version, without importing it.

    Raises:
        Absent: no CUDA device, with every reason found.
    """
    reasons = []
    torch_version = dist_version("torch")
    if torch_version is None:
        reasons.append("torch is not installed")
    elif "+cpu" in torch_version:
        reasons.append(f"torch {torch_version} is a CPU-only build")
    else:
        devices, why = _cuda_from_torch(torch_version)
        if devices:
            return devices
        reasons.append(why)
    smi = shutil.which("nvidia-smi")
    if smi is None:
        reasons.append("nvidia-smi is not installed")
    else:
        devices, why = _cuda_from_smi(smi)
        if devices:
            return devices
        reasons.append(why)
    raise Absent("no CUDA device: " + " and ".join(reasons))


def probe_openvino() -> tuple[OpenVINODevice, ...]:
    """List OpenVINO devices with FULL_DEVICE_NAME and OPTIMIZATION_CAPABILITIES.

    Raises:
        Absent: openvino is not installed, or it sees no device.
    """
    if dist_version("openvino") is None:
        raise Absent("openvino is not installed (pip install 'edgekit[openvino]')")
    import openvino as ov

    core = ov.Core()
    devices = []
    for name in core.available_devices:
        devices.append(
            OpenVINODevice(
                name,
                str(_ov_property(core, name, "FULL_DEVICE_NAME") or name),
                tuple(_ov_property(core, name, "OPTIMIZATION_CAPABILITIES") or ()),
            )
        )
    if not devices:
        raise Absent("openvino sees no device")
    return tuple(devices)


def _ov_property(core: Any, device: str, key: str) -> Any:
    try:
        return core.get_property(device, key)
    except Exception:  # noqa: BLE001 - some plugins lack a property; the rest still counts
        return None


def probe_ort_providers() -> tuple[str, ...]:
    """onnxruntime's available execution providers, in its priority order.

    Raises:
        Absent: onnxruntime is not installed.
    """
    if dist_version(*RUNTIMES["onnxruntime"]) is None:
        raise Absent("onnxruntime is not installed (pip install onnxruntime)")
    import onnxruntime

    return tuple(onnxruntime.get_available_providers())
