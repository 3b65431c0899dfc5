"""pyqtgraph plots styled like the rest of the app, always with labelled axes."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from edgekit_gui.theme import plot_colors

SERIES = ("#2f7de1", "#e8743b", "#2e9d57", "#9b59b6", "#d64545", "#19a0a0", "#b8860b", "#7f7f7f")


class LogAxis(pg.AxisItem):
    """A log-scale axis labelled only at 1, 2 and 5 times a power of ten, as plain numbers.

    Why: pyqtgraph labels every minor tick of a log axis ("0.40.5 0.60.7",
    "2·10¹ 3·10 4·10"), and on a plot a few hundred pixels wide the labels run
    into each other. The grid keeps every tick; only the text is thinned.
    """

    def logTickStrings(self, values, scale, spacing):
        return [_nice_label(10.0 ** float(v) * scale) for v in values]


def _nice_label(x: float) -> str:
    """``x`` as "0.2", "5", "100" when it is 1, 2 or 5 times a power of ten, else ""."""
    if not math.isfinite(x) or x <= 0:
        return ""
    mantissa = x / 10.0 ** math.floor(math.log10(x) + 1e-9)
    return f"{x:g}" if any(abs(mantissa - m) < 1e-6 * m for m in (1, 2, 5)) else ""


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
