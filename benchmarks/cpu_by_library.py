"""Where a process's CPU goes, by library: onnxruntime, OpenCV, the Python interpreter, ...

Why: on a shared 2-core VM the FPS of two ways of running a model swing by
more than the difference being looked for, and thread CPU time says how much
each thread worked, not on what. Sampling the process with Linux ``perf``
while it runs a way for a few seconds gives each library's share of the
samples; times the CPU per frame of the same window, that is milliseconds per
frame per library, which says what a pipeline costs beyond inference (the
OpenCV pixels, the interpreter's glue) without relying on FPS at all.

Used by ``benchmarks/pipeline.py --by-library``; needs ``perf`` (Debian:
``linux-perf``) and permission to attach to this process (root, or
``kernel.perf_event_paranoid`` <= 1).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

# first match wins: a shared object's file name -> the library it counts for
GROUPS = (
    ("onnxruntime", ("onnxruntime",)),
    ("OpenVINO", ("openvino", "libtbb")),
    ("OpenCV", ("cv2", "opencv")),
    ("NumPy", ("_multiarray", "numpy", "libopenblas", "libscipy_openblas")),
    ("Python", ("libpython", "python3")),
    ("C/C++ runtime", ("libc.so", "libc-", "libm.so", "libstdc++", "ld-linux", "libgomp", "libpthread", "[vdso]")),
    ("kernel", ("[kernel",)),
)


def available() -> str | None:
    """``None`` when ``perf`` can sample this process; else why not, in one line."""
    if shutil.which("perf") is None:
        return "perf is not installed (Debian: apt-get install linux-perf)"
    try:
        level = int(Path("/proc/sys/kernel/perf_event_paranoid").read_text())
    except (OSError, ValueError):
        level = 2
    if level > 1 and os.geteuid() != 0:
        return f"kernel.perf_event_paranoid is {level}: run as root or set it to 1"
    return None


def group(dso: str) -> str:
    """The library a shared object's samples count for (``other`` when none matches)."""
    name = os.path.basename(dso)
    for library, needles in GROUPS:
        if any(needle in name for needle in needles):
            return library
    return "other"


def parse_report(text: str) -> tuple[dict[str, float], int]:
    """``(shares by library (0..1), samples)`` from ``perf report --sort dso --stdio -q -n``
    output (lines ``  84.49%   12345  libfoo.so``)."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) != 3 or not parts[0].endswith("%") or not parts[1].isdigit():
            continue
        library = group(parts[2].strip())
        counts[library] = counts.get(library, 0) + int(parts[1])
    total = sum(counts.values())
    return ({k: v / total for k, v in counts.items()} if total else {}), total


class Sampled:
    """``with Sampled() as s: ...`` samples this process while the block runs; then ``s.shares``
    (library -> share of the samples) and ``s.cpu_s`` (the process's CPU seconds in the block)."""

    def __init__(self, hz: int = 1999) -> None:
        self.hz = hz
        self.shares: dict[str, float] = {}
        self.cpu_s = 0.0
        self.samples = 0

    def __enter__(self) -> Sampled:  # noqa: PYI034 - a plain class, never subclassed
        self._dir = tempfile.TemporaryDirectory(prefix="edgekit-perf-")
        self._data = Path(self._dir.name) / "perf.data"
        self._proc = subprocess.Popen(
            ["perf", "record", "-q", "-F", str(self.hz), "-p", str(os.getpid()), "-o", str(self._data)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.3)  # perf attaches to every thread before the timed work starts
        if self._proc.poll() is not None:
            raise RuntimeError(f"perf record failed: {self._proc.stderr.read().decode(errors='replace').strip()}")
        self._t0 = sum(os.times()[:2])
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu_s = sum(os.times()[:2]) - self._t0
        self._proc.send_signal(signal.SIGINT)
        try:
            self._proc.wait(timeout=30)
            report = subprocess.run(["perf", "report", "-i", str(self._data), "--sort", "dso", "--stdio", "-q", "-n"],
                                    check=False, capture_output=True, text=True, timeout=120)
            self.shares, self.samples = parse_report(report.stdout)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
            self._dir.cleanup()

    def ms_per_frame(self, frames: int) -> dict[str, float]:
        """Each library's CPU milliseconds per frame over the block (share x process CPU / frames)."""
        per_frame = self.cpu_s * 1e3 / max(frames, 1)
        return {library: share * per_frame for library, share in self.shares.items()}


def table(ways: dict[str, dict[str, float]], baseline: str) -> str:
    """Libraries down, ways across, in ms per frame, then each other way's difference from
    ``baseline`` (columns ``<way> +/-``)."""
    libraries = sorted({lib for way in ways.values() for lib in way},
                       key=lambda lib: -max(way.get(lib, 0.0) for way in ways.values()))
    names = list(ways)
    others = [n for n in names if n != baseline]
    head = f"  {'library':14}" + "".join(f"{n:>11}" for n in names) + "".join(f"{n + ' +/-':>14}" for n in others)
    lines = [head]
    for lib in [*libraries, "total"]:
        values = {n: (sum(w.values()) if lib == "total" else w.get(lib, 0.0)) for n, w in ways.items()}
        lines.append(f"  {lib:14}" + "".join(f"{values[n]:11.3f}" for n in names)
                     + "".join(f"{values[n] - values[baseline]:+14.3f}" for n in others))
    return "\n".join(lines)
