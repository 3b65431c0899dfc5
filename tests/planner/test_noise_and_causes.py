"""Rankings that respect noise (ties, the tie rule, no speed-up inside the noise) and slow-INT8 causes
read from a measured per-operator profile."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edgekit.planner import rules
from edgekit.planner.report import Candidate
from edgekit.planner.why_slow import OpProfile, explain, ort_profile


def cand(method="fp32", p50=2.0, ci=0.02, size=4.0, backend="onnxruntime"):
    return Candidate(f"{backend}/cpu/{method}", backend, "cpu", method, method, {}, p50_ms=p50, ci_rel=ci,
                     accuracy=0.9, drop=0.0, size_mb=size)


def test_overlapping_intervals_are_a_tie_and_the_smaller_then_simpler_wins():
    fp32, int8, fp16 = cand(p50=1.00, ci=0.10), cand("int8", p50=1.05, ci=0.10, size=1.0), cand("fp16", 1.3, 0.01, 2)
    best, others = rules.pick([fp32, int8, fp16], "latency")
    assert best.key == int8.key and [c.key for c in others] == [fp32.key]  # fp16 is clearly slower: not tied
    line = rules.tie_line(best, others)
    assert "Within noise" in line and "smaller" in line and "simpler" in line
    same_size = cand("int8", p50=1.05, ci=0.10, size=4.0)
    assert rules.pick([fp32, same_size], "latency")[0].key == fp32.key  # same size: the simpler FP32


def test_separated_intervals_are_ranked_by_latency():
    fast, slow = cand(p50=1.0, ci=0.01, size=9.0), cand("int8", p50=1.2, ci=0.01, size=1.0)
    assert rules.pick([fast, slow], "latency") == (fast, [])


def test_a_slower_candidate_within_noise_is_kept_and_its_speedup_not_printed():
    judged = rules.never_slower(cand("fp16", p50=1.05, ci=0.10), cand(p50=1.0, ci=0.10), isa=("avx2",))
    assert judged.status == "valid" and "within noise" in judged.notes[0]
    assert judged.speedup_ci[0] < 1.0 < judged.speedup_ci[1]
    assert judged.speedup_text() == "~1x (noise)"


def test_a_speedup_is_printed_only_when_its_interval_excludes_one():
    faster = rules.never_slower(cand("int8", p50=0.5, ci=0.02), cand(p50=1.0, ci=0.02), isa=())
    assert faster.speedup_text() == "2.00x" and faster.speedup_ci[0] > 1.0
    noisy = rules.never_slower(cand("fp16", p50=0.7, ci=0.4), cand(p50=1.0, ci=0.4), isa=())
    assert noisy.speedup_text() == "~1x (noise)"


def test_a_speedup_between_two_estimates_is_marked_estimated():
    """A plan for an absent target printed "2.51x" for INT8, the factor assumed for a CPU with
    dot-product instructions, in the column where measured speed-ups stand."""
    from edgekit.targets.estimate import Estimate

    def estimated(method, ms):
        return replace(cand(method), p50_ms=None, ci_rel=None,
                       estimate=Estimate(ms, ms / 4, ms * 4, "reference", ("a published figure",)))

    judged = rules.never_slower(estimated("int8", 0.666), estimated("fp32", 1.67), isa=())
    assert judged.speedup_text() == "~2.5x (est.)"


def test_a_clearly_slower_candidate_is_still_rejected():
    judged = rules.never_slower(cand("int8", p50=1.5, ci=0.02), cand(p50=1.0, ci=0.02), isa=("avx2",))
    assert judged.status == "rejected" and "slower than FP32" in judged.reasons[0]


@pytest.mark.parametrize("prof, isa, words, absent", [
    (OpProfile({"ConvInteger": 0.8, "Mul": 0.2}, {"ConvInteger": 52}), ("avx2",), ["52 ConvInteger"], "VNNI"),
    (OpProfile({"QuantizeLinear": 0.2, "QLinearConv": 0.8}, {}), ("avx2",), ["quantize/dequantize"], "VNNI"),
    (OpProfile({"QLinearConv": 0.9}, {}, depthwise=0.5, depthwise_nodes=17), ("avx2",), ["17 depthwise"], "VNNI"),
    (OpProfile({"QLinearConv": 0.9}, {}, depthwise=0.05), ("avx2",), ["no VNNI", "90%"], None),
    (OpProfile({"QLinearConv": 0.9}, {}, depthwise=0.05), ("avx512_vnni",), [], "VNNI"),
])
def test_causes_name_the_operator_and_vnni_only_when_int8_compute_dominates_without_it(prof, isa, words, absent):
    text = explain("int8", prof, isa)
    assert all(w in text for w in words), text
    assert absent is None or absent not in text


# YOLOX-Nano's QDQ file on OpenVINO, as profiled on an AVX2 EPYC (15.9 ms INT8 against 12.7 ms FP32)
_OV_FP32 = OpProfile({"Convolution(F32)": 0.68, "GroupConvolution(F32)": 0.12, "Slice": 0.11, "Subgraph": 0.01},
                     {"Convolution(F32)": 83, "GroupConvolution(F32)": 30, "Slice": 6, "Subgraph": 7})
_OV_INT8 = OpProfile({"Subgraph": 0.59, "Convolution(I8)": 0.27, "GroupConvolution(I8)": 0.06, "Reorder": 0.02},
                     {"Subgraph": 123, "Convolution(I8)": 83, "GroupConvolution(I8)": 30, "Reorder": 4})


def test_a_slow_int8_is_explained_by_what_grew_over_fp32_and_what_the_convolutions_saved():
    """Its share alone said "61% of its time is in Subgraph; the quantize/dequantize overhead outweighs
    the compute saved": an OpenVINO kernel name, with nothing to show INT8 had made it slow."""
    alone = explain("int8", _OV_INT8, ("avx2",), "OpenVINO")
    assert "Subgraph;" in alone and "FP32" not in alone  # the sentence without FP32's profile
    text = explain("int8", _OV_INT8, ("avx2",), "OpenVINO", base=_OV_FP32, ms=(15.9, 12.7))
    assert "123 Subgraph nodes (OpenVINO's fused element-wise kernels)" in text, text
    assert "9.4 ms where FP32 runs 7 in 0.1 ms" in text, text
    assert "more than INT8 saves in the convolutions (10.2 -> 5.2 ms)" in text, text
    assert "VNNI" not in text


def test_fp32_is_profiled_only_when_the_candidate_profile_alone_names_no_cause():
    """A dynamic model's ConvInteger nodes are their own cause: profiling FP32 for it was a second wasted."""
    calls = []

    def fp32():
        calls.append(1)
        return _OV_FP32

    dynamic = OpProfile({"ConvInteger": 0.8, "Mul": 0.2}, {"ConvInteger": 52})
    assert "52 ConvInteger" in explain("int8-dynamic", dynamic, ("avx2",), base=fp32, ms=(30.0, 3.0)) and not calls
    text = explain("int8", _OV_INT8, ("avx2",), "OpenVINO", base=fp32, ms=(15.9, 12.7))
    assert calls == [1] and "FP32 runs 7 in 0.1 ms" in text, text




# YOLOX-Nano's accuracy-controlled INT8 (64 of 113 layers float) on onnxruntime, profiled on a Xeon with AMX
# (22.6 ms against 13.3 ms FP32)
_ORT_FP32 = OpProfile({"Conv": 0.548, "QuickGelu": 0.253, "Concat": 0.063, "MaxPool": 0.018, "Transpose": 0.021},
                      {"Conv": 113, "QuickGelu": 104, "Concat": 17, "MaxPool": 3, "Transpose": 1})
_ORT_AC = OpProfile({"Conv": 0.217, "MaxPool": 0.211, "QuickGelu": 0.1, "QLinearConv": 0.076,
                     "DequantizeLinear": 0.052, "Transpose": 0.05, "QLinearSigmoid": 0.048, "QuantizeLinear": 0.044},
                    {"Conv": 64, "MaxPool": 3, "QuickGelu": 64, "QLinearConv": 49, "DequantizeLinear": 46,
                     "Transpose": 39, "QLinearSigmoid": 40, "QuantizeLinear": 37})


def test_a_slowdown_spread_over_two_operators_names_both():
    """3 MaxPool nodes gained 4.5 ms of its 9.3 ms slow-down, just short of half, and the cause fell back
    to "22% of its time is in Conv; the quantize/dequantize overhead outweighs the compute saved"."""
    text = explain("int8-ac", _ORT_AC, ("avx512_vnni",), base=_ORT_FP32, ms=(22.6, 13.3))
    assert text.startswith("21% of its time is in 3 MaxPool nodes, 4.8 ms where FP32 runs 3 in 0.2 ms; and 5% in "
                           "46 DequantizeLinear nodes, 1.2 ms where FP32 has none;"), text
    assert text.endswith("more than INT8 saves in the convolutions (7.3 -> 6.6 ms)"), text


def test_a_cause_that_does_not_account_for_the_slowdown_is_not_blamed():
    """Reorder grew by 0.2 ms of a 3 ms slow-down: the sentence falls back to the profile alone."""
    fp32 = OpProfile({"Convolution(F32)": 0.9, "Reorder": 0.1}, {"Reorder": 4})
    int8 = OpProfile({"Convolution(I8)": 0.88, "Reorder": 0.12}, {"Reorder": 4})
    text = explain("int8", int8, ("avx512_vnni",), "OpenVINO", base=fp32, ms=(13.0, 10.0))
    assert "FP32 runs" not in text and "Convolution(I8)" in text, text


def test_a_dynamic_int8_model_is_profiled_to_its_convinteger_nodes(tmp_path, make_onnx):
    from edgekit.compress.int8 import quantize_dynamic_int8

    model = make_onnx(tmp_path, "tinycnn", 32, "tiny")
    dyn = quantize_dynamic_int8(model, tmp_path / "dyn.onnx", force=True)
    prof = ort_profile(dyn.path, runs=3)
    assert prof.nodes.get("ConvInteger", 0) >= 1 and prof.shares["ConvInteger"] > 0


def test_an_openvino_profile_runs_float_layers_in_fp32_as_they_were_measured(tmp_path, make_onnx):
    """On a Xeon with AMX, OpenVINO ran the FP32 baseline a slow INT8 candidate is explained against in
    BF16 (its default there), while the planner measured it in FP32: the shares compared were of
    another precision. (On a CPU without BF16 arithmetic FP32 is the default anyway.)"""
    pytest.importorskip("openvino")
    from edgekit.planner.why_slow import openvino_profile

    model = make_onnx(tmp_path, "tinycnn", 32, "tiny")
    prof = openvino_profile(model.path, runs=3)
    assert prof.notes["inference_precision"] == "f32"
    assert any(k.startswith("Convolution") for k in prof.shares)


def test_adaptive_seconds_remeasure_only_the_tied_group_until_it_separates():
    from edgekit.planner.adapt import separate

    cands = {c.key: c for c in (cand(p50=1.0, ci=0.2), cand("int8", p50=1.1, ci=0.2, size=1.0),
                                cand("fp16", p50=3.0, ci=0.01))}
    asked, log = [], []

    def remeasure(keys, seconds):  # a longer run narrows the intervals
        asked.append((sorted(keys), seconds))
        for k in keys:
            cands[k] = cand(cands[k].method, cands[k].p50_ms, 0.01, cands[k].size_mb)

    separate(cands, remeasure, 2.0, log)
    assert asked == [(["onnxruntime/cpu/fp32", "onnxruntime/cpu/int8"], 4.0)]
    assert "now separate" in log[-1]


def test_adaptive_seconds_stop_at_the_cap_and_say_the_tie_rule_decides():
    from edgekit.planner.adapt import MAX_ROUNDS, separate

    cands = {c.key: c for c in (cand(p50=1.0, ci=0.2), cand("int8", p50=1.1, ci=0.2, size=1.0))}
    asked, log = [], []
    separate(cands, lambda keys, s: asked.append(s), 2.0, log)
    assert asked == [2.0 * 2**r for r in range(1, MAX_ROUNDS + 1)] and "tie rule decides" in log[-1]


def test_a_remeasure_that_ends_in_a_true_tie_does_not_call_it_separate():
    """Re-measured medians that land within TIE_PCT are a tie more time cannot break: the log said
    "their intervals now separate", then "Within noise of each other" two lines later."""
    from edgekit.planner.adapt import separate

    cands = {c.key: c for c in (cand(p50=1.0, ci=0.2), cand("int8", p50=1.1, ci=0.2, size=1.0))}
    log = []

    def remeasure(keys, seconds):  # longer runs: the medians meet, the intervals stay wide
        for k in keys:
            cands[k] = cand(cands[k].method, 1.0 if k.endswith("fp32") else 1.01, 0.2, cands[k].size_mb)

    separate(cands, remeasure, 2.0, log)
    assert "separate" not in log[-1] and "tie rule decides" in log[-1], log


def test_medians_within_two_percent_are_a_tie_without_more_measuring():
    from edgekit.planner.adapt import separate

    cands = {c.key: c for c in (cand(p50=1.0, ci=0.2), cand("int8", p50=1.01, ci=0.2, size=1.0))}
    asked = []
    separate(cands, lambda keys, s: asked.append(s), 2.0, [])
    assert asked == []


def test_fp16_weights_run_in_fp32_never_claim_a_speedup():
    # OpenVINO on a CPU without FP16 arithmetic: the FP16 IR is compiled to FP32 (precision fp32)
    widened = Candidate("openvino/cpu/fp16", "openvino", "cpu", "fp32", "fp16", {}, p50_ms=0.85, ci_rel=0.02,
                        accuracy=0.9, drop=0.0, size_mb=2.0)
    fp32 = cand(p50=1.0, ci=0.02, backend="openvino")
    judged = rules.never_slower(widened, fp32, isa=("avx2",))
    assert judged.status == "valid" and judged.speedup_text() == "~1x (noise)"
    assert any("same arithmetic as FP32" in n for n in judged.notes)
    real_fp16 = cand("fp16", p50=0.85, ci=0.02, backend="openvino")  # executed in FP16 (e.g. a GPU)
    assert rules.never_slower(real_fp16, fp32, isa=("avx512_fp16",)).speedup_text() == "1.18x"
    slower = replace(widened, p50_ms=1.5)  # widening weights per run can cost: judged as any slower candidate
    assert rules.never_slower(slower, fp32, isa=("avx2",)).status == "rejected"
