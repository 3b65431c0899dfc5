"""The readout panel: FPS ×3, latency per stage, top-k with confidence bars, accuracy, drops, A/B."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGridLayout, QGroupBox, QLabel, QProgressBar, QVBoxLayout, QWidget

from edgekit.vision.readouts import CPU_STAGES

STAGE_NAMES = {"capture": "capture", "preprocess": "preprocess", "inference": "inference",
               "postprocess": "post-process", "render": "readouts", "end_to_end": "end to end"}
TOPK = 5


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _set_bar(bar: QProgressBar, value: int) -> None:
    """``bar.setValue(value)``, painted with the next frame instead of at once. Why: setValue repaints
    on the spot, and that repaint flushes the window's other pending paints with it (the live plots,
    ~28 ms): five top-k bars cost the GUI thread 50-60 ms at Start and 8-10 ms on some ticks."""
    if bar.value() == value:
        return
    bar.setUpdatesEnabled(False)
    bar.setValue(value)
    bar.setUpdatesEnabled(True)  # an update(): painted in the event loop with everything else


class ReadoutPanel(QWidget):
    """Shows one :class:`edgekit.vision.Readouts`; ``values`` maps a row name to its label (tests read it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: dict[str, QLabel] = {}
        self._detector: bool | None = None  # the kind of model shown (None: not running yet)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.model_label = QLabel("Not running")
        self.model_label.setWordWrap(True)
        self.model_label.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.model_label)
        fps = self._rows("Frames per second", ["capture FPS", "inference FPS", "display FPS",
                                               "captured / inferred / shown", "dropped (stale)",
                                               "dropped before inference / display"])
        fps.setToolTip("FPS now (smoothed), and in brackets the average over the last seconds shown")
        layout.addWidget(fps)
        layout.addWidget(self._rows("Latency p50 / p95 (ms)", list(STAGE_NAMES.values())))
        cpu = self._rows("CPU per frame (ms)", ["total · beyond inference", "by stage"])
        cpu.setToolTip("CPU time the pipeline's threads spend per frame shown: capture, preprocess, inference, "
                       "postprocess, draw, output. A runtime's own thread pool is not counted.")
        self.values["by stage"].setWordWrap(True)
        layout.addWidget(cpu)
        self.topk_box = self._topk_box()
        layout.addWidget(self.topk_box)
        self.accuracy_box = self._rows("Accuracy", ["truth", "accuracy", "95% interval", "precision · recall · F1"])
        layout.addWidget(self.accuracy_box)
        self.detection_box = self._rows("Detections (shown classes)", ["objects", "mAP@0.5 · 0.5:0.95", "scored on"])
        self.detection_box.setToolTip("Boxes of the classes shown at the confidence threshold set above; the running "
                                      "mAP covers only the shown classes and starts again when either changes.")
        layout.addWidget(self.detection_box)
        for name in ("truth", "accuracy", "objects", "mAP@0.5 · 0.5:0.95", "scored on"):  # long texts wrap:
            self.values[name].setWordWrap(True)  # the panel never widens past its scroll area (values cut off)
        self.source_label = QLabel("")
        self.source_label.setWordWrap(True)
        self.source_label.setStyleSheet("color: #d64545;")
        layout.addWidget(self.source_label)
        layout.addStretch(1)

    def _rows(self, title: str, names: list[str]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setContentsMargins(8, 2, 8, 2)
        form.setVerticalSpacing(1)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow: the value goes under its name
        for name in names:
            value = QLabel("–")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            form.addRow(f"{name}:", value)
            self.values[name] = value
        return box

    def _topk_box(self) -> QGroupBox:
        box = QGroupBox("Top 5 predictions")
        grid = QGridLayout(box)
        grid.setContentsMargins(8, 2, 8, 2)
        grid.setVerticalSpacing(1)
        self.topk_labels, self.topk_bars = [], []
        for i in range(TOPK):
            label, bar = QLabel("–"), QProgressBar()
            label.setMinimumWidth(90)
            bar.setRange(0, 1000)
            bar.setTextVisible(False)
            bar.setMaximumHeight(12)
            grid.addWidget(label, i, 0)
            grid.addWidget(bar, i, 1)
            self.topk_labels.append(label)
            self.topk_bars.append(bar)
        grid.setColumnStretch(1, 1)
        return box

    def _set(self, name: str, text: str) -> None:
        self.values[name].setText(text)

    def show_readouts(self, r: Any) -> None:
        """Fill every row from readouts ``r``."""
        p = r.predictor
        self.model_label.setText(f"A: {p.name} — {p.badge or 'running'}  ·  {r.source} {r.frame_size[0]}×{r.frame_size[1]}")
        for name, rate in (("capture FPS", r.capture_fps), ("inference FPS", r.inference_fps),
                           ("display FPS", r.display_fps)):
            # short enough to stay beside its name at 1280x720 ("(last 5 s: ...)" went under it)
            self._set(name, f"{rate.ema:.1f} ({r.window_s:.0f} s: {rate.window:.1f})")
        for stage, name in STAGE_NAMES.items():
            lat = r.latency.get(stage)
            self._set(name, "–" if lat is None or not lat.n else f"{lat.p50_ms:.2f} / {lat.p95_ms:.2f}")
        cpu = getattr(r, "cpu_ms", None) or {}
        if cpu:
            self._set("total · beyond inference", f"{cpu.get('total', 0.0):.2f} · {cpu.get('beyond_inference', 0.0):.2f}")
            # a no-break space inside a pair: the wrapped row breaks between stages, never "infe" / "4.84"
            self._set("by stage", "  ".join(f"{stage[:4]}\u00a0{cpu[stage]:.2f}" for stage in CPU_STAGES if stage in cpu))
        self.show_kind(r.detections is not None)
        self._show_topk(r.topk)
        self._show_accuracy(r)
        self._show_detections(r)
        self._set("captured / inferred / shown", f"{r.frames_captured} / {r.frames_inferred} / {r.frames_displayed}")
        self._set("dropped (stale)", str(r.dropped))
        self._set("dropped before inference / display", f"{r.dropped_before_inference} / {r.dropped_before_display}")
        error = f"Source problem: {r.source_error} (reopening…)" if r.source_error else ""
        self.source_label.setText(error or (f"Source reopened {r.source_reopens}×" if r.source_reopens else ""))

    def show_kind(self, detector: bool) -> None:
        """A detector's boxes and mAP, or a classifier's top-k and accuracy: not the other's empty rows
        (changed only when the kind changes: a relayout every tick would cost the GUI thread). The page
        calls it as soon as it knows the kind of the model picked (before Start and its first frame);
        each frame's readouts confirm it."""
        if detector is self._detector:
            return
        self._detector = detector
        self.detection_box.setVisible(detector)
        self.topk_box.setVisible(not detector)
        self.accuracy_box.setVisible(not detector)

    def _show_topk(self, topk: tuple) -> None:
        for i, (label, bar) in enumerate(zip(self.topk_labels, self.topk_bars)):
            if i < len(topk):
                name, conf = topk[i]
                label.setText(f"{name}  {conf:.0%}")
                _set_bar(bar, int(conf * 1000))
            else:
                label.setText("–")
                _set_bar(bar, 0)

    def _show_accuracy(self, r: Any) -> None:
        a = r.accuracy
        self._set("truth", r.truth if r.truth is not None else "unknown (choose one, or press a number key)")
        if a is None or not a.n:
            for name in ("accuracy", "95% interval", "precision · recall · F1"):
                self._set(name, "–")
            return
        if not a.scored:  # e.g. an ImageNet model on the digit stream: no frame it could answer
            self._set("accuracy", f"not scored: the {a.unknown_text()} are none of the model's classes")
            for name in ("95% interval", "precision · recall · F1"):
                self._set(name, "–")
            return
        src = "declared" if a.declared else "labels from source"
        lacking = "" if not a.unknown else f", {a.unknown} with labels the model lacks"
        self._set("accuracy", f"{_pct(a.accuracy)}  (n={a.n}, {src}{lacking})")
        self._set("95% interval", f"{_pct(a.low)} – {_pct(a.high)}")
        self._set("precision · recall · F1", f"{_pct(a.precision)} · {_pct(a.recall)} · {_pct(a.f1)}")

    def _show_detections(self, r: Any) -> None:
        """Per-class counts of the frame on screen and the running mAP (a detector on a labelled stream)."""
        if r.detections is None:
            for name in ("objects", "mAP@0.5 · 0.5:0.95", "scored on"):
                self._set(name, "–")
            return
        from edgekit.vision.detect import count_text

        self._set("objects", count_text(r.detections, most=4))
        m = r.det_map
        if m is None:
            self._set("mAP@0.5 · 0.5:0.95", "– (the source has no boxes to score against)")
            self._set("scored on", "–")
            return
        if not m.scored:  # e.g. a COCO detector on the digit stream
            self._set("mAP@0.5 · 0.5:0.95", f"not scored: the source's {m.unknown_text()} are none of the model's")
            self._set("scored on", f"0 of {m.unknown} boxes")
            return
        self._set("mAP@0.5 · 0.5:0.95", f"{_pct(m.map50)} · {_pct(m.map)}")
        shown = m.classes
        which = ("all classes" if shown is None else f"classes {', '.join(shown[:4]) or 'none'}"
                 + (f" +{len(shown) - 4}" if len(shown) > 4 else ""))
        conf = "" if m.conf is None else f", conf ≥ {m.conf:.2f}"
        lacking = "" if not m.unknown else f"; {m.unknown} boxes of classes the model lacks left out"
        self._set("scored on", f"{m.frames} frames, {m.boxes} boxes; {which}{conf}{lacking}")

    def clear(self) -> None:
        """Back to dashes."""
        self.model_label.setText("Not running")
        for value in self.values.values():
            value.setText("–")
        self._show_topk(())
        self.source_label.setText("")
