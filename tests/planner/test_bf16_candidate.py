"""BF16 on a CPU that has BF16 arithmetic: OpenVINO's fastest mode there is planned and measured as a
candidate of its own, and never offered where the CPU would emulate it."""

from __future__ import annotations

import dataclasses

import pytest

from edgekit.backends.openvino import OpenVINOBackend, native_bf16
from edgekit.hardware import profile_hardware
from edgekit.planner.build import build, specs_for
from edgekit.targets import load_target
from edgekit.types import Method

HERE = profile_hardware(parts=("cpu",))


def _cpu(*flags: str):
    """This machine's profile with its ISA replaced: the hardware edge, as another CPU reports it."""
    return dataclasses.replace(HERE, arch="x86_64", isa={"avx2": True, **dict.fromkeys(flags, True)})


@pytest.mark.parametrize(("flags", "offered"), [((), False), (("avx512_vnni",), False), (("avx512_bf16",), True),
                                                (("amx_tile", "amx_bf16"), True)])
def test_openvino_offers_bf16_only_on_a_cpu_with_bf16_arithmetic(flags, offered):
    devices, precisions = OpenVINOBackend().support(_cpu(*flags))
    assert "cpu" in devices and ("bf16" in precisions) is offered
    assert native_bf16(_cpu(*flags)) is offered
    assert {"fp32", "fp16", "int8"} <= set(precisions)  # the rest is as before


def test_a_target_listing_bf16_gets_an_openvino_bf16_candidate_of_the_fp32_file(tmp_path):
    text = """name: amx-box
cpu:
  arch: x86_64
  cores: 2
  isa: [avx2, avx512f, amx_bf16]
memory_mb: 8192
backends:
  onnxruntime:
    devices: [cpu]
    precisions: [fp32, int8]
  openvino:
    devices: [cpu]
    precisions: [fp32, bf16, int8]
"""
    (tmp_path / "amx.yaml").write_text(text)
    specs = specs_for(load_target(str(tmp_path / "amx.yaml")), ("fp32", "bf16", "int8"), False)
    bf16 = [s for s in specs if s.method == Method.BF16]
    assert [(s.backend, s.device, s.precision) for s in bf16] == [("openvino", "cpu", "bf16")]  # onnxruntime runs no bf16
    laptop = load_target("x86-avx2-laptop")  # an AVX2 CPU: bf16 asked for, none planned
    assert not [s for s in specs_for(laptop, ("fp32", "bf16"), False) if s.method == Method.BF16]


def test_the_bf16_candidate_runs_the_fp32_file_itself(make_onnx, tmp_path):
    """No file is made for it: the FP32 model, executed in BF16 by the runtime."""
    from edgekit.planner.build import BuildContext, Spec

    source = make_onnx(tmp_path)
    ctx = BuildContext(source, None, [], [], None, tmp_path)
    assert build(Spec("openvino", "cpu", "bf16", Method.BF16), ctx) is source


@pytest.mark.skipif(not native_bf16(HERE), reason="this CPU has no BF16 arithmetic (AMX-BF16 or AVX512-BF16): "
                    "OpenVINO would emulate it, and the local target does not offer it")
def test_on_this_cpu_the_local_target_offers_openvino_bf16_and_it_runs(make_onnx, tmp_path):
    import numpy as np

    from edgekit.backends import compile_session

    assert load_target("local").supports("openvino", "cpu", "bf16")
    model = make_onnx(tmp_path)
    x = {model.input.name: np.random.default_rng(0).random((1, 3, 32, 32), np.float32)}
    with compile_session(model, "openvino", "cpu", "bf16") as bf16, compile_session(model, "openvino") as fp32:
        assert bf16.info.precision == "bf16"
        a, b = bf16.predict(x), fp32.predict(x)
    assert np.allclose(a, b, rtol=0.05, atol=0.05) and not np.array_equal(a, b)  # BF16 numbers: close, not equal
