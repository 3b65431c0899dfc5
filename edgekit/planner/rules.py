"""The planner's rules as pure functions over measured figures (easy to test, easy to read).

- **never slower**: a compressed variant slower than its own FP32 on the
  same backend and device is rejected, with both figures and a plain reason;
- **never silently worse**: a drop over budget is rejected, with its interval;
- **budgets**: latency and size limits reject with the excess;
- **choose** by the objective; **regret** = chosen vs fastest valid.
"""

from __future__ import annotations

import math
from dataclasses import replace

from edgekit.errors import BudgetNotMet
from edgekit.planner.report import Candidate

_INT8_ISA = ("avx512_vnni", "avx_vnni", "amx_int8", "dotprod", "i8mm")


def paired_drop(ref_correct: list[bool], cand_correct: list[bool]) -> tuple[float, tuple[float, float]]:
    """Accuracy drop (ref - candidate) on the same images, with a ~95 % interval.

    Paired: only images where the two disagree carry information, so a
    candidate that agrees everywhere has drop 0 with a zero-width interval.
    """
    n = max(1, len(ref_correct))
    b = sum(1 for r, c in zip(ref_correct, cand_correct) if r and not c)
    c = sum(1 for r, c_ in zip(ref_correct, cand_correct) if c_ and not r)
    drop = (b - c) / n
    var = max(0.0, (b + c) / n - drop * drop) / n
    half = 1.959963984540054 * math.sqrt(var)
    return drop, (drop - half, drop + half)


def slower_reason(method: str, isa: tuple[str, ...], device: str) -> str:
    """A plain explanation of why a compressed variant can run slower here."""
    if method.startswith("int8") and device == "cpu" and not any(f in isa for f in _INT8_ISA):
        return ("this CPU has no VNNI/dot-product instructions, so INT8 convolutions gain little and the "
                "quantize/dequantize steps cost extra (INT8 runs as emulated)")
    if method.startswith("int8"):
        return "the quantize/dequantize overhead outweighs the compute saved (a small or Gemm-bound model)"
    if method == "fp16" and device == "cpu" and "avx512_fp16" not in isa and "fp16" not in isa:
        return "this CPU has no FP16 arithmetic: FP16 tensors are converted back to FP32 at run time"
    if method == "pruned":
        return "pruning removed too little work to pay off on this backend"
    return "it measured slower"


def never_slower(cand: Candidate, fp32: Candidate | None, isa: tuple[str, ...]) -> Candidate:
    """Reject ``cand`` when its p50 (or, on an absent target, its estimate) exceeds its own
    FP32's on the same backend/device."""
    if fp32 is None or cand.key == fp32.key or cand.latency_ms is None or fp32.latency_ms is None:
        return cand
    if cand.is_estimate != fp32.is_estimate:
        return cand
    mine, base = cand.latency_ms, fp32.latency_ms
    speedup = base / mine
    cand = replace(cand, speedup=speedup)
    if mine > base:
        why = slower_reason(cand.method, isa, cand.device)
        kind = "estimated" if cand.is_estimate else "p50"
        return reject(cand, f"slower than FP32 on {cand.backend}: {mine:.3g} ms vs {base:.3g} ms {kind} "
                            f"({speedup:.2f}x); {why}")
    return cand


def accuracy_rule(cand: Candidate, max_drop: float) -> Candidate:
    """Reject when the measured drop exceeds ``max_drop``; the interval is always quoted."""
    if cand.drop is None or cand.drop <= max_drop + 1e-12:
        return cand
    lo, hi = cand.drop_ci or (cand.drop, cand.drop)
    return reject(cand, f"accuracy drop {100 * cand.drop:.2f} points (95% CI {100 * lo:.2f}..{100 * hi:.2f}) "
                        f"exceeds the {100 * max_drop:.2f}-point budget")


def budget_rule(cand: Candidate, latency_ms: float | None, model_mb: float | None) -> Candidate:
    """Reject over the latency (p50 or estimate centre) or size budget."""
    lat = cand.latency_ms
    if latency_ms is not None and lat is not None and lat > latency_ms:
        kind = "estimated" if cand.is_estimate else "p50"
        cand = reject(cand, f"{kind} latency {lat:.3g} ms is over the {latency_ms:g} ms budget")
    if model_mb is not None and cand.size_mb > model_mb:
        cand = reject(cand, f"size {cand.size_mb:.2f} MB is over the {model_mb:g} MB budget")
    return cand


def reject(cand: Candidate, reason: str) -> Candidate:
    """Mark ``cand`` rejected, keeping earlier reasons."""
    status = "failed" if cand.status == "failed" else "rejected"
    return replace(cand, status=status, reasons=(*cand.reasons, reason))


def score(cand: Candidate, objective: str) -> tuple:
    """Sort key: smaller is better for the objective (latency breaks ties)."""
    lat = cand.latency_ms if cand.latency_ms is not None else math.inf
    if objective == "size":
        return (cand.size_mb, lat)
    if objective == "accuracy":
        return (-(cand.accuracy or 0.0), lat)
    if objective == "efficiency":
        return (-(cand.accuracy or 0.0) / max(lat, 1e-9), lat)
    return (lat, cand.size_mb)


def choose(cands: list[Candidate], objective: str) -> Candidate:
    """The best valid candidate for ``objective``.

    Raises:
        BudgetNotMet: no candidate is valid; ``closest`` lists the three nearest misses.
    """
    valid = [c for c in cands if c.status == "valid"]
    if valid:
        return min(valid, key=lambda c: score(c, objective))
    near = sorted((c for c in cands if c.status == "rejected"), key=lambda c: (len(c.reasons), score(c, objective)))[:3]
    lines = "; ".join(f"{c.key}: {' / '.join(c.reasons)}" for c in near)
    raise BudgetNotMet(f"no candidate meets the budget; closest: {lines or 'none could be built'}", closest=near)


def regret(chosen: Candidate, cands: list[Candidate]) -> tuple[float, float]:
    """How much slower the chosen candidate is than the fastest valid one: (ms, %)."""
    lats = [c.latency_ms for c in cands if c.status in ("valid", "chosen") and c.latency_ms is not None]
    if not lats or chosen.latency_ms is None:
        return 0.0, 0.0
    gap = chosen.latency_ms - min(lats)
    return gap, 100.0 * gap / min(lats)


TIE_PCT = 2.0  # medians this close are a tie whatever their intervals say
WIDE_CI = 0.25  # a median known only to +-25 % or worse cannot order two candidates


def margin_note(best: Candidate, other: Candidate) -> str:
    """How far the measured latency gap between two candidates can be trusted ("" = a real gap).

    Why: "within measurement noise" must mean the gap lies inside both medians'
    ~95 % intervals *and* those intervals are narrow. A short run can give
    intervals wider than the medians themselves; they overlap any gap, so a
    +114 % difference would read as noise when it is simply unknown. That
    case, and a run too short to have an interval, says so and how to fix it.
    Estimates get no note: their band is printed with them.
    """
    if not best.p50_ms or not other.p50_ms:
        return ""
    if 100 * abs(other.p50_ms / best.p50_ms - 1) <= TIE_PCT:
        return "within measurement noise"
    rels = (best.ci_rel, other.ci_rel)
    if None not in rels:
        (a, ra), (b, rb) = (best.p50_ms, best.ci_rel), (other.p50_ms, other.ci_rel)
        if max(a * (1 - ra), b * (1 - rb)) > min(a * (1 + ra), b * (1 + rb)):
            return ""  # the intervals do not overlap: the gap is real
        if max(rels) <= WIDE_CI:
            return "within measurement noise"
    known = [r for r in rels if r is not None]
    width = f" (95% interval up to +-{100 * max(known):.0f}% of the median)" if len(known) == 2 else ""
    return f"too noisy to rank{width}: rerun with more seconds per candidate (--seconds)"

def verify_line(order: list[str], again: dict[str, float]) -> str:
    """The decision-log line for ``--verify``: ``order`` is the first run's ranking (fastest
    first), ``again`` the re-measured p50s. A changed order is called noise only when the
    re-measured gap to the chosen candidate is within the tie margin; otherwise the log
    says the ranking is not stable, rather than hiding a real difference."""
    figures = ", ".join(f"{k} {v:.3g} ms" for k, v in again.items())
    if not order:
        return "Verify: no candidate could be re-measured."
    if sorted(again, key=again.get) == order:
        return f"Verified: re-measuring the top three gave the same order ({figures})."
    chosen, fastest = order[0], min(again, key=again.get)
    if fastest == chosen:
        return f"Verified: the chosen {chosen} is still the fastest; the runners-up swapped places ({figures})."
    gap = 100 * (again[chosen] / again[fastest] - 1)
    verdict = ("within measurement noise" if gap <= TIE_PCT else
               "the ranking is not stable on this machine: rerun with more --seconds, on a quieter machine")
    return (f"Verify: this time {fastest} measured {gap:.1f}% faster than the chosen {chosen} -- {verdict} "
            f"({figures}).")
