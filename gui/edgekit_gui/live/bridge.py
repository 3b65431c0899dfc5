"""Frames from a worker thread to the GUI: the newest wins, stale ones are dropped, never queued.

The worker calls :meth:`FrameBridge.post` as fast as it likes. The GUI takes
at most one item per ``min_interval_ms`` (the view paints at ~60 Hz, so more
would be converted only to be replaced): an item posted while the GUI is
busy or cooling down waits in a one-item slot, where a newer one replaces it
(counted in ``dropped``). ``prepare`` (e.g. scaling the frame to the view)
runs on the posting thread for the items the GUI will take, so frames that
are dropped are never prepared and the GUI thread does not prepare them
either, except for the last item of a burst when no newer one follows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

GRACE_MS = 8  # after a cool-down, wait this long for a fresh item before taking the waiting one


class FrameBridge(QObject):
    """Thread-safe "latest value" mailbox with a rate-limited Qt signal on the GUI side."""

    delivered = Signal(object)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None, prepare: Callable[[Any], Any] | None = None,
                 min_interval_ms: int = 16) -> None:
        super().__init__(parent)
        self._prepare = prepare or (lambda item: item)
        self._lock = threading.Lock()
        self._ready: Any = None  # prepared, a delivery is queued
        self._waiting: Any = None  # arrived while busy: not prepared yet
        self._busy = False  # preparing, queued or cooling down
        self.posted = 0
        self.dropped = 0
        self._cooldown = self._timer(min_interval_ms, self._cooled)
        self._grace = self._timer(GRACE_MS, self._take_waiting)
        self._wake.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def _timer(self, ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    def post(self, item: Any) -> None:
        """Offer ``item`` from any thread; replaces an item the GUI has not taken yet."""
        with self._lock:
            self.posted += 1
            if self._waiting is not None:
                self.dropped += 1
            if self._busy:
                self._waiting = item
                return
            self._waiting, self._busy = None, True
        ready = self._prepare(item)
        with self._lock:
            self._ready = ready
        self._wake.emit()

    def _deliver(self) -> None:
        with self._lock:
            item, self._ready = self._ready, None
        self._grace.stop()
        self._cooldown.start()
        if item is not None:
            self.delivered.emit(item)

    def _cooled(self) -> None:
        with self._lock:
            self._busy = False
            waiting = self._waiting is not None
        if waiting:  # a fresh post (prepared on its own thread) usually comes within the grace time
            self._grace.start()

    def _take_waiting(self) -> None:
        with self._lock:
            if self._busy or self._waiting is None:
                return
            item, self._waiting, self._busy = self._waiting, None, True
        self._cooldown.start()
        self.delivered.emit(self._prepare(item))

    def reset(self) -> None:
        """Forget waiting items and zero the counters (on a new run)."""
        self._cooldown.stop()
        self._grace.stop()
        with self._lock:
            self._ready = self._waiting = None
            self._busy, self.posted, self.dropped = False, 0, 0
