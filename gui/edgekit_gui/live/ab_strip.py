"""The A/B split view under the video: A and B side by side on the same frame (top-1 and
confidence), and how often they agree."""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget


def _side(title: str, p: Any, said: tuple[str, float] | None = None) -> str:
    acc = p.accuracy
    acc_text = ("accuracy –" if acc is None or not acc.n else f"accuracy {acc.accuracy:.1%} (n={acc.n})" if acc.scored
                else "accuracy n/a (labels not the model's)")
    top = "" if said is None else f"<br><span style='font-size:15pt'><b>{escape(said[0])}</b> {said[1]:.1%}</span>"
    return (f"<b>{title}: {escape(p.name)}</b> — {escape(p.badge)}{top}<br>{p.fps.ema:.1f} FPS · inference p50 "
            f"{p.latency.p50_ms:.2f} ms · {acc_text}")


SHORT = 16  # an answer this long fits the strip's middle column beside the other


def _verdict(pair: Any) -> str:
    """Whether A and B agreed on the newest frame both ran on (with both answers when they are short:
    that frame may be older than the one on screen).

    Why not always both: a detector's answer counts every class ("4 person, 1 bicycle, 1 dog"); two of
    them wrapped the narrow middle column to five lines, and the strip grew over the video. They are
    in :func:`verdict_tip`."""
    if pair is None:
        return "no frame compared yet"
    word = "<span style='color:#2e9d4f'>✓ agree</span>" if pair.agree else "<span style='color:#d9534f'>✗ differ</span>"
    said = ("" if max(len(pair.a_label), len(pair.b_label)) > SHORT
            else f" ({escape(pair.a_label)} / {escape(pair.b_label)})")
    return f"frame #{pair.seq}: {word}{said}"


def verdict_tip(pair: Any) -> str:
    """Both answers of the compared frame, whatever their length (the verdict's tooltip)."""
    return "" if pair is None else f"frame #{pair.seq}: A {pair.a_label} / B {pair.b_label}"


class ABStrip(QWidget):
    """Hidden until readouts carry an A/B comparison."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        self.a_label, self.b_label = QLabel(), QLabel()
        middle = QVBoxLayout()
        self.agreement = QLabel("agreement –")
        self.verdict = QLabel("")
        for label in (self.a_label, self.b_label, self.verdict):  # the verdict too: it held the strip wide
            label.setWordWrap(True)
        middle.addWidget(self.verdict)
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
        pair = ab.last_frame  # the newest frame B ran on (B lags A: it runs on its own thread)
        # A's top-1 comes from the readouts of the frame on screen -- the numbers its overlay and the
        # top-5 panel show (the pair's A could be an older frame: 31 % on the video, 39.5 % here)
        self.a_label.setText(_side("A", r.predictor, r.top1))
        # B's answer in large type beside A's; a detector has no top-1 on A's side (its counts are in the
        # verdict), and its B side in 15 pt ("3 person, 1 dog, 1 bicycle (frame #686)") wrapped over the video
        b_said = None if pair is None or r.top1 is None else (
            pair.b_label + ("" if pair.seq == r.seq else f" (frame #{pair.seq})"), pair.b_confidence)
        self.b_label.setText(_side("B", ab.reference, b_said))
        self.verdict.setText(_verdict(pair))
        self.verdict.setToolTip(verdict_tip(pair))
        self.agreement.setText(f"<b>agreement {ab.agreement:.1%}</b> (n={ab.compared})")
        self.agreement.setToolTip(ab.note)
        self.bar.setValue(int(ab.agreement * 1000))
