"""Speed-ups as the GUI shows them: with their ~95 % interval, and a "noisy — rerun longer"
badge when that interval is wide or the machine was busy while the plan measured.

Why: "130x faster than PyTorch" came from a 5.4 s torch-eager median distorted by load, shown
without a caveat. The planner keeps each median's interval (``Candidate.ci_rel``) and each
speed-up's (``Candidate.speedup_ci``, :func:`edgekit.planner.rules.speedup_interval`); this
module turns them into words and decides when a number is too uncertain to quote bare.
"""

from __future__ import annotations

import os
from typing import Any

NOISY = "noisy — rerun longer"
WIDE = 1.5  # an interval whose ends differ by more than 1.5x cannot support a headline number
BUSY_LOAD = 1.0  # load average per core above which other work competed with the measurement


def machine_load() -> float | None:
    """The 1-minute load average per core now (None where the OS does not say)."""
    try:
        return os.getloadavg()[0] / max(1, os.cpu_count() or 1)
    except (AttributeError, OSError):
        return None


def is_wide(interval: tuple[float, float] | None) -> bool:
    """No interval (too few runs), or one whose ends differ by more than :data:`WIDE` x."""
    return interval is None or interval[0] <= 0 or interval[1] / interval[0] > WIDE


def speedup_words(speedup: float | None, interval: tuple[float, float] | None, busy: bool = False) -> tuple[str, bool]:
    """``("1.16x (1.05–1.30x)", noisy)``; "–" without a speed-up. ``noisy``: the interval is wide
    or missing, or the machine was ``busy``; the text then ends with the badge."""
    if speedup is None:
        return "–", False
    if interval is not None and interval[0] <= 1.0 <= interval[1]:
        text = f"~1x, a tie ({interval[0]:.2f}–{interval[1]:.2f}x)"
    else:
        text = f"{speedup:.3g}x" + ("" if interval is None else f" ({interval[0]:.3g}–{interval[1]:.3g}x)")
    noisy = is_wide(interval) or busy
    return (f"{text} · {NOISY}" if noisy else text), noisy


def candidate_speedup(c: Any, busy: bool = False) -> tuple[str, bool]:
    """A candidate's speed-up over its backend's FP32 in words (estimates never get a badge:
    their band is in the latency column)."""
    if c.speedup is None:
        return "–", False
    if getattr(c, "is_estimate", False):
        return f"{c.speedup:.3g}x (estimated)", False
    return speedup_words(c.speedup, c.speedup_ci, busy)


def eager_sentence(report: Any, busy: bool = False) -> str:
    """" — 130x faster than PyTorch eager FP32 (60–210x · noisy — rerun longer)", or "" without one."""
    if not report.speedup_vs_eager:
        return ""
    from edgekit.planner.rules import speedup_interval

    eager = next((c for c in report.candidates if str(c.method) == "eager" and c.p50_ms), None)
    best = next((c for c in report.candidates if c.key == report.best_key), None)
    interval = speedup_interval(best, eager) if best is not None and eager is not None else None
    span = "" if interval is None else f" ({interval[0]:.3g}–{interval[1]:.3g}x)"
    badge = f" · {NOISY}" if is_wide(interval) or busy else ""
    return f" — {report.speedup_vs_eager:.3g}x faster than PyTorch eager FP32{span}{badge}"
