"""The planner's rules on measured figures: never slower, never silently worse, choose, regret."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edgekit.errors import BudgetNotMet, EdgekitWarning
from edgekit.planner import rules
from edgekit.planner.report import Candidate


def cand(method="fp32", p50=2.0, drop=0.0, size=4.0, backend="onnxruntime", acc=0.95):
    return Candidate(f"{backend}/cpu/{method}", backend, "cpu", method, method, {}, p50_ms=p50, accuracy=acc,
                     accuracy_ci=(acc - 0.01, acc + 0.01), drop=drop, drop_ci=(drop - 0.001, drop + 0.001),
                     size_mb=size)


def test_int8_slower_than_its_fp32_is_rejected_with_figures_and_reason():
    fp32, int8 = cand(p50=1.00), cand("int8", p50=1.30)
    judged = rules.never_slower(int8, fp32, isa=("avx2", "fma"))
    assert judged.status == "rejected"
    reason = judged.reasons[0]
    assert "1.3 ms vs 1 ms" in reason and "0.77x" in reason and "VNNI" not in reason  # no profile: no guess
    measured = rules.never_slower(int8, fp32, isa=("avx2",), why="80% of its time is in 52 ConvInteger nodes")
    assert "ConvInteger" in measured.reasons[0]


def test_int8_faster_than_its_fp32_stays_valid_with_its_speedup():
    judged = rules.never_slower(cand("int8", p50=0.5), cand(p50=1.0), isa=("avx512_vnni",))
    assert judged.status == "valid" and judged.speedup == pytest.approx(2.0)


def test_slower_reason_never_blames_vnni_without_a_profile():
    assert "VNNI" not in rules.slower_reason("int8", ("avx2",), "cpu")
    assert "FP16" in rules.slower_reason("fp16", ("avx2",), "cpu")


def test_accuracy_drop_over_budget_is_rejected_with_its_interval():
    judged = rules.accuracy_rule(cand("int8", drop=0.02), max_drop=0.01)
    assert judged.status == "rejected" and "2.00 points" in judged.reasons[0] and "95% CI" in judged.reasons[0]
    assert rules.accuracy_rule(cand("int8", drop=0.005), max_drop=0.01).status == "valid"


def test_an_accuracy_rejection_quotes_the_runtimes_caveat_and_the_same_file_elsewhere():
    """A drop alone reads as "this model does not survive INT8"; the runtime's own caveat (from its
    session) and the same file's score on another runtime say the loss is the runtime's arithmetic."""
    caveat = "OpenVINO INT8 on this x86 CPU without VNNI: its 16-bit sums can saturate"
    ov = cand("int8", drop=0.058, backend="openvino", acc=0.708)
    ort = cand("int8", drop=0.0, acc=0.766)
    (reason,) = rules.accuracy_rule(ov, 0.01, (caveat,), twin=ort).reasons
    assert reason.startswith("accuracy drop 5.80 points") and caveat in reason
    assert "the same file scores 76.60% on onnxruntime/cpu/int8" in reason
    (plain,) = rules.accuracy_rule(ov, 0.01).reasons
    assert "VNNI" not in plain and "same file" not in plain  # nothing said, nothing guessed
    assert rules.accuracy_rule(ort, 0.01, (caveat,)).status == "valid"  # a caveat alone never rejects


def test_beside_the_same_files_score_the_saturation_caveat_quotes_no_other_figures():
    """The plan's rejection said "the same file scores 75.60% on onnxruntime/cpu/int8", then the
    caveat's own example ("scored 70.8% ... 76.6% on onnxruntime") and "compare its accuracy on
    onnxruntime": two different figures for what read as the same file, and advice already followed."""
    from edgekit.backends._common import SATURATES

    ov = cand("int8", drop=0.042, backend="openvino", acc=0.714)
    ort = cand("int8", drop=0.0, acc=0.756)
    (reason,) = rules.accuracy_rule(ov, 0.01, (SATURATES,), twin=ort).reasons
    assert "75.60% on onnxruntime/cpu/int8" in reason and "VPMADDUBSW" in reason
    assert "70.8%" not in reason and "compare its accuracy" not in reason, reason
    assert "edgekit compress --method int8" in reason  # what to do to run it on OpenVINO stays
    (alone,) = rules.accuracy_rule(ov, 0.01, (SATURATES,)).reasons  # nothing compared: the example is the evidence
    assert "70.8%" in alone


def test_an_int8_ac_that_kept_every_layer_float_is_rejected_as_such(make_onnx, tmp_path):
    """Its INT8 share read from real graphs: a float graph (what an int8-ac with every layer kept float
    computes) is rejected; a quantized one is not."""
    import numpy as np

    from edgekit.compress.int8 import quantize_int8
    from edgekit.models.cost import int8_share

    fp32 = make_onnx(tmp_path, "tinycnn", 32, "tiny")
    rng = np.random.default_rng(0)
    feeds = [{fp32.inputs[0].name: rng.random((1, 3, 32, 32), dtype=np.float32)} for _ in range(16)]
    with pytest.warns(EdgekitWarning, match="calibration samples"):  # few on purpose: only its graph is read
        int8 = quantize_int8(fp32, feeds, tmp_path / "tiny-int8.onnx")
    ac = cand("int8-ac")
    judged = rules.all_float(ac, int8_share(fp32))
    assert judged.status == "rejected" and "computes what FP32 does" in judged.reasons[0]
    assert "0.0% of its multiply-adds run in INT8" in judged.reasons[0]
    assert rules.all_float(ac, int8_share(int8)).status != "rejected"
    assert rules.all_float(ac, None).status != "rejected"  # a graph that cannot say: kept


def test_paired_drop_counts_only_disagreements():
    ref = [True] * 90 + [False] * 10
    same = rules.paired_drop(ref, ref)
    assert same == (0.0, (0.0, 0.0))
    worse = [True] * 85 + [False] * 15
    drop, (lo, hi) = rules.paired_drop(ref, worse)
    assert drop == pytest.approx(0.05) and lo < drop < hi


def test_no_candidate_within_budget_raises_with_the_closest():
    cands = [rules.budget_rule(cand(m, p50=p), latency_ms=0.1, model_mb=None)
             for m, p in (("fp32", 2.0), ("int8", 1.0), ("fp16", 3.0))]
    with pytest.raises(BudgetNotMet) as err:
        rules.choose(cands, "latency")
    assert next(c.key for c in err.value.closest) == "onnxruntime/cpu/int8"
    assert "over the 0.1 ms budget" in str(err.value)


def test_objectives_and_regret():
    a, b = cand(p50=1.0, size=8.0, acc=0.95), cand("int8", p50=2.0, size=2.0, acc=0.96)
    assert rules.choose([a, b], "latency") is a
    assert rules.choose([a, b], "size") is b
    assert rules.choose([a, b], "accuracy") is b
    assert rules.regret(a, [a, b]) == (0.0, 0.0)
    assert rules.regret(b, [a, b]) == (1.0, 100.0)


def timed(method, p50, ci):
    return replace(cand(method, p50=p50), ci_rel=ci)


def test_a_big_gap_with_huge_intervals_is_too_noisy_to_rank_not_noise():
    from edgekit.planner.planner import _runner_up

    best, other = timed("fp32", 1.00, 1.5), timed("int8", 2.14, 1.5)  # a short run: CI wider than the median
    note = rules.margin_note(best, other)
    assert "noise" not in note and note.startswith("too noisy to rank") and "--seconds" in note
    chosen = replace(best, status="chosen")
    line = _runner_up(chosen, [chosen, other], "latency")
    assert "+114.0% latency -- too noisy to rank" in line and "within measurement noise" not in line


@pytest.mark.parametrize(("a", "b", "expected"), [
    ((1.00, 0.05), (1.06, 0.05), "within measurement noise"),  # intervals overlap and are narrow
    ((1.00, 0.02), (1.30, 0.02), ""),                          # intervals apart: a real gap
    ((1.00, None), (1.01, None), "within measurement noise"),  # a 1 % gap is a tie
    ((1.00, 0.40), (1.30, 0.40), "too noisy to rank"),         # overlap, but +-40 % cannot rank
    ((1.00, None), (1.50, 0.01), "too few timed runs"),        # too few runs for an interval
])
def test_margin_note_says_noise_only_when_the_gap_is_inside_narrow_intervals(a, b, expected):
    note = rules.margin_note(timed("fp32", *a), timed("int8", *b))
    assert note.startswith(expected) if expected else note == ""


def test_a_run_too_slow_for_an_interval_says_how_many_seconds_would_rank_it():
    """YOLOv8n's dynamic INT8: 148 ms on OpenVINO, 609 ms a run on onnxruntime (two runs in its 1 s, no
    interval): the runner-up line read "too noisy to rank" beside a 4x gap, and "more seconds" without
    how many. Ten runs give an interval: 609 ms a run needs 7 s."""
    note = rules.margin_note(timed("fp32", 148.0, 0.03), timed("int8", 609.0, None))
    assert note.startswith("too few timed runs for an interval (onnxruntime/cpu/int8: 609 ms a run)")
    assert "at least 7 s per candidate (--seconds)" in note and "noisy" not in note


def test_two_estimates_within_two_percent_are_a_tie_not_a_rejection():
    """An int8-ac that kept every layer float was "slower than FP32 on onnxruntime: 60.3 ms vs 60.2 ms
    estimated (1.00x); the quantize/dequantize overhead outweighs the compute saved": two estimates
    0.2 % apart, with bands of x2-x4, cannot be ordered."""
    from edgekit.targets.estimate import Estimate

    def estimated(method, ms):
        return replace(cand(method, p50=None), estimate=Estimate(ms, ms / 3, ms * 3, "reference", ("x",)))

    fp32 = estimated("fp32", 60.2)
    close = rules.never_slower(estimated("int8-ac", 60.3), fp32, isa=("neon",))
    assert close.status != "rejected" and any("a tie" in n for n in close.notes), close
    far = rules.never_slower(estimated("int8-dynamic", 254.0), fp32, isa=("neon",))
    assert far.status == "rejected" and "254 ms vs 60.2 ms estimated" in far.reasons[0]


def test_estimates_get_no_noise_note():
    est = replace(cand(p50=None), estimate=None)
    assert rules.margin_note(est, timed("int8", 2.0, 0.01)) == ""


@pytest.mark.parametrize("again, expected", [
    ({"a": 10.0, "b": 11.0, "c": 12.0}, "Verified: re-measuring the top three gave the same order"),
    ({"a": 10.0, "b": 12.0, "c": 11.0}, "the chosen a is still the fastest"),
    ({"a": 10.1, "b": 10.0, "c": 12.0}, "1.0% faster than the chosen a -- within measurement noise"),
    ({"a": 15.0, "b": 10.0, "c": 12.0}, "50.0% faster than the chosen a -- the ranking is not stable"),
])
def test_verify_line_calls_a_changed_order_noise_only_when_the_gap_is_small(again, expected):
    line = rules.verify_line(["a", "b", "c"], again)
    assert expected in line and f"a {again['a']:.3g} ms" in line  # the figures are printed
