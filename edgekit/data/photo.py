"""A handwritten digit as a phone or webcam sees it: on a sheet, on a desk, under a hand, through a lens.

Why: what a customer holds to the camera is not a clean scan. The sheet is
plain, ruled, squared or dotted, has a texture, is lit unevenly and half
covered by the shadow of the hand holding it; its edge and the desk behind
it are in view; the camera tilts, defocuses, shakes, adds noise, JPEG and a
white balance of its own. Some people write with a white marker on a dark
board. :func:`realistic_digit` draws all of that around a stroke from
:mod:`edgekit.data.handwriting`, and :func:`hard_digits` renders the
held-out scans this way at a fixed seed: the "hard" test set ``demo-hard``.

Only numpy and OpenCV; every random choice comes from a ``numpy.random.Generator``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgekit.data import handwriting
from edgekit.data.handwriting import TOOLS, smooth_field, stroke_mask

HARD_SEED = 20261202  # demo-hard's own seed: never the training seeds

_BOARDS = ((30, 55, 35), (25, 25, 25), (60, 40, 20), (45, 45, 50))  # BGR: chalkboard, black, navy, slate
_LIGHT_INKS = ((235, 235, 235), (220, 225, 230), (120, 230, 240), (230, 220, 160))  # chalk, white, yellow, cyan
_DESKS = ((40, 70, 110), (30, 50, 80), (60, 60, 60), (20, 20, 20), (120, 120, 115), (70, 100, 140))


def sheet(rng: np.random.Generator, size: int, rule: float) -> np.ndarray:
    """A float32 BGR paper of side ``size``: tint, fibre texture, and plain/ruled/squared/dotted print.

    ``rule`` is the line spacing in pixels (notebook rules are about a digit's height apart).
    """
    base = rng.uniform(185, 252) * rng.uniform(0.93, 1.0, 3)
    fibres = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), rng.uniform(0.6, 2.0))
    img = np.empty((size, size, 3), np.float32)
    img[:] = base
    img += (fibres * rng.uniform(2, 10) + smooth_field(rng, size, size, 3) * rng.uniform(2, 10))[..., None]
    kind = rng.choice(["plain", "ruled", "squared", "dotted"], p=[0.35, 0.3, 0.25, 0.1])
    if kind != "plain":
        colour = tuple(float(c) for c in rng.uniform([150, 110, 60], [235, 200, 190]))
        step = max(4, int(rule))
        off = int(rng.integers(0, step))
        thick = max(1, round(size / 160))
        for y in range(off, size, step):
            if kind == "dotted":
                for x in range(off, size, step):
                    cv2.circle(img, (x, y), thick, colour, -1)
            else:
                cv2.line(img, (0, y), (size, y), colour, thick)
        if kind == "squared":
            for x in range(off, size, step):
                cv2.line(img, (x, 0), (x, size), colour, thick)
    return img


def board(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A dark board (chalkboard, black card, slate) and a light ink for it: the other polarity."""
    base = np.asarray(_BOARDS[int(rng.integers(len(_BOARDS)))], np.float32) * rng.uniform(0.7, 1.4)
    img = np.empty((size, size, 3), np.float32)
    img[:] = base
    img += (smooth_field(rng, size, size, 4) * rng.uniform(3, 15) + rng.normal(0, 3, (size, size)))[..., None]
    ink = np.asarray(_LIGHT_INKS[int(rng.integers(len(_LIGHT_INKS)))], np.float32)
    return img, ink


def desk_edge(img: np.ndarray, ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replace what lies beyond a straight sheet edge (that clears the ink) with a desk surface.

    Why: held to a camera, the sheet's edge and the table are in view, and a
    model must not read that edge as a "1".
    """
    size = img.shape[0]
    phi = rng.uniform(0, 2 * np.pi)
    normal = np.array([np.cos(phi), np.sin(phi)], np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    along = (xx - size / 2) * normal[0] + (yy - size / 2) * normal[1]
    reach = float(along[ink > 0.05].max()) if (ink > 0.05).any() else 0.0
    edge = reach + rng.uniform(0.05, 0.3) * size
    desk = np.asarray(_DESKS[int(rng.integers(len(_DESKS)))], np.float32) * rng.uniform(0.6, 1.3)
    grain = cv2.resize(rng.normal(0, 1, (2, 24)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        grain = grain.T
    surface = desk[None, None, :] + (grain * rng.uniform(5, 25))[..., None]
    beyond = np.clip(along - edge + 0.5, 0, 1)[..., None]
    # the sheet casts a thin shadow onto the desk along its edge
    surface *= 1 - 0.4 * np.exp(-np.clip(along - edge, 0, None) / max(1.0, 0.02 * size))[..., None]
    return img * (1 - beyond) + surface * beyond


def lighting(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Uneven light, vignetting and a soft hand/shadow region (a dark blurred blob from one side)."""
    size = img.shape[0]
    light = 1 + smooth_field(rng, size, size, 3) * rng.uniform(0.05, 0.25) * strength
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    light *= 1 - rng.uniform(0, 0.5) * strength * (xx**2 + yy**2)
    if rng.random() < 0.55 * strength:
        phi = rng.uniform(0, 2 * np.pi)
        along = xx * np.cos(phi) + yy * np.sin(phi) + 0.15 * smooth_field(rng, size, size, 3)
        cut = rng.uniform(0.0, 0.45)
        soft = rng.uniform(0.03, 0.2)
        shade = 1 / (1 + np.exp(-(along - cut) / soft))
        light *= 1 - rng.uniform(0.25, 0.6) * shade
    return img * light[..., None]


def camera(img: np.ndarray, rng: np.random.Generator, strength: float, tilt: bool = True) -> np.ndarray:
    """Perspective tilt, defocus or motion blur, white balance/exposure, sensor noise, low resolution, JPEG.

    ``tilt=False`` skips the perspective warp (scenes whose boxes must stay where the ink is).
    """
    size = img.shape[0]
    if tilt:
        src = np.float32([[0, 0], [size, 0], [size, size], [0, size]])
        dst = src + rng.uniform(-0.1, 0.1, (4, 2)).astype(np.float32) * size * strength
        img = cv2.warpPerspective(
            img, cv2.getPerspectiveTransform(src, dst), (size, size), borderMode=cv2.BORDER_REFLECT
        )
    blur = rng.random()
    if blur < 0.35 * strength:  # defocus: a disk kernel
        r = rng.uniform(0.5, 0.025 * size + 0.5)
        k = int(np.ceil(r)) * 2 + 1
        disk = (np.hypot(*np.mgrid[-(k // 2):k // 2 + 1, -(k // 2):k // 2 + 1]) <= r).astype(np.float32)
        img = cv2.filter2D(img, -1, disk / disk.sum())
    elif blur < 0.6 * strength:  # hand shake: a line kernel
        length = max(2, int(rng.uniform(0.01, 0.045) * size))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1
        rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
        kernel = cv2.warpAffine(kernel, rot, (length, length))
        img = cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))
    else:
        img = cv2.GaussianBlur(img, (0, 0), max(0.3, rng.uniform(0.3, 0.9) * size / 96))
    img = img * rng.uniform(0.88, 1.12, 3) * rng.uniform(0.6, 1.15)  # white balance, exposure
    img = img + rng.normal(0, rng.uniform(1, 10) * strength, img.shape)
    if rng.random() < 0.3 * strength:  # a low-resolution sensor or a digital zoom
        f = rng.uniform(0.35, 0.8)
        small = cv2.resize(img, (max(8, int(size * f)),) * 2, interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5 * strength:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def realistic_digit(
    rng: np.random.Generator,
    size: int,
    *,
    digit: int | None = None,
    image8: np.ndarray | None = None,
    strength: float = 1.0,
    dark: float = 0.2,
) -> np.ndarray:
    """One ``(size, size, 3)`` uint8 BGR photo of a digit written by hand on paper (or a board).

    Args:
        rng: source of randomness; the same seed gives the same image.
        size: output side in pixels.
        digit: write this digit along a font's centre-line (when ``image8`` is None).
        image8: an 8x8 scikit-learn scan (0..16) to redraw as a pen stroke.
        strength: 0..1, how strong geometry, light and camera effects are.
        dark: probability of the other polarity (light ink on a dark board, or a negative photo).

    Example:
        >>> img = realistic_digit(np.random.default_rng(0), 64, digit=3)
        >>> img.shape, img.dtype
        ((64, 64, 3), dtype('uint8'))
    """
    ink_mask, tool = stroke_mask(rng, size, digit=digit, image8=image8, strength=strength)
    polarity = rng.random()
    if polarity < dark * 0.6:
        background, ink = board(rng, size)
        ink = ink * rng.uniform(0.8, 1.05)
    else:
        background = sheet(rng, size, rule=rng.uniform(0.35, 0.8) * size)
        ink = np.asarray(tool.inks[int(rng.integers(len(tool.inks)))], np.float32) + rng.normal(0, 10, 3)
    img = background * (1 - ink_mask[..., None]) + ink[None, None, :] * ink_mask[..., None]
    if polarity >= dark * 0.6 and rng.random() < 0.3 * strength:
        img = desk_edge(img, ink_mask, rng)
    img = lighting(img, rng, strength)
    out = camera(img, rng, strength)
    if dark * 0.6 <= polarity < dark:  # a negative: what a "white on black" preprocessing sees
        out = 255 - out
    return out


def hard_digits(size: int = 64):
    """``demo-hard``: the held-out scans (never trained on) as realistic photos at :data:`HARD_SEED`.

    The same 539 scans and labels as ``demo-test``, each redrawn as a pen,
    pencil or marker stroke, on textured/ruled/squared paper or a dark board,
    with sheet edges, hand shadows, tilt, blur, noise and JPEG at full
    strength. Seeded per scan by ``(HARD_SEED, index in the full set)``, so
    every call gives the same images.

    Returns:
        An indexable dataset of ``(image_bgr_uint8, label)`` with classes "0".."9".
    """
    from edgekit.data import digits
    from edgekit.data.datasets import Dataset
    from edgekit.errors import DataError

    if size < 16:
        raise DataError(f"demo-hard size must be at least 16 pixels, not {size}")
    images, labels = digits.scans("test")
    full_index = np.flatnonzero(digits._load()[2])
    version = ":".join(
        f"{p.stat().st_size}-{p.stat().st_mtime_ns}"
        for p in (digits.npz_path(), Path(__file__), Path(handwriting.__file__))
        if p.is_file()
    )

    class HardDigits(Dataset):
        classes = digits.CLASSES
        fingerprint = f"demo_hard:{HARD_SEED}:{size}:{version}"
        indices = full_index  # positions in the full scan set (all held out)

        def __len__(self) -> int:
            return len(labels)

        def _load(self, index: int) -> tuple[np.ndarray, int]:
            rng = np.random.default_rng([HARD_SEED, int(full_index[index])])
            return realistic_digit(rng, size, image8=images[index], strength=1.0, dark=0.3), int(labels[index])

        def _label(self, index: int) -> int:
            return int(labels[index])

    return HardDigits()


__all__ = ["HARD_SEED", "TOOLS", "hard_digits", "realistic_digit"]
