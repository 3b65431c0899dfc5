"""How much of a quantized model runs in INT8, read from its graph, and the estimate that uses it.

Found planning YOLOX-Nano for a Raspberry Pi 5: the accuracy-controlled INT8 it chose kept 64 layers in
float (a third of its multiply-adds left in INT8), yet its latency was estimated as plain INT8's, 2.5x
FP32; counted by share it is 1.24x. And NNCF, given the ONNX name of a layer to keep float, kept only
its bias Add float (OpenVINO names the convolution NAME/WithoutBiases) and quantized the layer.
"""

from __future__ import annotations

import math

import onnx
import pytest

from edgekit.models.cost import int8_share


def _mac_flops(model, name: str) -> int:
    """FLOPs of one convolution or matrix product, by hand from its weight and output shapes
    (2 per multiply-add, plus 1 per output for a bias)."""
    proto = onnx.shape_inference.infer_shapes(onnx.load(model.path))
    node = next(n for n in proto.graph.node if n.name == name)
    dims = {v.name: [d.dim_value or 1 for d in v.type.tensor_type.shape.dim]
            for v in (*proto.graph.value_info, *proto.graph.output)}
    weight = next(i for i in proto.graph.initializer if i.name == node.input[1]).dims
    out = math.prod(dims[node.output[0]])
    per_output = math.prod(weight[1:]) if node.op_type == "Conv" else weight[1 if node.op_type == "Gemm" else 0]
    return 2 * out * per_output + (out if len(node.input) > 2 and node.input[2] else 0)


def test_float_is_none_int8_all_and_a_layer_kept_float_takes_its_flops_out(tiny, calib, tmp_path):
    from edgekit.compress import quantize_int8

    assert int8_share(tiny) == 0.0
    whole = quantize_int8(tiny, calib, tmp_path / "all.onnx")
    assert int8_share(whole) == 1.0
    convs = [n.name for n in onnx.load(tiny.path).graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    macs = sum(_mac_flops(tiny, n) for n in convs)
    kept = convs[0]
    part = quantize_int8(tiny, calib, tmp_path / "part.onnx", exclude=[kept])
    assert int8_share(part) == pytest.approx(1 - _mac_flops(tiny, kept) / macs)


def test_an_openvino_int8_ir_counts_its_fakequantized_layers(tiny, calib, tmp_path):
    from edgekit.compress.int8 import quantize_openvino
    from edgekit.models import convert

    ir, _ = convert(tiny, to="openvino", out=tmp_path / "ir")
    assert int8_share(ir) == 0.0
    q = quantize_openvino(tiny, calib, tmp_path / "q")
    assert int8_share(q) == pytest.approx(1.0)  # NNCF quantizes every convolution and the classifier,
    # some behind a MaxPool it moved its FakeQuantize above
    convs = [n.name for n in onnx.load(tiny.path).graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    kept = convs[1]
    part = quantize_openvino(tiny, calib, tmp_path / "part", ignored=[kept])
    macs = sum(_mac_flops(tiny, n) for n in convs)
    assert int8_share(part) == pytest.approx(1 - _mac_flops(tiny, kept) / macs, rel=0.01)


def test_an_estimate_for_a_partly_float_int8_model_lies_between_fp32_and_int8():
    from edgekit.targets import estimate_latency, load_target

    pi5 = load_target("raspberry-pi-5")
    fp32, int8 = (estimate_latency(pi5, flops=1e9, precision=p, backend="onnxruntime") for p in ("fp32", "int8"))
    third = estimate_latency(pi5, flops=1e9, precision="int8", backend="onnxruntime", int8_share=1 / 3)
    assert int8.latency_ms < third.latency_ms < fp32.latency_ms
    assert third.latency_ms == pytest.approx(int8.latency_ms / 3 + fp32.latency_ms * 2 / 3)
    assert any("33% of the multiply-adds run in INT8" in line for line in third.basis)
    assert estimate_latency(pi5, flops=1e9, precision="int8", backend="onnxruntime",
                            int8_share=1.0).latency_ms == int8.latency_ms


def test_a_layer_to_keep_float_that_the_model_lacks_is_named(tiny, calib, tmp_path):
    from edgekit.compress.int8 import quantize_openvino
    from edgekit.errors import EdgekitWarning

    with pytest.warns(EdgekitWarning, match="not in the model, quantized as the rest: /features/no-such-conv"):
        q = quantize_openvino(tiny, calib, tmp_path / "q", ignored=["/features/no-such-conv"])
    assert int8_share(q) == pytest.approx(1.0)


def test_nncfs_float_layers_are_the_ones_kept_float_not_those_behind_a_maxpool(tiny, calib, tmp_path):
    """Accuracy control re-quantizes with the layers NNCF's search left float: a convolution behind a
    MaxPool (its FakeQuantize moved above the pool) was listed float too, and kept float for nothing."""
    import openvino as ov

    from edgekit.compress.accuracy_control import float_layers_openvino
    from edgekit.compress.int8 import quantize_openvino

    whole = quantize_openvino(tiny, calib, tmp_path / "all")
    assert float_layers_openvino(ov.Core().read_model(str(whole.path))) == []
    kept = [n.name for n in onnx.load(tiny.path).graph.node if n.op_type == "Conv"][1]
    part = quantize_openvino(tiny, calib, tmp_path / "part", ignored=[kept])
    assert float_layers_openvino(ov.Core().read_model(str(part.path))) == [f"{kept}/WithoutBiases"]
