"""pyqtgraph plots styled like the rest of the app, always with labelled axes."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from edgekit_gui.theme import plot_colors

SERIES = ("#2f7de1", "#e8743b", "#2e9d57", "#9b59b6", "#d64545", "#19a0a0", "#b8860b", "#7f7f7f")


def make_plot(title: str, x_label: str, y_label: str, parent: QWidget | None = None) -> pg.PlotWidget:
    """A plot with a title, axis labels, a grid and a legend."""
    bg, fg = plot_colors()
    plot = pg.PlotWidget(parent=parent, background=bg)
    item = plot.getPlotItem()
    item.setTitle(title, color=fg, size="10pt")
    for side, text in (("bottom", x_label), ("left", y_label)):
        axis = item.getAxis(side)
        axis.setLabel(text, color=fg)
        axis.setPen(fg)
        axis.setTextPen(fg)
    item.showGrid(x=True, y=True, alpha=0.25)
    item.addLegend(offset=(-10, 10), labelTextColor=fg)
    plot.setMinimumHeight(180)
    return plot


def colour(index: int) -> str:
    """The ``index``-th series colour."""
    return SERIES[index % len(SERIES)]
