"""A labelled, video-like stream of digit scenes: live-demo mAP without a camera.

The detection twin of :mod:`edgekit.data.demo_stream`. Each segment is a
sheet of paper with 2-5 digits (held-out real handwriting scans, never seen
in training, and printed digits; :mod:`edgekit.data.scenes`) that the camera
pans over while the light changes. The sheet is larger than the frame and
its digits keep out of the part a pan can hide, so every digit is whole in
view and its ground-truth box is exact (moved by the same shift as the
pixels). The sheet fills the frame: the detector was trained on paper only,
and a sheet's edge against a desk reads to it as a "1" or a "7".

Every frame is computed from ``(seed, index)`` alone: any frame can be
fetched directly, two runs give the same pixels and boxes.

Example:
    >>> stream = DetectionDemoStream(seed=0, length=90)
    >>> image, boxes, class_ids = stream.frame(10)
    >>> image.shape, boxes.shape[1], len(boxes) == len(class_ids)
    ((240, 320, 3), 4, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from edgekit.data._ahead import Ahead
from edgekit.data.demo_stream import _light
from edgekit.data.digits import CLASSES
from edgekit.data.scenes import render_scene
from edgekit.errors import DataError


@dataclass(frozen=True)
class _Segment:
    start: int
    frames: int


class DetectionDemoStream:
    """Frames ``(bgr_uint8 (h, w, 3), boxes (N, 4) xyxy frame pixels, class_ids (N,))``.

    Args:
        seed: picks the scenes, their motion and the light.
        length: number of frames.
        size: ``(height, width)`` of each frame.
        fps: frames per second the stream is meant to play at.
        run: ``(min, max)`` frames each sheet stays on screen.

    Raises:
        DataError: a non-positive length or fps, a frame smaller than 64x64 or a bad run.
    """

    def __init__(self, seed: int = 0, length: int = 900, size: tuple[int, int] = (240, 320), fps: float = 30,
                 run: tuple[int, int] = (45, 90)):
        if length <= 0 or fps <= 0 or min(size) < 64 or not 1 <= run[0] <= run[1]:
            raise DataError(f"DetectionDemoStream needs length > 0, fps > 0, size >= 64x64 and 1 <= run min <= "
                            f"max (got length={length}, fps={fps}, size={size}, run={run})")
        self.seed, self.length, self.fps = seed, int(length), float(fps)
        self.size = (int(size[0]), int(size[1]))
        self.classes = CLASSES
        rng = np.random.default_rng([seed, 17])
        self._segments, start = [], 0
        while start < self.length:
            frames = int(rng.integers(run[0], run[1] + 1))
            self._segments.append(_Segment(start, frames))
            start += frames
        self._starts = np.asarray([s.start for s in self._segments])
        self._ahead = Ahead(_sheet)  # the next segment's sheet, made while this one plays

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        return self.frame(index)

    def _segment(self, index: int) -> _Segment:
        if not 0 <= index < self.length:
            raise IndexError(f"frame {index} is outside this stream of {self.length} frames")
        return self._segments[int(np.searchsorted(self._starts, index, side="right")) - 1]

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame ``index`` with its ground-truth boxes and digit ids (the same every time)."""
        seg = self._segment(index)
        h, w = self.size
        following = seg.start + seg.frames
        sheet, boxes, ids, path = self._ahead.for_frame(
            index, (self.seed, seg.start, h, w), lambda: (self.seed, following, h, w) if following < self.length else None)
        t = (index - seg.start) / max(1, seg.frames - 1)
        room = np.array([sheet.shape[1] - w, sheet.shape[0] - h], np.float64)
        offset = room * (path["o0"] + (path["o1"] - path["o0"]) * t)  # the camera pans over the sheet
        m = np.float32([[1, 0, -offset[0]], [0, 1, -offset[1]]])
        image = cv2.warpAffine(sheet, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        moved = boxes - np.tile(offset, 2).astype(np.float32)
        rng = np.random.default_rng([self.seed, 19, index])
        return _light(image.astype(np.float32), index / self.fps, rng), moved.astype(np.float32), ids.copy()


_MARGIN = 0.2  # the sheet is this much larger than the frame; digits keep out of the part a pan can hide


@lru_cache(maxsize=4)
def _sheet(seed: int, start: int, h: int, w: int):
    """One segment's sheet (a held-out scene larger than the frame), its boxes and the pan path."""
    rng = np.random.default_rng([seed, 23, start])
    big = (round(h * (1 + _MARGIN)), round(w * (1 + _MARGIN)))
    scene = render_scene(rng, big, split="test", count=(2, 5), digit_frac=(0.16, 0.34),
                         strength=float(rng.uniform(0.2, 0.5)), inset=_MARGIN / (1 + _MARGIN))
    path = {"o0": rng.uniform(0.0, 1.0, 2), "o1": rng.uniform(0.0, 1.0, 2)}
    return scene.image, scene.boxes, scene.class_ids, path
