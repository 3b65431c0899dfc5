"""Plan results: a sortable candidate table, a latency-vs-accuracy scatter with budget lines, the decision log."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from edgekit.backends import list_backends
from edgekit.types import CandidateStatus as Status
from edgekit_gui.optimize.speedups import candidate_speedup
from edgekit_gui.theme import BAD, GOOD
from edgekit_gui.widgets.plots import make_plot
from edgekit_gui.widgets.tables import NumericItem, fill_table, make_table

COLUMNS = ["status", "candidate", "latency p50 ms", "accuracy %", "drop (points)", "size MB", "speed-up", "why"]
LABEL_PX = 28  # a line of text on the scatter, with its gap
X_LABEL = "latency p50 (ms, log) · ● onnxruntime ■ OpenVINO ▲ PyTorch"
_SYMBOLS = ("o", "s", "t1", "d", "p", "h", "t", "+", "x")  # circle, square, triangle up, diamond, ...


def backend_symbols() -> dict[str, str]:
    """A marker per registered backend, in registry order (a backend registered later gets the next)."""
    return {name: _SYMBOLS[i % len(_SYMBOLS)] for i, name in enumerate(list_backends())}
STATUS_ORDER = {s: i for i, s in enumerate(Status)}  # chosen, valid, rejected, failed
STATUS_BRUSH = {Status.CHOSEN: "#e8743b", Status.VALID: "#2f7de1", Status.REJECTED: "#8a8a8e"}


def speedup_item(c: Any, busy: bool = False) -> NumericItem:
    """The speed-up cell: the number with its interval, sorted by the number; a noisy one
    (wide interval, or a busy machine) carries the badge, in the warning colour, and says why."""
    text, noisy = candidate_speedup(c, busy)
    item = NumericItem(c.speedup, text)
    if noisy:
        item.setForeground(QColor(BAD))
        item.setToolTip("The measurement cannot support this number: " + (
            "the machine was busy while the plan ran; " if busy else "")
            + "its ~95 % interval is wide or unknown. Rerun with more benchmark time per candidate.")
    return item


def candidate_row(c: Any, busy: bool = False) -> list[Any]:
    """One table row for a Candidate (estimates are marked; speed-ups with their interval)."""
    latency = c.latency_ms
    acc = None if c.accuracy is None else 100 * c.accuracy
    drop = None if c.drop is None else 100 * c.drop
    why = "; ".join(c.reasons or c.notes)
    if c.is_estimate:
        why = f"latency estimated: {c.estimate}" + (f"; {why}" if why else "")
    return [c.status, c.key, latency, acc, drop, c.size_mb, speedup_item(c, busy), why]


def padded(lo: float, hi: float, share: float, least: float) -> tuple[float, float]:
    """``(lo, hi)`` widened by ``share`` of its span on each side (at least ``least``)."""
    pad = max(share * (hi - lo), least)
    return lo - pad, hi + pad


class PlanResults(QWidget):
    """Shows a Report (or the closest candidates of a BudgetNotMet)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = make_table(COLUMNS)
        self.table.setSortingEnabled(True)
        self.table.setMinimumHeight(120)  # header and three rows; it scrolls, the chart needs the height
        self.plot = make_plot("Latency vs accuracy", X_LABEL, "top-1 accuracy (%)",
                              log_x=True)  # a short title: the column may be 420 px wide
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setPlaceholderText("The planner's decision log appears here.")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.addWidget(self.log)
        self.plot.setMinimumHeight(230)  # title, axes and legend leave a readable data area (~100 px)
        self.log.setMinimumHeight(60)
        split.setSizes([150, 330, 120])
        split.setStretchFactor(1, 1)  # a taller window goes to the chart first
        layout.addWidget(split)
        # hidden until there is something to plot: an empty chart's first paint (axes, grid) is ~50 ms
        # of the GUI thread, the largest part of the page's first opening
        self.plot.setVisible(False)
        self.candidates: list[Any] = []
        self.busy = False  # the machine was busy while the shown plan measured (speed-ups get the badge)
        self._scatter_args: tuple | None = None  # a scatter waiting for the next event-loop turn

    @property
    def drawing(self) -> bool:
        """True while the scatter of the last results is still to be drawn."""
        return self._scatter_args is not None

    def set_metric(self, metric: str) -> None:
        """Name the accuracy axis and column: "top-1" for a classifier, "mAP@0.5:0.95" for a detector."""
        self.plot.getPlotItem().getAxis("left").setLabel(f"{metric} (%)" if metric != "top-1" else "top-1 accuracy (%)")
        column = COLUMNS.index("accuracy %")
        self.table.horizontalHeaderItem(column).setText("accuracy %" if metric == "top-1" else f"{metric} %")

    def show_candidates(self, candidates: list[Any], log: list[str], latency_budget: float | None,
                        accuracy_floor: float | None) -> None:
        """Fill table, scatter (chosen point highlighted, budget lines) and log."""
        self.candidates = sorted(candidates, key=lambda c: STATUS_ORDER.get(c.status, 9))
        self.table.setSortingEnabled(False)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        fill_table(self.table, [candidate_row(c, self.busy) for c in self.candidates])
        latency = COLUMNS.index("latency p50 ms")
        for row, c in enumerate(self.candidates):  # an estimate's figures and sources, on hover
            basis = getattr(c.estimate, "basis", ()) if c.is_estimate else ()
            if basis and self.table.item(row, latency) is not None:
                self.table.item(row, latency).setToolTip("Estimated from:\n" + "\n".join(f"• {b}" for b in basis))
        self.table.setSortingEnabled(True)
        self.log.setPlainText("\n".join(log))
        self.plot.setVisible(True)
        # the scatter (pyqtgraph items, tens of ms of Python) is drawn 15 ms later (a timer, so the
        # event loop repaints and takes input in between) instead of stalling for table and plot at once
        if self._scatter_args is None:
            QTimer.singleShot(15, self._draw_scatter)
        self._scatter_args = (latency_budget, accuracy_floor)

    def _draw_scatter(self) -> None:
        args, self._scatter_args = self._scatter_args, None
        if args is not None:
            self._scatter(*args)

    def _scatter(self, latency_budget: float | None, accuracy_floor: float | None) -> None:
        """Latency on a log axis (candidates often span two orders of magnitude); colour = status,
        symbol = backend; the chosen point is a large star with its name."""
        self.plot.clear()
        self.plot.setLogMode(x=True, y=False)
        plotted = [c for c in self.candidates if c.latency_ms is not None and c.accuracy is not None]
        named: set[str] = set()
        for status, brush in STATUS_BRUSH.items():
            for backend, symbol in backend_symbols().items():
                pts = [c for c in plotted if c.status == status and c.backend == backend]
                if not pts:
                    continue
                chosen = status == Status.CHOSEN
                self.plot.plot([c.latency_ms for c in pts], [100 * c.accuracy for c in pts], pen=None,
                               symbol="star" if chosen else symbol, symbolSize=24 if chosen else 11,
                               symbolBrush=brush, name=None if status in named else status)
                named.add(status)
        view = self._frame(plotted, latency_budget, accuracy_floor)
        for c in (c for c in plotted if c.status == Status.CHOSEN):
            label = pg.TextItem(f"chosen: {c.key}", color=STATUS_BRUSH["chosen"])
            x, y = math.log10(c.latency_ms), 100 * c.accuracy
            label.setAnchor(self._beside(x, view))
            label.setPos(x, y)
            self.plot.addItem(label)
        if latency_budget:
            self.plot.addItem(pg.InfiniteLine(math.log10(latency_budget), angle=90, pen=pg.mkPen(BAD, style=Qt.PenStyle.DashLine),
                                              label=f"latency budget {latency_budget:g} ms",
                                              labelOpts={"position": 0.9, "color": BAD}))
        if accuracy_floor is not None:  # its label ends at the right edge, under the line (centred at 15 %
            # it was cut off on the left; under the line it stays clear of the valid points above it)
            self.plot.addItem(pg.InfiniteLine(100 * accuracy_floor, angle=0,
                                              pen=pg.mkPen(GOOD, style=Qt.PenStyle.DashLine),
                                              label=f"accuracy floor {100 * accuracy_floor:.1f} %",
                                              labelOpts={"position": 0.99, "color": GOOD,
                                                         "anchors": [(1, 0), (1, 0)]}))

    def _frame(self, plotted: list[Any], latency_budget: float | None,
               accuracy_floor: float | None) -> tuple[float, float]:
        """Set the view to the points and budget lines with a margin (autorange put the slowest point
        on the plot's edge, half a marker cut off), with a text line of room above the top point for
        the chosen one's name and under the floor line for its label; returns the x range (log)."""
        xs = [math.log10(c.latency_ms) for c in plotted if c.latency_ms > 0]
        ys = [100 * c.accuracy for c in plotted]
        if latency_budget:
            xs.append(math.log10(latency_budget))
        if accuracy_floor is not None:
            ys.append(100 * accuracy_floor)
        if not xs or not ys:
            self.plot.enableAutoRange()
            return (0.0, 1.0)
        x0, x1 = padded(min(xs), max(xs), 0.12, 0.05)
        lo, hi = min(ys), max(ys)
        below = above = max(0.12 * (hi - lo), 0.5)
        height = self.plot.getPlotItem().getViewBox().height() or 150.0  # pixels (not laid out yet: a guess)
        need_above = LABEL_PX if any(c.status == Status.CHOSEN for c in plotted) else 0
        need_below = LABEL_PX if accuracy_floor is not None and 100 * accuracy_floor <= lo else 0
        for _ in range(3):  # the margins widen the range they are measured in
            per_px = (hi - lo + below + above) / max(height, 60.0)
            above, below = max(above, need_above * per_px), max(below, need_below * per_px)
        self.plot.setRange(xRange=(x0, x1), yRange=(lo - below, hi + above), padding=0)
        return x0, x1

    @staticmethod
    def _beside(x: float, view: tuple[float, float]) -> tuple[float, float]:
        """The anchor that puts a point's name above it, on the side with more room (a name running
        right from the rightmost point was cut at the plot's edge; under it, it crossed the floor line)."""
        x0, x1 = view
        return (-0.05, 1.2) if (x - x0) / max(x1 - x0, 1e-9) < 0.5 else (1.05, 1.2)

    def selected(self) -> Any:
        """The candidate of the selected row (the table may be sorted), or None."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        key = self.table.item(rows[0].row(), 1).text()
        return next((c for c in self.candidates if c.key == key), None)

    def clear(self) -> None:
        """Empty everything."""
        self.candidates = []
        self._scatter_args = None
        self.table.setRowCount(0)
        self.plot.clear()
        self.plot.setVisible(False)
        self.log.clear()
