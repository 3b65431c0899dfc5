"""Boxes as COCO json (ground truth + results), and the same numbers from pycocotools when installed.

Why: users compare edgekit's mAP with what their own pipeline gets; the files
written here feed ``COCOeval`` directly, and :func:`pycocotools_stats` is the
cross-check ``edgekit eval --cross-check`` prints next to edgekit's own figures.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np

from edgekit.detection.datasets import GroundTruth
from edgekit.detection.types import Detections
from edgekit.errors import DataError


def to_coco(
    truths: Sequence[GroundTruth], predictions: Sequence[Detections], classes: Sequence[str]
) -> tuple[dict, list[dict]]:
    """``(ground-truth dataset dict, result list)``; image ids are positions + 1, category ids class ids + 1."""
    images = [{"id": i + 1, "file_name": f"{i + 1}.jpg", "width": 0, "height": 0} for i in range(len(truths))]
    anns = []
    for i, t in enumerate(truths):
        for box, cid, area, crowd in zip(t.boxes.tolist(), t.class_ids.tolist(), t.areas.tolist(), t.crowd.tolist()):
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(cid) + 1, "area": float(area),
                         "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]], "iscrowd": int(crowd)})
    results = [{"image_id": i + 1, "category_id": int(c) + 1, "score": float(s),
                "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]}
               for i, p in enumerate(predictions)
               for b, s, c in zip(p.boxes.tolist(), p.scores.tolist(), p.class_ids.tolist())]
    cats = [{"id": k + 1, "name": str(name)} for k, name in enumerate(classes)]
    return {"images": images, "annotations": anns, "categories": cats}, results


def pycocotools_stats(
    truths: Sequence[GroundTruth], predictions: Sequence[Detections], classes: Sequence[str]
) -> np.ndarray:
    """The 12 ``COCOeval.stats`` of pycocotools on the same boxes.

    Raises:
        DataError: pycocotools is not installed (``pip install 'edgekit[coco]'``).
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as exc:
        raise DataError("the cross-check needs pycocotools: pip install 'edgekit[coco]' (or pip install pycocotools)") from exc
    gt_dict, results = to_coco(truths, predictions, classes)
    if not results:  # loadRes cannot take an empty list; a box of no class changes nothing
        results = [{"image_id": 1, "category_id": len(classes) + 1, "score": 0.5, "bbox": [0, 0, 1, 1]}]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = gt_dict
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats, dtype=np.float64)
