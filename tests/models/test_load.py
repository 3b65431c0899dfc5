"""load_model: what a loaded model knows (specs, card, precision, cost, hash)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.cli import main
from edgekit.errors import ModelLoadError
from edgekit.models import Model, Preprocess, count_flops, load_model
from edgekit.types import Format, Precision


def test_onnx_model_description(tiny_onnx):
    model = load_model(tiny_onnx)
    assert model.format is Format.ONNX and model.name == "tinycnn"
    assert model.inputs[0].name == "input" and model.inputs[0].shape == ("batch", 3, 32, 32)
    assert model.inputs[0].layout == "NCHW" and model.outputs[0].shape == ("batch", 10)
    assert model.precision is Precision.FP32
    assert len(model.sha256) == 64 and model.files == (tiny_onnx,)
    assert model.params > 20_000 and model.flops > 1_000_000
    assert count_flops(model) == model.flops
    assert Model.from_dict(model.to_dict()) == model


def test_sidecar_card_is_applied_and_explicit_arguments_win(tiny_onnx_copy):
    card = {
        "preprocess": Preprocess(size=(32, 32), mean=(0.5, 0.5, 0.5)).to_dict(),
        "labels": [f"class{i}" for i in range(10)],
        "source": "made in a test",
    }
    tiny_onnx_copy.with_suffix(".json").write_text(json.dumps(card))
    model = load_model(tiny_onnx_copy)
    assert model.preprocess.mean == (0.5, 0.5, 0.5) and model.preprocess.size == (32, 32)
    assert model.labels[3] == "class3" and model.metadata["card"]["source"] == "made in a test"

    mine = Preprocess(size=(32, 32), channel_order="BGR")
    override = load_model(tiny_onnx_copy, preprocess=mine, labels=list("abcdefghij"))
    assert override.preprocess == mine and override.labels[0] == "a"


def test_a_broken_card_names_the_card(tiny_onnx_copy):
    card = tiny_onnx_copy.with_suffix(".json")
    card.write_text("{not json")
    with pytest.raises(ModelLoadError, match="model.json"):
        load_model(tiny_onnx_copy)
    card.write_text(json.dumps({"preprocess": {"resize": "squash"}}))
    with pytest.raises(ModelLoadError, match="preprocess.resize must be"):
        load_model(tiny_onnx_copy)


def test_qdq_model_is_detected_as_int8(tiny_onnx, tmp_path):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(0)
            self.items = iter(
                [{"input": rng.standard_normal((1, 3, 32, 32)).astype(np.float32)} for _ in range(4)]
            )

        def get_next(self):
            return next(self.items, None)

    quantize_static(
        str(tiny_onnx), str(out := tmp_path / "int8.onnx"), Reader(), quant_format=QuantFormat.QDQ
    )
    model = load_model(out)
    assert model.precision is Precision.INT8
    assert load_model(tiny_onnx).precision is Precision.FP32


def test_in_memory_module_needs_a_shape(make_zoo):
    module = make_zoo("tinycnn")
    with pytest.raises(ModelLoadError, match="input_shape"):
        load_model(module)
    model = load_model(module, input_shape=(1, 3, 40, 40))
    assert model.format is Format.TORCH and model.module is module and model.path is None
    assert model.inputs[0].shape == ("batch", 3, 40, 40) and model.outputs[0].shape == ("batch", 10)
    assert model.sha256 == load_model(module, arch="tinycnn").sha256  # hash of the weights
    with pytest.raises(ModelLoadError, match="torch.nn.Module"):
        load_model(42)


def test_info_cli_prints_json(tiny_onnx, capsys):
    assert main(["info", str(tiny_onnx), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "onnx" and data["inputs"][0]["shape"] == ["batch", 3, 32, 32]
    assert data["sha256"] == load_model(tiny_onnx).sha256 and data["size_bytes"] == tiny_onnx.stat().st_size
    assert main(["info", str(tiny_onnx)]) == 0
    assert "FLOPs" in capsys.readouterr().out


def test_dynamic_image_size_is_counted_from_the_preprocess(make_zoo, tiny_onnx, tmp_path):
    import warnings

    import torch

    path = tmp_path / "anysize.onnx"
    with warnings.catch_warnings():  # the legacy exporter's deprecation notice
        warnings.simplefilter("ignore")
        torch.onnx.export(
            make_zoo("tinycnn"), torch.zeros(1, 3, 32, 32), str(path), dynamo=False, opset_version=17,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch", 2: "h", 3: "w"}, "logits": {0: "batch"}},
        )  # fmt: skip
    unknown = load_model(path)
    assert unknown.inputs[0].shape == ("batch", 3, "h", "w") and unknown.flops is None  # not a 1x1 guess
    sized = load_model(path, preprocess=Preprocess(size=(32, 32)))
    assert sized.flops == load_model(tiny_onnx).flops


def test_a_folder_with_one_model_loads_it(tiny_onnx, tmp_path):
    from edgekit.models import convert

    convert(tiny_onnx, to="openvino", out=tmp_path / "ir", check=False)
    assert load_model(tmp_path / "ir").path == tmp_path / "ir" / "tinycnn.xml"
    (tmp_path / "ir" / "other.onnx").write_bytes(tiny_onnx.read_bytes())
    with pytest.raises(ModelLoadError, match="other.onnx, tinycnn.xml; pass the model file itself"):
        load_model(tmp_path / "ir")
