"""Choosing evaluation/validation data: the bundled held-out digits, an image folder or list, or none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget

DEMO, FOLDER, NONE = "Bundled handwritten digits (held-out test set)", "Your images (a folder, or a list)", "None"
DATA_LISTS = "Image lists (*.csv *.txt *.json);;All files (*)"  # path,label CSV/text; a detector's COCO .json
CLASSIFIER_DATA_HINT = "a folder (one sub-folder per class) or a path,label CSV"
DETECTOR_DATA_HINT = "a YOLO folder (images/ + labels/), a COCO .json or a VOC folder"


def data_hint(model: Any) -> str:
    """The data field's hint for ``model``. Why: a detector is scored on boxes, and its user read "one
    sub-folder per class" beside YOLOX (the planner takes what ``edgekit plan --data`` takes)."""
    return DETECTOR_DATA_HINT if is_detector(model) else CLASSIFIER_DATA_HINT


class DataPicker(QWidget):
    """A kind combo plus a folder field; :func:`data_argument` turns its :meth:`spec` into the SDK's ``data=``."""

    def __init__(self, allow_none: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.kind = QComboBox()
        self.kind.addItems([DEMO, FOLDER] + ([NONE] if allow_none else []))
        self.folder = QLineEdit()
        self.folder.setPlaceholderText(CLASSIFIER_DATA_HINT)
        self.browse, self.browse_list = QPushButton("Folder…"), QPushButton("List…")
        self.browse_list.setToolTip("A path,label CSV or text list, as edgekit eval --data takes")
        row.addWidget(self.kind)
        row.addWidget(self.folder, 1)
        row.addWidget(self.browse)
        row.addWidget(self.browse_list)
        self.browse.clicked.connect(self._ask)
        self.browse_list.clicked.connect(self._ask_list)
        self.kind.currentTextChanged.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        on = self.kind.currentText() == FOLDER
        for widget in (self.folder, self.browse, self.browse_list):
            widget.setEnabled(on)

    def _ask(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Validation data folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _ask_list(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Validation data: an image list", self.folder.text(), DATA_LISTS)
        if path:
            self.folder.setText(path)

    def set_folder(self, path: str | Path) -> None:
        """Choose an image folder or list."""
        self.kind.setCurrentText(FOLDER)
        self.folder.setText(str(path))

    def describe(self) -> str:
        """What is chosen, in words."""
        return self.folder.text() if self.kind.currentText() == FOLDER else self.kind.currentText()

    def spec(self) -> tuple[str, str]:
        """``(kind, folder)``: plain values a worker can take across threads."""
        return self.kind.currentText(), self.folder.text().strip()


def data_argument(spec: tuple[str, str], detector: bool = False) -> str | None:
    """What a :meth:`DataPicker.spec` names, as the SDK's ``data=`` takes it: ``None``, the bundled
    held-out digits (``"demo-test"``; for a ``detector``, the digit scenes ``"demo-det-test"``) or the
    user's folder or list.

    Why not an opened dataset: the SDK opens a path as its model needs it (boxes from a YOLO folder
    for a detector, classes for a classifier); a YOLO folder opened here as class folders reached
    ``deploy`` as class-labelled images, which a detector cannot use, and its bundle was validated
    on noise images instead."""
    kind, folder = spec
    if kind == NONE:
        return None
    if kind == DEMO:
        return "demo-det-test" if detector else "demo-test"
    return folder


def is_detector(model: Any) -> bool:
    """``model`` is scored on boxes (its data is a YOLO/COCO/VOC set or the digit scenes)."""
    if model is None:
        return False
    from edgekit.detection.head import model_task
    from edgekit.types import Task

    return model_task(model) == Task.DETECTION
