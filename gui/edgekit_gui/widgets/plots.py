"""pyqtgraph plots styled like the rest of the app, always with labelled axes."""

from __future__ import annotations

import math
from itertools import pairwise

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from edgekit_gui.theme import plot_colors

SERIES = ("#2f7de1", "#e8743b", "#2e9d57", "#9b59b6", "#d64545", "#19a0a0", "#b8860b", "#7f7f7f")


class LogAxis(pg.AxisItem):
    """A log-scale axis labelled at round values only, as plain numbers, every label readable.

    Why: pyqtgraph labels every minor tick of a log axis ("0.40.5 0.60.7", "2·10¹ 3·10 4·10"),
    and on a plot a few hundred pixels wide the labels run into each other; yet thinning them to
    1-2-5 values left a plan whose candidates lie within one decade (2.2 to 4.8 ms) with no number
    at all. The ticks drawn are the round set with the most labels still 40 px apart
    (:func:`log_ticks`), and each one is labelled.
    """

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        decades = max(maxVal - minVal, 1e-9)
        ticks = log_ticks(10.0 ** minVal, 10.0 ** maxVal, size / decades)
        return [(None, [math.log10(t) for t in ticks])]

    def logTickStrings(self, values, scale, spacing):
        return [f"{round(10.0 ** float(v) * scale, 9):g}" for v in values]


def log_ticks(lo: float, hi: float, px_per_decade: float, min_gap_px: float = 40.0) -> list[float]:
    """Values to label between ``lo`` and ``hi`` on a log axis: the round choice with the most labels
    still ``min_gap_px`` apart (decades; 1, 2, 5 per decade; 1 to 9 per decade; or an even step such
    as 0.5 or 1 for values within one decade, where no 1-2-5 value may fall)."""
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        return []
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    options = [[m * 10.0 ** e for e in range(e0, e1 + 1) for m in mantissas]
               for mantissas in ((1,), (1, 2, 5), range(1, 10))]
    k = math.floor(math.log10(hi - lo))
    for step in (m * 10.0 ** e for e in range(k - 2, k + 1) for m in (1, 2, 5)):
        if (hi - lo) / step <= 100:
            options.append([i * step for i in range(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1)])
    best: list[float] = []
    for option in options:
        ticks = [round(t, 9) for t in option if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        gaps = (math.log10(b / a) * px_per_decade for a, b in pairwise(ticks))
        if len(ticks) > len(best) and all(g >= min_gap_px for g in gaps):
            best = ticks
    return best


def make_plot(title: str, x_label: str, y_label: str, parent: QWidget | None = None,
              log_x: bool = False) -> pg.PlotWidget:
    """A plot with a title, axis labels, a grid and a legend (``log_x``: a log x-axis with readable labels)."""
    bg, fg = plot_colors()
    axes = {"bottom": LogAxis("bottom")} if log_x else None
    plot = pg.PlotWidget(parent=parent, background=bg, axisItems=axes)
    item = plot.getPlotItem()
    item.setTitle(title, color=fg, size="10pt")
    for side, text in (("bottom", x_label), ("left", y_label)):
        axis = item.getAxis(side)
        # the unit is in the label: pyqtgraph's own SI scaling showed 0.14-0.22 ms as ticks 140-220 "(x0.001)"
        axis.enableAutoSIPrefix(False)
        axis.setLabel(text, color=fg)
        axis.setPen(fg)
        axis.setTextPen(fg)
    item.showGrid(x=True, y=True, alpha=0.25)
    put_legend_below(item, fg)
    plot.setMinimumHeight(180)
    return plot


def put_legend_below(item: pg.PlotItem, fg: str, columns: int = 4) -> pg.LegendItem:
    """A legend in its own row under the x-axis label, never over the data (a legend anchored
    inside the view covered the newest points of the live plots); ``plot(name=...)`` fills it."""
    legend = pg.LegendItem(offset=None, labelTextColor=fg, colCount=columns, frame=False)
    item.layout.addItem(legend, 4, 1)
    item.layout.setRowStretchFactor(4, 0)
    item.legend = legend
    return legend


def colour(index: int) -> str:
    """The ``index``-th series colour."""
    return SERIES[index % len(SERIES)]
