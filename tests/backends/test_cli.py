"""`edgekit bench` and `edgekit backends` from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edgekit.cli import app, main

runner = CliRunner()
QUICK = ["--seconds", "0.2", "--warmup", "0.1"]


def test_bench_prints_one_table_with_the_three_backends(zoo_dir, zoo_models):
    result = runner.invoke(app, ["bench", "zoo:tinycnn", *QUICK])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("tinycnn - latency mode") == 1
    for backend in ("onnxruntime", "openvino", "torch"):
        assert backend in out
    assert "cuda" in out and "unavailable" in out and "CUDA is not available" in out
    assert "p50 ms" in out


def test_bench_json_and_out_file(tiny, tmp_path):
    out_file = tmp_path / "b.json"
    result = runner.invoke(
        app,
        [
            "bench",
            str(tiny.path),
            "-b",
            "onnxruntime",
            "-b",
            "openvino",
            "--json",
            "--out",
            str(out_file),
            *QUICK,
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert [r["backend"] for r in printed["results"]] == ["onnxruntime", "openvino"]
    assert all(r["status"] == "ok" for r in printed["results"])
    saved = json.loads(out_file.read_text())
    assert saved["manifest"]["hardware"]["cpu_name"] and saved["manifest"]["settings"]["seconds"] == 0.2
    assert (
        main(["bench", str(tiny.path), "-b", "onnxruntime", "--out", str(out_file), *QUICK]) == 2
    )  # no overwrite


def test_bench_unknown_backend_is_one_clear_error(tiny, capsys):
    assert main(["bench", str(tiny.path), "-b", "openvio", *QUICK]) == 2
    assert "did you mean 'openvino'" in capsys.readouterr().err.replace("\n", " ")


def test_bench_missing_model_file(tmp_path, capsys):
    assert main(["bench", str(tmp_path / "nope.onnx"), *QUICK]) == 2
    assert "nope.onnx" in capsys.readouterr().err


def test_backends_lists_devices_with_reasons():
    result = runner.invoke(app, ["backends", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["backend"] for r in rows} == {"onnxruntime", "openvino", "torch"}
    cpu = [r for r in rows if r["device"].lower() == "cpu"]
    assert len(cpu) == 3 and all(r["available"] for r in cpu)
    assert all(r["reason"] for r in rows if not r["available"])
    table = runner.invoke(app, ["backends"])
    assert "Backends and devices" in table.output


def test_bench_refuses_a_negative_time_budget(tiny, capsys):
    assert main(["bench", str(tiny.path), "--seconds", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--seconds" in err and "Traceback" not in err


def test_bench_takes_comma_lists_as_its_help_example_does(tiny):
    """``edgekit bench model.onnx -b onnxruntime -p fp32,int8`` (bench's own --help example) measured
    nothing: "unknown precision 'fp32,int8'"; -p fp32 -p int8 worked."""
    result = runner.invoke(app, ["bench", str(tiny.path), "-b", "onnxruntime,openvino", "-p", "fp32", "--json",
                                 *QUICK])
    assert result.exit_code == 0, result.output
    assert [r["backend"] for r in json.loads(result.stdout)["results"]] == ["onnxruntime", "openvino"]
    from edgekit.cli._examples import EXAMPLES

    assert any("-p fp32,int8" in line for line in EXAMPLES["bench"])
