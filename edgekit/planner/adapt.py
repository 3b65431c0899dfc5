"""``--seconds`` that adapts: re-measure the candidates tied with the fastest until their intervals separate.

Why: a fixed budget per candidate either wastes time on candidates that are
clearly ordered or leaves the top ones "within noise" on a busy machine (at
``--seconds 2`` an FP16 model was once printed 1.44x faster than FP32 on a CPU
with no FP16 arithmetic). Only the group tied with the fastest matters for the
choice, so only it is measured again, interleaved, with twice the time per
round, until no candidate overlaps the fastest or :data:`MAX_ROUNDS` is spent;
a tie that remains is then broken by the stated tie rule (``rules.TIE_RULE``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgekit.planner import rules
from edgekit.planner.report import Candidate

MAX_ROUNDS = 2  # extra rounds at 2x, 4x the seconds: at most 6x the time for the tied few


def tied_with_fastest(cands: list[Candidate]) -> list[Candidate]:
    """The fastest measured, unrejected candidate and every candidate tied with it ([] when none is)."""
    timed = [c for c in cands if c.p50_ms and c.status in ("valid", "chosen")]
    if len(timed) < 2:
        return []
    fastest = min(timed, key=lambda c: c.p50_ms)
    group = [c for c in timed if c.key != fastest.key and rules.tied(fastest, c) and _resolvable(fastest, c)]
    return [fastest, *group] if group else []


def _close_to_fastest(cands: list[Candidate]) -> list[Candidate]:
    """The fastest and every candidate still tied with it once none can be separated (medians within
    ``rules.TIE_PCT``): the log must not call them separate ([] when the fastest stands alone)."""
    timed = [c for c in cands if c.p50_ms and c.status in ("valid", "chosen")]
    if len(timed) < 2:
        return []
    fastest = min(timed, key=lambda c: c.p50_ms)
    group = [c for c in timed if c.key != fastest.key and rules.tied(fastest, c)]
    return [fastest, *group] if group else []


def _resolvable(a: Candidate, b: Candidate) -> bool:
    """Medians further apart than ``rules.TIE_PCT``: more time could order them (closer ones are a tie)."""
    return 100 * abs(b.p50_ms / a.p50_ms - 1) > rules.TIE_PCT


def separate(cands: dict[str, Candidate], remeasure: Callable[[list[str], float], None], seconds: float,
             log: list[str], rounds: int = MAX_ROUNDS) -> None:
    """Re-measure the group tied with the fastest (``remeasure(keys, seconds)`` updates ``cands``) with
    doubling seconds until it separates or ``rounds`` are spent; say what happened in ``log``."""
    for r in range(1, rounds + 1):
        group = tied_with_fastest(list(cands.values()))
        if not group:
            if r > 1:
                close = _close_to_fastest(list(cands.values()))
                log.append(f"Re-measured the candidates tied with the fastest ({r - 1} extra round(s)): "
                           + (f"{', '.join(c.key for c in close)} now lie within {rules.TIE_PCT:g}% of each "
                              "other, a tie more time would not break; the tie rule decides." if close
                              else "their intervals now separate."))
            return
        secs = seconds * 2**r
        remeasure([c.key for c in group], secs)
    still: Any = tied_with_fastest(list(cands.values()))
    if still:
        log.append(f"{', '.join(c.key for c in still)} stay within noise of each other after {rounds} extra "
                   f"round(s) (up to {seconds * 2**rounds:g} s each); the tie rule decides.")
