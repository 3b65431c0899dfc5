"""Third-party models as they come: fp16/uint8 inputs, pre-quantized INT8, ops OpenVINO lacks, QOperator FLOPs.

Every model here is built in the test with onnx.helper (no downloads), the way models reach users from
other tools: a float16 input, an onnxruntime contrib op OpenVINO cannot convert, a QOperator INT8 graph.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgekit.backends import compile_session
from edgekit.errors import EdgekitWarning
from edgekit.models import load_model
from edgekit.models.card_options import apply_card_options

from ..conftest import bare_env

CARD = ["--mean", "0.5,0.5,0.5", "--std", "0.25,0.25,0.25", "--size", "32", "--resize", "stretch"]
RNG = np.random.default_rng(0)


def edgekit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgekit", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, check=False, env=bare_env(COLUMNS="200"))


def _save(path: Path, nodes: list, inits: list, elem: int = TensorProto.FLOAT, contrib: bool = False) -> Path:
    graph = helper.make_graph(nodes, path.stem, [helper.make_tensor_value_info("input", elem, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])], inits)
    opsets = [helper.make_opsetid("", 13)] + ([helper.make_opsetid("com.microsoft", 1)] if contrib else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.save(model, path)
    return path


def _head(source: str) -> tuple[list, list]:
    """Global pool -> 4 class scores."""
    nodes = [helper.make_node("GlobalAveragePool", [source], ["g"]), helper.make_node("Flatten", ["g"], ["h"]),
             helper.make_node("MatMul", ["h", "w"], ["output"])]
    return nodes, [numpy_helper.from_array(RNG.standard_normal((3, 4)).astype(np.float32), "w")]


def typed_input_model(path: Path, elem: int) -> Path:
    """A model whose declared input is float16 or uint8 (it casts to float inside, as exporters do)."""
    nodes, inits = _head("f")
    return _save(path, [helper.make_node("Cast", ["input"], ["f"], to=TensorProto.FLOAT), *nodes], inits, elem)


def inverse_model(path: Path) -> Path:
    """onnxruntime runs com.microsoft.Inverse; OpenVINO has no conversion rule for it."""
    nodes = [helper.make_node("GlobalAveragePool", ["input"], ["g"]), helper.make_node("Flatten", ["g"], ["h"]),
             helper.make_node("MatMul", ["h", "w1"], ["h9"]), helper.make_node("Reshape", ["h9", "s"], ["sq"]),
             helper.make_node("Inverse", ["sq"], ["inv"], domain="com.microsoft"),
             helper.make_node("Reshape", ["inv", "s2"], ["r"]), helper.make_node("MatMul", ["r", "w"], ["output"])]
    inits = [numpy_helper.from_array(np.array([3, 3], np.int64), "s"),
             numpy_helper.from_array(np.array([1, 9], np.int64), "s2"),
             numpy_helper.from_array(RNG.standard_normal((3, 9)).astype(np.float32), "w1"),
             numpy_helper.from_array(RNG.standard_normal((9, 4)).astype(np.float32), "w")]
    return _save(path, nodes, inits, contrib=True)


def conv_model(path: Path) -> Path:
    """conv -> relu -> add (a residual) -> conv -> relu -> head: an Add between convs breaks QOperator shapes."""
    def conv(x: str, y: str, cin: int, name: str) -> tuple:
        w = numpy_helper.from_array((RNG.standard_normal((8, cin, 3, 3)) * 0.2).astype(np.float32), name)
        return helper.make_node("Conv", [x, name], [y], pads=[1, 1, 1, 1]), w
    c1, w1 = conv("input", "c1", 3, "w1")
    c2, w2 = conv("s1", "c2", 8, "w2")
    nodes = [c1, helper.make_node("Relu", ["c1"], ["r1"]), helper.make_node("Add", ["r1", "r1"], ["s1"]), c2,
             helper.make_node("Relu", ["c2"], ["r2"]), helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["h"]), helper.make_node("MatMul", ["h", "w"], ["output"])]
    inits = [w1, w2, numpy_helper.from_array(RNG.standard_normal((8, 4)).astype(np.float32), "w")]
    return _save(path, nodes, inits)


def quantize(src: Path, dest: Path, fmt: str) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter({"input": np.random.default_rng(i).standard_normal((1, 3, 32, 32)).astype(np.float32)}
                              for i in range(8))

        def get_next(self):
            return next(self.feeds, None)

    quantize_static(str(src), str(dest), Reader(),
                    quant_format=QuantFormat.QOperator if fmt == "qoperator" else QuantFormat.QDQ)
    return dest


@pytest.fixture
def photos(tmp_path) -> Path:
    """Four classes of 3 varied images each, named like the models' output indices."""
    for c in range(4):
        folder = tmp_path / "data" / str(c)
        folder.mkdir(parents=True)
        for i in range(3):
            image = np.random.default_rng(10 * c + i).integers(0, 255, (40, 40, 3), dtype=np.uint8)
            cv2.imwrite(str(folder / f"{i}.png"), image)
    return tmp_path / "data"


# ---- inputs cast to the declared dtype -------------------------------------------------------


def test_a_float16_input_model_evaluates_deploys_and_demos_from_the_cli(tmp_path, photos):
    model = typed_input_model(tmp_path / "half.onnx", TensorProto.FLOAT16)
    done = edgekit("eval", str(model), "--data", str(photos), *CARD, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["metrics"]["n"] == 12
    bundle = tmp_path / "bundle"
    deployed = edgekit("deploy", str(model), "--out", str(bundle), *CARD)
    assert deployed.returncode == 0, deployed.stderr
    assert edgekit("verify", str(bundle)).returncode == 0
    shown = edgekit("demo", str(model), *CARD, "--source", "synthetic", "--seconds", "1")
    assert shown.returncode == 0 and "expected dtype" not in shown.stderr, shown.stderr


@pytest.mark.slow
def test_a_float16_input_model_plans_from_the_cli(tmp_path, photos):
    model = typed_input_model(tmp_path / "half.onnx", TensorProto.FLOAT16)
    done = edgekit("plan", str(model), "--target", "local", "--data", str(photos), "--methods", "fp32",
                   "--seconds", "0.2", "--out", str(tmp_path / "plan"), *CARD, "--json")
    assert done.returncode == 0, done.stderr
    statuses = {c["key"]: c for c in json.loads(done.stdout)["candidates"]}
    assert statuses["onnxruntime/cpu/fp32"]["accuracy"] is not None


def test_float16_and_uint8_inputs_take_float32_images_through_the_api(tmp_path, photos):
    from edgekit.compress import quantize_int8
    from edgekit.data import calibration_set, open_dataset
    from edgekit.models import Preprocess

    pixels = np.random.default_rng(1).integers(0, 255, (1, 3, 32, 32)).astype(np.float32)
    eight = load_model(typed_input_model(tmp_path / "u8.onnx", TensorProto.UINT8))
    with compile_session(eight, "onnxruntime") as session:  # 0..255 float pixels become the uint8 it declares
        assert np.allclose(session.predict(pixels), session.predict(pixels.astype(np.uint8)))
    half = load_model(typed_input_model(tmp_path / "half.onnx", TensorProto.FLOAT16),
                      preprocess=Preprocess(size=(32, 32), mean=(0.5,) * 3, std=(0.25,) * 3))
    feeds = calibration_set(open_dataset(photos), half, n=12)
    assert feeds[0]["input"].dtype == np.float32  # what preprocessing makes; quantization casts it
    with pytest.warns(EdgekitWarning, match="calibration samples"):
        quantized = quantize_int8(half, feeds, out=tmp_path / "q.onnx")
    assert str(quantized.precision) == "int8" and quantized.path.is_file()


# ---- pre-quantized models on CPUs without VNNI -----------------------------------------------


def test_int8_model_on_a_cpu_without_vnni_runs_with_onnxruntime_precision_option(tmp_path, monkeypatch):
    from edgekit.backends import onnxruntime as ort_backend

    int8 = load_model(quantize(conv_model(tmp_path / "conv.onnx"), tmp_path / "qdq.onnx", "qdq"))
    assert str(int8.precision) == "int8"
    monkeypatch.setattr(ort_backend, "saturating_cpu", lambda: True)  # an AVX2-only CPU (hardware edge)
    with compile_session(int8, "onnxruntime", options={"cache": False}) as session:
        said = " ".join(session.info.notes)
        assert "session.x64quantprecision on" in said and "no VNNI" in said
        x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
        assert np.isfinite(session.predict(x)).all()
    with compile_session(int8, "onnxruntime", options={"cache": False, "x64_quant_precision": False}) as session:
        assert "x64quantprecision" not in " ".join(session.info.notes)  # the user's choice wins
    monkeypatch.setattr(ort_backend, "saturating_cpu", lambda: False)
    fp32 = load_model(tmp_path / "conv.onnx")
    with compile_session(fp32, "onnxruntime", options={"cache": False}) as session:
        assert "x64quantprecision" not in " ".join(session.info.notes)


def test_int8_on_openvino_on_a_cpu_without_vnni_is_noted_as_possibly_saturating(tmp_path, photos, monkeypatch,
                                                                                 capsys):
    """OpenVINO has no widening setting: the same INT8 file can score lower there on such a CPU (a ShuffleNet
    INT8: 70.8% vs 76.6% top-1), so ``edgekit bench`` says so under its table, ``edgekit eval`` under
    its accuracy (and in its JSON) and ``edgekit demo`` when it starts."""
    pytest.importorskip("openvino")
    from edgekit.backends import openvino as ov_backend
    from edgekit.cli import main
    from edgekit.evaluation.benchmark import BenchSettings, bench_items

    int8 = load_model(quantize(conv_model(tmp_path / "conv.onnx"), tmp_path / "qdq.onnx", "qdq"))
    fp32 = load_model(tmp_path / "conv.onnx")
    monkeypatch.setattr(ov_backend, "saturating_cpu", lambda: True)  # an AVX2-only CPU (hardware edge)
    quick = BenchSettings(mode="latency", seconds=0.1, warmup_seconds=0.05)
    ran_int8, ran_fp32 = bench_items([(int8, "openvino", "cpu", "int8"), (fp32, "openvino", "cpu", "fp32")], quick)
    assert ran_int8.ok and any("without VNNI" in n and "saturate" in n for n in ran_int8.info["notes"])
    assert not any("saturate" in n for n in ran_fp32.info["notes"])  # nothing to saturate in FP32
    qdq = str(tmp_path / "qdq.onnx")
    assert main(["eval", qdq, "--data", str(photos), "--backend", "openvino", *CARD]) == 0
    said = capsys.readouterr().out
    assert "accuracy" in said and "note: OpenVINO INT8 on this x86 CPU without VNNI" in said
    assert main(["eval", qdq, "--data", str(photos), "--backend", "openvino", "--json", *CARD]) == 0
    assert any("saturate" in n for n in json.loads(capsys.readouterr().out)["notes"])
    # the demo shows top-1 live: a user who asks it for OpenVINO is told when it starts
    assert main(["demo", qdq, "--backend", "openvino", *CARD, "--source", "synthetic", "--seconds", "0.5"]) == 0
    assert "OpenVINO INT8 on this x86 CPU without VNNI" in " ".join(capsys.readouterr().err.split())
    monkeypatch.setattr(ov_backend, "saturating_cpu", lambda: False)  # VNNI, AMX or not x86
    with compile_session(int8, "openvino") as session:
        assert not any("saturate" in n for n in session.info.notes) and session.info.caveats == ()
    assert main(["demo", qdq, "--backend", "openvino", *CARD, "--source", "synthetic", "--seconds", "0.5"]) == 0
    assert "VNNI" not in capsys.readouterr().err


# ---- OpenVINO's own words reach the user --------------------------------------------------------


def test_openvino_unsupported_ops_are_named_in_bench_eval_and_convert(tmp_path, photos):
    pytest.importorskip("openvino")
    model = inverse_model(tmp_path / "inverse.onnx")
    runs = {"bench": edgekit("bench", str(model), "--backend", "openvino", "--seconds", "0.2"),
            "eval": edgekit("eval", str(model), "--data", str(photos), "--backend", "openvino", *CARD),
            "convert": edgekit("convert", str(model), "--to", "openvino", "--out", str(tmp_path / "ir.xml"))}
    for name, done in runs.items():
        text = " ".join((done.stdout + done.stderr).split())
        assert done.returncode != 0, name
        assert "com.microsoft.Inverse" in text, (name, text[-800:])
        assert "core.cpp" not in text, name  # the C++ source location is not the message
    assert not (tmp_path / "ir.xml").exists()


@pytest.mark.slow
def test_a_backend_that_fails_is_a_failed_candidate_and_no_fallback(tmp_path, photos):
    pytest.importorskip("openvino")
    model = inverse_model(tmp_path / "inverse.onnx")
    done = edgekit("plan", str(model), "--target", "local", "--data", str(photos), "--methods", "fp32",
                   "--seconds", "0.2", "--out", str(tmp_path / "plan"), *CARD, "--json")
    assert done.returncode == 0, done.stderr
    candidates = {c["key"]: c for c in json.loads(done.stdout)["candidates"]}
    ov = candidates["openvino/cpu/fp32"]
    assert ov["status"] == "failed" and ov["accuracy"] is None  # never onnxruntime's figure under its name
    assert "com.microsoft.Inverse" in " ".join(ov["reasons"])
    deployed = edgekit("deploy", str(tmp_path / "plan" / "report.json"), "--out", str(tmp_path / "bundle"))
    assert deployed.returncode == 0, deployed.stderr
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert [b["backend"] for b in manifest["backends"]] == ["onnxruntime"]


# ---- FLOPs of integer graphs -------------------------------------------------------------------


def test_flops_of_a_qoperator_int8_graph_match_its_float_source(tmp_path):
    from edgekit.models.cost import count_flops

    source = conv_model(tmp_path / "conv.onnx")
    float_flops = count_flops(load_model(source))
    for fmt in ("qoperator", "qdq"):
        quantized = load_model(quantize(source, tmp_path / f"{fmt}.onnx", fmt))
        ops = {n.op_type for n in onnx.load(quantized.path).graph.node}
        assert fmt != "qoperator" or {"QLinearConv", "QLinearAdd"} <= ops
        assert count_flops(quantized) == pytest.approx(float_flops, rel=0.05), fmt


# ---- convert's tolerance follows the model's precision --------------------------------------------


def test_convert_checks_an_int8_model_by_relative_error_and_top1(tmp_path):
    pytest.importorskip("openvino")
    from edgekit.models import convert

    int8 = load_model(quantize(conv_model(tmp_path / "conv.onnx"), tmp_path / "qdq.onnx", "qdq"))
    _, report = convert(int8, to="openvino", out=tmp_path / "ir")
    assert report.passed and "int8 model" in report.rule and "relative error" in report.rule
    assert report.relative_diff is not None
    _, fp32 = convert(load_model(tmp_path / "conv.onnx"), to="openvino", out=tmp_path / "ir32")
    assert fp32.rule == "max abs diff <= 0.001"


REAL = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "models" / "shufflenet-v2-12-qdq.onnx"


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_file(), reason="needs ../shared/realdata (the real INT8 ShuffleNet), absent here")
def test_the_real_int8_shufflenet_converts_to_openvino_by_default(tmp_path):
    pytest.importorskip("openvino")
    done = edgekit("convert", str(REAL), "--to", "openvino", "--out", str(tmp_path / "sn.xml"))
    assert done.returncode == 0, done.stderr
    assert "passed" in done.stdout and "relative error" in done.stdout


# ---- OpenVINO IR rt_info read into the card ------------------------------------------------------


def test_openvino_rt_info_gives_labels_mean_and_scale_without_flags(tmp_path):
    ov = pytest.importorskip("openvino")
    ir = ov.Core().read_model(str(conv_model(tmp_path / "conv.onnx")))
    for key, value in {"mean_values": "123.675 116.28 103.53", "scale_values": "58.395 57.12 57.375",
                       "reverse_input_channels": "True", "labels": "cat dog bird fish",
                       "resize_type": "fit_to_window_letterbox"}.items():
        ir.set_rt_info(value, ["model_info", key])
    ov.save_model(ir, str(tmp_path / "api.xml"))
    model = apply_card_options(load_model(tmp_path / "api.xml"))  # what the Model API applies before the model
    assert model.labels == ("cat", "dog", "bird", "fish")
    assert model.preprocess.mean == (123.675, 116.28, 103.53) and model.preprocess.std == (58.395, 57.12, 57.375)
    assert model.preprocess.scale == 1.0 and model.preprocess.channel_order == "RGB"
    assert model.preprocess.resize == "letterbox"
    assert model.metadata["card_sources"]["mean"] == "file metadata"
    baked = ov.Core().read_model(str(tmp_path / "conv.onnx"))
    baked.set_rt_info("[123.675,116.28,103.53]", ["conversion_parameters", "mean_values"])
    baked.set_rt_info("True", ["conversion_parameters", "reverse_input_channels"])
    ov.save_model(baked, str(tmp_path / "mo.xml"))
    raw = apply_card_options(load_model(tmp_path / "mo.xml"))  # Model Optimizer put the mean into the graph: raw BGR pixels in
    assert raw.preprocess.mean == (0.0, 0.0, 0.0) and raw.preprocess.scale == 1.0
    assert raw.preprocess.channel_order == "BGR"
    shown = edgekit("card", str(tmp_path / "api.xml"))
    assert shown.returncode == 0 and "file metadata" in shown.stdout and "cat, dog" in shown.stdout
