"""What every frame source hands out (:class:`Frame`) and promises (:class:`FrameSource`).

A source is opened, read frame by frame, and closed. ``read()`` returns
``None`` at the end of a finite stream and raises
:class:`~edgekit.errors.SourceError` when the device or file fails, so the
pipeline can tell "finished" from "broken" and reopen a broken one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One captured image.

    Attributes:
        image: BGR ``uint8`` ``(H, W, 3)`` as OpenCV gives it (gray/BGRA are
            accepted too; the pipeline converts them).
        timestamp: ``time.monotonic()`` when the frame was captured.
        seq: sequence number from the source, counting from 0.
        label: the ground-truth class name when the source knows it, else ``None``; an ``int`` is the
            model's output index (a ``path,label`` list with integer labels, e.g. ImageNet's 0..999).
        source: human name of the source ("demo", "camera 0", "clip.mp4").
        boxes: ground-truth boxes when the source knows them (the labelled detection
            demo stream): ``(xyxy (N, 4) float32 frame pixels, class ids (N,))``, else ``None``.
    """

    image: np.ndarray
    timestamp: float
    seq: int
    label: str | int | None = None
    source: str = ""
    boxes: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class SourceInfo:
    """What was asked of a source and what it really delivers.

    Attributes:
        name: human name.
        kind: "camera", "stream", "video", "folder", "demo", "synthetic" or "array".
        live: frames arrive on their own clock (camera, stream, paced
            generator): a slow model must drop frames. ``False``: frames can
            be read as fast as they are consumed, so none need dropping.
        requested_size: ``(width, height)`` asked for, or ``None``.
        granted_size: ``(width, height)`` really delivered, when known.
        requested_fps: frames per second asked for, or ``None``.
        granted_fps: frames per second the device/file reports, when known.
        length: number of frames for finite sources, else ``None``.
        classes: class names for labelled sources, else ``None``.
    """

    name: str
    kind: str
    live: bool = False
    requested_size: tuple[int, int] | None = None
    granted_size: tuple[int, int] | None = None
    requested_fps: float | None = None
    granted_fps: float | None = None
    length: int | None = None
    classes: tuple[str, ...] | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        data = asdict(self)
        for key in ("requested_size", "granted_size", "classes"):
            if data[key] is not None:
                data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SourceInfo:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        for key in ("requested_size", "granted_size", "classes"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


@runtime_checkable
class FrameSource(Protocol):
    """The protocol the pipeline drives. ``open`` may be called again after
    ``close`` (that is how a broken camera is reopened)."""

    info: SourceInfo

    def open(self) -> None:
        """Acquire the device or file. Raises ``SourceError`` with what to do."""

    def read(self) -> Frame | None:
        """Next frame; ``None`` at the end of a finite stream; ``SourceError`` on failure."""

    def close(self) -> None:
        """Release the device or file (idempotent)."""


class Pacer:
    """Sleeps so that generated frames come at ``fps`` like a camera's would.

    Why: a generator (demo stream, test pattern) can be made to behave like
    a live camera, which is how dropping under a slow model is shown and tested.
    """

    def __init__(self, fps: float | None) -> None:
        self.fps = fps
        self._start: float | None = None
        self._count = 0

    def reset(self) -> None:
        """Start the clock again (after a reopen)."""
        self._start, self._count = None, 0

    def wait(self) -> None:
        """Block until the next frame is due (no-op when ``fps`` is ``None``)."""
        if not self.fps:
            return
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._count / self.fps
        self._count += 1
        if due > now:
            time.sleep(due - now)
        elif now - due > 1.0:  # fell far behind (paused): restart the clock instead of bursting
            self._start, self._count = now, 1
