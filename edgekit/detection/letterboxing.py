"""Letterbox: fit an image inside the model's input keeping its aspect, pad the rest.

Why its own module instead of ``Preprocess(resize="letterbox")``: a detector
must map its boxes back to the original pixels, so the resize ratio and the
padding have to come back with the tensor, and exporters differ in where the
padding goes (Ultralytics centres the image, YOLOX pastes it at the top-left).
The rounding follows each reference implementation so boxes match to the pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgekit.models.preprocess import to_planes


@dataclass(frozen=True)
class Letterbox:
    """Where the image went inside the model input.

    Attributes:
        ratio: input pixels per original pixel.
        pad_x: left padding in input pixels.
        pad_y: top padding in input pixels.
        shape: original ``(height, width)``.
    """

    ratio: float
    pad_x: float
    pad_y: float
    shape: tuple[int, int]

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        """Map ``(N, 4)`` xyxy boxes in input pixels back to original pixels, clipped to the image."""
        out = np.asarray(boxes, dtype=np.float32).copy()
        if not len(out):
            return out.reshape(0, 4)
        out[:, [0, 2]] -= self.pad_x
        out[:, [1, 3]] -= self.pad_y
        out /= self.ratio
        h, w = self.shape
        return np.clip(out, 0, np.array([w, h, w, h], np.float32))


def letterbox(
    image: np.ndarray, size: tuple[int, int], *, pad: str = "center", pad_value: int = 114
) -> tuple[np.ndarray, Letterbox]:
    """Resize ``image`` into ``size`` = ``(height, width)`` keeping its aspect ratio.

    Args:
        image: ``(H, W, C)`` uint8.
        size: model input ``(height, width)``.
        pad: ``"center"`` (Ultralytics: equal borders) or ``"topleft"`` (YOLOX:
            image at the origin, padding right and bottom).
        pad_value: grey level of the padding.

    Returns:
        ``(canvas, Letterbox)``: the ``size`` image and how to map boxes back.

    Example:
        >>> canvas, lb = letterbox(np.zeros((100, 200, 3), np.uint8), (64, 64))
        >>> canvas.shape, lb.ratio, lb.pad_y
        ((64, 64, 3), 0.32, 16.0)
    """
    box = fit(image.shape[:2], size, pad=pad)
    h, w = box.shape
    nw, nh = (int(w * box.ratio), int(h * box.ratio)) if pad == "topleft" else (round(w * box.ratio), round(h * box.ratio))
    top, left = (0, 0) if pad == "topleft" else (round((size[0] - nh) / 2 - 0.1), round((size[1] - nw) / 2 - 0.1))
    resized = image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.full(tuple(size) + image.shape[2:], pad_value, dtype=image.dtype)
    canvas[top : top + nh, left : left + nw] = resized
    return canvas, box


def fit(shape: tuple[int, ...], size: tuple[int, int], *, pad: str = "center") -> Letterbox:
    """Where an image of ``shape`` (height, width) lands in a ``size`` letterbox, without resizing it
    (the live pipeline maps boxes back on another thread than the one that resized).

    Ultralytics' ``scale_boxes`` maps back with the padding rounded like this; YOLOX pads nothing before.
    """
    h, w = int(shape[0]), int(shape[1])
    ratio = min(size[0] / h, size[1] / w)
    if pad == "topleft":
        return Letterbox(ratio, 0.0, 0.0, (h, w))
    return Letterbox(ratio, float(round((size[1] - w * ratio) / 2 - 0.1)),
                     float(round((size[0] - h * ratio) / 2 - 0.1)), (h, w))


def to_tensor(canvas: np.ndarray, *, scale: float, rgb: bool, layout: str = "NCHW") -> np.ndarray:
    """A letterboxed BGR uint8 canvas as a ``(1, C, H, W)`` float32 tensor (see :func:`to_planes`)."""
    blob = to_planes(canvas, ((scale,) * 3, (0.0,) * 3), rgb)[None]
    return np.ascontiguousarray(blob.transpose(0, 2, 3, 1)) if layout == "NHWC" else blob
