"""Live plots of FPS and latency over the last 30 seconds (pyqtgraph)."""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtWidgets import QHBoxLayout, QWidget

from edgekit_gui.widgets.plots import colour, make_plot

WINDOW_S = 30.0


class LivePlots(QWidget):
    """Two rolling plots: FPS per stage and latency per stage; x = seconds ago (0 = now)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.fps_plot = make_plot("Frames per second (last 30 s)", "seconds ago", "FPS")
        self.latency_plot = make_plot("Latency per frame (last 30 s)", "seconds ago", "ms")
        for plot in (self.fps_plot, self.latency_plot):
            plot.setXRange(-WINDOW_S, 0, padding=0)
            plot.setMinimumHeight(150)
            row.addWidget(plot)
        self._series: dict[tuple[str, str], deque] = {}
        self._curves: dict[tuple[str, str], object] = {}
        self._top: dict[str, float] = {}  # y-axis top per plot; see _fit_y

    def declare(self, kind: str, names: list[str]) -> None:
        """Create the curves (and legend rows) of ``kind`` up front: creating them while a run
        goes costs the GUI thread a visible stall (legend and layout)."""
        plot = self.fps_plot if kind == "fps" else self.latency_plot
        for name in names:
            if (kind, name) not in self._curves:
                self._series.setdefault((kind, name), deque())
                self._curves[(kind, name)] = plot.plot([], [], pen=colour(len(self._curves)), name=name)

    def reset(self) -> None:
        """Forget every point (a new run); the curves stay."""
        for key, curve in self._curves.items():
            self._series[key] = deque()
            curve.setData([], [])
        self._top.clear()

    def add(self, fps: dict[str, float], latency_ms: dict[str, float], now: float | None = None,
            redraw: tuple[str, ...] = ("fps", "ms")) -> None:
        """Append one sample of each named series and redraw the plots named in ``redraw``
        (``"fps"``, ``"ms"``; the live page redraws them on different ticks to halve each stall)."""
        now = time.monotonic() if now is None else now
        for kind, values in (("fps", fps), ("ms", latency_ms)):
            for name, value in values.items():
                if value is None:
                    continue
                if (kind, name) not in self._curves:
                    self.declare(kind, [name])
                series = self._series[(kind, name)]
                series.append((now, float(value)))
                while series and now - series[0][0] > WINDOW_S:
                    series.popleft()
        for kind in redraw:
            self.redraw(kind, now)

    def redraw(self, kind: str, now: float | None = None) -> None:
        """Redraw one plot (``"fps"`` or ``"ms"``) up to ``now``."""
        now = time.monotonic() if now is None else now
        plot = self.fps_plot if kind == "fps" else self.latency_plot
        top = 0.0
        for key, series in self._series.items():
            if key[0] != kind:
                continue
            curve = self._curves[key]
            values = [v for _, v in series]
            top = max(top, *values) if values else top
            curve.setData([t - now for t, _ in series], values, skipFiniteCheck=True)
        self._fit_y(kind, plot, top)

    def _fit_y(self, kind: str, plot, top: float) -> None:
        """Set the y-axis to a round top that changes only when the data outgrows it or falls far
        below it: pyqtgraph regenerates the axis ticks and grid (in Python, tens of ms on a busy
        CPU) whenever the range moves, as auto-range on a live series does on every redraw."""
        current = self._top.get(kind)
        if current is not None and top * 1.05 <= current and top * 1.25 >= current * 0.6:
            return  # still fits and fills more than ~half of the axis: keep it (no tick regeneration)
        new = _nice_ceiling(max(top * 1.25, 1e-3))
        if new != current:
            self._top[kind] = new
            plot.setYRange(0.0, new, padding=0)

    def points(self, kind: str, name: str) -> int:
        """How many points a series has (for tests)."""
        return len(self._series.get((kind, name), ()))


def _nice_ceiling(x: float) -> float:
    """The smallest 1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of ten that is >= ``x`` (steps fine
    enough that the data fills most of the axis: 25 ms of data gets a 30 ms axis, not 50)."""
    import math

    base = 10.0 ** math.floor(math.log10(x))
    return next(m * base for m in (1, 1.5, 2, 3, 4, 5, 6, 8, 10) if m * base >= x * (1 - 1e-9))
