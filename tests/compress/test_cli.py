"""`edgekit compress`: writes a new file, keeps the input, refuses bad requests with one line."""

from __future__ import annotations

import json

from edgekit._io import sha256_file
from edgekit.cli import main


def test_compress_fp16_and_int8_dynamic_write_new_files(tiny, tmp_path, capsys):
    before = sha256_file(tiny.path)
    assert main(["compress", str(tiny.path), "--method", "fp16", "--out", str(tmp_path / "half.onnx")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "half.onnx").is_file()
    assert main(["compress", str(tiny.path), "--method", "int8-dynamic", "--out", str(tmp_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["precision"] == "int8-dynamic" and info["path"].endswith("tiny.int8-dynamic.onnx")
    assert sha256_file(tiny.path) == before


def test_compress_refuses_overwrite_and_unknown_method(tiny, tmp_path, capsys):
    out = tmp_path / "q.onnx"
    assert main(["compress", str(tiny.path), "--method", "fp16", "--out", str(out)]) == 0
    assert main(["compress", str(tiny.path), "--method", "fp16", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["compress", str(tiny.path), "--method", "int4", "--out", str(tmp_path)]) == 2
    assert "unknown method" in capsys.readouterr().err


def test_int8_without_calibration_data_names_the_fix(tiny, tmp_path, capsys):
    assert main(["compress", str(tiny.path), "--method", "int8", "--out", str(tmp_path)]) == 2
    assert "--data DIR" in capsys.readouterr().err


def test_unknown_or_unusable_format_is_refused_before_any_work(tiny, tmp_path, capsys):
    out = tmp_path / "x.onnx"
    assert main(["compress", str(tiny.path), "--method", "fp16", "--out", str(out), "--format", "tflite"]) == 2
    assert "--format 'tflite' is unknown; choose onnx or openvino" in capsys.readouterr().err
    assert main(["compress", str(tiny.path), "--method", "int8-dynamic", "--out", str(out), "--format", "openvino"]) == 2
    assert "writes ONNX only; drop --format openvino" in capsys.readouterr().err
    assert not out.exists()
