"""Filling a sortable ``QTableWidget`` from rows of values (numbers sort as numbers); a cell too
narrow for its text (drawn cut short with "…") shows the whole text as its tooltip."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QToolTip,
    QWidget,
)


class NumericItem(QTableWidgetItem):
    """A cell that sorts by its number (``None`` sorts last) but shows formatted text."""

    def __init__(self, value: float | None, text: str) -> None:
        super().__init__(text)
        self.number = value
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine = self.number if self.number is not None else float("inf")
        theirs = getattr(other, "number", None)
        return mine < (theirs if theirs is not None else float("inf"))


class FullTextTips(QStyledItemDelegate):
    """Draws cells as usual; hovering a cell whose text does not fit (elided with "…", or wrapped
    past the row's height) shows the full text as its tooltip, before the cell's own tooltip if any.

    Why: a long note in the last column of a 1280-px window ended in "…" with no way to read it.
    Whether a cell is cut short depends on the column width at the moment of hovering, so it is
    decided then, not when the table is filled."""

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem,
                  index: QModelIndex | QPersistentModelIndex) -> bool:
        if event is not None and event.type() == QEvent.Type.ToolTip and index.isValid():
            opt = QStyleOptionViewItem(option)
            self.initStyleOption(opt, index)
            if opt.text and cut_short(opt):
                own = index.data(Qt.ItemDataRole.ToolTipRole)
                QToolTip.showText(event.globalPos(), opt.text + (f"\n\n{own}" if own else ""), view,
                                  view.visualRect(QModelIndex(index)))
                return True
        return super().helpEvent(event, view, option, index)


def cut_short(opt: QStyleOptionViewItem) -> bool:
    """True when the item view style cannot show all of ``opt.text`` in ``opt.rect`` (the margins
    ``QCommonStyle`` keeps around an item's text taken off, as it does before eliding)."""
    widget = opt.widget
    style = widget.style() if widget is not None else QApplication.style()
    rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
    lines = opt.text.splitlines() or [""]
    metrics = opt.fontMetrics
    too_wide = max(metrics.horizontalAdvance(line) for line in lines) > rect.width() - 2 * margin
    return too_wide or len(lines) * metrics.lineSpacing() > rect.height()


def fmt(value: object, digits: int = 2) -> str:
    """Format a number for a table cell; ``None`` -> an en dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def make_item(value: object, digits: int = 2) -> QTableWidgetItem:
    """A table item: numeric values sort numerically; an item made by the caller is used as is."""
    if isinstance(value, QTableWidgetItem):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return NumericItem(float(value), fmt(value, digits))
    if value is None:
        return NumericItem(None, "–")
    return QTableWidgetItem(str(value))


def make_table(headers: Sequence[str], parent: QWidget | None = None) -> QTableWidget:
    """A read-only, row-selecting, sortable table with the given column headers."""
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setItemDelegate(FullTextTips(table))  # a cell cut short shows its full text on hover
    return table


def fill_table(table: QTableWidget, rows: Sequence[Sequence[object]], digits: int = 2) -> None:
    """Replace the table's rows (sorting is paused while filling)."""
    sorting = table.isSortingEnabled()
    table.setSortingEnabled(False)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, make_item(value, digits))
    table.setSortingEnabled(sorting)
