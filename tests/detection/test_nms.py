"""NMS (numpy loop and OpenCV) keeps exactly the boxes a brute-force greedy reference keeps."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.detection.suppression import box_iou, nms


def _brute_force(boxes, scores, classes, iou, max_det):
    """Textbook greedy NMS, pair by pair, no tricks."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    kept = []
    for i in order:
        if all(classes is not None and classes[i] != classes[k] or box_iou(boxes[i], boxes[k])[0, 0] <= iou
               for k in kept):
            kept.append(i)
    return kept[:max_det]


def _boxes(rng, n, span=300):
    xy = rng.uniform(0, span, (n, 2))
    wh = rng.uniform(4, 90, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(np.float32), rng.permutation(n).astype(np.float32) / n


@pytest.mark.parametrize("method", ["numpy", "opencv", "auto"])
@pytest.mark.parametrize("class_aware", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_nms_equals_brute_force(method, class_aware, seed):
    rng = np.random.default_rng(seed)
    boxes, scores = _boxes(rng, 150)
    classes = rng.integers(0, 3, 150) if class_aware else None
    iou = [0.3, 0.45, 0.5, 0.7][seed]
    got = nms(boxes, scores, classes, iou=iou, max_det=300, method=method)
    assert got.tolist() == _brute_force(boxes, scores, classes, iou, 300)


def test_max_det_keeps_the_best_boxes_and_empty_input_is_empty():
    rng = np.random.default_rng(9)
    boxes, scores = _boxes(rng, 200, span=2000)
    for method in ("numpy", "opencv"):
        kept = nms(boxes, scores, None, iou=0.5, max_det=7, method=method)
        assert kept.tolist() == _brute_force(boxes, scores, None, 0.5, 7)
        assert len(nms(np.zeros((0, 4)), np.zeros(0), None, method=method)) == 0


def test_boxes_of_different_classes_never_suppress_each_other():
    same = np.array([[10, 10, 50, 50], [11, 11, 50, 50]], np.float32)
    scores = np.array([0.9, 0.8], np.float32)
    assert nms(same, scores, np.array([0, 1]), iou=0.5).tolist() == [0, 1]
    assert nms(same, scores, None, iou=0.5).tolist() == [0]
