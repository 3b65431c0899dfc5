"""The plan settings form: budgets, objective, methods, timing, validation data, cache."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from edgekit_gui.widgets.data_picker import CLASSIFIER_DATA_HINT, DATA_LISTS, FOLDER

DEMO_DATA = "Bundled held-out digits (demo models)"
FOLDER_DATA = FOLDER  # your images: a folder, or a list


def _spin(maximum: float, value: float, suffix: str, special: str = "", step: float = 1.0) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, maximum)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setSuffix(suffix)
    if special:
        spin.setSpecialValueText(special)
    return spin


class PlanSettings(QGroupBox):
    """Builds the :class:`edgekit.planner.PlanConfig` of a plan from the fields."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Budget and settings", parent)
        from edgekit.planner.config import DEFAULT_METHODS, METHODS, OBJECTIVES

        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow column puts fields under labels
        self.max_drop = _spin(50.0, 1.0, " points", step=0.5)
        self.max_drop.setToolTip("Largest top-1 accuracy drop allowed versus FP32 (1 point = 1 %); "
                                 "for a detector, mAP@0.5:0.95 points")
        self.latency = _spin(100000.0, 0.0, " ms", "target's default")
        self.size = _spin(100000.0, 0.0, " MB", "target's default")
        self.objective = QComboBox()
        self.objective.addItems(list(OBJECTIVES))
        form.addRow("Accuracy budget (max drop):", self.max_drop)
        form.addRow("Latency budget (p50):", self.latency)
        form.addRow("Model size budget:", self.size)
        form.addRow("Objective:", self.objective)
        methods = QGridLayout()
        self.methods = {m: QCheckBox(m) for m in METHODS}
        for i, (m, box) in enumerate(self.methods.items()):
            box.setChecked(m in DEFAULT_METHODS)
            methods.addWidget(box, i // 3, i % 3)
        form.addRow("Methods to try:", methods)
        self.seconds = _spin(60.0, 1.0, " s per candidate", step=0.5)
        self.seconds.setMinimum(0.1)
        form.addRow("Benchmark time:", self.seconds)
        self.data_kind = QComboBox()
        self.data_kind.addItems([DEMO_DATA, FOLDER_DATA])
        form.addRow("Validation data:", self.data_kind)
        data = QHBoxLayout()
        self.data_folder = QLineEdit()
        self.data_folder.setPlaceholderText(CLASSIFIER_DATA_HINT)
        browse, browse_list = QPushButton("Folder…"), QPushButton("List…")
        browse_list.setToolTip("A path,label CSV or text list (as edgekit eval --data takes), or a detector's "
                               "COCO .json")
        data.addWidget(self.data_folder, 1)
        data.addWidget(browse)
        data.addWidget(browse_list)
        form.addRow("", data)
        self.cache = QCheckBox("Reuse a cached result")
        self.cache.setToolTip("A plan of the same model, on the same hardware, with the same settings is reused")
        self.cache.setChecked(True)
        form.addRow("", self.cache)
        browse.clicked.connect(self._ask)
        browse_list.clicked.connect(self._ask_list)
        self.data_kind.currentTextChanged.connect(lambda t: self.data_folder.setEnabled(t == FOLDER_DATA))
        self.data_folder.setEnabled(False)

    def _ask(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Validation data", self.data_folder.text())
        if folder:
            self.set_folder(folder)

    def _ask_list(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Validation data: an image list", self.data_folder.text(),
                                              DATA_LISTS)
        if path:
            self.set_folder(path)

    def set_folder(self, folder: str) -> None:
        """Use an image folder, or a list of images (``path,label`` CSV, COCO .json), as validation data."""
        self.data_kind.setCurrentText(FOLDER_DATA)
        self.data_folder.setText(str(folder))

    def config(self, model: str, target: str) -> Any:
        """The :class:`edgekit.planner.PlanConfig` these fields describe, for ``model`` on ``target``
        (the same object ``edgekit plan`` builds from its flags).

        Raises:
            ConfigError / DataError: a value the planner would refuse, in its words.
        """
        from edgekit.planner import PlanConfig

        folder = self.data_folder.text().strip() if self.data_kind.currentText() == FOLDER_DATA else ""
        return PlanConfig(
            model=model,
            target=target,
            data=folder or None,
            max_accuracy_drop=self.max_drop.value() / 100.0,
            latency_budget_ms=self.latency.value() or None,
            max_model_mb=self.size.value() or None,
            objective=self.objective.currentText(),
            methods=tuple(m for m, b in self.methods.items() if b.isChecked()),
            seconds=self.seconds.value(),
            cache=self.cache.isChecked(),
        )

    def set_config(self, config: Any) -> None:
        """Fill the fields from a :class:`PlanConfig` (e.g. one loaded from a plan YAML)."""
        self.max_drop.setValue(100.0 * config.max_accuracy_drop)
        self.latency.setValue(config.latency_budget_ms or 0.0)
        self.size.setValue(config.max_model_mb or 0.0)
        self.objective.setCurrentText(config.objective)
        for m, box in self.methods.items():
            box.setChecked(m in config.methods)
        self.seconds.setValue(config.seconds)
        self.cache.setChecked(config.cache)
        if config.data and not config.data.startswith("demo"):
            self.set_folder(config.data)
        else:
            self.data_kind.setCurrentText(DEMO_DATA)
