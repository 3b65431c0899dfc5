"""Detection scenes written by hand: several pen/pencil/marker digits on one real-looking sheet.

Why: :mod:`edgekit.data.scenes` draws the upscaled-scan blobs of the first
demo models on a flat paper. A detector trained only on those misses thin
ballpoint digits, reads a sheet's edge on a desk as a "1", and has never seen
a hand's shadow. :func:`realistic_scene` draws the same kind of scene
(1-6 digits, exact tight boxes) with :mod:`edgekit.data.handwriting` strokes
on :mod:`edgekit.data.photo` paper, desks, shadows and camera effects. The
camera does not tilt here: a perspective warp would move the ink off its box.

Only numpy and OpenCV; every random choice comes from a ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

from edgekit.data import photo
from edgekit.data.digits import scans
from edgekit.data.handwriting import TOOLS, stroke_mask
from edgekit.data.scene_layout import Scene
from edgekit.data.scene_layout import place as _place


def realistic_scene(
    rng: np.random.Generator,
    size: tuple[int, int] = (96, 96),
    *,
    split: str = "train",
    count: tuple[int, int] = (1, 6),
    digit_frac: tuple[float, float] = (0.16, 0.45),
    handwriting: float = 0.6,
    strength: float = 1.0,
    dark: float = 0.2,
) -> Scene:
    """Draw one scene of ``size`` (height, width) from ``rng``; boxes are tight around each digit's ink.

    Args:
        rng: every random choice comes from it.
        split: which handwriting scans to use ("train" for training, "test" for held-out scenes).
        count: ``(min, max)`` digits attempted (one that finds no free spot is left out).
        digit_frac: side of a digit's square (its height is ~45-66% of it) as a fraction of the shorter side.
        handwriting: probability that a digit is a real scan rather than a font's centre-line.
        strength: 0..1, how strong slant, distortion, light and camera effects are.
        dark: probability of light ink on a dark board.
    """
    h, w = size
    side = max(h, w)
    images8, labels8 = scans(split)
    tool = TOOLS[int(rng.integers(len(TOOLS)))]
    on_board = rng.random() < dark
    if on_board:
        canvas, ink = photo.board(rng, side)
    else:
        canvas = photo.sheet(rng, side, rule=rng.uniform(0.15, 0.4) * min(h, w))
        ink = np.asarray(tool.inks[int(rng.integers(len(tool.inks)))], np.float32) + rng.normal(0, 10, 3)
    all_ink = np.zeros((side, side), np.float32)
    boxes, ids, hand = [], [], []
    for _ in range(int(rng.integers(count[0], count[1] + 1))):
        cell = max(12, int(rng.uniform(*digit_frac) * min(h, w)))
        scan = bool(rng.random() < handwriting)
        k, digit = int(rng.integers(len(labels8))), int(rng.integers(10))
        kw = {"image8": images8[k]} if scan else {"digit": digit}
        digit = int(labels8[k]) if scan else digit
        mask, _ = stroke_mask(rng, cell, tool=tool, strength=strength, fill=(0.55, 0.72), **kw)
        placed, box = _place(mask, rng, h, w, boxes)
        if placed is None:
            continue
        placed = np.pad(placed, ((0, side - h), (0, side - w)))
        canvas = canvas * (1 - placed[..., None]) + ink[None, None, :] * placed[..., None]
        all_ink = np.maximum(all_ink, placed)
        boxes.append(box)
        ids.append(digit)
        hand.append(scan)
    if not on_board and rng.random() < 0.35 * strength:
        canvas = photo.desk_edge(canvas, all_ink, rng)
    canvas = photo.lighting(canvas, rng, strength)
    image = photo.camera(canvas, rng, strength, tilt=False)[:h, :w]
    return Scene(np.ascontiguousarray(image), np.asarray(boxes, np.float32).reshape(-1, 4),
                 np.asarray(ids, np.int64), np.asarray(hand, bool))
