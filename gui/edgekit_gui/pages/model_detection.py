"""Model page: a detector's task, decoder and thresholds, editable and kept in the model's card.

Shown only for detection models (card task, ONNX metadata or head shapes, as
:func:`edgekit.detection.head.model_task` decides). "Apply" writes the values into
the model's card (``metadata["card"]["detection"]``: what eval, deploy, the live demo
and the planner read through :func:`~edgekit.detection.head.detector_spec`) and the
app remembers them for this file (by sha256), like the preprocessing edits.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QPushButton, QSpinBox

from edgekit.errors import EdgekitError

DECODERS = ("ultralytics", "yolov5", "yolox", "nms")


class DetectionEditor(QGroupBox):
    """Task, decoder, confidence, NMS IoU and max boxes of a detector; ``applied`` carries the new Model."""

    applied = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__("Detection", parent)
        form = QFormLayout(self)
        self.task = QLabel("–")
        self.decoder = QComboBox()
        self.decoder.addItems(DECODERS)
        self.conf, self.iou = _spin(0.0, 1.0, 0.25), _spin(0.0, 1.0, 0.45)
        self.conf.setToolTip("Boxes scoring below this are dropped (live demo, deploy; eval uses 0.001)")
        self.iou.setToolTip("Non-maximum suppression: boxes of one class overlapping more than this are merged")
        self.max_det = QSpinBox()
        self.max_det.setRange(1, 10000)
        self.source = QLabel("")
        self.source.setStyleSheet("color: gray;")
        self.apply_button = QPushButton("Apply detection settings")
        for label, widget in (("Task", self.task), ("Decoder", self.decoder), ("Confidence", self.conf),
                              ("NMS IoU", self.iou), ("Max boxes", self.max_det), ("", self.source),
                              ("", self.apply_button)):
            form.addRow(label, widget)
        self.apply_button.clicked.connect(self.apply)
        self.model: Any = None
        self.spec: Any = None  # the DetectorSpec of the model shown (None: no detector)

    def set_model(self, model: Any) -> bool:
        """Show ``model``'s detector settings; hidden (and ``False``) for a model that is no detector."""
        from edgekit.detection.head import detector_spec, model_task
        from edgekit.types import Task

        self.model = model
        try:
            spec = detector_spec(model) if model is not None and model_task(model) == Task.DETECTION else None
        except EdgekitError:
            spec = None
        self.spec = spec
        self.setVisible(spec is not None)
        if spec is None:
            return False
        c = spec.config
        self.task.setText("detection")
        self.decoder.setCurrentText(c.decoder)
        self.conf.setValue(c.conf)
        self.iou.setValue(c.iou)
        self.max_det.setValue(c.max_det)
        self.source.setText(f"decoder from the {dict(spec.sources).get('decoder', 'card')}")
        return True

    def values(self) -> dict:
        """The ``detection`` object of the card as edited."""
        return {"decoder": self.decoder.currentText(), "conf": round(self.conf.value(), 4),
                "iou": round(self.iou.value(), 4), "max_det": int(self.max_det.value())}

    def apply(self) -> None:
        """A new Model whose card holds the edited settings (checked by decoding the card once)."""
        from edgekit.detection.head import detector_spec
        from edgekit.types import Task

        if self.model is None:
            return
        card = dict(self.model.metadata.get("card") or {})
        card.update(task="detection", detection={**dict(card.get("detection") or {}), **self.values()})
        edited = self.model.replace(task=Task.DETECTION, metadata={**self.model.metadata, "card": card})
        try:
            detector_spec(edited)
        except EdgekitError as exc:
            self.failed.emit(str(exc))
            return
        self.model = edited
        self.applied.emit(edited)


def _spin(lo: float, hi: float, value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(3)
    box.setSingleStep(0.05)
    box.setValue(value)
    return box
