"""The A/B strip under the video: model A and model B side by side, and how often they agree."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget


def _side(title: str, p: Any) -> str:
    acc = p.accuracy
    acc_text = "accuracy –" if acc is None or not acc.n else f"accuracy {acc.accuracy:.1%} (n={acc.n})"
    return (f"<b>{title}: {p.name}</b> — {p.badge}<br>{p.fps.ema:.1f} FPS · inference p50 "
            f"{p.latency.p50_ms:.2f} ms · {acc_text}")


class ABStrip(QWidget):
    """Hidden until readouts carry an A/B comparison."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        self.a_label, self.b_label = QLabel(), QLabel()
        for label in (self.a_label, self.b_label):
            label.setWordWrap(True)
        middle = QVBoxLayout()
        self.agreement = QLabel("agreement –")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(10)
        middle.addWidget(self.agreement)
        middle.addWidget(self.bar)
        row.addWidget(self.a_label, 2)
        row.addLayout(middle, 1)
        row.addWidget(self.b_label, 2)
        self.hide()

    def show_readouts(self, r: Any) -> None:
        """Update from readouts ``r`` (hides itself without A/B)."""
        ab = r.ab
        self.setVisible(ab is not None)
        if ab is None:
            return
        self.a_label.setText(_side("A", r.predictor))
        self.b_label.setText(_side("B", ab.reference))
        self.agreement.setText(f"<b>agreement {ab.agreement:.1%}</b> of {ab.compared} frames")
        self.agreement.setToolTip(ab.note)
        self.bar.setValue(int(ab.agreement * 1000))
