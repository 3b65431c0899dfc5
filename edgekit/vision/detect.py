"""Drawing a detector's boxes on a live frame: boxes with class and score, per-class counts.

The predictor side (``DetectionPipelinePredictor``) lives in :mod:`edgekit.vision.predictors`.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from edgekit.detection.types import Detection, DetectionConfig

FONT = cv2.FONT_HERSHEY_SIMPLEX


def count_text(found: Sequence[Detection], most: int = 3) -> str:
    """``"3 person, 1 bus"``: per-class counts, most frequent first (``"no objects"`` when empty).

    A class named by a number is quoted (``2 x "7", 1 x "3"``): "2 7, 1 3" reads as four numbers."""
    if not found:
        return "no objects"
    counts = Counter(d.label for d in found).most_common()
    text = ", ".join(f'{n} x "{label}"' if str(label).isdigit() else f"{n} {label}" for label, n in counts[:most])
    return text + (f" +{len(counts) - most}" if len(counts) > most else "")


def draw_boxes(canvas: np.ndarray, found: Sequence[Detection], factor: float, scale: float, thick: int) -> None:
    """Draw each box with its class and score on ``canvas`` (in place); ``factor`` maps frame pixels
    to canvas pixels (the overlay enlarges small frames)."""
    for det in found:
        x1, y1, x2, y2 = (round(v * factor) for v in det.box)
        colour = _colour(det.class_id)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, max(1, thick), cv2.LINE_AA)
        text = f"{det.label} {det.score:.0%}" + ("" if det.track_id is None else f" #{det.track_id}")
        s = scale * 0.7
        (tw, th), base = cv2.getTextSize(text, FONT, s, max(1, thick - 1))
        top = max(0, y1 - th - base - 2)
        cv2.rectangle(canvas, (x1, top), (x1 + tw + 4, top + th + base + 2), colour, -1)
        cv2.putText(canvas, text, (x1 + 2, top + th + 1), FONT, s, (0, 0, 0), max(1, thick - 1), cv2.LINE_AA)


@functools.lru_cache(maxsize=256)
def _colour(class_id: int) -> tuple[int, int, int]:
    """A stable, bright colour per class (golden-ratio hues)."""
    hue = int((class_id * 0.618033988749895 % 1.0) * 180)
    bgr = cv2.cvtColor(np.uint8([[[hue, 200, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def with_config(predictor: Any, **changes: Any) -> DetectionConfig:
    """Set and return the thresholds of a running detector (``conf=0.5``); the next frame uses them."""
    predictor.config = predictor.config.replace(**changes)
    return predictor.config
