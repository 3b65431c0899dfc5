"""Filling a sortable ``QTableWidget`` from rows of values (numbers sort as numbers)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget


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
