"""How an image becomes a model input: resize, colour order, scale, normalise, layout.

Kept in numpy + OpenCV so the same code runs in the SDK, the live pipeline
and a deployment bundle on a small device. Images enter as OpenCV gives
them: ``uint8`` BGR ``(H, W, 3)``; grayscale ``(H, W)`` and BGRA ``(H, W, 4)``
are accepted and converted.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from edgekit._pixel_numbers import check_numbers
from edgekit.errors import InputMismatch
from edgekit.types import RESIZE_NAMES

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

    Raises:
        PreprocessError: a mean that is not finite, a std or scale that is not > 0 (:func:`check_numbers`).
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
        # what a script writes as the CLI spells it (``size=224``, ``resize="shorter-crop"``, a list for
        # ``mean``) is stored in the fields' own form, so equal settings compare and hash equal
        object.__setattr__(self, "size", _size(self.size))
        for key in ("mean", "std"):
            object.__setattr__(self, key, _numbers(key, getattr(self, key)))
        if isinstance(self.resize, str):
            object.__setattr__(self, "resize", RESIZE_NAMES.get(self.resize.lower(), self.resize))
        if self.resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES} (or shorter-crop as the CLI says it), "
                             f"not {self.resize!r}")
        if self.channel_order not in ("RGB", "BGR", "GRAY"):
            raise ValueError(f"channel_order must be RGB, BGR or GRAY, not {self.channel_order!r}")
        if self.layout not in ("NCHW", "NHWC"):
            raise ValueError(f"layout must be NCHW or NHWC, not {self.layout!r}")
        check_numbers(mean=self.mean, std=self.std, scale=self.scale)

    @property
    def _fused(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """Per-channel ``(scalefactor, mean)`` (mean in pixel units, in ``channel_order``) for
        :func:`to_planes`: ``(pixel - mean) * scalefactor`` equals ``(pixel * scale - mean) / std`` to
        float32 rounding. ``None`` where it cannot (grey, NHWC)."""
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
            return resized_centre(image, self.crop_geometry(image.shape[:2]))
        factor = min(h / ih, w / iw)
        nh, nw = max(1, round(ih * factor)), max(1, round(iw * factor))
        resized = resize_to(image, (nw, nh))
        canvas = np.full((h, w, 3), 114, dtype=np.uint8)
        top, left = (h - nh) // 2, (w - nw) // 2
        canvas[top : top + nh, left : left + nw] = resized
        return canvas

    def crop_geometry(self, image_shape: tuple[int, ...]) -> CropGeometry:
        """Where ``center_crop`` cuts an image of ``image_shape``: the shorter side resized to
        ``size / crop_ratio``, then the centre ``size`` of that (whole resized pixels, rounded down)."""
        h, w = self.size
        ih, iw = image_shape[:2]
        factor = min(h, w) / self.crop_ratio / min(ih, iw)
        nh, nw = max(h, round(ih * factor)), max(w, round(iw * factor))
        return CropGeometry((nh, nw), ((nh - h) // 2, (nw - w) // 2), (h, w))

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
            return to_planes(img, fused, self.channel_order == "RGB")
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
        """Inverse of :meth:`to_dict`; also takes what the fields accept (``size=224``).

        Raises:
            TypeError: a key that is not a field, naming the fields.
            ValueError: a value that is not one (``PreprocessError`` for bad numbers).
        """
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise TypeError(f"unknown preprocess key {', '.join(map(repr, unknown))}; "
                            f"the keys are {', '.join(cls.__dataclass_fields__)}")
        return cls(**data)


def _size(value: object) -> tuple[int, int]:
    """``224`` or ``(224, 224)`` (``"224"`` from a YAML file too) as ``(height, width)``."""
    pair = value
    if isinstance(pair, str) and pair.strip().isdecimal():
        pair = int(pair)
    if isinstance(pair, int) and not isinstance(pair, bool):
        pair = (pair, pair)
    try:
        h, w = (int(v) for v in pair)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"size must be one number (224) or (height, width), not {value!r}") from None
    if h <= 0 or w <= 0 or (h, w) != tuple(pair):  # type: ignore[arg-type]
        raise ValueError(f"size must be whole numbers above 0, not {value!r}")
    return h, w


def _numbers(key: str, value: object) -> tuple[float, ...]:
    """A per-channel ``mean``/``std`` as a tuple of floats: one number stands for every channel."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),) * 3
    try:
        return tuple(float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be numbers, one per channel (0.485, 0.456, 0.406), not {value!r}") from None


def to_planes(image: np.ndarray, fused: tuple[tuple[float, ...], tuple[float, ...]], swap_rb: bool,
              out: np.ndarray | None = None, planes: list[np.ndarray] | None = None) -> np.ndarray:
    """A uint8 ``H x W x C`` (or ``H x W``) image as float32 planes ``(C, H, W)`` holding
    ``(pixel - mean[c]) * scale[c]`` (``fused``, see ``Preprocess._fused``), blue and red swapped when
    ``swap_rb``; written into ``out`` when given (a C-contiguous float32 ``(C, H, W)``, such as a
    reused blob's ``[0]``).

    Why not ``cv2.dnn.blobFromImageWithParams``, which does all of it in one call: splitting into
    planes and scaling each with one ``cv2.addWeighted`` (float32 out) takes about half its time
    (``benchmarks/planes.py``, one core), and the live pipeline pays it per frame on cores inference
    keeps busy; the numbers agree to float32 rounding (2e-7). Every path that makes model inputs
    (evaluation, the live blob, a detector's letterbox) goes through here, so they stay the same bit
    for bit. ``image`` is BGR or grey (callers pass it through :func:`as_bgr` first).

    ``planes``, when given, are three reused uint8 ``H x W`` arrays the colour image is split into
    (the live pipeline's): a split that makes new arrays cost 0.03 ms of the 0.07 ms a 224x224
    frame takes here (``benchmarks/planes.py``), per frame, on cores inference keeps busy.
    """
    if image.ndim == 2:
        planes = (image,)
    elif planes is not None and len(planes) == 3 and planes[0].shape == image.shape[:2]:
        cv2.split(image, planes)
    else:
        planes = cv2.split(image)
    if swap_rb and len(planes) == 3:
        planes = planes[::-1]
    if out is None:
        out = np.empty((len(planes), *image.shape[:2]), np.float32)
    scale, mean = fused
    for c, plane in enumerate(planes):
        cv2.addWeighted(plane, scale[c], plane, 0.0, -mean[c] * scale[c], out[c], dtype=cv2.CV_32F)
    return out


@dataclass(frozen=True)
class CropGeometry:
    """A centre crop of a resized image: the image resized to ``resized`` ``(height, width)``, then
    ``size`` ``(height, width)`` cut from it at ``at`` ``(top, left)``."""

    resized: tuple[int, int]
    at: tuple[int, int]
    size: tuple[int, int]


_SPARE_OUTPUTS = 24  # how far before the crop a cut may start, to find a source pixel that lines up
_ALIGNED = 0.0625  # source px: the nearest start whose samples move at most this is taken
_MISALIGNED = 0.125  # source px: otherwise the best start, unless its samples would move further than this


def _cut(n_source: int, n_resized: int, start: int, count: int) -> tuple[int, int, int]:
    """Along one axis: ``(offset, length, skip)`` of a source span whose linear resize by the same
    factor, less its first ``skip`` outputs, samples where resized pixels ``start .. start+count``
    of the whole image do; the whole axis where no shorter span does.

    Why not cut exactly the crop's source: it starts at a fraction of a source pixel, and an earlier
    crop-first that rounded it away cost a real INT8 ShuffleNet 2 points of top-1. Output ``j`` of a
    resize by ``scale`` samples ``(j + 0.5) * scale - 0.5``; a span from source pixel ``m * scale``
    samples the same points from its output ``j - m``. ``m * scale`` is rarely whole, so ``m`` is the
    output nearest before the crop whose ``m * scale`` lies within 1/16 px of a whole pixel (0.057 px,
    one output early, for a 640x480 frame into 224x224), else the one of the 24 before it that lies
    nearest, if within 1/8 px (the whole axis otherwise: about 1% of image sizes). The span reaches
    one source pixel past the last sample (its right neighbour), so OpenCV's clamping at the span's
    edge never bites where the whole image's would not.
    """
    whole = (0, n_source, start)
    scale = n_source / n_resized
    if scale <= 1.0:  # enlarging: every source pixel is read anyway
        return whole
    candidates = range(start, max(0, start - _SPARE_OUTPUTS) - 1, -1)  # nearest the crop first
    miss = {m: abs(round(m * scale) - m * scale) for m in candidates}
    m = next((m for m in candidates if miss[m] <= _ALIGNED), min(candidates, key=miss.__getitem__))
    if miss[m] > _MISALIGNED:
        return whole
    offset, skip = round(m * scale), start - m
    last = skip + count - 1
    reach = max(math.floor((last + 0.5) * scale - 0.5) + 2, math.ceil((last + 1) * scale) + 1)
    return offset, min(n_source - offset, reach), skip


def resized_centre(image: np.ndarray, crop: CropGeometry,
                   buffer: Callable[[tuple[int, ...]], np.ndarray] | None = None) -> np.ndarray:
    """``image`` resized to ``crop.resized`` and cut to ``crop.size`` at ``crop.at``, by resizing only
    the source span the cut reads (see :func:`_cut`): for a 640x480 frame into a 224x224 model the
    resize makes 240 columns instead of 299 and reads 80% of the frame. The samples lie within 1/8
    source px of a whole resize's (0.05 px there; exactly on them where the factor allows); a strong
    shrink (halvings first, see :func:`resize_to`) resizes the whole image.

    ``buffer(shape)``, when given, returns a reused uint8 array to resize into (the live pipeline's).
    """
    (nh, nw), (top, left), (h, w) = crop.resized, crop.at, crop.size
    ih, iw = image.shape[:2]
    spans = _spans(ih, iw, crop)
    if spans is None:
        dst = buffer((nh, nw, 3)) if buffer is not None else None
        return resize_to(image, (nw, nh), dst=dst)[top : top + h, left : left + w]
    (oy, ly, ky), (ox, lx, kx), shape = spans
    dst = buffer(shape) if buffer is not None else None
    # dsize (0, 0) with the whole image's factors: OpenCV then samples the span at exactly the
    # whole resize's scale (a dsize would set the scale from the span's own size)
    out = cv2.resize(image[oy : oy + ly, ox : ox + lx], (0, 0), dst=dst, fx=nw / iw, fy=nh / ih,
                     interpolation=cv2.INTER_LINEAR)
    return out[ky : ky + h, kx : kx + w]


@functools.lru_cache(maxsize=256)
def _spans(ih: int, iw: int, crop: CropGeometry) -> tuple | None:
    """The source spans (rows, columns) and resized shape :func:`resized_centre` uses for an image of
    ``ih x iw``; ``None`` where it resizes the whole image. Cached: a live stream asks per frame."""
    (nh, nw), (top, left), (h, w) = crop.resized, crop.at, crop.size
    if min(nw / iw, nh / ih) < STRONG_DOWNSCALE:  # halvings first: resize_to's path
        return None
    (oy, ly, ky), (ox, lx, kx) = _cut(ih, nh, top, h), _cut(iw, nw, left, w)
    shape = (round(ly * nh / ih), round(lx * nw / iw), 3)  # OpenCV's size for these factors (cvRound)
    if shape[0] < ky + h or shape[1] < kx + w:
        return None
    return (oy, ly, ky), (ox, lx, kx), shape


STRONG_DOWNSCALE = 0.4  # below this factor a single linear resize visibly aliases
RESIZING = "halve-then-linear;centre-span;planes"  # names what resize_to and to_planes do; change it with them (caches of prepared inputs key on it)


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
