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

    def reset(self) -> None:
        """Forget every point (a new run)."""
        for key in list(self._curves):
            plot = self.fps_plot if key[0] == "fps" else self.latency_plot
            plot.removeItem(self._curves[key])
        self._series.clear()
        self._curves.clear()

    def add(self, fps: dict[str, float], latency_ms: dict[str, float], now: float | None = None) -> None:
        """Append one sample of each named series and redraw."""
        now = time.monotonic() if now is None else now
        for kind, values in (("fps", fps), ("ms", latency_ms)):
            for name, value in values.items():
                if value is None:
                    continue
                series = self._series.setdefault((kind, name), deque())
                series.append((now, float(value)))
                while series and now - series[0][0] > WINDOW_S:
                    series.popleft()
        self._redraw(now)

    def _redraw(self, now: float) -> None:
        for i, (key, series) in enumerate(self._series.items()):
            curve = self._curves.get(key)
            if curve is None:
                plot = self.fps_plot if key[0] == "fps" else self.latency_plot
                curve = plot.plot([], [], pen=colour(i), name=key[1])
                self._curves[key] = curve
            curve.setData([t - now for t, _ in series], [v for _, v in series], skipFiniteCheck=True)

    def points(self, kind: str, name: str) -> int:
        """How many points a series has (for tests)."""
        return len(self._series.get((kind, name), ()))
