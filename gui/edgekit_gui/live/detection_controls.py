"""The Live demo's detector controls: a confidence slider and a class filter.

They describe what the viewer sees, not how the model runs: the page hands
their values to the running pipeline (:meth:`edgekit.vision.LivePipeline.set_detection_view`,
two attribute assignments, so the GUI thread never waits) and they ride in the
run's :class:`edgekit.vision.config.LiveConfig` (``conf``, ``classes``), so
"Save as live.yaml…" and ``edgekit run live.yaml`` replay them. For a classifier
they are disabled and their tooltip says why.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

LOW, HIGH = 5, 95  # the slider's range in hundredths: 0.05 .. 0.95
FILTER_FROM = 12  # labels from which the quick filter box shows (YOLO models have 80)
MAP_NOTE = ("The counts and the running mAP cover the shown classes only (ground truth of hidden classes "
            "is not counted as missed); the mAP starts again whenever the threshold or the filter changes.")


def describe_detector(model: Any) -> tuple[tuple[str, ...], float] | None:
    """``(labels, card confidence)`` of a detector (a ``Model`` or a plan ``Candidate``); ``None`` for a
    classifier. Reads a card and at most an ONNX header: cheap for a ``Model``; a name is loaded
    (run that in a worker)."""
    from edgekit.detection.head import detector_spec, model_task
    from edgekit.models import Model, load_model
    from edgekit.types import Task

    if hasattr(model, "key") and hasattr(model, "model"):  # a plan Candidate
        model = model.model_obj if model.model_obj is not None else Model.from_dict(model.model)
    elif isinstance(model, str):
        model = load_model(model)
    if model_task(model) != Task.DETECTION:
        return None
    spec = detector_spec(model)
    return tuple(str(x) for x in spec.labels or ()), float(spec.config.conf)


class DetectionControls(QWidget):
    """Confidence slider (0.05..0.95, with its value) and a checkable class list with a quick filter.

    ``changed`` fires on every change; :meth:`conf` and :meth:`classes` give the values
    (``None``: the card's threshold / every class).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(LOW, HIGH)
        self.slider.setFixedWidth(150)
        self.value = QLabel("0.30")
        self.value.setMinimumWidth(32)
        self.classes_button = QToolButton()
        self.classes_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.classes_button.setMenu(self._class_menu())
        self.title = QLabel("Boxes: confidence ≥")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.title, self.slider, self.value, QLabel("classes:"), self.classes_button):
            row.addWidget(w)
        row.addStretch(1)
        self.default_conf = 0.3
        self.detector = False
        self.slider.valueChanged.connect(self._slid)
        self.list.itemChanged.connect(self._ticked)
        self.set_detector(None, "Choose a model")

    def _class_menu(self) -> QMenu:
        """A drop-down holding a filter box, All/None and the checkable list."""
        panel = QWidget()
        column = QVBoxLayout(panel)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter classes…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search)
        self.all_button, self.none_button = QPushButton("All"), QPushButton("None")
        self.all_button.clicked.connect(lambda: self._check_all(True))
        self.none_button.clicked.connect(lambda: self._check_all(False))
        buttons = QHBoxLayout()
        buttons.addWidget(self.all_button)
        buttons.addWidget(self.none_button)
        self.list = QListWidget()
        self.list.setMinimumHeight(220)
        self.note = QLabel(MAP_NOTE)
        self.note.setWordWrap(True)
        column.addWidget(self.search)
        column.addLayout(buttons)
        column.addWidget(self.list)
        column.addWidget(self.note)
        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(panel)
        menu.addAction(action)
        return menu

    # ---- what the page sets --------------------------------------------------------------------
    def set_detector(self, labels: tuple[str, ...] | None, reason: str = "") -> None:
        """Offer ``labels`` (all ticked); ``None``: disabled, ``reason`` in the tooltip."""
        self.list.blockSignals(True)
        self.list.clear()
        for name in labels or ():
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.search.clear()
        self.search.setVisible(len(labels or ()) >= FILTER_FROM)
        self.detector = labels is not None
        self.setEnabled(self.detector)
        self.setToolTip(reason if labels is None else
                        "Applies to the next frames while the demo runs. " + MAP_NOTE)
        self._caption()

    def set_default_conf(self, conf: float) -> None:
        """Move the slider to the card's threshold (clamped to 0.05..0.95)."""
        self.default_conf = conf
        self.slider.setValue(min(HIGH, max(LOW, round(conf * 100))))
        self._slid(self.slider.value())

    def set_values(self, conf: float | None, classes: tuple[str, ...] | None) -> None:
        """Show saved values (``None``: the card's threshold / all classes)."""
        if conf is None:
            self.set_default_conf(self.default_conf)
        else:
            self.slider.setValue(round(conf * 100))
        wanted = None if classes is None else set(classes)
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            on = wanted is None or item.text() in wanted
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._caption()
        self.changed.emit()

    # ---- values --------------------------------------------------------------------------------
    def labels(self) -> tuple[str, ...]:
        """Every class offered (ticked or not)."""
        return tuple(self.list.item(i).text() for i in range(self.list.count()))

    def conf(self) -> float | None:
        """The threshold shown (``None`` while disabled: the card's)."""
        return self.slider.value() / 100 if self.detector else None

    def classes(self) -> tuple[str, ...] | None:
        """The ticked class names; ``None`` when every class is ticked (or while disabled)."""
        if not self.detector:
            return None
        ticked = tuple(self.list.item(i).text() for i in range(self.list.count())
                       if self.list.item(i).checkState() == Qt.CheckState.Checked)
        return None if len(ticked) == self.list.count() else ticked

    # ---- reactions -----------------------------------------------------------------------------
    def _slid(self, value: int) -> None:
        self.value.setText(f"{value / 100:.2f}")
        self.changed.emit()

    def _ticked(self, _item: QListWidgetItem) -> None:
        self._caption()
        self.changed.emit()

    def _check_all(self, on: bool) -> None:
        """Tick (or untick) every class the filter box leaves visible."""
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            if not item.isHidden():
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._caption()
        self.changed.emit()

    def _search(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            self.list.item(i).setHidden(bool(needle) and needle not in self.list.item(i).text().lower())

    def _caption(self) -> None:
        """``All 10 classes`` / ``2 of 10: 3, 7`` on the drop-down button."""
        total = self.list.count()
        shown = self.classes()
        if not total:
            text = "–"
        elif shown is None:
            text = f"All {total} classes"
        elif not shown:
            text = f"None of {total}"
        else:
            names = ", ".join(shown[:3]) + ("…" if len(shown) > 3 else "")
            text = f"{len(shown)} of {total}: {names}"
        self.classes_button.setText(text)
