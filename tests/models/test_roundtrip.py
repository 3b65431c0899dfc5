"""Zoo models exported to ONNX and converted to OpenVINO IR, each checked numerically.

Tolerances: fp32 conversions must agree to 1e-4 absolute on logits of order 1
(different kernels sum in different orders, ~1e-6 is typical); top-1 must
agree on every sample. The fp16 IR is held to 5e-2.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnxruntime as ort
import pytest

from edgekit.errors import ConversionError
from edgekit.models import ConversionReport, convert, load_model
from edgekit.types import Format, Precision

FP32_TOL = 1e-4


@pytest.mark.parametrize("arch", ["mobilenetv2_tiny", "tinycnn"])
def test_zoo_model_to_onnx_to_openvino(arch, make_zoo, tmp_path):
    module = make_zoo(arch)
    source = load_model(module, arch=arch)
    assert source.inputs[0].shape == ("batch", 3, 32, 32)

    onnx_model, to_onnx = convert(source, to="onnx", out=tmp_path / f"{arch}.onnx", tolerance=FP32_TOL)
    ir_model, to_ir = convert(onnx_model, to="openvino", out=tmp_path / "ir", tolerance=FP32_TOL)

    for report in (to_onnx, to_ir):
        assert report.passed is True
        assert report.max_abs_diff <= FP32_TOL
        assert report.top1_agreement == 1.0
        assert report.samples == 8
    assert (to_onnx.source_format, to_onnx.target_format) == ("torch", "onnx")
    assert (to_ir.source_format, to_ir.target_format) == ("onnx", "openvino")
    assert onnx_model.format is Format.ONNX and onnx_model.path.is_file()
    assert ir_model.format is Format.OPENVINO
    assert sorted(p.name for p in (tmp_path / "ir").iterdir()) == [f"{arch}.bin", f"{arch}.xml"]
    # dynamic batch survived both conversions
    assert onnx_model.inputs[0].shape[0] == "batch" and ir_model.inputs[0].shape[0] == "batch"
    # the logits are of order 1, so the tolerance above means something
    x = np.random.default_rng(1).standard_normal((3, 3, 32, 32)).astype(np.float32)
    logits = ort.InferenceSession(str(onnx_model.path)).run(None, {"input": x})[0]
    assert logits.shape == (3, 10) and logits.std() > 0.1
    # the same FLOPs rule on all three (OpenVINO drops all-zero bias adds; torch
    # counts BatchNorm, which the exporter folds into the convs)
    assert onnx_model.flops > 0
    assert abs(ir_model.flops - onnx_model.flops) <= 0.01 * onnx_model.flops
    assert abs(source.flops - onnx_model.flops) <= 0.10 * onnx_model.flops


def test_real_inputs_are_checked_too(make_zoo, tmp_path):
    source = load_model(make_zoo("tinycnn"), arch="tinycnn")
    real = np.random.default_rng(5).uniform(0, 1, (3, 3, 32, 32)).astype(np.float32)
    _, report = convert(
        source, to="onnx", out=tmp_path / "m.onnx", samples=2, inputs=[real], tolerance=FP32_TOL
    )
    assert report.samples == 2 + 3 and report.passed


def test_fp16_ir_is_checked_against_its_looser_bound(tiny_onnx, tmp_path):
    ir, report = convert(tiny_onnx, to="openvino", out=tmp_path / "fp16.xml", fp16=True)
    assert ir.precision is Precision.FP16
    assert report.tolerance == 5e-2 and report.passed
    assert 0 < report.max_abs_diff <= 5e-2  # fp16 weights do change the logits a little


def test_a_check_over_tolerance_raises_with_figures_and_writes_nothing(tiny_onnx, tmp_path):
    with pytest.raises(ConversionError, match=r"max abs diff .* > tolerance 1e-09") as info:
        convert(tiny_onnx, to="openvino", out=tmp_path / "out" / "m.xml", fp16=True, tolerance=1e-9)
    assert info.value.report.passed is False
    assert info.value.report.max_abs_diff > 1e-9
    assert not (tmp_path / "out").exists()  # no IR, no staging folder, not even the folder made for it


def test_report_round_trips_through_dict(tiny_onnx, tmp_path):
    _, report = convert(tiny_onnx, to="onnx", out=tmp_path / "copy.onnx", samples=2)
    assert ConversionReport.from_dict(report.to_dict()) == report
    assert report.output_bytes == (tmp_path / "copy.onnx").stat().st_size


def test_no_check_is_reported_as_unchecked(tiny_onnx, tmp_path):
    model, report = convert(tiny_onnx, to="openvino", out=tmp_path, check=False)
    assert report.passed is None and report.max_abs_diff is None
    assert model.path == tmp_path / "tinycnn.xml" and model.path.is_file()


def test_checkpoint_with_arch_converts(make_zoo, tmp_path):
    import torch

    ckpt = tmp_path / "weights.pt"
    torch.save({"arch": "tinycnn", "state_dict": make_zoo("tinycnn").state_dict()}, ckpt)
    model = load_model(ckpt)  # arch read from the checkpoint itself
    assert model.format is Format.TORCH and model.metadata["arch"] == "tinycnn"
    _, report = convert(model, to="openvino", out=tmp_path / "ir", tolerance=FP32_TOL)
    assert report.passed and report.source_path == str(ckpt)


def test_torchscript_file_loads_and_converts(make_zoo, tmp_path):
    import torch

    with warnings.catch_warnings():  # torch.jit.trace is deprecated, but users still have such files
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.trace(make_zoo("tinycnn"), torch.zeros(1, 3, 32, 32))
    path = tmp_path / "traced.pt"
    scripted.save(str(path))
    model = load_model(path, input_shape=(1, 3, 32, 32))
    assert model.outputs[0].shape == ("batch", 10)
    _, report = convert(model, to="onnx", out=tmp_path, tolerance=FP32_TOL)
    assert report.passed and (tmp_path / "traced.onnx").is_file()
