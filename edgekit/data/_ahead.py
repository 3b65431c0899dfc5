"""A demo stream's next segment made on a background thread while the current one plays.

Why: the demo streams draw a new scene (paper, digits, camera effects) each
time the digit or sheet changes, every 1-2 s: 10 ms for the digits stream, 30-60 ms
for the detection stream's larger sheet. Made on the frame's own path, that frame
comes late; at a camera's 30 FPS the detection demo skipped a frame at every change
(70 ms between two frames). Made ahead, on a short-lived background thread (one per
segment, gone when done: nothing lingers after a run), the first frame of the next
segment finds it ready. Same function, same arguments,
so the same pixels: only when and where it runs changes.

The thread is not a daemon: Python waits for it (tens of milliseconds) before it tears
down. A daemon thread still inside OpenCV when the interpreter finalizes is ended by
``pthread_exit`` as it takes the GIL back inside OpenCV's C++ code, which aborts the whole
process ("terminate called without an active exception", exit status 134): seen once in CI
as ``edgekit demo --record`` stopped with Ctrl-C, after the video and JSON were written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any


class Ahead:
    """Results of ``make(*args)`` fetched with :meth:`get`, started early with :meth:`warm`.

    ``make`` should be pure and cheap to call twice with the same arguments (e.g.
    ``lru_cache``-d): :meth:`get` waits for a warm-up of the same arguments under way
    instead of making it again, and makes it itself otherwise.
    """

    def __init__(self, make: Callable[..., Any]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._pending: dict[Hashable, Future] = {}
        self._last = -2  # the frame index asked for last (see for_frame)

    def for_frame(self, index: int, args: tuple, following: Callable[[], tuple | None]) -> Any:
        """``make(*args)`` for frame ``index``; when frames are asked for in order (``index`` follows
        the last one), ``make(*following())`` is started for the segment after (``None``: none). Random
        access starts nothing: a jump elsewhere would make a segment nobody asks for."""
        result = self.get(*args)
        if index == self._last + 1 and (after := following()) is not None:
            self.warm(*after)
        self._last = index
        return result

    def get(self, *args: Hashable) -> Any:
        """``make(*args)``: the warmed-up result when there is one (waited for if not done)."""
        with self._lock:
            future = self._pending.pop(args, None)
        return self._make(*args) if future is None else future.result()

    def warm(self, *args: Hashable) -> None:
        """Start ``make(*args)`` on a background thread (once; forgotten after :meth:`get`)."""
        with self._lock:
            if args in self._pending:
                return
            while len(self._pending) >= 2:  # never fetched (a jump elsewhere in the stream): let it go
                self._pending.pop(next(iter(self._pending)))
            future: Future = Future()
            self._pending[args] = future

        def run() -> None:
            try:
                future.set_result(self._make(*args))
            except BaseException as exc:  # noqa: BLE001 - re-raised by get(), on the frame's thread
                future.set_exception(exc)

        threading.Thread(target=run, name="demo-stream-ahead", daemon=False).start()
