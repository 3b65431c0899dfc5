"""Write annotated frames to a video file, atomically, never over a user's file.

OpenCV picks the container from the file's extension, so frames go to a
hidden temporary file with the same extension beside the target, which is
renamed into place only when recording finished cleanly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from edgekit._io import check_writable
from edgekit.errors import EdgekitError

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


class VideoRecorder:
    """Collects frames into ``path``; every frame is resized to the first one's size.

    Args:
        path: ``.mp4`` (default codec mp4v), ``.avi`` or ``.mkv`` (MJPG).
        fps: playback rate written into the file.
        force: replace an existing file.

    Raises:
        OutputExists: ``path`` exists and ``force`` is false (raised at once).
        EdgekitError: the extension is unknown or OpenCV cannot write it.
    """

    def __init__(self, path: str | Path, fps: float = 30.0, force: bool = False) -> None:
        self.path = check_writable(path, force)
        self.force = force
        if self.path.suffix.lower() not in _FOURCC:
            raise EdgekitError(
                f"cannot record to {self.path}: unknown video extension; use one of {', '.join(_FOURCC)}",
                path=self.path,
            )
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.frames = 0
        self._tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.partial{self.path.suffix}")
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR frame."""
        if self._writer is None:
            self._open(frame)
        if frame.shape[1::-1] != self._size:
            frame = cv2.resize(frame, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(frame)
        self.frames += 1

    def _open(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        self._size = (w - w % 2, h - h % 2)  # most codecs want even sizes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fourcc = cv2.VideoWriter_fourcc(*_FOURCC[self.path.suffix.lower()])
        self._writer = cv2.VideoWriter(str(self._tmp), fourcc, self.fps, self._size)
        if not self._writer.isOpened():
            self.abort()
            raise EdgekitError(f"OpenCV cannot write video {self.path}; try an .avi file instead", path=self.path)

    def close(self) -> Path | None:
        """Finish the file and move it into place; ``None`` when no frame was written."""
        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        check_writable(self.path, self.force)
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial file."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
