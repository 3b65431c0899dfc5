"""Pen strokes that look like a person wrote them: centre-lines redrawn with a real writing tool.

Why: the first demo models learnt the 8x8 scans upscaled and blurred
(:mod:`edgekit.data.render`), i.e. one smooth blob per digit at one stroke
weight. Real pen-on-paper digits held to a camera differ in exactly the
ways that shape never varies: thin ballpoint lines, pale grainy pencil, fat
soft marker, slant, wobble. So a digit is reduced to its centre-line (the
skeleton of the thresholded scan, or a Hershey font glyph, which *is* a
centre-line) and redrawn:

- geometry: slant (shear), rotation, aspect change and a smooth random
  displacement field (elastic distortion, Simard et al. 2003), composed into
  one ``cv2.remap`` of the distance-to-centre-line field, so strokes bend
  without breaking;
- width: the ink is wherever that distance is below a half-width that varies
  along the stroke (pen pressure), per tool;
- tool: ballpoint, gel/fountain pen, pencil (grainy, pale) or felt marker
  (thick, soft edges), each with its own colours.

:mod:`edgekit.data.photo` puts the result on paper and photographs it. Only
numpy and OpenCV; every random choice comes from a ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

WORK = 48  # side of the square the centre-line is found on (cheap thinning; segments are redrawn at full size)


LINE_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX)  # one stroke per line


@dataclass(frozen=True)
class Tool:
    """A writing tool: stroke width as a fraction of the digit's height, edge softness, ink look."""

    name: str
    width: tuple[float, float]  # full stroke width / digit height, low..high
    pressure: float  # how much the width varies along the stroke (0 = constant)
    softness: float  # edge ramp in pixels (marker bleeds, ballpoint is crisp)
    opacity: tuple[float, float]
    grain: float  # 0..1: pencil graphite leaves paper showing through
    inks: tuple[tuple[int, int, int], ...]  # BGR


TOOLS = (
    Tool("ballpoint", (0.03, 0.06), 0.35, 0.6, (0.7, 1.0), 0.15,
         ((150, 60, 25), (120, 40, 20), (30, 30, 30), (50, 40, 40), (40, 40, 160))),
    Tool("gel", (0.05, 0.09), 0.5, 0.7, (0.85, 1.0), 0.0,
         ((20, 20, 20), (140, 40, 30), (110, 30, 80), (30, 30, 170))),
    Tool("pencil", (0.04, 0.08), 0.3, 0.8, (0.55, 0.9), 0.5, ((70, 70, 70), (95, 95, 100), (55, 55, 60))),
    Tool("marker", (0.1, 0.18), 0.25, 1.8, (0.9, 1.0), 0.05,
         ((20, 20, 20), (160, 60, 10), (30, 30, 190), (40, 130, 30), (120, 40, 90))),
)


def centre_line(rng: np.random.Generator, *, digit: int | None = None, image8: np.ndarray | None = None):
    """The digit's centre-line on a ``WORK`` x ``WORK`` uint8 canvas (255 on the line).

    A scan is upscaled, thresholded at one of three levels (thin and thick
    strokes give slightly different skeletons, like different writers) and
    thinned; a font digit is drawn 1 px thick with a single-stroke Hershey
    font, which is already a centre-line (the complex/triplex fonts draw
    parallel strokes whose skeletons are not a pen's path, so they are left out).
    Results are cached: the same few thousand shapes recur in every epoch.
    """
    if image8 is not None:
        return _scan_line(np.asarray(image8, np.uint8).tobytes(), int(rng.integers(3)))
    font = int(rng.choice(LINE_FONTS)) | (cv2.FONT_ITALIC if rng.random() < 0.3 else 0)
    return _font_line(int(digit), font)


@lru_cache(maxsize=8192)
def _scan_line(scan: bytes, level: int) -> np.ndarray:
    small = np.pad(np.frombuffer(scan, np.uint8).reshape(8, 8).astype(np.float32) / 16.0, 1)
    up = cv2.resize(small, (WORK, WORK), interpolation=cv2.INTER_CUBIC)
    up = cv2.GaussianBlur(up, (0, 0), WORK / 40.0)
    line = thin((up > (0.3, 0.4, 0.5)[level]).astype(np.uint8)) * np.uint8(255)
    line.flags.writeable = False
    return line


@lru_cache(maxsize=256)
def _font_line(digit: int, font: int) -> np.ndarray:
    canvas = np.zeros((WORK, WORK), np.uint8)
    (tw, th), _ = cv2.getTextSize(str(digit), font, 1.0, 1)
    scale = min(0.7 * WORK / max(th, 1), 0.8 * WORK / max(tw, 1))  # glyph about 34 px high: holes survive
    (tw, th), _ = cv2.getTextSize(str(digit), font, scale, 1)
    cv2.putText(canvas, str(digit), ((WORK - tw) // 2, (WORK + th) // 2), font, scale, 255, 1, cv2.LINE_8)
    line = thin((canvas > 0).astype(np.uint8)) * np.uint8(255)  # 1 px already, bar a few corners
    line.flags.writeable = False
    return line


def _deletable(step: int) -> np.ndarray:
    """Zhang-Suen's rule as a 256-entry table over the 8-neighbour code (bit i = neighbour P(i+2))."""
    table = np.zeros(256, bool)
    for code in range(256):
        n = [(code >> i) & 1 for i in range(8)]  # P2, P3, ..., P9 clockwise from north
        b = sum(n)
        a = sum(n[i] == 0 and n[(i + 1) % 8] == 1 for i in range(8))
        p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
        cond = (p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0) if step == 0 else (p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0)
        table[code] = 2 <= b <= 6 and a == 1 and cond
    return table


_DELETABLE = (_deletable(0), _deletable(1))


def thin(binary: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a 0/1 image to 1-pixel-wide lines (vectorised with a lookup table)."""
    img = np.pad(binary.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = img
            n = (p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2])
            code = np.zeros(n[0].shape, np.uint8)
            for i, x in enumerate(n):
                code |= x << i
            kill = (p[1:-1, 1:-1] == 1) & _DELETABLE[step][code]
            if kill.any():
                img[1:-1, 1:-1][kill] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1]


def smooth_field(rng: np.random.Generator, h: int, w: int, cells: int = 4) -> np.ndarray:
    """A smooth random field in about [-1, 1]: coarse normal noise upscaled (cubic)."""
    coarse = rng.normal(0, 1, (cells, cells)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC) / 1.5, -1.5, 1.5)


def _geometry(rng: np.random.Generator, line: np.ndarray, size: int, strength: float, fill: tuple[float, float]):
    """A 2x3 affine (work canvas -> output) with slant, rotation, aspect and a scale that makes the
    digit's height a ``fill`` fraction of ``size``, centred with a small shift; and that scale."""
    ys, xs = np.nonzero(line)
    if len(xs) == 0:
        ys, xs = np.array([0, WORK - 1]), np.array([0, WORK - 1])
    shear = rng.uniform(-0.45, 0.45) * strength
    angle = np.deg2rad(rng.uniform(-18, 18) * strength)
    aspect = np.exp(rng.uniform(-0.25, 0.25) * strength)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lin = rot @ np.array([[aspect, shear], [0.0, 1.0 / aspect]])
    pts = lin @ np.stack([xs, ys]).astype(np.float64)
    # the height sets the size; a wide (slanted, rotated) digit is shrunk to fit the frame's width too
    s = min(rng.uniform(*fill) * size / max(np.ptp(pts[1]), 1.0), fill[1] * size / max(np.ptp(pts[0]), 1.0))
    centre = np.array([(pts[0].min() + pts[0].max()) / 2, (pts[1].min() + pts[1].max()) / 2]) * s
    room = max(0.0, (1.0 - fill[1]) / 2 - 0.12) * size
    target = size / 2 + rng.uniform(-room, room, 2) * strength
    return np.hstack([lin * s, (target - centre)[:, None]]), s * np.sqrt(abs(np.linalg.det(lin)))


def _segments(line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centre-line as segment end points ``(a, b)`` (float ``(n, 2)`` x/y): every pair of
    8-neighbouring line pixels, plus a zero-length segment per pixel so dots survive."""
    on = line > 0
    ys, xs = np.nonzero(on)
    starts, ends = [np.stack([xs, ys], 1)], [np.stack([xs, ys], 1)]
    h, w = on.shape
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ok = (ys + dy < h) & (xs + dx >= 0) & (xs + dx < w)
        y2, x2 = ys[ok] + dy, xs[ok] + dx
        hit = on[y2, x2]
        starts.append(np.stack([xs[ok][hit], ys[ok][hit]], 1))
        ends.append(np.stack([x2[hit], y2[hit]], 1))
    return np.concatenate(starts).astype(np.float64) + 0.5, np.concatenate(ends).astype(np.float64) + 0.5


def stroke_mask(
    rng: np.random.Generator,
    size: int,
    *,
    digit: int | None = None,
    image8: np.ndarray | None = None,
    tool: Tool | None = None,
    strength: float = 1.0,
    fill: tuple[float, float] = (0.45, 0.66),
) -> tuple[np.ndarray, Tool]:
    """A ``(size, size)`` float32 ink coverage (0..1) of one digit written with ``tool``; and the tool.

    Args:
        rng: source of randomness (tool, width, pressure, slant, distortion).
        size: output side in pixels.
        digit: draw this digit from a font's centre-line (when ``image8`` is None).
        image8: an 8x8 scikit-learn scan (0..16) whose skeleton is redrawn.
        tool: writing tool; drawn from :data:`TOOLS` when None.
        strength: 0..1, how strong slant, rotation, aspect and elastic distortion are.
        fill: digit height as a fraction of ``size``; the frame keeps a margin for the
            distortion and stroke width, so the digit stays inside it.
    """
    tool = tool or TOOLS[int(rng.integers(len(TOOLS)))]
    line = centre_line(rng, digit=digit, image8=image8)
    affine, scale = _geometry(rng, line, size, strength, fill)
    a, b = _segments(line)
    amp = rng.uniform(0.008, 0.03) * strength * size  # elastic displacement (pixels)
    field_x, field_y = smooth_field(rng, size, size, 4), smooth_field(rng, size, size, 4)

    def warp(p: np.ndarray) -> np.ndarray:
        q = p @ affine[:, :2].T + affine[:, 2]
        iy = np.clip(q[:, 1].astype(int), 0, size - 1)
        ix = np.clip(q[:, 0].astype(int), 0, size - 1)
        return q + amp * np.stack([field_x[iy, ix], field_y[iy, ix]], 1)

    canvas = np.zeros((size, size), np.uint8)
    segs = np.round(np.stack([warp(a), warp(b)], 1) * 16).astype(np.int32)
    cv2.polylines(canvas, list(segs), False, 255, 1, cv2.LINE_8, shift=4)
    d = cv2.distanceTransform(255 - canvas, cv2.DIST_L2, 3)
    height = scale * np.ptp(np.nonzero(line)[0]) if line.any() else size / 2
    half = 0.5 * rng.uniform(*tool.width) * max(height, 1.0)
    half_map = np.maximum(0.5, half * (1 + tool.pressure * np.clip(smooth_field(rng, size, size, 4), -1, 1)))
    soft = tool.softness * max(1.0, size / 96)
    ink = np.clip((half_map - d) / soft + 0.5, 0.0, 1.0)
    if tool.grain > 0:
        grain = rng.random((size, size)).astype(np.float32)
        ink *= 1 - tool.grain * grain * rng.uniform(0.5, 1.0)
    return (ink * rng.uniform(*tool.opacity)).astype(np.float32), tool
