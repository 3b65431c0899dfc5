"""Cards (titled framed boxes with label/value rows) and badges."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QVBoxLayout, QWidget

from edgekit_gui.theme import ACCENT

BADGE_ON = "QLabel { background: #2e9d57; color: white; border-radius: 8px; padding: 2px 8px; }"
BADGE_OFF = "QLabel { background: #8a8a8e; color: white; border-radius: 8px; padding: 2px 8px; }"


class Card(QFrame):
    """A framed box with a bold title; ``add_row`` appends ``label: value`` lines."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("card")
        outer = QVBoxLayout(self)
        outer.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.title = QLabel(f"<b>{title}</b>")
        self.title.setStyleSheet(f"color: {ACCENT}; font-size: 11pt;")
        outer.addWidget(self.title)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        outer.addLayout(self.form)
        self.body = outer
        self.values: dict[str, QLabel] = {}

    def add_row(self, label: str, value: str = "") -> QLabel:
        """Add (or update) a ``label: value`` row and return the value label."""
        if label in self.values:
            self.values[label].setText(value)
            return self.values[label]
        widget = QLabel(value)
        widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        widget.setWordWrap(True)
        self.form.addRow(f"{label}:", widget)
        self.values[label] = widget
        return widget

    def clear_rows(self) -> None:
        """Remove every row."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.values.clear()


def badge(text: str, on: bool = True, tooltip: str = "") -> QLabel:
    """A rounded label: green when ``on``, grey otherwise."""
    label = QLabel(text)
    label.setObjectName("badge_on" if on else "badge_off")
    label.setStyleSheet(BADGE_ON if on else BADGE_OFF)
    label.setToolTip(tooltip or (f"{text}: yes" if on else f"{text}: not available"))
    return label
