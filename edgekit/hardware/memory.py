"""How much memory the machine has and how much is free right now.

Why: the planner rejects candidates whose working set would not fit on the
target, and a report says what share of memory a model takes.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def parse_meminfo(text: str) -> tuple[int, int | None]:
    """Parse Linux ``/proc/meminfo`` text into ``(total_bytes, available_bytes)``.

    ``available`` is ``MemAvailable`` (kernels >= 3.14), else None.

    Raises:
        ValueError: when the text has no ``MemTotal`` line.
    """
    require_argument(text, "parse_meminfo", "the text of /proc/meminfo (str)", str)
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            scale = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
            values[key.strip()] = int(parts[0]) * scale
    if "MemTotal" not in values:
        raise ValueError("no MemTotal line in /proc/meminfo")
    return values["MemTotal"], values.get("MemAvailable")


def probe_memory() -> tuple[int, int | None]:
    """Return ``(total_bytes, available_bytes)`` of this machine.

    Uses psutil when installed (every OS), else /proc/meminfo on Linux, else
    ``os.sysconf`` (total only).

    Raises:
        OSError: when no source works (the caller records why).
    """
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        vm = psutil.virtual_memory()
        return int(vm.total), int(vm.available)
    if platform.system() == "Linux" and Path("/proc/meminfo").exists():
        return parse_meminfo(Path("/proc/meminfo").read_text())
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), None
    except (AttributeError, ValueError, OSError) as exc:
        raise OSError(f"cannot read memory size on {platform.system()}: install psutil ({exc})") from exc

from edgekit.errors import require_argument