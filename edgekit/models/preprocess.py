"""How an image becomes a model input: resize, colour order, scale, normalise, layout.

Kept in numpy + OpenCV so the same code runs in the SDK, the live pipeline
and a deployment bundle on a small device. Images enter as OpenCV gives
them: ``uint8`` BGR ``(H, W, 3)``; grayscale ``(H, W)`` and BGRA ``(H, W, 4)``
are accepted and converted.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from edgekit.errors import InputMismatch

RESIZE_MODES = ("stretch", "center_crop", "letterbox")


@dataclass(frozen=True)
class Preprocess:
    """Preprocessing a model expects.

    Attributes:
        size: ``(height, width)`` of the model input.
        mean: per-channel mean, subtracted after scaling (in ``channel_order``).
        std: per-channel std, divided after the mean.
        scale: multiplier applied to uint8 pixels first (``1/255`` -> [0, 1]).
        channel_order: ``"RGB"``, ``"BGR"`` or ``"GRAY"``.
        resize: ``"stretch"`` to size, ``"center_crop"`` (resize the shorter
            side to ``size / crop_ratio`` then crop the centre) or
            ``"letterbox"`` (fit inside, pad with grey).
        crop_ratio: for ``center_crop``: 224/256 = 0.875 is the ImageNet habit.
        layout: ``"NCHW"`` or ``"NHWC"``.
    """

    size: tuple[int, int] = (224, 224)
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    scale: float = 1.0 / 255.0
    channel_order: str = "RGB"
    resize: str = "stretch"
    crop_ratio: float = 0.875
    layout: str = "NCHW"

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES}, not {self.resize!r}")
        if self.channel_order not in ("RGB", "BGR", "GRAY"):
            raise ValueError(f"channel_order must be RGB, BGR or GRAY, not {self.channel_order!r}")
        if self.layout not in ("NCHW", "NHWC"):
            raise ValueError(f"layout must be NCHW or NHWC, not {self.layout!r}")

    @property
    def _fused(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """Per-channel ``(scalefactor, mean)`` (mean in pixel units, in ``channel_order``) for OpenCV's
        one-pass ``cv2.dnn.blobFromImageWithParams``: ``(pixel - mean) * scalefactor`` equals
        ``(pixel * scale - mean) / std`` to float32 rounding. ``None`` where it cannot (grey, NHWC)."""
        if self.layout != "NCHW" or self.channel_order == "GRAY":
            return None
        return tuple(self.scale / s for s in self.std[:3]), tuple(m / self.scale for m in self.mean[:3])

    @property
    def channels(self) -> int:
        """Number of channels the model sees."""
        return 1 if self.channel_order == "GRAY" else 3

    def resize_image(self, image: np.ndarray) -> np.ndarray:
        """Resize/crop a 3-channel BGR uint8 image to ``size`` as configured."""
        h, w = self.size
        ih, iw = image.shape[:2]
        if self.resize == "stretch":
            return resize_to(image, (w, h))
        if self.resize == "center_crop":
            short = min(h, w) / self.crop_ratio
            factor = short / min(ih, iw)
            nh, nw = max(h, round(ih * factor)), max(w, round(iw * factor))
            resized = resize_to(image, (nw, nh))
            top, left = (nh - h) // 2, (nw - w) // 2
            return resized[top : top + h, left : left + w]
        factor = min(h / ih, w / iw)
        nh, nw = max(1, round(ih * factor)), max(1, round(iw * factor))
        resized = resize_to(image, (nw, nh))
        canvas = np.full((h, w, 3), 114, dtype=np.uint8)
        top, left = (h - nh) // 2, (w - nw) // 2
        canvas[top : top + nh, left : left + nw] = resized
        return canvas

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Turn one image into a ``(1, C, H, W)`` (or NHWC) float32 array."""
        return self.batch([image])

    def batch(self, images: list[np.ndarray]) -> np.ndarray:
        """Turn several images into one float32 batch."""
        return np.stack([self._one(as_bgr(img)) for img in images])

    def _one(self, bgr: np.ndarray) -> np.ndarray:
        img = self.resize_image(bgr)
        fused = self._fused  # built once per image, not twice
        if fused:
            # one C++ pass for colour swap, scale, mean, per-channel std and HWC->CHW: ~9x faster than
            # numpy for ImageNet's std (0.07 vs 0.67 ms at 224x224; the live pipeline pays it per frame,
            # evaluation per image); the same numbers to float32 rounding
            return cv2.dnn.blobFromImageWithParams(img, blob_params(fused, self.channel_order == "RGB"))[0]
        return np.ascontiguousarray(self.normalize(img))

    def normalize(self, img: np.ndarray) -> np.ndarray:
        """An already resized BGR image as model input (channel order, scale, mean, std, layout) with
        numpy: the path for settings the one-pass OpenCV route cannot do (grey, NHWC).
        An NCHW result is a transposed view (the live pipeline copies it straight into its blob)."""
        if self.channel_order == "RGB":
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        elif self.channel_order == "GRAY":
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None]
        out = img.astype(np.float32) * np.float32(self.scale)
        mean = np.asarray(self.mean[: self.channels], dtype=np.float32)
        std = np.asarray(self.std[: self.channels], dtype=np.float32)
        out = (out - mean) / std
        return out.transpose(2, 0, 1) if self.layout == "NCHW" else out

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        data = asdict(self)
        for key in ("size", "mean", "std"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Preprocess:
        """Inverse of :meth:`to_dict`; unknown keys raise ``TypeError``."""
        data = dict(data)
        for key in ("size", "mean", "std"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


@functools.lru_cache(maxsize=64)
def blob_params(fused: tuple[tuple[float, ...], tuple[float, ...]], swap_rb: bool) -> cv2.dnn.Image2BlobParams:
    """OpenCV's settings for one ``(scalefactor, mean)`` (see ``Preprocess._fused``), made once: they
    are only read, by any thread."""
    scale, mean = fused
    params = cv2.dnn.Image2BlobParams()
    params.scalefactor = (*scale, 0.0)
    params.mean = (*mean, 0.0)
    params.swapRB = swap_rb
    return params


STRONG_DOWNSCALE = 0.4  # below this factor a single linear resize visibly aliases
RESIZING = "halve-then-linear"  # names what resize_to does; change it with resize_to (caches of prepared inputs key on it)


def resize_to(image: np.ndarray, size: tuple[int, int], dst: np.ndarray | None = None) -> np.ndarray:
    """``image`` resized to ``size`` (width, height), into ``dst`` when given (same shape, uint8).

    Linear for factors of 0.4 and up: a 640x480 camera frame to 224 (0.47) costs 0.3 ms that
    way against 2.6 ms for area averaging, the largest per-frame cost of a live demo besides
    inference. ShuffleNet keeps its top-1 on all 300 frames of a bottle video either way.

    Below 0.4 a single linear resize aliases (it reads 2 of every 3+ source pixels), so the image
    is first halved, each halving exactly the mean of 2x2 blocks, until what is left is 0.4 or
    more, and that rest is linear: area averaging in all but name at a fraction of OpenCV's
    ``INTER_AREA``, whose general (non-integer) path was the cost: 1920x1080 to 398x224 took
    11.4 ms of CPU against 0.97 ms, 640x480 to 85x64 (the demo digits) 1.30 ms against 0.17 ms
    (``benchmarks/shrink.py`` on a 2-core EPYC, a frame of a real video), with the pixels a mean
    0.1-0.5 grey levels from ``INTER_AREA``'s. A frame shrunk only one way (a stretch to a very
    different aspect) keeps ``INTER_AREA``.

    The live pipeline's reused buffers (:class:`edgekit.vision._blob.BlobWriter`) call this too,
    so live frames and evaluated images get the same pixels.
    """
    w, h = size
    while w / image.shape[1] < STRONG_DOWNSCALE and h / image.shape[0] < STRONG_DOWNSCALE:
        image = cv2.resize(image, (0, 0), fx=0.5, fy=0.5, interpolation=cv2.INTER_LINEAR)  # 2x2 means
    factor = min(w / image.shape[1], h / image.shape[0])
    interpolation = cv2.INTER_AREA if factor < STRONG_DOWNSCALE else cv2.INTER_LINEAR
    if dst is None:
        return cv2.resize(image, (w, h), interpolation=interpolation)
    if image.shape[:2] == (h, w):  # nothing left to scale (the halvings landed on the size)
        np.copyto(dst, image)
        return dst
    return cv2.resize(image, (w, h), dst=dst, interpolation=interpolation)


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Return a 3-channel uint8 BGR view of a gray, BGR or BGRA image.

    Raises:
        InputMismatch: for arrays that are not images (a frame with 7 channels, a 1-D array).
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif not (image.ndim == 3 and image.shape[2] == 3):
        raise InputMismatch(f"expected an image (H, W), (H, W, 3) or (H, W, 4), got shape {image.shape}: "
                            "grey, BGR or BGRA pixels (channel count 1, 3 or 4)")
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating) and image.size and float(image.max()) <= 1.0:
            image = image * 255.0
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image
