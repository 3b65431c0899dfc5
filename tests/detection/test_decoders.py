"""Each decoder on a head exported from torch, auto-detected from its shapes; the real models when present."""

from __future__ import annotations

import json

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgekit.detection import Detection, Detector, detector_spec, model_task
from edgekit.errors import ModelLoadError
from edgekit.models import load_model

from .conftest import real, scene

DECODERS = ["ultralytics", "yolox", "yolov5", "nms"]


@pytest.mark.parametrize("decoder", DECODERS)
def test_exported_head_is_recognised_and_finds_both_squares(tiny_heads, decoder):
    model = load_model(tiny_heads[decoder])
    assert model_task(model) == "detection"
    image, expected = scene()
    with Detector.open(model) as detector:
        assert detector.spec.config.decoder == decoder
        assert detector.spec.config.pad == ("topleft" if decoder == "yolox" else "center")
        found = detector.detect(image)
    assert sorted(d.class_id for d in found) == [0, 1]
    for det in found:
        assert isinstance(det, Detection) and det.score > 0.9 and det.label == str(det.class_id)
        np.testing.assert_allclose(det.box, expected[det.class_id], atol=1.5)


def test_card_names_classes_and_sets_thresholds(tiny_heads, tmp_path):
    path = tmp_path / "squares.onnx"
    path.write_bytes(tiny_heads["ultralytics"].read_bytes())
    path.with_suffix(".json").write_text(json.dumps(
        {"task": "detection", "labels": ["red", "green"], "detection": {"decoder": "ultralytics", "conf": 0.5}}))
    with Detector.open(path) as detector:
        assert detector.spec.config.conf == 0.5 and dict(detector.spec.sources)["decoder"] == "card"
        assert sorted(d.label for d in detector.detect(scene()[0])) == ["green", "red"]
        stricter = detector.spec.config.replace(conf=0.9999999)
        assert detector.detect(scene()[0], stricter) == []


def test_bad_detection_card_is_one_sentence(tiny_heads, tmp_path):
    path = tmp_path / "squares.onnx"
    path.write_bytes(tiny_heads["yolox"].read_bytes())
    path.with_suffix(".json").write_text(json.dumps({"task": "detection", "detection": {"decoder": "yolo9000"}}))
    with pytest.raises(ModelLoadError, match="invalid 'detection'.*yolo9000"):
        detector_spec(load_model(path))


def test_unknown_head_names_the_shapes_and_the_card_fields(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["images"], ["features"])], "g",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 3, 32, 32])])
    path = tmp_path / "odd.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    path.with_suffix(".json").write_text(json.dumps({"task": "detection"}))
    model = load_model(path)
    assert model_task(model) == "detection"
    with pytest.raises(ModelLoadError) as info:
        detector_spec(model)
    text = str(info.value)
    assert "features [1, 3, 32, 32]" in text and '"decoder"' in text and "odd.json" in text
    assert text.count(". ") == 0  # one sentence


def test_a_classifier_is_not_taken_for_a_detector(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["logits"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10, 1, 1])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])])
    path = tmp_path / "cls.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    assert model_task(load_model(path)) == "classification"


@pytest.mark.parametrize("name", ["yolox_nano.onnx", "yolov8n_int8_op11.onnx"])
def test_real_models_find_four_persons_and_a_bus(name):
    model_path = real("models", name)
    image = cv2.imread(str(real("images", "bus.jpg")))
    with Detector.open(model_path) as detector:
        found = detector.detect(image)
    labels = sorted(d.label for d in found)
    assert labels == ["bus", "person", "person", "person", "person"], found
    bus = next(d for d in found if d.label == "bus")
    assert bus.box[0] < 30 and bus.box[2] > 790 and 220 < bus.box[1] < 240  # the whole bus, in 810x1080 pixels


def test_ultralytics_metadata_fills_names_and_yolox_gets_coco_names():
    v8 = detector_spec(load_model(real("models", "yolov8n_int8_op11.onnx")))
    yolox = detector_spec(load_model(real("models", "yolox_nano.onnx")))
    assert dict(v8.sources)["labels"] == "onnx-metadata" and v8.labels[5] == "bus" and v8.rgb and v8.size == (640, 640)
    assert yolox.labels == v8.labels and "COCO-80" in dict(yolox.sources)["labels"]
    assert not yolox.rgb and yolox.scale == 1.0 and yolox.config.pad == "topleft"
