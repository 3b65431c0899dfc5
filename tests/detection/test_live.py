"""The live pipeline with a detector: boxes in frame pixels, per-class counts, boxes drawn on the frame."""

from __future__ import annotations

import cv2
import numpy as np

from edgekit.backends import compile_session
from edgekit.deployment import Predictor, deploy
from edgekit.models import load_model
from edgekit.vision import LivePipeline
from edgekit.vision.readouts import Readouts
from edgekit.vision.sources.generated import ArraySource

from .conftest import scene


def _run(predictor, frames):
    results = []
    with LivePipeline(ArraySource(frames), predictor, on_result=lambda im, r: results.append((im, r))) as pipe:
        assert pipe.wait(60), "the pipeline did not finish"
    return pipe, results


def test_pipeline_draws_boxes_and_counts_from_a_session(tiny_heads):
    small, boxes = scene()
    image = cv2.resize(small, (512, 384), interpolation=cv2.INTER_NEAREST)  # a larger frame: boxes scale with it
    expected = {k: tuple(4 * v for v in box) for k, box in boxes.items()}
    session = compile_session(load_model(tiny_heads["ultralytics"]), "onnxruntime")
    pipe, results = _run(session, [image] * 5)
    assert len(results) == 5
    annotated, readouts = results[-1]
    boxes = {d.class_id: d.box for d in readouts.detections}
    assert sorted(boxes) == [0, 1] and readouts.topk == ()
    for cls, box in expected.items():
        np.testing.assert_allclose(boxes[cls], box, atol=3)
    x1, _y1, x2, y2 = (int(v) for v in boxes[1])
    assert annotated.shape == image.shape and (annotated[y2 - 1, x1 + 4 : x2 - 4] != image[y2 - 1, x1 + 4 : x2 - 4]).any()
    assert "2 objects" in readouts.line()
    assert Readouts.from_dict(readouts.to_dict()).detections == readouts.detections
    assert pipe.readouts.latency["postprocess"].p50_ms > 0  # decode + NMS is counted on the render thread


def test_pipeline_with_a_detection_bundle_uses_its_settings(tiny_heads, tmp_path):
    bundle = deploy(tiny_heads["yolox"], out=tmp_path / "b")
    image, _expected = scene()
    with Predictor.open(bundle.path) as predictor:
        _, results = _run(predictor, [image, np.zeros_like(image)])
    first, second = results[0][1], results[1][1]
    assert sorted(d.class_id for d in first.detections) == [0, 1] and second.detections == ()
