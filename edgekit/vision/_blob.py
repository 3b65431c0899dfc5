"""Frames into model inputs without allocating per frame.

Why: the live pipeline prepares every captured frame, and at 640x480 a fresh
``(1, 3, 224, 224)`` float blob, a fresh resized image and a fresh padded
canvas per frame cost page faults and copies on top of the resize itself.
Here the frame is resized once, straight into a reused image buffer (for a
letterbox: into the padded canvas's centre), and turned into the model input
written straight into a reused blob's planes
(:func:`edgekit.models.preprocess.to_planes`).

The pixels are the same as :meth:`edgekit.models.preprocess.Preprocess.batch`
gives (and, for a detector, :func:`edgekit.detection.detector.prepare`): same
sizes, same interpolation, same rounding; ``tests/vision/test_live_loop.py``
checks them equal. Configurations with no planar fast path (grey input,
NHWC) take the reference path and are copied into the reused blob.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from edgekit.detection.letterboxing import fit
from edgekit.models.preprocess import CropGeometry, Preprocess, as_bgr, resize_to, resized_centre, to_planes

_LETTERBOX_PAD = 114  # Preprocess(resize="letterbox") pads with this grey


class BlobPool:
    """Input blobs handed out and given back: a free list that grows only to the
    number of blobs in flight at once (one being written, one waiting, one being inferred).

    Attributes:
        allocated: blobs created so far (stays small in a steady stream).
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype | type = np.float32) -> None:
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self._free: list[np.ndarray] = []
        self._lock = threading.Lock()
        self.allocated = 0

    def acquire(self) -> np.ndarray:
        """A blob nobody holds (its old contents are garbage)."""
        with self._lock:
            if self._free:
                return self._free.pop()
            self.allocated += 1
        return np.empty(self.shape, self.dtype)

    def release(self, blob: np.ndarray | None) -> None:
        """Give ``blob`` back once nothing reads it any more (a blob of another shape is ignored)."""
        if blob is None or blob.shape != self.shape or blob.dtype != self.dtype:
            return
        with self._lock:
            if all(b is not blob for b in self._free):
                self._free.append(blob)


class _Scratch(threading.local):
    """Per-thread resize buffers (the capture, inference and reference threads may prepare at once)."""

    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}
        self.canvas_for: tuple | None = None  # the geometry the canvas's padding was painted for

    def get(self, key: str, shape: tuple[int, ...], dtype: type = np.uint8) -> np.ndarray:
        buf = self.buffers.get(key)
        if buf is None or buf.shape != shape:
            buf = self.buffers[key] = np.empty(shape, dtype)
            if key == "canvas":
                self.canvas_for = None
        return buf


class BlobWriter:
    """Writes a frame into a blob as ``preprocess`` would, reusing every buffer.

    Args:
        preprocess: the model's preprocessing.
        letterbox: for a detector, ``(pad, pad_value)`` of its letterbox (the rounding of
            :func:`edgekit.detection.letterboxing.letterbox`) instead of ``preprocess.resize``.
        dtype: the model's input dtype (a float16 model gets a float16 blob).
    """

    def __init__(self, preprocess: Preprocess, letterbox: tuple[str, int] | None = None,
                 dtype: np.dtype | type = np.float32) -> None:
        self.pre, self.letterbox = preprocess, letterbox
        h, w = preprocess.size
        c = preprocess.channels
        shape = (1, c, h, w) if preprocess.layout == "NCHW" else (1, h, w, c)
        self.pool = BlobPool(shape, dtype)
        self._scratch = _Scratch()
        self._fused = self._scale_and_mean()
        self._crops: dict[tuple[int, int], CropGeometry] = {}  # centre crop per frame size (one, in a stream)

    def _scale_and_mean(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """Per-channel ``(scale, mean)`` for :func:`to_planes` (colour swap, scale, mean, std and
        HWC->CHW), when the settings allow it; ``None``: the reference path (grey, NHWC)."""
        if self.letterbox is not None:
            return (self.pre.scale,) * 3, (0.0, 0.0, 0.0)
        return self.pre._fused

    def write(self, image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Prepare ``image`` (BGR/grey/BGRA, any size) into ``out`` (a pooled blob when ``None``)."""
        out = self.pool.acquire() if out is None else out
        resized = self.resize(as_bgr(image))
        swap = self.pre.channel_order == "RGB"
        if self._fused is not None and out.dtype == np.float32:
            to_planes(resized, self._fused, swap, out[0], self._planes(resized))
        elif self._fused is not None:  # a float16 model: float32 planes, then cast into the blob
            staging = self._staging()
            to_planes(resized, self._fused, swap, staging[0], self._planes(resized))
            np.copyto(out, staging, casting="unsafe")
        else:
            np.copyto(out[0], self.pre.normalize(resized), casting="unsafe")
        return out

    def _planes(self, image: np.ndarray) -> list[np.ndarray] | None:
        """Three reused uint8 planes to split a colour ``image`` into (``None`` for grey)."""
        if image.ndim != 3:
            return None
        return [self._scratch.get(f"plane{c}", image.shape[:2]) for c in range(3)]

    def _staging(self) -> np.ndarray:
        return self._scratch.get("staging", self.pool.shape, np.float32)

    def resize(self, bgr: np.ndarray) -> np.ndarray:
        """``bgr`` resized (and cropped or padded) to the model size, in a reused buffer."""
        h, w = self.pre.size
        ih, iw = bgr.shape[:2]
        if self.letterbox is not None:
            return self._detector_letterbox(bgr)
        if self.pre.resize == "stretch":
            dst = self._scratch.get("resized", (h, w, 3))
            return resize_to(bgr, (w, h), dst=dst)
        if self.pre.resize == "center_crop":
            crop = self._crops.get((ih, iw))
            if crop is None:
                crop = self._crops[(ih, iw)] = self.pre.crop_geometry((ih, iw))
            return resized_centre(bgr, crop, self._resized_buffer)
        factor = min(h / ih, w / iw)
        nh, nw = max(1, round(ih * factor)), max(1, round(iw * factor))
        top, left = (h - nh) // 2, (w - nw) // 2
        return self._into_canvas(bgr, (nh, nw), (top, left), _LETTERBOX_PAD, None)

    def _resized_buffer(self, shape: tuple[int, ...]) -> np.ndarray:
        return self._scratch.get("resized", shape)

    def _detector_letterbox(self, bgr: np.ndarray) -> np.ndarray:
        """:func:`edgekit.detection.letterboxing.letterbox`'s sizes and rounding, resized into the canvas."""
        pad, pad_value = self.letterbox
        size = self.pre.size
        box = fit(bgr.shape[:2], size, pad=pad)
        h, w = box.shape
        if pad == "topleft":
            nw, nh, top, left = int(w * box.ratio), int(h * box.ratio), 0, 0
        else:
            nw, nh = round(w * box.ratio), round(h * box.ratio)
            top, left = round((size[0] - nh) / 2 - 0.1), round((size[1] - nw) / 2 - 0.1)
        return self._into_canvas(bgr, (nh, nw), (top, left), pad_value, cv2.INTER_LINEAR)

    def _into_canvas(self, bgr: np.ndarray, inner: tuple[int, int], at: tuple[int, int], pad_value: int,
                     interpolation: int | None) -> np.ndarray:
        """Resize ``bgr`` to ``inner`` straight into the padded canvas at ``at``; the padding is
        painted once per frame geometry (it is never written over)."""
        h, w = self.pre.size
        (nh, nw), (top, left) = inner, at
        canvas = self._scratch.get("canvas", (h, w, 3))
        if self._scratch.canvas_for != (inner, at, pad_value):
            canvas.fill(pad_value)
            self._scratch.canvas_for = (inner, at, pad_value)
        view = canvas[top : top + nh, left : left + nw]
        if (nh, nw) == bgr.shape[:2]:
            np.copyto(view, bgr)
        elif interpolation is not None:  # a detector's letterbox: always linear, as its prepare does
            cv2.resize(bgr, (nw, nh), dst=view, interpolation=interpolation)
        else:  # a classifier's letterbox: as Preprocess.resize_image shrinks
            resize_to(bgr, (nw, nh), dst=view)
        return canvas

