"""Two quick measurements of what the machine can really do.

Why: a model's measured latency means little on its own; set against the
machine's measured peak FP32 GFLOP/s and memory bandwidth, a report can say
"this model uses 35 % of the compute" and the planner can tell compute-bound
from memory-bound models. numpy's BLAS (all threads) stands in for "what a
good kernel reaches here"; vendor peaks on paper are often far off.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from edgekit.progress import Progress, emit


def _best_seconds(fn: Callable[[], object], repeats: int, budget_s: float) -> float:
    """Fastest of ``repeats`` timed calls, stopping early when ``budget_s`` is spent."""
    fn()  # warm-up: page faults, BLAS thread start
    best = float("inf")
    start = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return best


def measure_peak_gflops(
    sizes: tuple[int, ...] = (256, 512, 1024, 1536),
    repeats: int = 5,
    budget_s: float = 2.5,
    progress: Progress | None = None,
) -> float:
    """Best FP32 GFLOP/s of a square float32 matrix product over ``sizes``.

    Args:
        sizes: square matrix sides tried; the best one counts.
        repeats: timed products per size (best of them counts).
        budget_s: rough total time limit, split over the sizes.
        progress: receives a "microbenchmark" :class:`~edgekit.progress.ProgressEvent` as each size starts.

    Returns:
        GFLOP/s, counting ``2 * n**3`` operations per product.
    """
    rng = np.random.default_rng(0)
    best = 0.0
    for i, n in enumerate(sizes):
        emit(progress, "microbenchmark", f"matmul {n}x{n}", done=i, total=len(sizes), fraction=i / len(sizes))
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        out = np.empty((n, n), dtype=np.float32)
        product = lambda a=a, b=b, out=out: np.matmul(a, b, out=out)
        seconds = _best_seconds(product, repeats, budget_s / len(sizes))
        best = max(best, 2.0 * n**3 / seconds / 1e9)
    return best


def measure_mem_bandwidth(
    mib: int = 128, repeats: int = 5, budget_s: float = 1.5, progress: Progress | None = None
) -> float:
    """Copy bandwidth in GB/s: best time to copy a ``mib`` MiB array into another.

    Counts read + write (``2 * size`` bytes per copy), as STREAM "copy" does.
    The array is far larger than any CPU cache so it measures DRAM.
    """
    emit(progress, "microbenchmark", f"copy {mib} MiB", fraction=0.0)
    src = np.ones(mib * 2**20 // 8, dtype=np.float64)
    dst = np.empty_like(src)
    seconds = _best_seconds(lambda: np.copyto(dst, src), repeats, budget_s)
    return 2.0 * src.nbytes / seconds / 1e9
