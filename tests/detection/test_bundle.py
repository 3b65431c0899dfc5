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


def test_an_image_files_path_is_detected_like_its_pixels_and_a_bad_path_is_named(tiny_heads, tmp_path):
    """``Detector.open(m).detect("bus.jpg")`` said "got shape ()"; a Predictor asked for cv2.imread first."""
    import cv2

    from edgekit.errors import InputMismatch

    image, _expected = scene()
    photo = tmp_path / "scène.png"  # a non-ASCII name: read as bytes, not by OpenCV's path API
    assert cv2.imencode(".png", image)[1].tofile(str(photo)) is None
    bundle = deploy(tiny_heads["yolox"], out=tmp_path / "bundle")
    with Detector.open(tiny_heads["yolox"]) as detector, Predictor.open(bundle.path) as predictor:
        pixels = detector.detect(image)
        assert len(pixels) == 2
        assert detector.detect(str(photo)) == detector.detect(photo) == pixels
        assert predictor.detect(photo) == predictor.predict(str(photo)) == predictor.predict_batch([photo])[0]
        (tmp_path / "notes.png").write_text("not an image")
        (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + (60000).to_bytes(4, "big") * 2)
        for name, words in (("gone.jpg", "no such file"), ("notes.png", "could not be decoded as an image"),
                            ("huge.png", "declares 60000x60000 pixels")):
            for call in (detector.detect, predictor.detect):
                with pytest.raises(InputMismatch, match=words) as caught:
                    call(tmp_path / name)
                assert name in str(caught.value)


def test_a_classifier_bundle_predicts_an_image_files_path_like_its_pixels(tmp_path):
    import cv2

    from edgekit.data import demo_digits

    bundle = deploy("demo:digits", out=tmp_path / "bundle", backend="onnxruntime", samples=4)
    image, _label = demo_digits("test")[0]
    photo = tmp_path / "digit.png"
    cv2.imwrite(str(photo), image)
    with Predictor.open(bundle.path) as predictor:
        assert replace(predictor.predict(photo), latency_ms=0) == replace(predictor.predict(image), latency_ms=0)
        with pytest.raises(TypeError, match="numpy array .* or an image file's path, not NoneType"):
            predictor.predict(None)
