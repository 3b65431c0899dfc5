"""The view takes a running pipeline's newest frame at its own rate, on a thread of its own.

Why: the page used to be the pipeline's ``on_frame`` callback, so every
inferred frame was handed to the pipeline's render thread and on to the
page, hundreds of times a second at "Full speed", to show ~60 of them.
Handing a frame to another thread wakes it on cores inference keeps busy
(0.18 ms of CPU per frame for digits-mnv2 on 2 cores, see
:meth:`edgekit.vision.LivePipeline._render`). With no callback the
pipeline renders a classifier's frames where they were inferred and leaves
the newest in a slot; this thread takes it (:meth:`LivePipeline.frames`:
at once when it waits, so a 30 FPS camera's frame is shown as soon as it
is ready), posts it to the :class:`~edgekit_gui.live.bridge.FrameBridge`
(which draws and scales it here, not on the GUI thread), then rests for
the view's frame interval. Frames that came meanwhile are skipped unseen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class FrameFollower:
    """Posts a pipeline's newest frames, at most one per ``interval_s``, until stopped or the run ends.

    Args:
        pipe: a started :class:`edgekit.vision.LivePipeline`.
        post: called on this thread with each :class:`~edgekit.vision.LiveFrame` taken.
        interval_s: the least time between two frames taken, from one start to the next (the view's
            frame interval).

    Attributes:
        error: what ``post`` raised, if it did (the follower then stops; the page stops the run and says so).
    """

    def __init__(self, pipe: Any, post: Callable[[Any], None], interval_s: float = 1 / 60) -> None:
        self._pipe, self._post, self._interval = pipe, post, interval_s
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="edgekit-view", daemon=True)

    def start(self) -> FrameFollower:
        self._thread.start()
        return self

    def stop(self, wait_s: float = 0.0) -> None:
        """Stop taking frames; the thread ends within ~0.1 s (waited for up to ``wait_s``)."""
        self._stop.set()
        if wait_s > 0 and self._thread.is_alive():
            self._thread.join(wait_s)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for live in self._pipe.frames(timeout=0.2):  # none for 0.2 s (paused): look at _stop again
                    if self._stop.is_set():
                        return
                    began = time.monotonic()
                    self._post(live)  # draws and scales it: the rest of the interval is left to rest
                    if self._stop.wait(max(0.0, self._interval - (time.monotonic() - began))):
                        return
                if self._pipe.finished:
                    return
        except Exception as exc:  # noqa: BLE001 - shown by the page
            if exc is not self._pipe.error:  # the pipeline's own failure is the page's to show
                self.error = exc
