"""Sheets of paper with several digits on them, and where each digit is: detection data that ships offline.

A scene holds 1-6 digits -- real handwriting scans (scikit-learn's UCI digits)
and digits printed with OpenCV's Hershey fonts -- at various sizes, angles and
positions, in pen colours, on a paper texture, then photographed
(:func:`edgekit.data.render.camera_effects`: light gradients, casts, blur,
noise, JPEG, sometimes inverted). The ground truth is the tight box around
each digit's ink, so it is exact by construction.

Used to train the bundled ``demo:digits-det`` detector (``tools/train_digits_det.py``,
training scans only) and as its held-out test set ``demo-det-test`` (held-out
scans, a seed no training run draws from). Every scene is computed from
``(seed, index)`` alone: the same pixels and boxes every time.

Example:
    >>> scene = render_scene(np.random.default_rng(0), (128, 128))
    >>> scene.image.shape, scene.boxes.shape[1]
    ((128, 128, 3), 4)
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from edgekit.data import render
from edgekit.data.digits import scans
from edgekit.data.handscenes import realistic_scene
from edgekit.data.scene_layout import Scene
from edgekit.data.scene_layout import place as _place

TEST_SEED = 20_261_201  # held-out scenes; training draws from seeds (seed, epoch, batch) with small numbers
TEST_SIZE = (128, 128)
TEST_COUNT = 200
DATASET_NAMES = {"demo-det-test": "mixed", "demo-det-handwriting": "handwriting", "demo-det-hard": "realistic"}
# demo-det-hard: held-out scans as pen/pencil/marker strokes on real-looking sheets (edgekit.data.handscenes)


def render_scene(
    rng: np.random.Generator,
    size: tuple[int, int] = TEST_SIZE,
    *,
    split: str = "train",
    count: tuple[int, int] = (1, 6),
    digit_frac: tuple[float, float] = (0.13, 0.42),
    handwriting: float = 0.5,
    strength: float = 1.0,
    inset: float = 0.0,
) -> Scene:
    """Draw one scene of ``size`` (height, width) from ``rng``.

    Args:
        rng: every random choice comes from it.
        split: which handwriting scans to use ("train" for training, "test" for held-out scenes).
        count: ``(min, max)`` digits attempted (a digit that finds no free spot is left out).
        digit_frac: digit height as a fraction of the shorter image side.
        handwriting: probability that a digit is a real scan rather than a printed one.
        strength: 0..1, how strong the camera effects are.
        inset: fraction of the width/height along every edge where no digit is put (a
            video stream pans over the scene and must keep every digit whole in view).
    """
    h, w = size
    images8, labels8 = scans(split)
    canvas = render.paper(rng, h, w).astype(np.float32)
    pen = render.ink_colour(rng)
    boxes, ids, hand = [], [], []
    for _ in range(int(rng.integers(count[0], count[1] + 1))):
        side = max(8, int(rng.uniform(*digit_frac) * min(h, w)))
        scan = bool(rng.random() < handwriting)
        if scan:
            k = int(rng.integers(len(labels8)))
            digit, mask = int(labels8[k]), render.handwriting_mask(images8[k], side)
            if rng.random() < 0.5:
                mask = _stroke(mask, rng, side)
        else:
            digit = int(rng.integers(10))
            mask = render.font_mask(digit, rng, side)
        placed, box = _place(mask, rng, h, w, boxes, inset)
        if placed is None:
            continue
        ink = pen if rng.random() < 0.7 else render.ink_colour(rng)
        alpha = (placed * rng.uniform(0.7, 1.0))[..., None]
        canvas = canvas * (1 - alpha) + ink[None, None, :] * alpha
        boxes.append(box)
        ids.append(digit)
        hand.append(scan)
    image = render.camera_effects(np.clip(canvas, 0, 255).astype(np.uint8), rng, strength)
    return Scene(image, np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(ids, np.int64),
                 np.asarray(hand, bool))


def _stroke(mask: np.ndarray, rng: np.random.Generator, side: int) -> np.ndarray:
    k = max(1, round(side / 40))
    kernel = np.ones((k + 1, k + 1), np.uint8)
    return cv2.dilate(mask, kernel) if rng.random() < 0.5 else cv2.erode(mask, kernel)


def scene_at(seed: int, index: int, size: tuple[int, int] = TEST_SIZE, kind: str = "mixed") -> Scene:
    """Held-out scene ``index`` of ``seed``: held-out scans only; ``kind`` "handwriting" uses no fonts,
    "realistic" draws them as pen strokes on real-looking paper (:mod:`edgekit.data.handscenes`)."""
    rng = np.random.default_rng([seed, index])
    if kind == "realistic":
        return realistic_scene(rng, size, split="test", strength=1.0, dark=0.25)
    return render_scene(rng, size, split="test", handwriting=1.0 if kind == "handwriting" else 0.5,
                        strength=float(rng.uniform(0.3, 1.0)))


@lru_cache(maxsize=4)
def _scenes(seed: int, count: int, size: tuple[int, int], kind: str) -> tuple[Scene, ...]:
    """All scenes of a held-out set, rendered once per process (200 scenes: ~10 MB, a few seconds)."""
    return tuple(scene_at(seed, i, size, kind) for i in range(count))
