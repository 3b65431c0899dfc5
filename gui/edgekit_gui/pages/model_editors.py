"""Editors on the Model page: preprocessing (size, mean/std, colour order...) and class labels."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

RESIZES = (
    ("stretch", "stretch", "Resize to the input size, ignoring the aspect ratio"),
    ("shorter-crop", "center_crop", ("Resize the shorter side, then cut the centre (ImageNet's habit; "
                                     "stored in a card as center_crop)")),
    ("letterbox", "letterbox", "Fit inside the input size, padded with grey (detectors' habit)"),
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
        for text, value, tip in RESIZES:  # in the CLI's words (--resize), the card's value as the data
            self.resize.addItem(text, value)
            self.resize.setItemData(self.resize.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.layout_box.addItems(["NCHW", "NHWC"])
        form.addRow("Channel order:", self.channel_order)
        form.addRow("Resize:", self.resize)
        form.addRow("Layout:", self.layout_box)
        self.imagenet = QPushButton("ImageNet's values")
        self.imagenet.setToolTip("Fill in what most ImageNet classifiers (torchvision, timm, the ONNX Model Zoo) "
                                 "expect: RGB in 0..1, mean 0.485 0.456 0.406, std 0.229 0.224 0.225, shorter "
                                 "side resized then the centre cropped (--assume-defaults on the command line). "
                                 "The size stays; nothing changes until you apply.")
        self.imagenet.clicked.connect(self.fill_imagenet)
        form.addRow(self.imagenet)
        self._crop_ratio: float | None = None  # not edited here: kept from the shown value, not reset
        self._scale: float | None = None  # the exact scale shown: the box rounds 1/255 to 0.003922
        self.origin = QLabel()
        self.origin.setWordWrap(True)
        self.origin.setObjectName("origin")
        form.addRow(self.origin)

    def set_value(self, pre: Any, sources: dict | None = None, placeholder: Any = None,
                  assumed: str | None = None) -> None:
        """Show ``pre`` and where its values came from (``sources``: field -> "card", "user", ...).

        With ``pre=None`` the fields hold placeholders (``placeholder``, a Preprocess the page derives
        from the model, e.g. its input size; else the defaults) and a warning says nothing is known yet;
        ``assumed``: what the placeholders are when edgekit runs the model on them (a detector's
        convention, "pixels BGR 0..255 (the yolox convention)"), which the warning then names.
        """
        from edgekit.models import Preprocess

        if pre is None and assumed:
            self.origin.setText(f"⚠ Not stated in the file or its card: edgekit runs it on {assumed}, as shown. "
                                "Correct them and apply (or save a card with `edgekit card MODEL ... --save`).")
        elif pre is None:
            self.origin.setText("⚠ Not known: these are placeholders. Set the model's real values and apply "
                                "(or save a card with `edgekit card MODEL ... --save`).")
        else:
            by_origin: dict[str, list[str]] = {}
            for field, origin in (sources or {}).items():
                if field != "labels":
                    by_origin.setdefault(origin, []).append(field)
            self.origin.setText("From: " + "; ".join(f"{o}: {', '.join(f)}" for o, f in by_origin.items())
                                if by_origin else "From: the model card")
        pre = pre or placeholder or Preprocess()
        self.height.setValue(pre.size[0])
        self.width.setValue(pre.size[1])
        self.mean.setText(" ".join(f"{v:g}" for v in pre.mean))
        self.std.setText(" ".join(f"{v:g}" for v in pre.std))
        self.scale.setValue(pre.scale)
        self.channel_order.setCurrentText(pre.channel_order)
        self.resize.setCurrentIndex(max(0, self.resize.findData(pre.resize)))
        self.layout_box.setCurrentText(pre.layout)
        self._crop_ratio, self._scale = pre.crop_ratio, pre.scale

    def _exact_scale(self) -> float:
        """The box's scale, or the exact one it shows rounded (an untouched 1/255 stays 1/255, as the
        CLI and a card have it, rather than turning into 0.003922 at every edit of another field)."""
        shown = self.scale.value()
        if self._scale is not None and shown == round(self._scale, self.scale.decimals()):
            return self._scale
        return shown

    def fill_imagenet(self) -> None:
        """ImageNet's preprocessing in the fields (the size kept), to be applied by the page."""
        from edgekit.models.card_options import IMAGENET

        self.mean.setText(" ".join(f"{v:g}" for v in IMAGENET["mean"]))
        self.std.setText(" ".join(f"{v:g}" for v in IMAGENET["std"]))
        self.scale.setValue(IMAGENET["scale"])
        self._scale = IMAGENET["scale"]
        self.channel_order.setCurrentText(IMAGENET["channel_order"])
        self.resize.setCurrentIndex(self.resize.findData(IMAGENET["resize"]))
        self._crop_ratio = IMAGENET["crop_ratio"]
        self.origin.setText("ImageNet's values, not applied yet: check them against the model's documentation, "
                            "then apply.")

    def value(self) -> Any:
        """A new Preprocess from the fields. Raises ValueError naming the bad field."""
        from edgekit.models import Preprocess

        return Preprocess(
            size=(self.height.value(), self.width.value()),
            mean=_floats(self.mean.text(), "Mean"),
            std=_floats(self.std.text(), "Std"),
            scale=self._exact_scale(),
            channel_order=self.channel_order.currentText(),
            resize=self.resize.currentData(),
            layout=self.layout_box.currentText(),
            **({} if self._crop_ratio is None else {"crop_ratio": self._crop_ratio}),
        )


class LabelsEditor(QGroupBox):
    """Class names, one per line (line number = class id); ``failed`` carries a bad labels file's sentence."""

    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Labels (one per line)", parent)
        layout = QVBoxLayout(self)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("cat\ndog\n…")
        layout.addWidget(self.text)
        row = QHBoxLayout()
        self.load_button = QPushButton("Load labels…")
        self.load_button.setToolTip("Read class names from a .txt (one per line), .csv (index,name) or .json list")
        self.load_button.clicked.connect(self._ask_file)
        self.origin = QLabel()
        row.addWidget(self.load_button)
        row.addWidget(self.origin, 1)
        layout.addLayout(row)
        self.error = ""

    def set_value(self, labels: tuple[str, ...] | None, origin: str | None = None, note: str | None = None) -> None:
        """Show ``labels`` and where they came from (``note``: a whole sentence instead, e.g. that they are
        assumed)."""
        self.text.setPlainText("\n".join(labels or ()))
        self.origin.setText(note or (f"{len(labels)} from: {origin}" if labels and origin else ""))

    def load_file(self, path: str) -> bool:
        """Fill the editor from a labels file; on a bad file keep the text and set ``error``."""
        from edgekit.errors import EdgekitError
        from edgekit.models.card_options import read_labels

        try:
            labels = read_labels(path)
        except EdgekitError as exc:
            self.error = str(exc)
            self.failed.emit(self.error)
            return False
        self.error = ""
        self.set_value(labels, path.rsplit("/", 1)[-1])
        return True

    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load labels", "", "Labels (*.txt *.csv *.tsv *.json)")
        if path:
            self.load_file(path)

    def value(self) -> tuple[str, ...] | None:
        """The labels typed, or None when empty."""
        lines = [line.strip() for line in self.text.toPlainText().splitlines() if line.strip()]
        return tuple(lines) or None
