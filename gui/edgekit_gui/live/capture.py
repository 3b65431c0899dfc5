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
    """Holds at most one :class:`edgekit.vision.recorder.VideoRecorder`; frames come from the render thread.

    The file plays back in real time whatever rate frames arrive at: each frame is placed by
    its arrival time on the file's fixed frame clock (repeated while the video waits for the
    next one, skipped when two fall into one slot), and the end is padded up to the moment
    recording stopped. Why: writing every frame at an assumed rate (the display FPS when
    recording started, 14.4) made a recording of ~24 frames/s play back 1.7x slow.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recorder: Any = None
        self._last: np.ndarray | None = None
        self.started_at: float | None = None  # time.monotonic() when recording began
        self.error: BaseException | None = None

    @property
    def active(self) -> bool:
        return self._recorder is not None

    def start(self, path: Path, fps: float = 30.0) -> None:
        """Begin recording to ``path`` at a frame clock of ``fps`` (raises OutputExists for an existing file)."""
        from edgekit.vision.recorder import VideoRecorder

        recorder = VideoRecorder(path, fps=fps)
        with self._lock:
            self._recorder, self._last, self.error = recorder, None, None
            self.started_at = time.monotonic()

    def elapsed(self) -> float | None:
        """Seconds since recording began (None when not recording)."""
        started = self.started_at
        return None if started is None or self._recorder is None else time.monotonic() - started

    def write(self, frame: np.ndarray, at: float | None = None) -> None:
        """Add ``frame`` that arrived at ``at`` (``time.monotonic()``; now by default), on the
        pipeline's render thread; an error stops the recording."""
        at = time.monotonic() if at is None else at
        with self._lock:
            if self._recorder is None:
                return
            self._fill_until(at, frame)

    def _fill_until(self, at: float, frame: np.ndarray | None) -> None:
        """Write frames until the file's clock reaches ``at`` -- the previous frame (the first one
        for the very start) fills the slots that passed -- then ``frame`` in its own slot unless
        one was already written there (lock held). ``frame`` None: pad up to ``at`` (stopping)."""
        recorder = self._recorder
        clock = (at - self.started_at) * recorder.fps
        passed = int(clock) if frame is not None else round(clock)
        fill = self._last if self._last is not None else frame
        try:
            while fill is not None and recorder.frames < passed:
                recorder.write(fill)
            if frame is not None:
                if recorder.frames <= passed:
                    recorder.write(frame)
                self._last = frame  # the newest frame fills the next gap, even when this slot was taken
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop the live demo
            self.error = exc
            recorder.abort()
            self._recorder = None

    def stop(self) -> tuple[Path | None, int]:
        """Pad the file up to now, finish it; returns ``(path or None, frames written)``."""
        with self._lock:
            if self._recorder is not None:
                self._fill_until(time.monotonic(), None)
            recorder, self._recorder, self._last = self._recorder, None, None
        if recorder is None:
            return None, 0
        return recorder.close(), recorder.frames
