"""How far two detectors agree on one frame: boxes matched at IoU >= 0.5 with the same class.

Why: A/B of a detector (FP32 vs INT8, two backends) cannot compare top-1 labels;
the share of boxes both models found is what a user watching the two overlays sees.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgekit.detection.suppression import box_iou
from edgekit.detection.types import Detection


def box_agreement(a: Sequence[Detection], b: Sequence[Detection], iou: float = 0.5) -> float:
    """Matched pairs / the larger count (1.0 when both found nothing).

    Pairs are taken greedily, highest IoU first, each box at most once, same class only.

    Example:
        >>> cat = Detection((0, 0, 10, 10), "cat", 0.9, 0)
        >>> box_agreement([cat], [Detection((1, 0, 11, 10), "cat", 0.7, 0)])
        1.0
    """
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    ious = box_iou(np.array([d.box for d in a]), np.array([d.box for d in b]))
    ious = np.where(np.equal.outer([d.class_id for d in a], [d.class_id for d in b]), ious, 0.0)
    used_a, used_b, pairs = set(), set(), 0
    for flat in np.argsort(-ious, axis=None, kind="stable"):
        i, j = divmod(int(flat), ious.shape[1])
        if ious[i, j] < iou:
            break
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs += 1
    return pairs / max(len(a), len(b))
