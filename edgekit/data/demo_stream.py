"""A labelled, video-like stream of digits: live-demo accuracy without a camera.

Each digit -- a held-out real handwriting scan (never seen by the demo
models in training) or a printed one -- is shown on a sheet of paper on a desk
for a run of frames, drifting, turning and growing a little while the light
changes. Every frame is computed from ``(seed, index)`` alone, so any frame
can be fetched directly (``frame(i)``), two runs give the same pixels, and the
ground truth of every frame is known.

Example:
    >>> stream = DemoStream(seed=0, length=90)
    >>> image, label = stream.frame(10)
    >>> image.shape, stream.classes[label] in stream.classes
    ((360, 480, 3), True)
"""

from __future__ import annotations

import bisect
import csv
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from edgekit._io import check_writable, write_text_atomic
from edgekit.data import render
from edgekit.data._ahead import Ahead
from edgekit.data.digits import CLASSES, scans
from edgekit.errors import DataError


@dataclass(frozen=True)
class _Segment:
    """One digit on screen: frames ``start .. start+frames-1``."""

    start: int
    frames: int
    label: int
    scan: int  # index into the held-out scans, or -1 for a printed digit


class DemoStream:
    """Frames ``(bgr_uint8 (h, w, 3), label)``, deterministic per index.

    Args:
        seed: picks digits, backgrounds, paths and light.
        length: number of frames.
        size: ``(height, width)`` of each frame.
        fps: frames per second the stream is meant to play at.
        run: ``(min, max)`` frames each digit stays on screen.

    Raises:
        DataError: a non-positive length, fps or a frame smaller than 32x32.
    """

    def __init__(
        self,
        seed: int = 0,
        length: int = 900,
        size: tuple[int, int] = (360, 480),
        fps: float = 30,
        run: tuple[int, int] = (30, 60),
    ):
        if length <= 0 or fps <= 0 or min(size) < 32 or not 1 <= run[0] <= run[1]:
            raise DataError(
                f"DemoStream needs length > 0, fps > 0, size >= 32x32 and 1 <= run min <= max "
                f"(got length={length}, fps={fps}, size={size}, run={run})"
            )
        self.seed, self.length, self.size, self.fps = (
            seed,
            int(length),
            (int(size[0]), int(size[1])),
            float(fps),
        )
        self.classes = CLASSES
        self._scans, self._scan_labels = scans("test")
        self._segments = self._plan(run)
        self._starts = [seg.start for seg in self._segments]
        self._ahead = Ahead(_scene_cached)  # the next segment's scene, made while this one plays

    def _plan(self, run: tuple[int, int]) -> list[_Segment]:
        rng = np.random.default_rng([self.seed, 7])
        out, start, last = [], 0, -1
        while start < self.length:
            frames = int(rng.integers(run[0], run[1] + 1))
            label = int(rng.integers(10))
            while label == last:  # a change of digit is always visible
                label = int(rng.integers(10))
            scan = -1
            if rng.random() < 0.6:
                choices = np.flatnonzero(self._scan_labels == label)
                scan = int(rng.choice(choices))
            out.append(_Segment(start, frames, label, scan))
            start, last = start + frames, label
        return out

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[tuple[np.ndarray, int]]:
        for i in range(self.length):
            yield self.frame(i)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        return self.frame(index)

    @property
    def labels(self) -> np.ndarray:
        """The label of every frame (no rendering)."""
        return np.asarray([self.label(i) for i in range(self.length)], np.int64)

    def _segment(self, index: int) -> _Segment:
        if not 0 <= index < self.length:
            raise IndexError(f"frame {index} is outside this stream of {self.length} frames")
        return self._segments[bisect.bisect_right(self._starts, index) - 1]

    def label(self, index: int) -> int:
        """Ground truth of frame ``index``."""
        return self._segment(index).label

    def frame(self, index: int) -> tuple[np.ndarray, int]:
        """Frame ``index`` and its label: the same pixels every time for the same seed."""
        seg = self._segment(index)
        following = seg.start + seg.frames
        scene = self._ahead.for_frame(index, self._scene_args(seg), lambda: self._scene_args(
            self._segment(following)) if following < self.length else None)
        h, w = self.size
        t = (index - seg.start) / max(1, seg.frames - 1)
        img = _pose(scene, t, h, w)
        rng = np.random.default_rng([self.seed, 11, index])
        return _light(img, index / self.fps, rng), seg.label

    def _scene_args(self, seg: _Segment) -> tuple:
        scan = None if seg.scan < 0 else np.ascontiguousarray(self._scans[seg.scan], np.uint8).tobytes()
        return self.seed, seg, self.size[0], self.size[1], scan

    def export_video(
        self, path: str | Path, seconds: float | None = None, fps: float | None = None, force: bool = False
    ) -> tuple[Path, Path]:
        """Write the stream as an ``.mp4`` (mp4v) plus a ``frame,label`` CSV beside it (same stem).

        Both files appear only when complete (written to temporaries, then renamed).

        Returns:
            ``(video_path, labels_csv_path)``.

        Raises:
            OutputExists: either file exists and ``force`` is false.
            DataError: OpenCV cannot write mp4 here.
        """
        video, sidecar = Path(path), Path(path).with_suffix(".csv")
        check_writable(video, force), check_writable(sidecar, force)
        fps = float(fps or self.fps)
        count = self.length if seconds is None else min(self.length, max(1, round(seconds * fps)))
        video.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{video.stem}.", suffix=".mp4", dir=video.parent)
        os.close(fd)
        try:
            _write_mp4(tmp, (self.frame(i)[0] for i in range(count)), fps, self.size)
            lines = io.StringIO()
            writer = csv.writer(lines, lineterminator="\n")
            writer.writerow(["frame", "label"])
            writer.writerows([i, self.classes[self.label(i)]] for i in range(count))
            write_text_atomic(sidecar, lines.getvalue(), force=force)
            os.replace(tmp, video)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return video, sidecar


def _write_mp4(path: str, frames, fps: float, size: tuple[int, int]) -> None:
    h, w = size
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise DataError(
            f"OpenCV cannot write an mp4v video to {path}; check the OpenCV build's video support"
        )
    try:
        for image in frames:
            writer.write(image)
    finally:
        writer.release()


@lru_cache(maxsize=4)
def _scene_cached(seed: int, seg: _Segment, h: int, w: int, scan_bytes: bytes | None):
    """Background, ink mask, ink colour and motion path of one segment (cached: a segment spans many
    frames; the scan as bytes so the arguments hash)."""
    scan = None if scan_bytes is None else np.frombuffer(scan_bytes, np.uint8).reshape(8, 8)
    rng = np.random.default_rng([seed, 3, seg.start])
    desk = np.full((h, w, 3), rng.uniform(40, 200, 3), np.float32)
    desk += cv2.resize(rng.normal(0, 18, (6, 8)).astype(np.float32), (w, h))[..., None]
    sheet = render.paper(rng, h, w).astype(np.float32)
    margin_y, margin_x = rng.uniform(0.0, 0.04) * h, (w - h) / 2 * rng.uniform(0.2, 1.0)
    yy, xx = np.mgrid[0:h, 0:w]
    inside = (yy >= margin_y) & (yy < h - margin_y) & (xx >= margin_x) & (xx < w - margin_x)
    base = np.where(inside[..., None], sheet, desk)
    # the digit fills about half of the centre square, as when held up to a camera
    box = int(h * rng.uniform(0.6, 0.8))
    mask = render.handwriting_mask(scan, box) if scan is not None else render.font_mask(seg.label, rng, box)
    path = {
        "p0": rng.uniform(-0.08, 0.08, 2) * h,
        "p1": rng.uniform(-0.08, 0.08, 2) * h,
        "a0": rng.uniform(-12, 12),
        "a1": rng.uniform(-12, 12),
        "s0": rng.uniform(0.9, 1.1),
        "s1": rng.uniform(0.9, 1.1),
    }
    ink = np.empty_like(base)
    ink[:] = render.ink_colour(rng)
    return base, mask, ink, path


def _pose(scene, t: float, h: int, w: int) -> np.ndarray:
    """The segment's digit at time ``t`` in [0, 1] of its run: moved, turned and scaled along its path."""
    base, mask, ink, path = scene
    centre = np.array([w / 2, h / 2]) + path["p0"] + (path["p1"] - path["p0"]) * t
    angle = path["a0"] + (path["a1"] - path["a0"]) * t
    scale = path["s0"] + (path["s1"] - path["s0"]) * t
    m = cv2.getRotationMatrix2D((mask.shape[1] / 2, mask.shape[0] / 2), angle, scale)
    m[:, 2] += centre - np.array([mask.shape[1] / 2, mask.shape[0] / 2])
    placed = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR)
    return cv2.blendLinear(ink, base, placed, 1.0 - placed)


def _light(img: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Slowly changing brightness and a moving light gradient, plus sensor noise.

    ``img`` (float32, ``(h, w, 3)``) is worked on in place: callers hand over a frame of their own.
    Why in place, and the gain applied over rows of ``w * 3`` values rather than broadcast over
    the colour axis: the demo stream is the default live source, so its frames are made as fast
    as a model reads them, and numpy's ``img * row[None, :, None]`` (an inner loop of 3) plus three
    fresh full-size float copies cost ~1 ms a frame at 320x240, more than a small model's
    inference. Same float32 operations in the same order, so the same pixels
    (``tests/data/test_demo_stream.py`` checks them against the plain formula)."""
    h, w = img.shape[:2]
    gain = 1.0 + 0.25 * np.sin(2 * np.pi * seconds / 7.0)
    gx = 0.35 * np.sin(2 * np.pi * seconds / 11.0)
    row = (gain * (1.0 + gx * np.linspace(-0.5, 0.5, w, dtype=np.float32))).astype(np.float32)
    small = rng.normal(0, 3.0, (-(-h // 4), -(-w // 4))).astype(np.float32)
    noise = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    flat = img.reshape(h, w * 3)  # a view: img is contiguous
    np.multiply(flat, np.repeat(row, 3), out=flat)
    cv2.add(img, cv2.merge((noise, noise, noise)), dst=img)
    return np.clip(img, 0, 255, out=img).astype(np.uint8)
