"""What runs ON the device: ``edgekit device measure BUNDLE --json``.

The bundle is verified first (every sha256; a half-copied or modified bundle
is refused before anything runs), then its packaged validation sample is
re-run (accuracy and agreement with the build machine), then its model is
timed by edgekit's own benchmark, with the backend, device and precision the
manifest names. One JSON object comes back on stdout.
"""

from __future__ import annotations

import time
from pathlib import Path


def measure_bundle(bundle: str | Path, seconds: float = 2.0) -> dict:
    """Verify ``bundle``, re-run its sample, benchmark its model here; return a JSON-ready dict.

    Returns:
        ``{"edgekit", "bundle", "verify": VerifyReport dict, "bench": BenchResult dict,
        "seconds": time spent inside this function}``.

    Raises:
        BundleError: the bundle is incomplete or modified (it is never run then).
        BackendUnavailable: its backend cannot run on this device.
    """
    import edgekit
    from edgekit.deployment import Bundle, verify_bundle
    from edgekit.evaluation.benchmark import BenchSettings, bench_items

    start = time.perf_counter()
    report = verify_bundle(bundle)  # opens (checksums) before it runs anything
    opened = Bundle.open(bundle)
    try:
        m = opened.manifest
        settings = BenchSettings(mode="latency", seconds=seconds, warmup_seconds=min(2.0, seconds))
        result = bench_items([(opened.model(), report.backend, m.device, m.precision)], settings)[0]
    finally:
        opened.close()
    return {"edgekit": edgekit.__version__, "bundle": str(bundle), "verify": report.to_dict(),
            "bench": result.to_dict(), "seconds": time.perf_counter() - start}
