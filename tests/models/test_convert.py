"""convert: outputs never overwrite without force, are atomic, carry the card."""

from __future__ import annotations

import json

import pytest

from edgekit.cli import main
from edgekit.errors import ConversionError, OutputExists
from edgekit.models import Preprocess, convert, load_model


def test_refuses_to_overwrite_and_leaves_the_file_unchanged(tiny_onnx, tmp_path):
    out = tmp_path / "m.xml"
    out.write_text("my precious file")
    with pytest.raises(OutputExists, match="--force"):
        convert(tiny_onnx, to="openvino", out=out)
    assert out.read_text() == "my precious file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.xml"]  # no .bin, no staging left

    model, report = convert(tiny_onnx, to="openvino", out=out, force=True)
    assert report.passed and model.path == out and out.read_text().startswith("<?xml")


def test_cli_refuses_to_overwrite(tiny_onnx, tmp_path, capsys):
    out = tmp_path / "copy.onnx"
    out.write_bytes(b"keep me")
    assert main(["convert", str(tiny_onnx), "--to", "onnx", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "copy.onnx already exists" in err and len(err.strip().splitlines()) == 1
    assert out.read_bytes() == b"keep me"
    assert main(["convert", str(tiny_onnx), "--to", "onnx", "--out", str(out), "--force"]) == 0
    assert "passed" in capsys.readouterr().out and load_model(out).sha256


def test_cli_converts_and_reports_as_json(tiny_onnx, tmp_path, capsys):
    code = main(["convert", str(tiny_onnx), "--to", "openvino", "--out", str(tmp_path / "ir"), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is True and report["target_path"].endswith("tinycnn.xml")
    assert report["max_abs_diff"] <= report["tolerance"] == 1e-3


def test_preprocess_and_labels_travel_with_the_converted_model(tiny_onnx, tmp_path):
    source = load_model(
        tiny_onnx,
        preprocess=Preprocess(size=(32, 32), channel_order="BGR"),
        labels=[str(i) for i in range(10)],
    )
    ir, _ = convert(source, to="openvino", out=tmp_path)
    assert ir.labels == source.labels and ir.preprocess == source.preprocess
    card = json.loads((tmp_path / "tinycnn.json").read_text())
    assert card["converted_from"]["sha256"] == source.sha256
    again = load_model(tmp_path / "tinycnn.xml")  # a fresh load reads the card
    assert again.preprocess.channel_order == "BGR" and again.labels == source.labels


def test_unsupported_pairs_and_wrong_suffixes_are_conversion_errors(tiny_onnx, tmp_path):
    ir, _ = convert(tiny_onnx, to="openvino", out=tmp_path / "ir", check=False)
    with pytest.raises(ConversionError, match="cannot convert openvino to onnx; supported: torch->onnx"):
        convert(ir, to="onnx", out=tmp_path / "back.onnx")
    with pytest.raises(ConversionError, match="unknown target format 'tflite'"):
        convert(tiny_onnx, to="tflite", out=tmp_path)
    with pytest.raises(ConversionError, match=r"give a \.xml file or a folder"):
        convert(tiny_onnx, to="openvino", out=tmp_path / "m.onnx")


def test_cli_bad_input_shape_is_one_line(tmp_path, capsys):
    assert main(["convert", "x.pt", "--to", "onnx", "--out", str(tmp_path), "--input-shape", "1,3,a"]) == 2
    assert "--input-shape" in capsys.readouterr().err
