"""`edgekit eval model.xml` runs with no --backend flag; asking onnxruntime for an IR names the flag that works."""

from __future__ import annotations

import json

import pytest

from edgekit.cli import main
from edgekit.models import convert, load_model


@pytest.fixture(scope="module")
def digits_ir(tmp_path_factory):
    pytest.importorskip("openvino")
    out = tmp_path_factory.mktemp("ir") / "digits.xml"
    ir, _ = convert(load_model("demo:digits"), to="openvino", out=out)
    return ir.path


def test_eval_of_an_openvino_ir_needs_no_backend_flag(digits_ir, capsys):
    assert main(["eval", str(digits_ir), "--data", "demo-test", "--limit", "40", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["backend"] == "openvino" and result["metrics"]["accuracy"] >= 0.8


def test_eval_of_an_onnx_file_still_runs_on_onnxruntime(capsys):
    assert main(["eval", "demo:digits", "--data", "demo-test", "--limit", "20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["backend"] == "onnxruntime"


def test_onnxruntime_asked_for_an_ir_names_the_cli_flag(digits_ir, capsys):
    assert main(["eval", str(digits_ir), "--data", "demo-test", "--limit", "20", "--backend", "onnxruntime"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "ONNX files only" in err and "--backend openvino" in err
    # an IR does not convert back to ONNX: the fix named is the ONNX it came from, not a failing convert
    assert "the ONNX file this OpenVINO IR was made from" in err and "convert" not in err


def test_the_python_evaluate_of_an_ir_picks_openvino_without_being_told(digits_ir):
    """``evaluate(path, data)`` defaulted to onnxruntime: an IR failed unless the caller named openvino."""
    from edgekit.data import demo_digits
    from edgekit.evaluation import evaluate

    result = evaluate(str(digits_ir), demo_digits("test"), limit=24)
    assert result.backend == "openvino" and result.metrics.n == 24 and result.metrics.accuracy >= 0.7
    assert evaluate("demo:digits", demo_digits("test"), limit=8).backend == "onnxruntime"
