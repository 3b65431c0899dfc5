"""A simple IoU tracker: stable ids across frames, and counts that do not flicker.

Why this simple: a live demo wants "3 bottles" to stay 3 when one box drops out
for a frame, and each object to keep its colour/id; it does not need re-identification.
Each frame, detections are matched greedily (highest IoU first, same class) to the
tracks of the previous frames; a track that finds no match is still reported, at its
last box, for ``hold`` frames before it is dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgekit.detection.suppression import box_iou
from edgekit.detection.types import Detection


@dataclass
class _Track:
    id: int
    detection: Detection
    missed: int = 0


class IoUTracker:
    """Give each object a ``track_id`` that survives from frame to frame.

    Args:
        iou: least IoU between a track's last box and a new detection of its class to continue it.
        hold: frames a track is still reported (at its last box) after it found no detection.

    Example:
        >>> tracker = IoUTracker()
        >>> first = tracker.update([Detection((0, 0, 10, 10), "cat", 0.9, 0)])
        >>> tracker.update([Detection((1, 0, 11, 10), "cat", 0.8, 0)])[0].track_id == first[0].track_id
        True
    """

    def __init__(self, iou: float = 0.3, hold: int = 2) -> None:
        if not 0.0 < iou <= 1.0 or hold < 0:
            raise ValueError(f"IoUTracker needs 0 < iou <= 1 and hold >= 0 (got iou={iou}, hold={hold})")
        self.iou, self.hold = iou, hold
        self._tracks: list[_Track] = []
        self._next = 1

    def update(self, found: Sequence[Detection]) -> tuple[Detection, ...]:
        """This frame's detections with ``track_id`` set, plus held tracks (their last box), best first."""
        matched = self._match(found)
        out, seen = [], set()
        for i, det in enumerate(found):
            track = matched.get(i)
            if track is None:
                track = _Track(self._next, det)
                self._next += 1
                self._tracks.append(track)
            track.detection, track.missed = dataclasses.replace(det, track_id=track.id), 0
            out.append(track.detection)
            seen.add(track.id)
        for track in self._tracks:
            if track.id not in seen:
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.hold]
        out += [t.detection for t in self._tracks if t.missed > 0]
        return tuple(sorted(out, key=lambda d: -d.score))

    def reset(self) -> None:
        """Forget every track (a new scene, a new source)."""
        self._tracks, self._next = [], 1

    def _match(self, found: Sequence[Detection]) -> dict[int, _Track]:
        """Detection index -> track, greedily by IoU, within a class."""
        if not found or not self._tracks:
            return {}
        ious = box_iou(np.array([d.box for d in found]), np.array([t.detection.box for t in self._tracks]))
        same = np.array([[d.class_id == t.detection.class_id for t in self._tracks] for d in found])
        ious = np.where(same, ious, 0.0)
        matched: dict[int, _Track] = {}
        used: set[int] = set()
        for flat in np.argsort(-ious, axis=None, kind="stable"):
            d, t = divmod(int(flat), ious.shape[1])
            if ious[d, t] < self.iou:
                break
            if d in matched or t in used:
                continue
            matched[d] = self._tracks[t]
            used.add(t)
        return matched
