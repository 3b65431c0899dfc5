"""A detector deployed as a bundle: the Predictor (and edgekit verify) give the same boxes as the SDK."""

from __future__ import annotations

import json

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
