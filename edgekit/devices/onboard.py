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


def measure_bundles(bundles: list[str | Path], seconds: float = 2.0) -> list[dict]:
    """:func:`measure_bundle` for several bundles, their models timed interleaved (one
    :func:`~edgekit.evaluation.benchmark.bench_items` over all): every bundle is verified before any runs.

    Why together: timed one after another, in separate commands, drift on the device (a Pi that
    throttles, a neighbour's load) lands on whichever candidate ran then. A loopback device on a
    shared 2-core VM timed onnxruntime FP16 at 1.56x its FP32, which it runs as fast (0.98x
    interleaved here), and a plan chose it for that."""
    import edgekit
    from edgekit.deployment import Bundle, verify_bundle
    from edgekit.evaluation.benchmark import BenchSettings, bench_items

    start = time.perf_counter()
    reports = [verify_bundle(b) for b in bundles]  # each opened (checksums) before anything runs
    opened = []
    try:
        for b in bundles:
            opened.append(Bundle.open(b))
        items = [(o.model(), r.backend, o.manifest.device, o.manifest.precision) for o, r in zip(opened, reports)]
        settings = BenchSettings(mode="latency", seconds=seconds, warmup_seconds=min(2.0, seconds))
        results = bench_items(items, settings)
    finally:
        for o in opened:
            o.close()
    each = (time.perf_counter() - start) / max(1, len(bundles))
    return [{"edgekit": edgekit.__version__, "bundle": str(b), "verify": r.to_dict(), "bench": res.to_dict(),
             "seconds": each} for b, r, res in zip(bundles, reports, results)]


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
