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

from edgekit.backends._common import beside_a_comparison
from edgekit.errors import BudgetNotMet
from edgekit.planner.report import Candidate
from edgekit.types import CandidateStatus as Status
from edgekit.types import Method


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
    if method.startswith("int8"):  # the measured cause (VNNI or not) comes from why_slow's profile
        return "the quantize/dequantize overhead outweighs the compute saved (a small or Gemm-bound model)"
    if method == Method.FP16 and device == "cpu" and "avx512_fp16" not in isa and "fp16" not in isa:
        return "this CPU has no FP16 arithmetic: FP16 tensors are converted back to FP32 at run time"
    if method == Method.PRUNED:
        return "pruning removed too little work to pay off on this backend"
    return "it measured slower"


def never_slower(cand: Candidate, fp32: Candidate | None, isa: tuple[str, ...], why: str | None = None,
                 objective: str = "latency", timed_ci: tuple[float, float] | None = None) -> Candidate:
    """Reject ``cand`` when its p50 (or, on an absent target, its estimate) exceeds its own
    FP32's on the same backend/device by more than the noise (a tie is kept, with a note).

    ``why``: the measured cause (:mod:`edgekit.planner.why_slow`); else a generic reason.
    ``objective`` "size": the user asked for the smallest file, so being slower is said in a
    note and never a reason to reject (the latency budget, when given, still applies).
    ``timed_ci``: for an estimate scaled by a speed-up timed here, that speed-up's interval (an
    estimate has none of its own), so a ratio within noise of 1.0 is a tie there too."""
    if fp32 is None or cand.key == fp32.key or cand.latency_ms is None or fp32.latency_ms is None:
        return cand
    if cand.is_estimate != fp32.is_estimate:
        return cand
    mine, base = cand.latency_ms, fp32.latency_ms
    speedup = base / mine
    ci = speedup_interval(cand, fp32) or timed_ci
    cand = replace(cand, speedup=speedup, speedup_ci=ci)
    if speedup > 1.0 and runs_as_fp32(cand, fp32):
        lo, hi = ci or (speedup, speedup)
        note = (f"runs in FP32 on {cand.backend} here (its FP16 weights are widened when it is compiled): "
                f"the same arithmetic as FP32, so the {speedup:.2f}x measured is noise; a tie with FP32")
        return replace(cand, speedup_ci=(min(lo, 1.0), max(hi, 1.0)), notes=(*cand.notes, note))
    if mine > base and ci is not None and ci[0] <= 1.0 <= ci[1]:  # not measurably slower: a tie, kept
        note = f"as fast as FP32 on {cand.backend} within noise (speed-up {ci[0]:.2f}..{ci[1]:.2f}x)"
        return replace(cand, notes=(*cand.notes, note))
    if mine > base and ci is None and cand.is_estimate and 100 * (mine / base - 1) <= TIE_PCT:
        # two estimates this close cannot be ordered (an int8-ac that kept every layer float was
        # "slower than FP32: 60.3 ms vs 60.2 ms estimated" and rejected with a generic cause)
        note = f"as fast as FP32 on {cand.backend} as estimated ({mine:.3g} vs {base:.3g} ms: a tie)"
        return replace(cand, notes=(*cand.notes, note))
    if mine > base:
        why = why or slower_reason(cand.method, isa, cand.device)
        kind = "estimated" if cand.is_estimate else "p50"
        text = f"slower than FP32 on {cand.backend}: {mine:.3g} ms vs {base:.3g} ms {kind} ({speedup:.2f}x)"
        if objective == "size":
            return replace(cand, notes=(*cand.notes, f"{text}; kept: the objective is size"))
        return reject(cand, f"{text}; {why}")
    return cand


def runs_as_fp32(cand: Candidate, fp32: Candidate) -> bool:
    """True for an FP16 candidate that its runtime executes in FP32 (OpenVINO on a CPU without
    FP16 arithmetic reports ``precision`` fp32): weights stored in FP16 and widened (at compile
    time, or per run for some layers), then the computation of ``fp32``. It cannot be faster
    than ``fp32``, only slower (the widening); yet on a noisy machine a short measurement can
    put it ahead by more than the intervals (1.18x once here; 0.99x in a long interleaved run),
    so :func:`never_slower` never prints such a speed-up."""
    return str(cand.method) == Method.FP16 and str(cand.precision) == str(fp32.precision) == "fp32"


def interval(cand: Candidate) -> tuple[float, float] | None:
    """The ~95 % interval of a measured median, ``None`` when unknown (estimates, too few runs)."""
    if cand.p50_ms is None or cand.ci_rel is None or not math.isfinite(cand.ci_rel):
        return None
    return cand.p50_ms * (1 - cand.ci_rel), cand.p50_ms * (1 + cand.ci_rel)


def speedup_interval(cand: Candidate, base: Candidate) -> tuple[float, float] | None:
    """Bounds of ``base / cand`` from both medians' intervals (conservative: the extremes)."""
    a, b = interval(cand), interval(base)
    if a is None or b is None or a[0] <= 0:
        return None
    return b[0] / a[1], b[1] / a[0]


def tied(a: Candidate, b: Candidate) -> bool:
    """True when two measured medians cannot be ordered: within :data:`TIE_PCT`, or overlapping intervals."""
    if not a.p50_ms or not b.p50_ms:
        return False
    if 100 * abs(a.p50_ms / b.p50_ms - 1) <= TIE_PCT:
        return True
    ia, ib = interval(a), interval(b)
    return ia is not None and ib is not None and max(ia[0], ib[0]) <= min(ia[1], ib[1])


_SIMPLER = {"fp32": 0, "eager": 0, "fp16": 1, "pruned": 2, "int8": 2, "int8-ac": 3, "int8-qop": 3, "int8-dynamic": 3}
TIE_RULE = "among candidates within noise of the fastest, the smaller model wins, then the simpler (FP32 < FP16 < INT8)"


def break_tie(best: Candidate, cands: list[Candidate]) -> tuple[Candidate, list[Candidate]]:
    """``(pick, tied)``: the fastest ``best`` and every valid candidate tied with it; the pick by :data:`TIE_RULE`."""
    group = [best, *(c for c in cands if c.key != best.key and c.status == Status.VALID and tied(best, c))]
    if len(group) == 1:
        return best, []
    pick = min(group, key=lambda c: (round(c.size_mb, 2), _SIMPLER.get(str(c.method), 9), c.latency_ms or math.inf))
    return pick, [c for c in group if c.key != pick.key]


def pick(valid: list[Candidate], objective: str) -> tuple[Candidate, list[Candidate]]:
    """``(chosen, tied)``: the best valid candidate for ``objective``; for latency, the tie rule applied
    to the candidates within noise of the fastest (``tied``: the others of that group)."""
    best = min(valid, key=lambda c: score(c, objective))
    return break_tie(best, valid) if objective == "latency" else (best, [])


def tie_line(pick: Candidate, others: list[Candidate]) -> str:
    """The decision-log line for a tie ("" when there is none)."""
    if not others:
        return ""
    figures = ", ".join(f"{c.key} {c.latency_text()}" for c in others)
    return (f"Within noise of each other: {pick.key} {pick.latency_text()}, {figures}; chose {pick.key} by the tie "
            f"rule: {TIE_RULE}.")


def accuracy_rule(cand: Candidate, max_drop: float, caveats: tuple[str, ...] = (),
                  twin: Candidate | None = None) -> Candidate:
    """Reject when the measured drop exceeds ``max_drop``; the interval is always quoted.

    Why the extras: a drop alone reads as "this model does not survive INT8". When the runtime
    said its arithmetic can cost accuracy on this hardware (``caveats``, from its session) that
    is quoted, and when the same file scored within budget on another runtime (``twin``) so is
    that figure: then the loss is the runtime's, not the file's, and the user knows where to run it.
    """
    if cand.drop is None or cand.drop <= max_drop + 1e-12:
        return cand
    lo, hi = cand.drop_ci or (cand.drop, cand.drop)
    reason = (f"accuracy drop {100 * cand.drop:.2f} points (95% CI {100 * lo:.2f}..{100 * hi:.2f}) "
              f"exceeds the {100 * max_drop:.2f}-point budget")
    if twin is not None and twin.accuracy is not None:
        reason += (f"; the same file scores {100 * twin.accuracy:.2f}% on {twin.key} (drop "
                   f"{100 * (twin.drop or 0.0):+.2f}), so the loss is this runtime's arithmetic, not the file's")
    if caveats:  # beside the twin's figure, without the caveat's own example figures
        reason += "; " + "; ".join(beside_a_comparison(c) if twin is not None else c for c in caveats)
    return reject(cand, reason)


def all_float(cand: Candidate, int8_share: float | None) -> Candidate:
    """Reject an accuracy-controlled INT8 candidate of which under 1 % of the multiply-adds run in INT8
    (``int8_share``, read from its graph; ``None``: unknown, kept).

    Why: YOLOX-Nano's int8-ac met a 1-point budget only with all 113 layers float and stood in the
    table as a "valid" INT8 candidate: the FP32 computation with quantize steps around nothing."""
    if int8_share is None or int8_share >= 0.01:
        return cand
    return reject(cand, f"{100 * int8_share:.1f}% of its multiply-adds run in INT8: to stay within the accuracy "
                        "budget every sensitive layer was kept in float, so it computes what FP32 does")


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
    status = Status.FAILED if cand.status == Status.FAILED else Status.REJECTED
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
    valid = [c for c in cands if c.status == Status.VALID]
    if valid:
        return pick(valid, objective)[0]
    near = sorted((c for c in cands if c.status == Status.REJECTED), key=lambda c: (len(c.reasons), score(c, objective)))[:3]
    if near:
        lines = "; ".join(f"{c.key}: {' / '.join(c.reasons)}" for c in near)
        raise BudgetNotMet(f"no candidate meets the budget; closest: {lines}", closest=near)
    raise BudgetNotMet(f"no candidate meets the budget; {_none_built(cands)}", closest=near)


def _none_built(cands: list[Candidate], most: int = 3) -> str:
    """Why nothing could be built: each distinct failure once, with the candidates it stopped."""
    failures: dict[str, list[str]] = {}
    for c in cands:
        if c.status == Status.FAILED:
            failures.setdefault(" / ".join(c.reasons) or "no reason recorded", []).append(c.key)
    if not failures:
        return ("none could be built: no candidate was planned (none of the methods asked for can be made for "
                "this model on this target)")
    parts = [f"{why} ({', '.join(keys[:most])}{f', +{len(keys) - most} more' if len(keys) > most else ''})"
             for why, keys in list(failures.items())[:most]]
    more = len(failures) - most
    return "none could be built or run: " + "; ".join(parts) + (f"; and {more} other reason(s) in the log" if more > 0 else "")


def regret(chosen: Candidate, cands: list[Candidate]) -> tuple[float, float]:
    """How much slower the chosen candidate is than the fastest valid one: (ms, %)."""
    lats = [c.latency_ms for c in cands if c.status in (Status.VALID, Status.CHOSEN) and c.latency_ms is not None]
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
        return (f"too noisy to rank (95% interval up to +-{100 * max(rels):.0f}% of the median): rerun with more "
                "seconds per candidate (--seconds)")
    # a run so slow that its budget held too few runs for an interval (YOLOv8n's dynamic INT8 on onnxruntime:
    # 609 ms a run, two runs in 1 s, read "too noisy" beside a 4x gap): say so and how long would do
    from edgekit.evaluation.benchmark import BenchSettings

    few = [c for c in (best, other) if c.ci_rel is None]
    run_ms = max(c.p50_ms for c in few)
    need = max(2, math.ceil(BenchSettings.min_runs * run_ms / 1000))
    return (f"too few timed runs for an interval ({', '.join(c.key for c in few)}: {run_ms:.3g} ms a run); "
            f"rerun with at least {need} s per candidate (--seconds) to rank")


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
