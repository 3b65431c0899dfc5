"""Where digits go on a scene: the :class:`Scene` record and free-spot placement.

Its own module because both the classic renderer (:mod:`edgekit.data.scenes`) and the
pen-on-paper one (:mod:`edgekit.data.handscenes`) place digits the same way, and
``scenes`` also dispatches to ``handscenes``: shared parts here keep the imports one-way.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Scene:
    """One rendered scene.

    Attributes:
        image: ``(h, w, 3)`` uint8 BGR.
        boxes: ``(N, 4)`` float32 xyxy pixels, tight around each digit's ink.
        class_ids: ``(N,)`` int64 digit values.
        handwritten: ``(N,)`` bool, True for a real handwriting scan, False for a printed digit.
    """

    image: np.ndarray
    boxes: np.ndarray
    class_ids: np.ndarray
    handwritten: np.ndarray


def place(mask: np.ndarray, rng: np.random.Generator, h: int, w: int, taken: list, inset: float = 0.0) -> tuple:
    """Turn and scale ``mask`` onto an ``(h, w)`` canvas at a free spot; ``(placed, xyxy box)`` or ``(None, None)``."""
    side = mask.shape[0]
    angle = rng.uniform(-15, 15)
    aspect = rng.uniform(0.85, 1.15)
    m = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    m[0] *= aspect
    for _ in range(12):
        edge_x, edge_y = side * 0.45 + inset * w, side * 0.45 + inset * h
        cx, cy = rng.uniform(edge_x, w - edge_x), rng.uniform(edge_y, h - edge_y)
        mm = m.copy()
        mm[:, 2] += np.array([cx, cy]) - (m[:, :2] @ np.array([side / 2, side / 2]) + m[:, 2])
        placed = cv2.warpAffine(mask, mm, (w, h), flags=cv2.INTER_LINEAR)
        ys, xs = np.nonzero(placed > 0.3)
        if len(xs) < 4:
            continue
        box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
        if all(gap(box, other) for other in taken):
            return placed, box
    return None, None


def gap(a: list[float], b: list[float], margin: float = 2.0) -> bool:
    """True when boxes ``a`` and ``b`` do not touch (with ``margin`` pixels between)."""
    return (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])
