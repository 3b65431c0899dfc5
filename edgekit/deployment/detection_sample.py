"""A detection bundle's check sample: labelled images, their boxes at deploy time, and the mAP they give.

Why its own sample: a detector's outputs are a box head, so the classifier sample's top-1 and accuracy
mean nothing there. Deploy with a detection dataset (YOLO folder, COCO json, VOC folder) keeps
some of its images' model inputs, their letterbox geometry and ground-truth boxes; ``edgekit verify``
re-runs the inputs, decodes both runs' boxes and compares them (matched at IoU >= 0.5, same class)
and re-computes mAP@0.5 against the promise. Only one-output heads are decoded from the sample (the
sample keeps a session's first output); a head that ends in NMS keeps the max output difference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekit.deployment import sample as sample_mod
from edgekit.detection.compare import box_agreement
from edgekit.detection.datasets import DetectionDataset, GroundTruth
from edgekit.detection.detector import postprocess, prepare
from edgekit.detection.head import DetectorSpec
from edgekit.detection.letterboxing import Letterbox
from edgekit.detection.types import Detections

GT_KEYS = ("gt_boxes", "gt_classes", "gt_image", "gt_areas", "gt_crowd", "letterbox")


def decodable(spec: DetectorSpec | None, model: Any) -> bool:
    """True when the sample's first output is the whole head (every decoder but ``nms``)."""
    return spec is not None and spec.config.decoder != "nms" and len(model.outputs) == 1


def record(session: Any, spec: DetectorSpec, data: DetectionDataset, n: int) -> tuple[dict, Any, dict]:
    """Run ``n`` images spread over ``data``; return the arrays to save, the ``SampleResult`` and
    ``{"map50", "map"}`` of the sample (eval thresholds, as ``edgekit eval``)."""
    index = sorted({int(i) for i in np.linspace(0, len(data) - 1, num=min(n, len(data)))})
    tensors, boxes, truths = [], [], []
    for i in index:
        image, truth = data[i]
        tensor, box = prepare(image, spec)
        tensors.append(tensor[0])
        boxes.append(box)
        truths.append(truth)
    inputs = np.stack(tensors).astype(np.float32)
    outputs, times = sample_mod.run_inputs(session, inputs)
    arrays = {"inputs": inputs, "labels": np.full(len(index), -1, np.int64), "outputs": outputs,
              "top1": outputs.argmax(axis=1), **_truth_arrays(truths, boxes)}
    result = sample_mod._result(outputs, arrays["labels"], times)
    return arrays, result, sample_map(arrays, outputs, spec, session.model)


def _truth_arrays(truths: list[GroundTruth], boxes: list[Letterbox]) -> dict:
    owner = np.concatenate([np.full(len(t.class_ids), i, np.int64) for i, t in enumerate(truths)])
    return {
        "gt_boxes": np.concatenate([t.boxes.reshape(-1, 4) for t in truths]).astype(np.float32),
        "gt_classes": np.concatenate([t.class_ids for t in truths]).astype(np.int64),
        "gt_image": owner,
        "gt_areas": np.concatenate([t.areas for t in truths]).astype(np.float64),
        "gt_crowd": np.concatenate([t.crowd for t in truths]).astype(bool),
        "letterbox": np.asarray([[b.ratio, b.pad_x, b.pad_y, *b.shape] for b in boxes], np.float64).reshape(-1, 5),
    }


def _dims(model: Any) -> list[int]:
    return [d if isinstance(d, int) and d > 0 else -1 for d in model.outputs[0].shape[1:]]


def sample_map(arrays: dict, outputs: np.ndarray, spec: DetectorSpec, model: Any) -> dict:
    """mAP@0.5 and @0.5:0.95 of ``outputs`` (one flattened row per sample image) against the sample's
    ground truth; ``{}`` for a sample without it."""
    if not all(k in arrays for k in GT_KEYS):
        return {}
    from edgekit.detection.evaluate import EVAL_SETTINGS
    from edgekit.detection.metrics import coco_evaluate

    config = spec.config.replace(**EVAL_SETTINGS.get(spec.config.decoder, {}))
    dims, owner = _dims(model), arrays["gt_image"]
    truths, predictions = [], []
    for i, (row, geo) in enumerate(zip(outputs, arrays["letterbox"], strict=True)):
        box = Letterbox(float(geo[0]), float(geo[1]), float(geo[2]), (int(geo[3]), int(geo[4])))
        predictions.append(postprocess([row.reshape(dims)], spec, box, config))
        mine = owner == i
        truths.append(GroundTruth(arrays["gt_boxes"][mine], arrays["gt_classes"][mine], arrays["gt_areas"][mine],
                                  arrays["gt_crowd"][mine]))
    classes = len(spec.labels) if spec.labels else int(max([*arrays["gt_classes"].tolist(), 0]) + 1)
    metrics = coco_evaluate(truths, predictions, classes, bootstrap=0)
    return {"map50": float(max(metrics.map50, 0.0)), "map": float(max(metrics.map, 0.0))}


class BoxCheck:
    """``agree(outputs, recorded)`` for :func:`edgekit.deployment.sample.rerun`: the mean box agreement of
    the decoded sample outputs (model-input pixels, the bundle's own thresholds); it keeps the last
    outputs so :meth:`sample_map` can score them."""

    def __init__(self, spec: DetectorSpec, model: Any, labels: Any = None) -> None:
        self.spec, self.model, self.labels = spec, model, spec.labels or labels
        self.outputs: np.ndarray | None = None

    def _boxes(self, row: np.ndarray) -> list:
        same_pixels = Letterbox(1.0, 0.0, 0.0, tuple(self.spec.size))
        found: Detections = postprocess([row.reshape(_dims(self.model))], self.spec, same_pixels)
        return found.to_list(self.labels)

    def __call__(self, outputs: np.ndarray, recorded: np.ndarray) -> float:
        self.outputs = outputs
        pairs = zip(outputs, recorded, strict=True)
        return float(np.mean([box_agreement(self._boxes(a), self._boxes(b)) for a, b in pairs]))

    def sample_map(self, arrays: dict) -> dict:
        """mAP of the last outputs against the sample's ground truth (``{}`` without one)."""
        return {} if self.outputs is None else sample_map(arrays, self.outputs, self.spec, self.model)
