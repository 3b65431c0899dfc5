"""Small statistics for benchmarks: percentiles, a distribution-free confidence
interval of the median, and a warm-up "has it settled?" test.

Why distribution-free: latencies on a shared machine are skewed with long
tails; the order-statistics interval of the median assumes nothing about
their shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z95 = 1.959964


def percentiles(samples: Sequence[float], points: Sequence[float] = (50, 90, 95, 99)) -> dict[str, float]:
    """``{"p50": ..., "p90": ..., "min": ..., "max": ..., "mean": ..., "std": ...}`` of ``samples``."""
    data = np.asarray(samples, dtype=np.float64)
    if data.size == 0:
        return {}
    out = {f"p{int(p)}": float(np.percentile(data, p)) for p in points}
    out.update(min=float(data.min()), max=float(data.max()), mean=float(data.mean()), std=float(data.std()))
    return out


def median_ci(samples: Sequence[float], z: float = Z95) -> tuple[float, float, float]:
    """Median and its ~95% confidence interval from order statistics.

    The ranks ``n/2 -+ z*sqrt(n)/2`` of the sorted sample bound the median
    (binomial approximation, no assumption on the latency distribution).

    Returns:
        ``(median, low, high)``; with fewer than 3 samples the interval is
        ``(-inf, inf)``: too few runs never count as a tight estimate.
    """
    data = np.sort(np.asarray(samples, dtype=np.float64))
    n = data.size
    if n == 0:
        return math.nan, -math.inf, math.inf
    median = float(np.median(data))
    if n < 3:
        return median, -math.inf, math.inf
    half = z * math.sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half) - 1)
    hi = min(n - 1, math.ceil(n / 2 + half))
    return median, float(data[lo]), float(data[hi])


def relative_ci(samples: Sequence[float]) -> float:
    """Half-width of the median's confidence interval divided by the median (inf when unknown)."""
    median, lo, hi = median_ci(samples)
    if not math.isfinite(lo) or median <= 0:
        return math.inf
    return (hi - lo) / 2 / median


def settled(samples: Sequence[float], window: int = 5, tolerance: float = 0.05) -> bool:
    """True when the median of the last ``window`` samples is within ``tolerance``
    of the median of the ``window`` before them (warm-up is over)."""
    if len(samples) < 2 * window:
        return False
    last = float(np.median(samples[-window:]))
    before = float(np.median(samples[-2 * window : -window]))
    return abs(last - before) <= tolerance * before
