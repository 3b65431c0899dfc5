"""Class-aware non-maximum suppression, vectorised in numpy or done by OpenCV.

Why two: ``cv2.dnn.NMSBoxesBatched`` is C++ but wants Python-side ``xywh``
conversion and float64 copies; the numpy loop runs once per *kept* box (at most
``max_det`` iterations), each iteration one vectorised IoU against the rest.
``benchmarks/detection.py`` measures both on real model outputs; both give the
same boxes as a brute-force reference (``tests/detection/test_nms.py``).

Class-aware NMS uses the offset trick: every class's boxes are shifted by
``class_id x (largest coordinate + 1)`` so boxes of different classes never overlap.
"""

from __future__ import annotations

import cv2
import numpy as np

METHODS = ("auto", "numpy", "opencv")
OPENCV_UP_TO = 4000  # OpenCV's NMS is quadratic in the candidates; the numpy loop is linear per kept box


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix ``(len(a), len(b))`` of xyxy boxes (area = width x height, no +1)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray | None = None,
    *,
    iou: float = 0.45,
    max_det: int = 300,
    method: str = "auto",
) -> np.ndarray:
    """Indices of the boxes kept, best score first.

    A box is dropped when its IoU with a kept, higher-scoring box of the same
    class (any class when ``class_ids`` is ``None``) is above ``iou``.

    Args:
        boxes: ``(N, 4)`` xyxy.
        scores: ``(N,)``.
        class_ids: ``(N,)`` ints for class-aware NMS; ``None`` for class-agnostic.
        iou: suppression threshold.
        max_det: most indices returned.
        method: ``"opencv"`` (``cv2.dnn.NMSBoxesBatched``), ``"numpy"``, or ``"auto"``: OpenCV up
            to ``OPENCV_UP_TO`` candidates (3-10x faster there, measured in ``benchmarks/detection.py``),
            numpy above (OpenCV compares every pair; numpy stops after ``max_det`` kept boxes).

    Returns:
        ``int64`` indices into ``boxes``.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if not len(boxes):
        return np.zeros(0, np.int64)
    if method == "auto":
        method = "opencv" if len(boxes) <= OPENCV_UP_TO else "numpy"
    if method == "opencv":
        return _nms_opencv(boxes, scores, class_ids, iou, max_det)
    if method != "numpy":
        raise ValueError(f"nms method must be one of {METHODS}, not {method!r}")
    if class_ids is not None:
        boxes = _offset(boxes, class_ids)
    return _greedy(boxes, scores, iou, max_det)


def _offset(boxes: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
    span = float(np.abs(boxes).max()) + 1.0
    return boxes + (np.asarray(class_ids, dtype=np.float32) * span)[:, None]


def _greedy(boxes: np.ndarray, scores: np.ndarray, iou: float, max_det: int) -> np.ndarray:
    x1, y1, x2, y2 = boxes.T
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size and len(keep) < max_det:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        union = areas[i] + areas[rest] - inter
        overlap = np.where(union > 0, inter / np.where(union > 0, union, 1), 0)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


def _nms_opencv(boxes, scores, class_ids, iou, max_det) -> np.ndarray:
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1).astype(np.float64)
    # NMSBoxes refuses a negative score threshold (a 0-score box would be lost); Batched with one class does not
    ids = np.zeros(len(boxes), np.int32) if class_ids is None else np.asarray(class_ids, np.int32)
    kept = cv2.dnn.NMSBoxesBatched(xywh, scores, ids, -np.inf, iou)
    kept = np.asarray(kept, dtype=np.int64).reshape(-1)
    kept = kept[np.argsort(-scores[kept], kind="stable")]
    return kept[:max_det]
