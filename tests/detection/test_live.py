"""The live pipeline with a detector: boxes in frame pixels, per-class counts, boxes drawn on the frame."""

from __future__ import annotations

import time

import cv2
import numpy as np

from edgekit.backends import compile_session
from edgekit.deployment import Predictor, deploy
from edgekit.detection import Detection
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
    # decode + NMS is counted on the render thread (the final summary: live readouts refresh percentiles at intervals)
    assert pipe.summary()["readouts"]["latency"]["postprocess"]["p50_ms"] > 0


def test_pipeline_with_a_detection_bundle_uses_its_settings(tiny_heads, tmp_path):
    bundle = deploy(tiny_heads["yolox"], out=tmp_path / "b")
    image, _expected = scene()
    with Predictor.open(bundle.path) as predictor:
        _, results = _run(predictor, [image, np.zeros_like(image)])
    first, second = results[0][1], results[1][1]
    assert sorted(d.class_id for d in first.detections) == [0, 1] and second.detections == ()


def test_tracker_keeps_ids_in_the_pipeline(tiny_heads):
    from edgekit.detection.track import IoUTracker
    from edgekit.vision.predictors import adapt

    predictor = adapt(compile_session(load_model(tiny_heads["yolox"]), "onnxruntime"))
    predictor.tracker = IoUTracker(hold=1)
    image, _ = scene()
    _, results = _run(predictor, [image, image, np.zeros_like(image), np.zeros_like(image)])
    ids = [sorted(d.track_id for d in r.detections) for _, r in results]
    assert ids[0] == ids[1] == ids[2] == [1, 2] and ids[3] == []  # held one empty frame, then dropped


def test_ab_of_two_detectors_reports_box_agreement(tiny_heads):
    from edgekit.detection.compare import box_agreement

    main = compile_session(load_model(tiny_heads["yolox"]), "onnxruntime")
    ref = compile_session(load_model(tiny_heads["ultralytics"]), "onnxruntime")
    image, _ = scene()
    only_red = image.copy()
    only_red[64:80, 16:32] = 0
    frames = [image, image, only_red]
    with LivePipeline(ArraySource(frames), main, reference=ref) as pipe:
        assert pipe.wait(60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the reference thread may finish after the last frame is shown
            ab = pipe.summary()["readouts"]["ab"]
            if ab["compared"] + ab["skipped"] == len(frames):
                break
            time.sleep(0.05)
    assert ab["compared"] >= 1 and ab["agreement"] == 1.0 and ab["last_frame"]["a_label"] in ('1 x "0", 1 x "1"', '1 x "0"')
    red = Detection((48, 16, 64, 32), "0", 0.9, 0)
    assert box_agreement([red], []) == 0.0 and box_agreement([red], [red, Detection((0, 0, 9, 9), "1", 0.5, 1)]) == 0.5


def test_counts_quote_classes_named_by_numbers():
    """Digit classes read as counts, not as a row of numbers ("1 6, 1 3")."""
    from edgekit.detection import Detection
    from edgekit.vision.detect import count_text

    dets = [Detection((0, 0, 1, 1), "6", 0.9, 6), Detection((0, 0, 1, 1), "6", 0.8, 6),
            Detection((0, 0, 1, 1), "3", 0.7, 3), Detection((0, 0, 1, 1), "bus", 0.7, 5)]
    assert count_text(dets) == '2 x "6", 1 x "3", 1 bus'
    assert count_text([]) == "no objects"
