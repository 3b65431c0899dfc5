"""A detector deployed as a bundle: the Predictor (and edgekit verify) give the same boxes as the SDK."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from edgekit.deployment import Predictor, deploy
from edgekit.detection import Detection, Detector

from .conftest import scene


@pytest.mark.parametrize("decoder", ["ultralytics", "yolox"])
def test_bundle_predictor_returns_the_same_boxes(tiny_heads, tmp_path, decoder):
    bundle = deploy(tiny_heads[decoder], out=tmp_path / "bundle")
    manifest = json.loads((bundle.path / "manifest.json").read_text())
    assert manifest["task"] == "detection" and manifest["detection"]["config"]["decoder"] == decoder
    image, _expected = scene()
    with Detector.open(tiny_heads[decoder]) as detector:
        reference = detector.detect(image)
    with Predictor.open(bundle.path) as predictor:
        found = predictor.predict(image)
        assert found == predictor.detect(image) == predictor.predict_batch([image])[0]
        assert predictor.detect(image, predictor.detector_spec.config.replace(conf=0.9999999)) == []
    assert all(isinstance(d, Detection) for d in found)
    assert [d.class_id for d in found] == [d.class_id for d in reference]
    np.testing.assert_allclose([d.box for d in found], [d.box for d in reference], atol=1e-4)
    assert sorted(d.class_id for d in found) == [0, 1]


def test_a_detectors_triton_export_keeps_class_names_off_its_raw_tensor_and_says_it_is_raw(tiny_heads, tmp_path,
                                                                                          capsys):
    """Triton reads an output's label_filename as index -> class name; on a detector's raw grid tensor that
    named grid cells as classes. The native export says the answer is the raw tensor, not boxes."""
    from edgekit.cli import main
    from edgekit.models import load_model

    bundle = deploy(load_model(tiny_heads["yolox"]).replace(labels=("red", "green")), out=tmp_path / "bundle")
    names = json.loads((bundle.path / "manifest.json").read_text())["labels"]
    assert names == ["red", "green"]
    assert main(["export", str(bundle.path), "--out", str(tmp_path / "repo")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    folder = next((tmp_path / "repo").iterdir())
    assert "label_filename" not in (folder / "config.pbtxt").read_text()
    assert (folder / "labels.txt").read_text().split("\n")[: len(names)] == list(names)
    assert "answers with the detector's raw output tensor" in out and "--triton-backend python" in out
    assert main(["export", str(bundle.path), "--out", str(tmp_path / "py"), "--triton-backend", "python"]) == 0
    assert "raw output tensor" not in capsys.readouterr().out


def test_a_detector_a_predictor_and_a_session_say_what_runs_where_in_a_repl(tiny_heads, tmp_path):
    """At a Python prompt they printed ``<edgekit.detection.detector.Detector object at 0x7f...>``."""
    bundle = deploy(tiny_heads["yolox"], out=tmp_path / "yb.zip")
    with Detector.open(tiny_heads["yolox"], conf=0.3) as detector:
        assert repr(detector) == "<Detector tiny_yolox: yolox head, conf 0.3, IoU 0.45 on onnxruntime cpu fp32>"
        detector.spec = replace(detector.spec, labels=("red", "green"))
        assert "yolox head, 2 classes, conf 0.3" in repr(detector)
        threads = detector.session.info.threads
        assert repr(detector.session) == f"<OrtSession tiny_yolox on onnxruntime cpu fp32, {threads} threads>"
    with Predictor.open(bundle.path) as predictor:
        assert repr(predictor) == "<Predictor tiny_yolox (detection) from yb.zip on onnxruntime cpu fp32>"
