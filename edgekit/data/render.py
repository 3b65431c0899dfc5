"""Digits drawn the way a camera would see them: ink on paper, under real light.

Used to train the bundled demo models and to paint the labelled demo stream.
Only numpy and OpenCV, so it also runs where torch is not installed. Every
function takes a ``numpy.random.Generator`` so results are reproducible from a
seed.

Two kinds of digit shapes are turned into an ink mask (float32, 1 = ink):

- :func:`font_mask` draws a digit with one of OpenCV's Hershey fonts at a
  random weight and slant (printed digits);
- :func:`handwriting_mask` upscales one of scikit-learn's 8x8 scans of real
  handwriting (16 grey levels) into a smooth stroke.

:func:`compose` puts a mask on a paper texture with an ink colour, and
:func:`camera_effects` adds what a camera adds: light gradients, colour casts,
blur, noise, perspective and sometimes inverted contrast.
"""

from __future__ import annotations

import cv2
import numpy as np

FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
)

# ink colours (BGR): black, dark grey, blue and black ballpoint, red, pencil, green marker
_INKS = ((20, 20, 20), (60, 60, 60), (120, 40, 20), (90, 30, 30), (30, 30, 150), (90, 90, 90), (40, 90, 30))


def font_mask(digit: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """A printed ``digit`` as a float32 ``(size, size)`` mask, glyph filling most of it.

    Font, weight, italics and slant (shear) are drawn from ``rng``.
    """
    big = max(96, min(3 * size, 256))
    canvas = np.zeros((big, big), np.uint8)
    font = int(rng.choice(FONTS)) | (cv2.FONT_ITALIC if rng.random() < 0.2 else 0)
    scale = big / 40.0
    thickness = max(1, round(big / 40.0 * rng.uniform(0.8, 4.0)))
    (tw, th), _ = cv2.getTextSize(str(digit), font, scale, thickness)
    cv2.putText(
        canvas, str(digit), ((big - tw) // 2, (big + th) // 2), font, scale, 255, thickness, cv2.LINE_AA
    )
    shear = rng.uniform(-0.35, 0.35)
    warp = np.float32([[1, shear, -shear * big / 2], [0, 1, 0]])
    canvas = cv2.warpAffine(canvas, warp, (big, big))
    return _fit(canvas, size)


def handwriting_mask(image8: np.ndarray, size: int) -> np.ndarray:
    """Upscale an 8x8 scikit-learn digit (values 0..16) to a smooth ``(size, size)`` ink mask.

    The 8x8 scan covers the whole digit box, so a 1-pixel (1/8) margin is kept
    around it, matching how :func:`font_mask` frames printed digits.
    """
    small = np.pad(np.asarray(image8, np.float32) / 16.0, 1)
    mask = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    mask = cv2.GaussianBlur(mask, (0, 0), size / 40.0)
    return np.clip((mask - 0.2) / 0.55, 0.0, 1.0).astype(np.float32)


def _fit(canvas: np.ndarray, size: int) -> np.ndarray:
    """Crop ``canvas`` to its ink's bounding square (with a margin) and resize to ``size``."""
    ys, xs = np.nonzero(canvas > 32)
    if len(xs) == 0:
        return np.zeros((size, size), np.float32)
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    half = max(ys.max() - ys.min(), xs.max() - xs.min()) / 2 * 1.25 + 2
    warp = np.float32(
        [
            [size / (2 * half), 0, size / 2 - cx * size / (2 * half)],
            [0, size / (2 * half), size / 2 - cy * size / (2 * half)],
        ]
    )
    out = cv2.warpAffine(canvas, warp, (size, size), flags=cv2.INTER_AREA)
    return out.astype(np.float32) / 255.0


def paper(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A paper-like BGR background: a tint, low-frequency blotches, sometimes ruled lines."""
    base = rng.uniform(150, 250) * rng.uniform(0.85, 1.0, 3)
    blotch = cv2.resize(rng.normal(0, 1, (4, 4)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, rng.uniform(1, 6), (h, w)).astype(np.float32)
    img = base[None, None, :] + (blotch * rng.uniform(2, 15) + grain)[..., None]
    if rng.random() < 0.25:
        step = int(rng.uniform(0.08, 0.25) * h) + 2
        colour = (rng.uniform(120, 220), rng.uniform(120, 200), rng.uniform(60, 200))
        offset = int(rng.integers(0, step))
        for y in range(offset, h, step):
            cv2.line(img, (0, y), (w, y), colour, 1)
        if rng.random() < 0.4:
            for x in range(offset, w, step):
                cv2.line(img, (x, 0), (x, h), colour, 1)
    return np.clip(img, 0, 255).astype(np.uint8)


def place(
    mask: np.ndarray,
    rng: np.random.Generator,
    size: int,
    scale: tuple[float, float] = (0.55, 1.0),
    shift: float = 0.12,
    perspective: float = 0.08,
) -> np.ndarray:
    """Scale, rotate, shift and tilt a mask into a ``(size, size)`` canvas (may crop edges)."""
    s = rng.uniform(*scale) * size / mask.shape[0]
    angle = rng.uniform(-15, 15)
    m = cv2.getRotationMatrix2D((mask.shape[1] / 2, mask.shape[0] / 2), angle, s)
    m[:, 2] += np.array([size / 2, size / 2]) - np.array([mask.shape[1] / 2, mask.shape[0] / 2])
    m[:, 2] += rng.uniform(-shift, shift, 2) * size
    out = cv2.warpAffine(mask, m, (size, size), flags=cv2.INTER_LINEAR)
    if perspective > 0:
        src = np.float32([[0, 0], [size, 0], [size, size], [0, size]])
        dst = src + rng.uniform(-perspective, perspective, (4, 2)).astype(np.float32) * size
        out = cv2.warpPerspective(out, cv2.getPerspectiveTransform(src, dst), (size, size))
    return out


def ink_colour(rng: np.random.Generator) -> np.ndarray:
    """A random ink colour (BGR, float32) from common pens and pencils, jittered."""
    base = np.asarray(_INKS[int(rng.integers(len(_INKS)))], np.float32)
    return np.clip(base + rng.normal(0, 12, 3), 0, 255).astype(np.float32)


def compose(mask: np.ndarray, background: np.ndarray, ink: np.ndarray, opacity: float = 1.0) -> np.ndarray:
    """Paint ``ink`` through ``mask`` onto ``background`` (both the same height/width)."""
    alpha = (mask * opacity)[..., None]
    out = background.astype(np.float32) * (1 - alpha) + ink[None, None, :] * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def camera_effects(
    img: np.ndarray, rng: np.random.Generator, strength: float = 1.0, invert: bool = True
) -> np.ndarray:
    """Light gradient, colour cast, blur, sensor noise, JPEG and (rarely) inversion.

    ``strength`` in [0, 1] scales how much of each is applied (0 = none);
    ``invert=False`` never inverts (light ink on dark paper).
    """
    h, w = img.shape[:2]
    out = img.astype(np.float32)
    if strength <= 0:
        return img
    gx, gy = rng.uniform(-1, 1, 2) * 0.5 * strength
    xx = np.arange(w, dtype=np.float32)[None, :]  # broadcast, not two full grids: same values, less work
    yy = np.arange(h, dtype=np.float32)[:, None]
    light = 1 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    light *= rng.uniform(1 - 0.45 * strength, 1 + 0.15 * strength)
    cast = 1 + rng.uniform(-0.2, 0.2, 3) * strength
    out = out * light[..., None] * cast[None, None, :]
    if rng.random() < 0.6 * strength:
        sigma = rng.uniform(0.3, 1.6) * h / 64 * strength
        out = cv2.GaussianBlur(out, (0, 0), max(0.3, sigma))
    out += rng.normal(0, rng.uniform(0, 8) * strength, out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.3 * strength:
        quality = int(rng.integers(30, 90))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if invert and rng.random() < 0.08 * strength:
        out = 255 - out
    return out


def render_digit(
    rng: np.random.Generator,
    size: int,
    *,
    digit: int | None = None,
    image8: np.ndarray | None = None,
    strength: float = 1.0,
) -> np.ndarray:
    """One training-style sample: a printed ``digit`` or a handwritten ``image8`` on paper, photographed.

    Args:
        rng: source of randomness.
        size: output is ``(size, size, 3)`` uint8 BGR.
        digit: draw this digit with a font (when ``image8`` is None).
        image8: an 8x8 scikit-learn handwriting scan to draw instead.
        strength: 0..1, how strong geometric and camera effects are.
    """
    mask = handwriting_mask(image8, size) if image8 is not None else font_mask(int(digit), rng, size)
    # near-clean samples keep the digit filling the frame (like the held-out scans); the others
    # range from 40% of the frame upwards, as a digit held in front of a camera does
    lo = 1.0 - 0.6 * min(1.0, 3.0 * strength)
    mask = place(mask, rng, size, scale=(lo, 1.05), shift=0.15 * strength, perspective=0.08 * strength)
    if image8 is not None and rng.random() < 0.5:
        mask = _stroke_weight(mask, rng, size)
    img = compose(mask, paper(rng, size, size), ink_colour(rng), rng.uniform(0.7, 1.0))
    return camera_effects(img, rng, strength)


def _stroke_weight(mask: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Thicken or thin a stroke a little, as different pens do."""
    k = max(1, round(size / 48))
    kernel = np.ones((2 * k + 1, 2 * k + 1), np.uint8)
    return cv2.dilate(mask, kernel) if rng.random() < 0.5 else cv2.erode(mask, kernel)


def clean_handwriting(image8: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Held-out style rendering: a scan on plain paper with mild light and noise, no geometry change.

    Deterministic for a given ``seed`` (used per image index by ``demo_digits``).
    """
    rng = np.random.default_rng(seed)
    mask = handwriting_mask(image8, size)
    img = compose(mask, paper(rng, size, size), ink_colour(rng), rng.uniform(0.85, 1.0))
    return camera_effects(img, rng, strength=0.3, invert=False)
