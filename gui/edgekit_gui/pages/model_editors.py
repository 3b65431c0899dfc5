"""Editors on the Model page: preprocessing (size, mean/std, colour order...) and class labels."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.replace(",", " ").split())
    except ValueError as exc:
        raise ValueError(f"{what} must be numbers separated by spaces or commas, not {text!r}") from exc


class PreprocessEditor(QGroupBox):
    """Edits a :class:`edgekit.models.Preprocess`; :meth:`value` builds a new one (SDK validates it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Preprocessing", parent)
        form = QFormLayout(self)
        self.height, self.width = QSpinBox(), QSpinBox()
        for spin in (self.height, self.width):
            spin.setRange(1, 8192)
        size = QHBoxLayout()
        size.addWidget(self.height)
        size.addWidget(self.width)
        form.addRow("Size (H × W):", size)
        self.mean, self.std = QLineEdit(), QLineEdit()
        form.addRow("Mean:", self.mean)
        form.addRow("Std:", self.std)
        self.scale = QDoubleSpinBox()
        self.scale.setDecimals(6)
        self.scale.setRange(0.0, 1000.0)
        form.addRow("Scale:", self.scale)
        self.channel_order, self.resize, self.layout_box = QComboBox(), QComboBox(), QComboBox()
        self.channel_order.addItems(["RGB", "BGR", "GRAY"])
        self.resize.addItems(["stretch", "center_crop", "letterbox"])
        self.layout_box.addItems(["NCHW", "NHWC"])
        form.addRow("Channel order:", self.channel_order)
        form.addRow("Resize:", self.resize)
        form.addRow("Layout:", self.layout_box)

    def set_value(self, pre: Any) -> None:
        """Show ``pre`` (a Preprocess, or None for the SDK defaults)."""
        from edgekit.models import Preprocess

        pre = pre or Preprocess()
        self.height.setValue(pre.size[0])
        self.width.setValue(pre.size[1])
        self.mean.setText(" ".join(f"{v:g}" for v in pre.mean))
        self.std.setText(" ".join(f"{v:g}" for v in pre.std))
        self.scale.setValue(pre.scale)
        self.channel_order.setCurrentText(pre.channel_order)
        self.resize.setCurrentText(pre.resize)
        self.layout_box.setCurrentText(pre.layout)

    def value(self) -> Any:
        """A new Preprocess from the fields. Raises ValueError naming the bad field."""
        from edgekit.models import Preprocess

        return Preprocess(
            size=(self.height.value(), self.width.value()),
            mean=_floats(self.mean.text(), "Mean"),
            std=_floats(self.std.text(), "Std"),
            scale=self.scale.value(),
            channel_order=self.channel_order.currentText(),
            resize=self.resize.currentText(),
            layout=self.layout_box.currentText(),
        )


class LabelsEditor(QGroupBox):
    """Class names, one per line (line number = class id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Labels (one per line)", parent)
        layout = QVBoxLayout(self)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("cat\ndog\n…")
        layout.addWidget(self.text)

    def set_value(self, labels: tuple[str, ...] | None) -> None:
        """Show ``labels``."""
        self.text.setPlainText("\n".join(labels or ()))

    def value(self) -> tuple[str, ...] | None:
        """The labels typed, or None when empty."""
        lines = [line.strip() for line in self.text.toPlainText().splitlines() if line.strip()]
        return tuple(lines) or None
