"""COCO metrics equal pycocotools on the same boxes: random scenes, crowd boxes, area ranges, edge cases."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest

from edgekit.detection.datasets import GroundTruth
from edgekit.detection.metrics import coco_evaluate
from edgekit.detection.types import Detections

pytest.importorskip("pycocotools", reason="pycocotools is in the test extra: pip install -e '.[test]'")


def _pycocotools(truths, preds, num_classes):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images = [{"id": i + 1, "width": 640, "height": 480, "file_name": f"{i}.jpg"} for i in range(len(truths))]
    anns = []
    for i, t in enumerate(truths):
        for box, cid, area, crowd in zip(t.boxes, t.class_ids, t.areas, t.crowd):
            x1, y1, x2, y2 = (float(v) for v in box)
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(cid) + 1,
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": float(area), "iscrowd": int(crowd)})
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns,
                  "categories": [{"id": k + 1, "name": str(k)} for k in range(num_classes)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        results = [{"image_id": i + 1, "category_id": int(c) + 1, "score": float(s),
                    "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]}
                   for i, p in enumerate(preds) for b, s, c in zip(p.boxes, p.scores, p.class_ids)]
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def _scene(rng, n_images=12, num_classes=4, crowd_rate=0.05):
    truths, preds = [], []
    for _ in range(n_images):
        n = int(rng.integers(0, 8))
        xy = rng.uniform(0, 500, (n, 2))
        wh = np.exp(rng.uniform(np.log(8), np.log(200), (n, 2)))  # small, medium and large objects
        boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
        cls = rng.integers(0, num_classes, n)
        areas = (wh[:, 0] * wh[:, 1]) * rng.uniform(0.6, 1.0, n)  # segment area below the box area, as in COCO
        crowd = rng.random(n) < crowd_rate
        truths.append(GroundTruth(boxes, cls.astype(np.int64), areas, crowd))
        hits = rng.random(n) < 0.8
        jitter = boxes[hits] + rng.normal(0, 6, (int(hits.sum()), 4)).astype(np.float32)
        dcls = np.where(rng.random(int(hits.sum())) < 0.9, cls[hits], rng.integers(0, num_classes, int(hits.sum())))
        m = int(rng.integers(0, 6))
        fxy = rng.uniform(0, 500, (m, 2))
        fake = np.concatenate([fxy, fxy + rng.uniform(5, 150, (m, 2))], axis=1).astype(np.float32)
        dboxes = np.concatenate([jitter, fake]).reshape(-1, 4)
        dboxes[:, 2:] = np.maximum(dboxes[:, 2:], dboxes[:, :2] + 1)
        ids = np.concatenate([dcls, rng.integers(0, num_classes, m)]).astype(np.int64)
        preds.append(Detections(dboxes, rng.random(len(dboxes)).astype(np.float32), ids))
    return truths, preds


@pytest.mark.parametrize("seed", range(6))
def test_random_scenes_equal_pycocotools(seed):
    rng = np.random.default_rng(seed)
    truths, preds = _scene(rng, crowd_rate=0.0 if seed % 2 else 0.1)
    ours = coco_evaluate(truths, preds, 4, bootstrap=0)
    np.testing.assert_allclose(ours.stats, _pycocotools(truths, preds, 4), atol=1e-4)


def test_many_detections_per_image_are_cut_at_100_like_pycocotools():
    rng = np.random.default_rng(7)
    truths, preds = _scene(rng, n_images=3, num_classes=1)
    boxes = np.concatenate([p.boxes for p in preds] * 60)[:150]
    crowded = [Detections(boxes, rng.random(len(boxes)).astype(np.float32), np.zeros(len(boxes), np.int64))] * 3
    ours = coco_evaluate(truths, crowded, 1, bootstrap=0)
    np.testing.assert_allclose(ours.stats, _pycocotools(truths, crowded, 1), atol=1e-4)


def test_no_predictions_gives_zero_where_pycocotools_gives_zero():
    rng = np.random.default_rng(3)
    truths, _ = _scene(rng, num_classes=3)
    empty = [Detections.empty() for _ in truths]
    ours = coco_evaluate(truths, empty, 4, bootstrap=0)
    # pycocotools cannot load an empty result list; one box of a class without ground truth changes nothing
    lone = [Detections(np.array([[0, 0, 9, 9]], np.float32), np.array([0.5], np.float32), np.array([3]))]
    reference = _pycocotools(truths, lone + empty[1:], 4)
    np.testing.assert_allclose(ours.stats, reference, atol=1e-4)
    assert ours.map == 0.0 and ours.map50 == 0.0 and ours.recall == 0.0


def test_no_ground_truth_is_undefined_like_pycocotools():
    rng = np.random.default_rng(4)
    _, preds = _scene(rng)
    truths = [GroundTruth(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool))
              for _ in preds]
    ours = coco_evaluate(truths, preds, 4, bootstrap=0)
    np.testing.assert_allclose(ours.stats, _pycocotools(truths, preds, 4), atol=1e-4)
    assert ours.map == -1 and ours.per_class == ()


def test_perfect_predictions_score_one_and_bootstrap_interval_brackets_the_value():
    rng = np.random.default_rng(5)
    truths, _ = _scene(rng, n_images=20, crowd_rate=0.0)
    perfect = [Detections(t.boxes, np.linspace(0.9, 0.5, len(t.boxes)).astype(np.float32), t.class_ids)
               for t in truths]
    m = coco_evaluate(truths, perfect, 4, bootstrap=50)
    assert m.map == pytest.approx(1.0) and m.precision == 1.0 and m.recall == 1.0 and m.f1 == 1.0
    assert all(row["ap50"] == pytest.approx(1.0) for row in m.per_class)
    truths2, preds2 = _scene(np.random.default_rng(6), n_images=30)
    noisy = coco_evaluate(truths2, preds2, 4, bootstrap=100)
    lo, hi = noisy.map50_ci
    assert lo <= noisy.map50 <= hi and hi - lo > 0.01
    assert not math.isnan(noisy.map_ci[0])


@pytest.mark.parametrize("seed", range(4))
def test_bootstrap_curves_laid_end_to_end_equal_the_per_image_concatenation_ties_included(seed):
    """The bootstrap gathers each resample's detections from one laid-out array per class instead of
    concatenating every image's slices; the curves must stay those of the concatenation, bit for bit,
    with tied scores too (an INT8 model's scores come in steps), or the intervals would move."""
    from edgekit.detection.metrics import AREA_RANGES, MAX_DETS, _curve, _evaluate_image, _Laid

    rng = np.random.default_rng(seed)
    truths, preds = _scene(rng, n_images=16, crowd_rate=0.1)
    preds = [Detections(p.boxes, np.round(p.scores * 4) / 4, p.class_ids) for p in preds]  # many ties
    for cat in range(4):
        per_image = [_evaluate_image(t, p, cat, AREA_RANGES["all"]) for t, p in zip(truths, preds)]
        laid = _Laid(per_image, MAX_DETS[-1])
        for _ in range(30):
            images = np.sort(rng.integers(0, len(truths), len(truths)))
            want = _curve([per_image[i] for i in images if per_image[i] is not None], MAX_DETS[-1])
            got = laid.curve(images)
            assert (want is None) == (got is None)
            if want is not None:
                assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1])


def test_the_planners_resamples_give_evals_interval():
    """The planner scores a detector once (no bootstrap) and takes both intervals, its mAP's and its drop's,
    from one set of resamples: the mAP interval must be the one `edgekit eval` prints for the same boxes."""
    from types import SimpleNamespace

    from edgekit.planner.detection import BOOTSTRAP, _resamples, _scored
    from edgekit.planner.report import Candidate
    from edgekit.types import Method

    truths, preds = _scene(np.random.default_rng(11), n_images=30)
    scored = SimpleNamespace(metrics=coco_evaluate(truths, preds, 4, bootstrap=0), truths=truths, predictions=preds)
    assert math.isnan(scored.metrics.map_ci[0])  # what the planner now gets from scoring
    c = _scored(Candidate("onnxruntime/cpu/fp32", "onnxruntime", "cpu", "fp32", Method.FP32, {}), scored, scored,
                _resamples(scored))
    assert c.accuracy_ci == coco_evaluate(truths, preds, 4, bootstrap=BOOTSTRAP, seed=0).map_ci
    assert c.drop == 0 and c.drop_ci == (0.0, 0.0)  # paired with itself: no drop, no spread
