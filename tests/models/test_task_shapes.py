"""Models that are not what a command assumes are refused by name, not packaged or scored as classifiers."""

from __future__ import annotations

import json
import subprocess
import sys

import onnx
from onnx import TensorProto, helper


def _image_to_image(path):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "i2i",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 32, 32])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    path.with_suffix(".json").write_text(json.dumps({"preprocess": {"size": [32, 32]}}))
    return path


def _edgekit(*args):
    return subprocess.run([sys.executable, "-m", "edgekit", *args], capture_output=True, text=True, timeout=300,
                          check=False)


def test_an_image_to_image_model_is_not_deployed_as_a_classifier(tmp_path):
    model = _image_to_image(tmp_path / "enhance.onnx")
    done = _edgekit("deploy", str(model), "--out", str(tmp_path / "b"))
    assert done.returncode == 2, done.stderr
    assert "image-shaped" in done.stderr and "[1, 3, 32, 32]" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "b").exists()


def test_an_ir_with_no_layers_is_refused(tmp_path):
    xml = tmp_path / "empty.xml"
    xml.write_text('<?xml version="1.0"?>\n<net name="empty" version="11"><layers></layers><edges></edges></net>\n')
    xml.with_suffix(".bin").write_bytes(b"\0")
    done = _edgekit("info", str(xml))
    assert done.returncode == 2 and "no inputs (no layers to run)" in done.stderr
