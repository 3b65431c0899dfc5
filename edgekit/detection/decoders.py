"""Raw detector outputs -> candidate boxes, one function per head format.

Every decoder takes the outputs of ONE image (batch dim removed) and returns
``(boxes, scores, class_ids)`` with xyxy boxes in *model-input* pixels, already
filtered by the confidence threshold; NMS and the letterbox undo happen after
(:mod:`edgekit.detection.postprocess`). Adding a head = one function + one
line in ``DECODERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from edgekit.detection.types import DetectionConfig

Candidates = tuple[np.ndarray, np.ndarray, np.ndarray]
MAX_CANDIDATES = 30000  # Ultralytics' max_nms: the best 30k go to NMS at conf 0.001


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` centre/size boxes as corners."""
    half = boxes[:, 2:4] / 2
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1)


def _select(boxes: np.ndarray, cls: np.ndarray, cfg: DetectionConfig, obj: np.ndarray | None = None) -> Candidates:
    """Keep boxes whose class score (x objectness) passes ``conf``: the best class, or all (multi-label)."""
    if obj is not None:  # objectness first: cheap, and removes most rows before the class product
        alive = obj > cfg.conf
        boxes, cls, obj = boxes[alive], cls[alive], obj[alive]
        cls = cls * obj[:, None]
    if cfg.multi_label:
        rows, ids = np.nonzero(cls > cfg.conf)
        scores = cls[rows, ids]
    else:
        ids = cls.argmax(axis=1)
        scores = cls[np.arange(len(cls)), ids]
        rows = np.nonzero(scores > cfg.conf)[0]
        ids, scores = ids[rows], scores[rows]
    if len(scores) > MAX_CANDIDATES:
        top = np.argpartition(-scores, MAX_CANDIDATES)[:MAX_CANDIDATES]
        rows, ids, scores = rows[top], ids[top], scores[top]
    return cxcywh_to_xyxy(boxes[rows]), scores.astype(np.float32), ids.astype(np.int64)


def decode_ultralytics(outputs: list[np.ndarray], cfg: DetectionConfig, size: tuple[int, int]) -> Candidates:
    """Ultralytics YOLOv8/v11: ``[4+C, N]`` (or ``[N, 4+C]``): cx, cy, w, h in input pixels, then C
    sigmoided class scores; no objectness.

    Works in the exported channels-first layout: the best score per column (one vectorised max over
    contiguous rows) drops most of the 8400 columns before any argmax or transpose, 30-40x faster
    than transposing first (``benchmarks/detection.py``).
    """
    pred = outputs[0]
    if pred.shape[0] > pred.shape[1]:
        pred = pred.T  # exported [N, 4+C]: back to channels-first
    cls = pred[4:]
    best = cls.max(axis=0)
    cols = np.nonzero(best > cfg.conf)[0]
    sub = cls[:, cols]
    if cfg.multi_label:
        ids, j = np.nonzero(sub > cfg.conf)
        scores, cols = sub[ids, j], cols[j]
    else:
        ids, scores = sub.argmax(axis=0), best[cols]
    if len(scores) > MAX_CANDIDATES:
        top = np.argpartition(-scores, MAX_CANDIDATES)[:MAX_CANDIDATES]
        cols, ids, scores = cols[top], ids[top], scores[top]
    return cxcywh_to_xyxy(pred[:4, cols].T), scores.astype(np.float32), ids.astype(np.int64)


def decode_yolov5(outputs: list[np.ndarray], cfg: DetectionConfig, size: tuple[int, int]) -> Candidates:
    """YOLOv5/v7: ``[N, 5+C]``: cx, cy, w, h in input pixels, objectness, C class scores."""
    pred = outputs[0]
    return _select(pred[:, :4], pred[:, 5:], cfg, obj=pred[:, 4])


@lru_cache(maxsize=8)
def yolox_grid(size: tuple[int, int], strides: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(grid (N, 2) xy cell, stride (N, 1))`` in YOLOX's order: stride by stride, row-major."""
    grids, steps = [], []
    for s in strides:
        hs, ws = size[0] // s, size[1] // s
        yv, xv = np.meshgrid(np.arange(hs), np.arange(ws), indexing="ij")
        grids.append(np.stack([xv, yv], axis=2).reshape(-1, 2))
        steps.append(np.full((hs * ws, 1), s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(steps).astype(np.float32)


def decode_yolox(outputs: list[np.ndarray], cfg: DetectionConfig, size: tuple[int, int]) -> Candidates:
    """YOLOX exported without decode: ``[N, 5+C]`` of dx, dy, log w, log h, objectness, C class scores
    over the grids of ``cfg.strides``: xy = (d + cell) x stride, wh = exp(l) x stride."""
    pred = outputs[0]
    grid, stride = yolox_grid(tuple(size), tuple(cfg.strides))
    if len(grid) != len(pred):
        raise ValueError(f"YOLOX output has {len(pred)} rows but a {size[0]}x{size[1]} input with strides "
                         f"{list(cfg.strides)} has {len(grid)} grid cells")
    obj = pred[:, 4]
    alive = np.nonzero(obj > cfg.conf)[0]  # decode only rows that can pass
    p = pred[alive]
    xy = (p[:, :2] + grid[alive]) * stride[alive]
    wh = np.exp(p[:, 2:4]) * stride[alive]
    boxes, scores, ids = _select(np.concatenate([xy, wh], axis=1), p[:, 5:], cfg, obj=p[:, 4])
    return boxes, scores, ids


def decode_nms(outputs: list[np.ndarray], cfg: DetectionConfig, size: tuple[int, int]) -> Candidates:
    """Graphs that end in NMS: ``[N, 6]`` (x1, y1, x2, y2, score, class; Ultralytics end2end) or
    boxes ``[N, 4]`` + scores ``[N]`` + classes ``[N]`` (optionally after a ``num_detections``)."""
    arrays = [np.asarray(o) for o in outputs if np.asarray(o).size > 1 or np.asarray(o).ndim > 1]
    if len(arrays) == 1:
        pred = arrays[0].reshape(-1, arrays[0].shape[-1])
        boxes, scores, ids = pred[:, :4], pred[:, 4], pred[:, 5]
    else:
        boxes = next(a for a in arrays if a.ndim >= 2 and a.shape[-1] == 4).reshape(-1, 4)
        flat = [a.reshape(-1) for a in arrays if not (a.ndim >= 2 and a.shape[-1] == 4)]
        floats = [a for a in flat if np.issubdtype(a.dtype, np.floating) and not _integral(a)]
        scores = floats[0] if floats else flat[0]
        ids = next((a for a in flat if a is not scores), np.zeros(len(scores)))
    boxes = np.asarray(boxes, np.float32)
    if cfg.box_format == "cxcywh":
        boxes = cxcywh_to_xyxy(boxes)
    if cfg.normalized:
        boxes = boxes * np.array([size[1], size[0], size[1], size[0]], np.float32)
    keep = np.asarray(scores) > cfg.conf
    return boxes[keep], np.asarray(scores, np.float32)[keep], np.asarray(ids)[keep].astype(np.int64)


def _integral(a: np.ndarray) -> bool:
    return bool(a.size) and bool(np.all(a == np.round(a))) and float(a.max()) > 1.0


DECODERS: dict[str, Callable[[list[np.ndarray], DetectionConfig, tuple[int, int]], Candidates]] = {
    "ultralytics": decode_ultralytics,
    "yolov5": decode_yolov5,
    "yolox": decode_yolox,
    "nms": decode_nms,
}
