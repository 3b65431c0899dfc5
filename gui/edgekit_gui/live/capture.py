"""Snapshots (PNG of the frame on screen) and recordings (annotated video, written off the GUI thread)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np


def snapshot_path(folder: Path) -> Path:
    """A new, unused ``snapshot-YYYYmmdd-HHMMSS[-n].png`` in ``folder``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"snapshot-{stamp}.png"
    n = 1
    while path.exists():
        path = folder / f"snapshot-{stamp}-{n}.png"
        n += 1
    return path


def save_snapshot(frame: np.ndarray, folder: Path) -> Path:
    """Write ``frame`` as a PNG in ``folder`` (never over an existing file)."""
    import cv2

    from edgekit._io import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    path = snapshot_path(folder)
    ok, data = cv2.imencode(".png", frame)
    if not ok:
        raise OSError(f"OpenCV could not encode the snapshot for {path}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.tobytes())
    return path


class Recording:
    """Holds at most one :class:`edgekit.vision.recorder.VideoRecorder`; frames come from the render thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recorder: Any = None
        self.error: BaseException | None = None

    @property
    def active(self) -> bool:
        return self._recorder is not None

    def start(self, path: Path, fps: float = 30.0) -> None:
        """Begin recording to ``path`` (raises OutputExists for an existing file)."""
        from edgekit.vision.recorder import VideoRecorder

        recorder = VideoRecorder(path, fps=fps)
        with self._lock:
            self._recorder, self.error = recorder, None

    def write(self, frame: np.ndarray) -> None:
        """Append a frame (called on the pipeline's render thread); an error stops the recording."""
        with self._lock:
            if self._recorder is None:
                return
            try:
                self._recorder.write(frame)
            except Exception as exc:  # noqa: BLE001 - a full disk must not stop the live demo
                self.error = exc
                self._recorder.abort()
                self._recorder = None

    def stop(self) -> tuple[Path | None, int]:
        """Finish the file; returns ``(path or None, frames written)``."""
        with self._lock:
            recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None, 0
        return recorder.close(), recorder.frames
