"""Sources that make their frames in memory: the labelled demo stream, a test
pattern, and plain arrays (for tests and benchmarks on fixed frames)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from edgekit.data.demo_stream import DemoStream
from edgekit.data.det_stream import DetectionDemoStream
from edgekit.errors import SourceError
from edgekit.vision.sources.base import Frame, Pacer, SourceInfo


class _Generated:
    """Shared bookkeeping: a frame counter, optional pacing, optional looping."""

    info: SourceInfo

    def __init__(self, length: int | None, fps: float | None, loop: bool) -> None:
        self.length, self.loop = length, loop
        self._pacer = Pacer(fps)
        self._index = 0
        self._seq = 0
        self._opened = False

    def open(self) -> None:
        self._opened = True
        self._pacer.reset()

    def close(self) -> None:
        self._opened = False

    def _make(self, index: int) -> tuple[np.ndarray, str | None]:
        raise NotImplementedError

    def read(self) -> Frame | None:
        if not self._opened:
            raise SourceError(f"source {self.info.name!r} is not open; call open() first")
        if self.length is not None and self._index >= self.length:
            if not self.loop:
                return None
            self._index = 0
        self._pacer.wait()
        image, label = self._make(self._index)
        frame = Frame(image, time.monotonic(), self._seq, label, self.info.name)
        self._index += 1
        self._seq += 1
        return frame


class SyntheticSource(_Generated):
    """A deterministic test pattern: colour bars sliding sideways and a frame counter.

    Frame ``i`` depends on ``i`` only, so two runs give the same pixels.

    Args:
        size: ``(height, width)``.
        fps: pace frames like a camera at this rate (``None``: as fast as read).
        length: number of frames (``None``: endless).
    """

    _BARS = ((255, 255, 255), (0, 255, 255), (255, 255, 0), (0, 255, 0), (255, 0, 255), (0, 0, 255), (255, 0, 0))

    def __init__(self, size: tuple[int, int] = (240, 320), fps: float | None = None, length: int | None = None):
        super().__init__(length, fps, loop=False)
        h, w = size
        self.size = (int(h), int(w))
        self.info = SourceInfo(
            "synthetic", "synthetic", live=fps is not None, requested_size=(w, h), granted_size=(w, h),
            requested_fps=fps, granted_fps=fps, length=length,
        )
        bar_w = max(1, w // len(self._BARS))
        row = np.zeros((w * 2, 3), np.uint8)
        for x in range(w * 2):
            row[x] = self._BARS[(x // bar_w) % len(self._BARS)]
        self._row = row

    def _make(self, index: int) -> tuple[np.ndarray, str | None]:
        h, w = self.size
        shift = (index * 4) % w
        image = np.ascontiguousarray(np.broadcast_to(self._row[shift : shift + w], (h, w, 3)))
        scale = max(0.4, h / 240)
        cv2.putText(image, f"{index:06d}", (int(8 * scale), h - int(10 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (0, 0, 0), max(1, int(2 * scale)), cv2.LINE_AA)
        return image, None


class ArraySource(_Generated):
    """Frames held in memory (with optional labels): replayed in order.

    Args:
        images: images (any size, BGR/gray/BGRA uint8).
        labels: class name per image, or ``None``.
        classes: all class names, when known.
        fps: pace like a camera at this rate (``None``: as fast as read).
        loop: start again at the end instead of finishing.
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        labels: Sequence[str | None] | None = None,
        *,
        classes: Sequence[str] | None = None,
        fps: float | None = None,
        loop: bool = False,
        name: str = "frames",
    ) -> None:
        if len(images) == 0:
            raise SourceError("ArraySource got no images; pass at least one")
        if labels is not None and len(labels) != len(images):
            raise SourceError(f"ArraySource got {len(images)} images but {len(labels)} labels; pass one label per image")
        super().__init__(len(images), fps, loop)
        self.images, self.labels = list(images), None if labels is None else list(labels)
        h, w = self.images[0].shape[:2]
        self.info = SourceInfo(name, "array", live=fps is not None, granted_size=(w, h), requested_fps=fps,
                               granted_fps=fps, length=len(self.images),
                               classes=None if classes is None else tuple(classes))

    def _make(self, index: int) -> tuple[np.ndarray, str | None]:
        return self.images[index], None if self.labels is None else self.labels[index]


class DemoSource(_Generated):
    """The labelled demo stream (:class:`edgekit.data.demo_stream.DemoStream`):
    handwritten and printed digits as a camera would see them, each with its label.

    Args:
        seed: stream seed (same seed, same frames).
        length: frames before the stream ends (or loops).
        size: ``(height, width)`` of each frame.
        fps: pace like a camera at this rate (``None``: as fast as read).
        loop: start again at the end.
    """

    def __init__(self, seed: int = 0, length: int = 100_000, size: tuple[int, int] = (240, 320),
                 fps: float | None = None, loop: bool = True) -> None:
        super().__init__(length, fps, loop)

        self.stream = DemoStream(seed=seed, length=length, size=tuple(size))
        classes = tuple(str(c) for c in self.stream.classes)
        h, w = size
        self.info = SourceInfo("demo", "demo", live=fps is not None, requested_size=(w, h), granted_size=(w, h),
                               requested_fps=fps, granted_fps=fps, length=length, classes=classes)

    def _make(self, index: int) -> tuple[np.ndarray, str | None]:
        image, label = self.stream.frame(index)
        return image, self.info.classes[int(label)]


class DetectionDemoSource(_Generated):
    """The labelled detection demo stream (:class:`edgekit.data.det_stream.DetectionDemoStream`):
    sheets with several digits, each frame carrying its ground-truth boxes (``Frame.boxes``),
    so the live pipeline can show a running mAP.

    Args:
        seed: stream seed (same seed, same frames and boxes).
        length: frames before the stream ends (or loops).
        size: ``(height, width)`` of each frame.
        fps: pace like a camera at this rate (``None``: as fast as read).
        loop: start again at the end.
    """

    def __init__(self, seed: int = 0, length: int = 100_000, size: tuple[int, int] = (240, 320),
                 fps: float | None = None, loop: bool = True) -> None:
        super().__init__(length, fps, loop)
        self.stream = DetectionDemoStream(seed=seed, length=length, size=tuple(size))
        h, w = size
        self.info = SourceInfo("demo-det", "demo", live=fps is not None, requested_size=(w, h), granted_size=(w, h),
                               requested_fps=fps, granted_fps=fps, length=length,
                               classes=tuple(str(c) for c in self.stream.classes))
        self._truth: tuple[np.ndarray, np.ndarray] | None = None

    def _make(self, index: int) -> tuple[np.ndarray, str | None]:
        image, boxes, ids = self.stream.frame(index)
        self._truth = (boxes, ids)
        return image, None

    def read(self) -> Frame | None:
        frame = super().read()
        return None if frame is None else replace(frame, boxes=self._truth)
