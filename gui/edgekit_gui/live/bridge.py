"""Frames from a worker thread to the GUI: the newest wins, stale ones are dropped, never queued.

The worker calls :meth:`FrameBridge.post` as fast as it likes. At most one
delivery is ever waiting in the GUI's event queue; a frame that arrives
before the GUI took the previous one replaces it (and is counted in
``dropped``). So a slow GUI shows fewer frames, never older ones.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal


class FrameBridge(QObject):
    """Thread-safe "latest value" mailbox with a Qt signal on the GUI side."""

    delivered = Signal(object)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._latest: Any = None
        self._pending = False
        self.posted = 0
        self.dropped = 0
        self._wake.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def post(self, item: Any) -> None:
        """Offer ``item`` from any thread; replaces an item the GUI has not taken yet."""
        with self._lock:
            self.posted += 1
            if self._pending:
                self.dropped += 1
                self._latest = item
                return
            self._latest, self._pending = item, True
        self._wake.emit()

    def _deliver(self) -> None:
        with self._lock:
            item, self._latest, self._pending = self._latest, None, False
        if item is not None:
            self.delivered.emit(item)

    def reset(self) -> None:
        """Forget a waiting item and zero the counters (on a new run)."""
        with self._lock:
            self._latest, self._pending, self.posted, self.dropped = None, False, 0, 0
