"""One processed frame as the pipeline hands it out, with its overlay drawn only when asked.

Why lazy: a display shows 30-60 frames a second and a recorder writes at its
own rate, while the model may run faster; drawing the overlay on every
inferred frame spends CPU on pictures nobody sees. The pipeline passes a
:class:`LiveFrame` on, and whoever shows or records it calls
:meth:`LiveFrame.annotated`: frames that are never shown are never drawn.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from edgekit.vision.overlay import draw_overlay
from edgekit.vision.readouts import Readouts


class LiveFrame:
    """A captured frame and what the pipeline made of it.

    Attributes:
        image: the frame as captured (never drawn on).
        readouts: boxes or top-k, rates, latencies and CPU per stage for this frame (see the property).
        draw: ``False`` when the pipeline was made with ``draw=False`` (``annotated`` is the image).
    """

    __slots__ = ("_drawn", "_make", "_readouts", "draw", "image", "on_draw")

    def __init__(self, image: np.ndarray, readouts: Readouts | None = None, draw: bool = True,
                 on_draw: Callable[[float], None] | None = None, *,
                 make_readouts: Callable[[], Readouts] | None = None) -> None:
        if readouts is None and make_readouts is None:
            raise TypeError("LiveFrame needs readouts or make_readouts")
        self.image, self.draw, self.on_draw = image, draw, on_draw
        self._readouts, self._make = readouts, make_readouts
        self._drawn: np.ndarray | None = None

    @property
    def readouts(self) -> Readouts:
        """This frame's :class:`Readouts`, made when first asked for when the pipeline handed out
        a maker (``make_readouts``) instead.

        Why: a classifier's frames are handed on hundreds of times a second while a display reads
        30; top-k, the readouts and the meters behind them cost the inference cores ~0.03 ms a frame
        (post-process 0.061 -> 0.028 ms in ``benchmarks/pipeline.py``), so only frames someone looks at
        pay for them. Two threads
        asking at once may both make it: the same values either way."""
        made = self._readouts
        if made is None:
            made = self._readouts = self._make()
        return made

    def __repr__(self) -> str:
        h, w = self.image.shape[:2]
        return f"LiveFrame({w}x{h}, draw={self.draw})"

    def annotated(self, out: np.ndarray | None = None) -> np.ndarray:
        """The frame with its overlay (boxes or top-k, FPS, latency, badge).

        Args:
            out: a buffer to draw into, reused frame after frame by a consumer that does not
                keep the picture (a window, a video writer); when it has the wrong size a new
                array is returned instead. Without ``out`` the drawing is made once and kept,
                so a display and a recorder of the same frame share it.
        """
        if not self.draw:
            return self.image
        if out is None and self._drawn is not None:
            return self._drawn
        start = time.thread_time()
        canvas = draw_overlay(self.image, self.readouts, out=out)
        if self.on_draw is not None:
            self.on_draw(time.thread_time() - start)
        if out is None:
            self._drawn = canvas
        return canvas
