"""INT8 and planning of detectors: the decode tail stays float, budgets are in mAP points.

The detector is a tiny convnet with an Ultralytics-style head built in torch and
exported (1x1 colour conv, an 8x8 stride-8 "pooling" conv, a class conv + sigmoid,
a box conv + grid decode, Concat of pixel boxes and 0..1 scores), on a synthetic
YOLO folder of red (class 0) and green (class 1) squares on whole 8-px cells: its
FP32 mAP is 1.0, so any loss is quantization's.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgekit.errors import ConversionError

SIZE = 64
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "detection"


def _export(path: Path) -> Path:
    torch = pytest.importorskip("torch", reason="the tiny detector is exported from torch")
    nn = torch.nn

    class TinyDetector(nn.Module):
        def __init__(self):
            super().__init__()
            self.colour = nn.Conv2d(3, 2, 1, bias=False)  # R, G
            self.pool = nn.Conv2d(2, 2, 8, stride=8, groups=2, bias=False)  # mean of each 8x8 cell
            self.cls = nn.Conv2d(2, 2, 1)  # 40 * (mean - 0.7)
            self.box = nn.Conv2d(2, 4, 1)  # offsets 0.5, 0.5 and size 1 cell (tiny weights)
            with torch.no_grad():
                self.colour.weight.zero_()
                self.colour.weight[0, 0] = self.colour.weight[1, 1] = 1.0
                self.pool.weight.fill_(1 / 64)
                self.cls.weight.copy_(torch.diag(torch.tensor([40.0, 40.0]))[..., None, None])
                self.cls.bias.fill_(-28.0)
                self.box.weight.fill_(0.01)
                self.box.bias.copy_(torch.tensor([0.5, 0.5, 1.0, 1.0]))
            ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
            self.register_buffer("grid", torch.stack([xs, ys]).flatten(1)[None])

        def forward(self, x):
            f = self.pool(self.colour(x))
            scores = torch.sigmoid(self.cls(f)).flatten(2)  # [1, 2, 64]
            b = self.box(f).flatten(2)
            xy, wh = (b[:, :2] + self.grid) * 8, b[:, 2:] * 8
            return torch.cat([xy, wh, scores], 1)  # [1, 6, 64]: Ultralytics layout

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(TinyDetector().eval(), (torch.zeros(1, 3, SIZE, SIZE),), str(path), dynamo=False,
                          opset_version=13, input_names=["images"], output_names=["output0"])
    return path


def _scenes(root: Path, n: int = 48) -> Path:
    """A YOLO folder: 1-3 red/green 8x8 squares on whole cells over dim noise, per image."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in range(n):
        image = (rng.random((SIZE, SIZE, 3)) * 40).astype(np.uint8)
        lines = []
        for cell in rng.choice(64, rng.integers(1, 4), replace=False):
            cy, cx, k = int(cell) // 8, int(cell) % 8, int(rng.integers(0, 2))
            image[cy * 8:cy * 8 + 8, cx * 8:cx * 8 + 8] = (0, 0, 255) if k == 0 else (0, 255, 0)
            lines.append(f"{k} {(cx + 0.5) / 8} {(cy + 0.5) / 8} 0.125 0.125")
        cv2.imwrite(str(root / "images" / f"{i}.png"), image)
        (root / "labels" / f"{i}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(FP32 detector Model, YOLO folder)."""
    from edgekit.models import load_model

    tmp = tmp_path_factory.mktemp("det")
    return load_model(_export(tmp / "tinydet.onnx")), _scenes(tmp / "scenes")


def test_head_tail_found_and_kept_float_in_int8(tiny, tmp_path):
    from edgekit.compress.detection import float_nodes, head_tail, quantize_detector
    from edgekit.detection.evaluate import evaluate_detection

    model, data = tiny
    tail = head_tail(model)
    ops = {n: n.split("/")[-1].rstrip("_0123456789") for n in tail}
    assert {"Concat", "Sigmoid"} <= set(ops.values()), tail
    assert not any(op == "Conv" for op in ops.values()), tail  # the convolutions are quantized
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = quantize_detector(model, data, tmp_path / "q.onnx", samples=32)
        full = quantize_detector(model, data, tmp_path / "full.onnx", samples=32, keep_head_float=False)
    assert str(q.precision) == "int8" and q.metadata["compression"]["exclude"] == sorted(tail)
    present = _names(q.path) & set(tail)
    assert present and sorted(float_nodes(q.path, present)) == sorted(present)  # every tail node stayed float
    assert _has_quantized_conv(q.path)
    assert len(float_nodes(full.path, _names(full.path) & set(tail))) < len(_names(full.path) & set(tail))
    ref = evaluate_detection(model, data, bootstrap=0).metrics.map
    kept = evaluate_detection(q, data, bootstrap=0).metrics.map
    assert ref > 0.99 and ref - kept <= 0.01, (ref, kept)


def _kept_float(ov, q, types=("Sigmoid", "Concat")):
    """The ops of the quantized IR ``q`` its card says were kept float: every one is in the IR, none
    reads a FakeQuantize output, and among them are ops of each of ``types``."""
    ops = {o.get_friendly_name(): o for o in ov.Core().read_model(str(q.path)).get_ops()}

    def feeds(op):
        return {op.input_value(i).get_node().get_type_name() for i in range(op.get_input_size())}

    kept = q.metadata["compression"]["ignored"]
    assert kept and all(n in ops for n in kept), sorted(set(kept) - set(ops))  # the IR keeps the names NNCF saw
    assert not any("FakeQuantize" in feeds(ops[n]) for n in kept)  # the tail reads float values
    assert set(types) <= {ops[n].get_type_name() for n in kept}
    assert any("FakeQuantize" in feeds(o) for o in ops.values() if o.get_type_name() == "Convolution")
    return kept


def test_nncf_int8_keeps_the_tail_float_in_the_openvino_ir(tiny, tmp_path):
    ov = pytest.importorskip("openvino", reason="NNCF quantizes OpenVINO models")
    pytest.importorskip("nncf")
    from edgekit.compress.detection import head_tail, quantize_detector

    model, data = tiny
    tail = head_tail(model, "nncf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = quantize_detector(model, data, tmp_path / "q.xml", quantizer="nncf", samples=32)
    kept = _kept_float(ov, q)
    named = sorted(n for n in tail if n.startswith("/"))  # OpenVINO numbers unnamed ops per read: compare named ones
    assert sorted(n for n in kept if n.startswith("/")) == named and "/Concat" in kept and "/Sigmoid" in kept


def test_nncf_int8_keeps_an_unnamed_tail_float(tiny, tmp_path):
    """YOLOX-Nano's ONNX file leaves some tail nodes unnamed; OpenVINO names the ops it makes of them
    from a counter that runs on through the process (``Reshape_543142``), so those names, found in one
    read of the file, were not in the read NNCF quantized: quantized, with a warning naming them."""
    ov = pytest.importorskip("openvino", reason="NNCF quantizes OpenVINO models")
    pytest.importorskip("nncf")
    import onnx

    from edgekit.compress.detection import head_tail, quantize_detector
    from edgekit.errors import EdgekitWarning
    from edgekit.models import load_model

    model, data = tiny
    proto = onnx.load(str(model.path))
    for node in proto.graph.node:
        node.name = ""  # as some exporters write them
    onnx.save(proto, str(tmp_path / "unnamed.onnx"))
    unnamed = load_model(tmp_path / "unnamed.onnx")
    assert set(head_tail(unnamed, "nncf")) != set(head_tail(unnamed, "nncf"))  # names made up anew per read
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        q = quantize_detector(unnamed, data, tmp_path / "q.xml", quantizer="nncf", samples=32)
    assert not [w for w in seen if issubclass(w.category, EdgekitWarning) and "not in the model" in str(w.message)]
    _kept_float(ov, q)


def test_already_quantized_detector_refused(tiny, tmp_path):
    from edgekit.compress.detection import quantize_detector
    from edgekit.compress.int8 import quantize_dynamic_int8

    model, data = tiny
    dyn = quantize_dynamic_int8(model, tmp_path / "dyn.onnx")
    assert str(dyn.precision) == "int8-dynamic"
    with pytest.raises(ConversionError, match="already quantized"):
        quantize_detector(dyn, data, tmp_path / "again.onnx")


@pytest.mark.slow
def test_plan_of_a_detector_in_map_points(tiny, tmp_path):
    from edgekit.planner import plan

    model, data = tiny
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = plan(model, target="local", data=str(data), max_accuracy_drop=0.01, seconds=0.3,
                      methods=("fp32", "int8"), out=str(tmp_path / "plan"))
    assert report.metric == "mAP@0.5:0.95"
    ort = {c.key: c for c in report.candidates if c.backend == "onnxruntime"}
    fp32, int8 = ort["onnxruntime/cpu/fp32"], ort["onnxruntime/cpu/int8"]
    assert fp32.accuracy > 0.99 and fp32.drop == 0
    assert int8.accuracy is not None and int8.drop <= 0.01, int8
    assert not any("accuracy drop" in r for r in int8.reasons), int8.reasons  # (never-slower may still reject it)
    assert any("decode tail in float" in line for line in report.log)
    assert "mAP@0.5:0.95 (95% CI)" in report.to_markdown()
    from rich.console import Console

    from edgekit.cli.plan import render

    console = Console(record=True, width=160)
    console.print(render(report))
    assert "mAP@0.5:0.95" in console.export_text()


@pytest.mark.slow
def test_plan_keeps_an_already_quantized_detector_as_stored(tiny, tmp_path):
    from edgekit.compress.int8 import quantize_dynamic_int8
    from edgekit.planner import plan

    model, data = tiny
    dyn = quantize_dynamic_int8(model, tmp_path / "dyn.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = plan(dyn, target="local", data=str(data), seconds=0.3, methods=("fp32", "int8"))
    keys = [c.key for c in report.candidates]
    assert "onnxruntime/cpu/int8-dynamic" in keys and not any(k.endswith("/int8") for k in keys), keys
    assert any("already quantized" in line for line in report.log)
    best = report.best
    assert best.accuracy > 0.9 and best.drop == 0
    for c in report.candidates:  # a backend that cannot run ConvInteger is reported, not silently dropped
        if c.status == "failed":
            assert c.reasons and "could not" in c.reasons[0]


def test_an_already_quantized_detector_validates_on_every_image(tiny, tmp_path):
    """Nothing of a quantized detector is calibrated, so halving the data would only widen its mAP interval."""
    from types import SimpleNamespace

    from edgekit.compress.int8 import quantize_dynamic_int8
    from edgekit.planner.detection import datasets

    model, data = tiny
    cfg = SimpleNamespace(data=str(data), calibration=None)
    calib, val, _, what = datasets(cfg, model)
    assert len(calib) + len(val) == 48 and "seeded half (24)" in what  # FP32: half calibrates
    calib, val, _, what = datasets(cfg, quantize_dynamic_int8(model, tmp_path / "dyn.onnx"))
    assert len(val) == 48 and "all 48 detection images validate (the model is already quantized)" in what


def test_planner_split_is_disjoint(tiny):
    from edgekit.detection.datasets import open_detection_dataset
    from edgekit.planner.detection import split

    data = open_detection_dataset(tiny[1], num_classes=2)
    a, b = split(data)
    assert len(a) + len(b) == len(data) and not {s.path for s in a.samples} & {s.path for s in b.samples}


def test_real_yolox_tail_is_the_decode_concat():
    from edgekit.compress.detection import head_tail
    from edgekit.models import load_model

    path = REAL / "models" / "yolox_nano.onnx"
    if not path.exists():
        pytest.skip(f"{path} is absent (third-party real data, see ../shared/realdata/detection/README.md)")
    tail = head_tail(load_model(path))
    assert "/head/Concat_6" in tail and "/head/Sigmoid" in tail
    assert not any(n.endswith("/Conv") for n in tail)


def _names(path: Path) -> set[str]:
    import onnx

    return {n.name for n in onnx.load(str(path)).graph.node}


def _has_quantized_conv(path: Path) -> bool:
    import onnx

    graph = onnx.load(str(path)).graph
    dequant = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    return any(n.op_type == "Conv" and n.input[0] in dequant for n in graph.node)


def test_cli_compress_int8_of_a_detector_keeps_the_tail_float(tiny, tmp_path, capsys):
    from edgekit.cli import main
    from edgekit.compress.detection import float_nodes, head_tail

    model, data = tiny
    out = tmp_path / "cli.int8.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["compress", str(model.path), "--method", "int8", "--data", str(data), "--samples", "24",
                     "--out", str(out)]) == 0
    present = _names(out) & set(head_tail(model))
    assert present and sorted(float_nodes(out, present)) == sorted(present)
    assert main(["compress", str(model.path), "--method", "int8", "--out", str(tmp_path / "x.onnx")]) == 2
    assert "YOLO folder" in capsys.readouterr().err  # the detector's calibration data, named
