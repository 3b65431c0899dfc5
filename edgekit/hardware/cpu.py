"""What the CPU is and which instructions that matter for inference it has.

Why these flags: the fast int8/bf16 kernels of onnxruntime, OpenVINO and
PyTorch are chosen by ISA (AVX2+FMA, AVX-512, VNNI, AMX on x86; NEON, dotprod,
i8mm on Arm), so the planner needs to know them before it guesses which
precision will pay off. The parsing is pure (text in, values out) so it can be
tested with ``/proc/cpuinfo`` samples of machines we do not have.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# canonical ISA name -> names the Linux kernel uses in /proc/cpuinfo "flags"/"Features"
ISA_ALIASES: dict[str, tuple[str, ...]] = {
    # x86
    "sse4_2": ("sse4_2",),
    "avx": ("avx",),
    "avx2": ("avx2",),
    "fma": ("fma",),
    "f16c": ("f16c",),
    "avx512f": ("avx512f",),
    "avx512bw": ("avx512bw",),
    "avx512vl": ("avx512vl",),
    "avx512_vnni": ("avx512_vnni",),
    "avx512_bf16": ("avx512_bf16",),
    "avx512_fp16": ("avx512_fp16",),
    "avx_vnni": ("avx_vnni",),
    "amx_tile": ("amx_tile",),
    "amx_bf16": ("amx_bf16",),
    "amx_int8": ("amx_int8",),
    # Arm ("neon" on 32-bit kernels, "asimd" on 64-bit ones)
    "neon": ("neon", "asimd"),
    "fp16": ("asimdhp",),
    "dotprod": ("asimddp",),
    "i8mm": ("i8mm",),
    "bf16": ("bf16",),
    "sve": ("sve",),
    "sve2": ("sve2",),
}
X86_ISA = tuple(list(ISA_ALIASES)[:15])
ARM_ISA = tuple(list(ISA_ALIASES)[15:])

# Arm "CPU part" ids (implementer 0x41 = Arm Ltd) -> core name, for boards whose
# /proc/cpuinfo has no "model name" (Raspberry Pi, Jetson, most aarch64 kernels)
_ARM_PARTS = {
    "0xd03": "Cortex-A53",
    "0xd04": "Cortex-A35",
    "0xd05": "Cortex-A55",
    "0xd07": "Cortex-A57",
    "0xd08": "Cortex-A72",
    "0xd09": "Cortex-A73",
    "0xd0a": "Cortex-A75",
    "0xd0b": "Cortex-A76",
    "0xd0c": "Neoverse-N1",
    "0xd0d": "Cortex-A77",
    "0xd40": "Neoverse-V1",
    "0xd41": "Cortex-A78",
    "0xd42": "Cortex-A78AE",
    "0xd44": "Cortex-X1",
    "0xd46": "Cortex-A510",
    "0xd47": "Cortex-A710",
    "0xd49": "Neoverse-N2",
    "0xd4f": "Neoverse-V2",
    "0xc07": "Cortex-A7",
    "0xc09": "Cortex-A9",
    "0xc0f": "Cortex-A15",
}
_NVIDIA_PARTS = {"0x003": "Denver", "0x004": "Carmel"}


@dataclass(frozen=True)
class CpuInfo:
    """CPU facts as found on this machine (or parsed from a sample).

    Attributes:
        name: marketing name ("AMD EPYC 7B12", "Cortex-A72"); "unknown" if none found.
        logical_cores: hardware threads the OS sees.
        physical_cores: cores without SMT siblings; None when it cannot be told.
        isa: canonical ISA name -> present, for every key of ``ISA_ALIASES``.
        board: board/system model ("Raspberry Pi 4 Model B Rev 1.4"), when known.
    """

    name: str
    logical_cores: int
    physical_cores: int | None
    isa: dict[str, bool] = field(default_factory=dict)
    board: str | None = None


def isa_from_flags(flags: set[str] | list[str]) -> dict[str, bool]:
    """Map kernel flag names to the canonical ISA dict (every key present)."""
    have = {f.lower() for f in flags}
    return {name: any(a in have for a in aliases) for name, aliases in ISA_ALIASES.items()}


def _blocks(text: str) -> list[dict[str, str]]:
    """Split /proc/cpuinfo into one dict per blank-line separated block."""
    blocks, cur = [], {}
    for line in text.splitlines():
        if not line.strip():
            if cur:
                blocks.append(cur)
            cur = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            cur[key.strip().lower()] = value.strip()
    if cur:
        blocks.append(cur)
    return blocks


def _arm_name(block: dict[str, str]) -> str | None:
    part = block.get("cpu part", "").lower()
    table = _NVIDIA_PARTS if block.get("cpu implementer", "").lower() == "0x4e" else _ARM_PARTS
    return table.get(part)


def parse_cpuinfo(text: str) -> CpuInfo:
    """Parse the text of Linux ``/proc/cpuinfo`` (x86 or Arm).

    Args:
        text: the whole file.

    Returns:
        CpuInfo; ``physical_cores`` counts distinct (physical id, core id)
        pairs when the kernel reports them, else None.

    Example:
        >>> parse_cpuinfo("processor: 0\\nflags: avx2 fma\\n").isa["avx2"]
        True
    """
    require_argument(text, "parse_cpuinfo", "the text of /proc/cpuinfo (str)", str)
    blocks = _blocks(text)
    cpus = [b for b in blocks if "processor" in b and b["processor"].isdigit()]
    everything = {k: v for b in reversed(blocks) for k, v in b.items()}
    # board lines ("Hardware", "Model") sit in a trailing block without "processor";
    # inside x86 processor blocks "model" is a number, not a board name
    extra = {k: v for b in blocks if b not in cpus for k, v in b.items()}
    flags: set[str] = set()
    for b in cpus or blocks:
        flags.update((b.get("flags") or b.get("features") or "").split())
    names = [b.get("model name") or _arm_name(b) for b in cpus]
    name = next((n for n in names if n), None)
    if name is None or (name.startswith("ARMv") and _arm_name(everything)):
        name = _arm_name(everything) or everything.get("model name") or everything.get("hardware")
    cores = {(b.get("physical id", "0"), b["core id"]) for b in cpus if "core id" in b}
    return CpuInfo(
        name=name or "unknown",
        logical_cores=len(cpus) or 1,
        physical_cores=len(cores) or None,
        isa=isa_from_flags(flags),
        board=extra.get("model"),
    )


def _sysfs_physical_cores(root: Path = Path("/sys/devices/system/cpu")) -> int | None:
    """Distinct (package, core) pairs from sysfs topology; None when absent."""
    pairs = set()
    for topo in root.glob("cpu[0-9]*/topology"):
        try:
            pkg = (topo / "physical_package_id").read_text().strip()
            core = (topo / "core_id").read_text().strip()
        except OSError:
            continue
        pairs.add((pkg, core))
    return len(pairs) or None


def _read_first(*paths: str) -> str | None:
    for p in paths:
        try:
            text = Path(p).read_text(errors="replace").strip("\x00 \n")
        except OSError:
            continue
        if text:
            return text
    return None


def _probe_linux() -> CpuInfo:
    info = parse_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))
    board = info.board or _read_first(
        "/proc/device-tree/model", "/sys/firmware/devicetree/base/model", "/sys/class/dmi/id/product_name"
    )
    physical = _sysfs_physical_cores() or info.physical_cores
    return CpuInfo(info.name, os.cpu_count() or info.logical_cores, physical, info.isa, board)


def _sysctl(name: str) -> str | None:
    try:
        out = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def _probe_macos() -> CpuInfo:
    arm = platform.machine().lower() in ("arm64", "aarch64")
    flags = {"asimd", "asimdhp"} if arm else set()
    for key, flag in (
        ("hw.optional.arm.FEAT_DotProd", "asimddp"),
        ("hw.optional.arm.FEAT_I8MM", "i8mm"),
        ("hw.optional.arm.FEAT_BF16", "bf16"),
        ("hw.optional.avx2_0", "avx2"),
        ("hw.optional.fma", "fma"),
        ("hw.optional.avx512f", "avx512f"),
        ("hw.optional.sse4_2", "sse4_2"),
        ("hw.optional.avx1_0", "avx"),
    ):
        if _sysctl(key) == "1":
            flags.add(flag)
    physical = _sysctl("hw.physicalcpu")
    return CpuInfo(
        name=_sysctl("machdep.cpu.brand_string") or platform.processor() or "unknown",
        logical_cores=os.cpu_count() or 1,
        physical_cores=int(physical) if physical and physical.isdigit() else None,
        isa=isa_from_flags(flags),
        board=_sysctl("hw.model"),
    )


def numpy_cpu_flags() -> set[str]:
    """Kernel-style flag names from numpy's runtime CPU dispatch (any OS)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as feats
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as feats
    names = {
        "SSE42": "sse4_2",
        "AVX": "avx",
        "AVX2": "avx2",
        "FMA3": "fma",
        "F16C": "f16c",
        "AVX512F": "avx512f",
        "AVX512BW": "avx512bw",
        "AVX512VL": "avx512vl",
        "AVX512VNNI": "avx512_vnni",
        "AVX512BF16": "avx512_bf16",
        "AVX512FP16": "avx512_fp16",
        "NEON": "neon",
        "ASIMD": "asimd",
        "ASIMDHP": "asimdhp",
        "ASIMDDP": "asimddp",
        "SVE": "sve",
    }
    return {flag for key, flag in names.items() if feats.get(key)}


def _probe_other() -> CpuInfo:
    """Windows and the rest: platform for the name, numpy's dispatcher for the ISA."""
    return CpuInfo(
        name=platform.processor() or platform.machine() or "unknown",
        logical_cores=os.cpu_count() or 1,
        physical_cores=None,
        isa=isa_from_flags(numpy_cpu_flags()),
    )


def machine_label() -> str:
    """``"AMD EPYC (x86_64)"``: this machine's CPU name and architecture, as a bundle's figures name the
    machine they were measured on (and ``edgekit verify`` compares)."""
    try:
        return f"{probe_cpu().name} ({platform.machine()})"
    except Exception:  # noqa: BLE001 - a label only; never fail a deploy or a verify over it
        return platform.machine()


def probe_cpu() -> CpuInfo:
    """Describe this machine's CPU (Linux: /proc + sysfs; macOS: sysctl; else best effort).

    Raises:
        OSError: when the OS source cannot be read (the caller records why).
    """
    system = platform.system()
    if system == "Linux" and Path("/proc/cpuinfo").exists():
        info = _probe_linux()
    elif system == "Darwin":
        info = _probe_macos()
    else:
        info = _probe_other()
    if info.physical_cores is None:
        try:
            import psutil
        except ImportError:
            return info
        return CpuInfo(info.name, info.logical_cores, psutil.cpu_count(logical=False), info.isa, info.board)
    return info

from edgekit.errors import require_argument