"""OpenCV's own thread pool, down to one thread while a live pipeline infers on the CPU.

Why: the pipeline prepares every frame (one ``cv2.resize``, one blob pass) on a
thread of its own while inference keeps every core busy (its workers are sized
to the cores, see :mod:`edgekit.vision._workers`). OpenCV splits each resize
across its pool; on cores that inference keeps busy the pool's threads find
nothing idle to run on, and the split only adds wake-ups and hand-offs:
measured 0.31 ms of CPU per frame, a third of everything the live loop costs
beyond inference (demo:digits-mnv2 at 640x480 on a 2-core EPYC, interleaved
rounds, ``benchmarks/pipeline.py``'s "bare loop, OpenCV pool" column). With
inference on a GPU or NPU the cores are free and the pool shortens each frame,
so it is left alone.

The setting is OpenCV's, for the whole process: pipelines that overlap (the
app's A/B page, a test starting two) share it. The first to start sets it and
the last to stop puts back what was there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import cv2

_ACCELERATORS = ("cuda", "gpu", "npu", "tensorrt", "dml", "coreml")
_lock = threading.Lock()
_holders = 0
_saved: int | None = None


def infers_on_cpu(device: str) -> bool:
    """Whether a predictor's ``device`` ("cpu", "CPU", "cuda:0", "GPU.0", "" for unknown) is the CPU."""
    name = device.lower()
    return not any(a in name for a in _ACCELERATORS)


def single_threaded() -> Callable[[], None]:
    """Run OpenCV on one thread until the returned function is called (calling it again does nothing)."""
    global _holders, _saved
    with _lock:
        if _holders == 0:
            _saved = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _holders += 1
    released = []  # non-empty once released

    def release() -> None:
        global _holders
        with _lock:
            if released:
                return
            released.append(True)
            _holders -= 1
            if _holders == 0 and _saved is not None:
                cv2.setNumThreads(_saved)

    return release
