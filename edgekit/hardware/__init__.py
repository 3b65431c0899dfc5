"""What this machine is and what it can run: :func:`profile_hardware` -> :class:`HardwareProfile`.

Importing this package is light (numpy + the standard library); torch,
openvino and onnxruntime are imported only inside the probes that ask them.

Example:
    >>> from edgekit.hardware import profile_hardware
    >>> profile = profile_hardware(bench=True)          # doctest: +SKIP
    >>> profile.has("avx512_vnni"), profile.peak_gflops  # doctest: +SKIP
"""

from edgekit.hardware.accelerators import CudaDevice, OpenVINODevice, parse_nvidia_smi_csv
from edgekit.hardware.cpu import CpuInfo, isa_from_flags, parse_cpuinfo
from edgekit.hardware.memory import parse_meminfo
from edgekit.hardware.microbench import measure_mem_bandwidth, measure_peak_gflops
from edgekit.hardware.profile import HardwareProfile, profile_hardware
from edgekit.hardware.versions import runtime_versions

__all__ = [
    "CpuInfo",
    "CudaDevice",
    "HardwareProfile",
    "OpenVINODevice",
    "isa_from_flags",
    "measure_mem_bandwidth",
    "measure_peak_gflops",
    "parse_cpuinfo",
    "parse_meminfo",
    "parse_nvidia_smi_csv",
    "profile_hardware",
    "runtime_versions",
]
