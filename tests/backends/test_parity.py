"""check_parity: every backend against the reference, skipped ones with reasons."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.backends import ParityReport, check_parity, compile_session
from edgekit.backends._common import saturating_cpu
from edgekit.backends.parity import random_inputs


@pytest.mark.parametrize("arch", ["tinycnn", "mobilenetv2_tiny"])
def test_zoo_models_agree_with_torch_eager(zoo_models, arch):
    model = zoo_models[arch]
    report = check_parity(model, samples=4)
    assert report.reference == "torch" and report.samples == 4 and not report.skipped
    assert {r.backend for r in report.results} == {"onnxruntime", "openvino"}
    for result in report.results:
        # fp32 everywhere: only summation order differs
        assert result.within(atol=1e-5 + 1e-4 * result.max_ref_abs), result
        assert result.top1_agreement == 1.0 and result.samples == 4
        assert result.mean_abs_diff <= result.max_abs_diff


def test_onnx_only_model_uses_onnxruntime_and_lists_torch_as_skipped(onnx_only):
    report = check_parity(onnx_only, samples=2)
    assert report.reference == "onnxruntime"
    assert [r.backend for r in report.results] == ["openvino"]
    ((name, reason),) = report.skipped
    assert name == "torch" and "no PyTorch module" in reason
    with pytest.raises(KeyError):
        report.get("torch")


def test_given_inputs_and_round_trip(tiny):
    x = np.random.default_rng(3).standard_normal((2, 3, 32, 32)).astype(np.float32)
    report = check_parity(tiny, backends=["openvino"], inputs=[x, {"input": x[:1]}])
    assert report.samples == 2 and report.get("openvino").samples == 2
    assert ParityReport.from_dict(report.to_dict()) == report


def test_random_inputs_are_seeded_and_match_the_spec(tiny):
    a, b = random_inputs(tiny, 2, seed=5), random_inputs(tiny, 2, seed=5)
    assert a[0]["input"].shape == (1, 3, 32, 32) and a[0]["input"].dtype == np.float32
    np.testing.assert_array_equal(a[1]["input"], b[1]["input"])


def test_real_int8_model_agrees_across_backends_on_real_photos(shufflenet, real_photos):
    """ShuffleNet V2 INT8 (QDQ) from ../shared: OpenVINO vs onnxruntime on 8 ImageNet photos."""
    import cv2

    from edgekit.models import Preprocess

    pre = Preprocess(
        size=(224, 224), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), resize="center_crop"
    )
    batches = [pre(cv2.imread(str(path))) for path, _ in real_photos]
    report = check_parity(shufflenet, inputs=batches)
    assert report.reference == "onnxruntime" and report.skipped[0][0] == "torch"
    ov = report.get("openvino")
    assert ov.precision == "int8"
    # two INT8 kernels round differently; the decision (top-1) must still agree
    assert ov.top1_agreement >= 0.875, report
    if saturating_cpu():
        # no VNNI: OpenVINO's 16-bit pair sums saturate where onnxruntime (the reference) widens them
        # (measured on an AVX2 EPYC: max diff 9.8 of 25.7; top-1 on 500 photos 70.8% vs 76.6%): it matches
        # onnxruntime's own saturating kernels instead, and the user is told (a note on the session)
        with compile_session(shufflenet, "onnxruntime", options={"x64_quant_precision": False}) as ort, \
                compile_session(shufflenet, "openvino") as ov_run:
            assert any("saturate" in n for n in ov_run.info.notes)
            for x in batches:
                theirs, ours = ort.predict(x), ov_run.predict(x)
                assert np.abs(theirs - ours).max() < 0.1 * np.abs(theirs).max()
    else:
        assert ov.max_abs_diff < 0.25 * ov.max_ref_abs, report
