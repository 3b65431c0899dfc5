"""Python's cyclic garbage collector, run on the GUI thread only.

Why: the collector runs in whichever thread happens to allocate when a threshold is crossed. Run
in a worker thread, it may free a Qt object there: Qt's destructor takes Qt's connection lock and
then waits for the GIL, while the GUI thread, holding the GIL's turn, waits for that lock. Seen in
CI: the Optimize page tests hung for good, the GUI thread in ``QLabel.setStyleSheet`` ->
``QObject::connectImpl`` (waiting for the lock) and a target-loading job's thread in
``gc_collect_main`` -> ``QObject::~QObject`` -> ``GilState::acquire`` (waiting for the GIL).
So while the app runs, automatic collection is off and a timer on the GUI thread collects
whenever the collector's own thresholds say it would have (calibre does the same, for the same
crash).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500

_active: MainThreadCollector | None = None


class MainThreadCollector(QObject):
    """Turns automatic collection off; collects on the GUI thread every ``INTERVAL_MS`` when due."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_if_due)
        self._timer.start(INTERVAL_MS)

    def collect_if_due(self) -> int:
        """Collect the generations the thresholds say are due (as automatic collection would);
        returns the generation collected, or -1."""
        counts, limits = gc.get_count(), self._thresholds
        if limits[0] <= 0 or counts[0] <= limits[0]:
            return -1
        generation = 2 if counts[2] > limits[2] else 1 if counts[1] > limits[1] else 0
        gc.collect(generation)
        return generation

    def stop(self) -> None:
        self._timer.stop()
        gc.enable()


def collect_on_gui_thread(app: QObject) -> MainThreadCollector:
    """Start collecting on the GUI thread only (once per process while active)."""
    global _active
    if _active is None:
        _active = MainThreadCollector(app)
    return _active


def stop() -> None:
    """Automatic collection back on (tests, after a window is closed and its workers stopped)."""
    global _active
    if _active is not None:
        _active.stop()
        _active.deleteLater()
        _active = None
