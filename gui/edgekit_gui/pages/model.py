"""Model page: open (dialog, drag-and-drop, recent, bundled), inspect, edit preprocessing/labels, convert."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from edgekit.progress import emit
from edgekit_gui import settings
from edgekit_gui.pages.base import Page, describe_event
from edgekit_gui.pages.model_detection import DetectionEditor
from edgekit_gui.pages.model_editors import LabelsEditor, PreprocessEditor
from edgekit_gui.widgets.cards import Card
from edgekit_gui.widgets.tables import fill_table, make_table

MODEL_FILTER = "Models (*.onnx *.xml *.pt *.pth *.ts);;All files (*)"


def bundled_models() -> list[str]:
    """Names the zoo hub can resolve offline (falls back to the two demo names)."""
    from edgekit.zoo import hub

    try:
        names = [a.name for a in hub.list_artifacts()]
    except Exception:  # noqa: BLE001 - a broken cache must not hide the bundled demos
        names = []
    return names or [f"demo:{m}" for m in hub.DEMO_MODELS]


def load_in_worker(source: str, progress: Any, flags: dict | None = None) -> Any:
    """Worker: ``load_model`` (+ FLOPs when the loader left them unknown); ``flags``: a saved config's
    ``card_flags``, applied as the command that saved it did."""
    from edgekit.models import count_flops
    from edgekit.models.card_options import load_with_flags

    emit(progress, "loading", str(source))
    model = load_with_flags(source, flags)  # file metadata, then the config's flags
    if not flags:
        model = restore_saved_card(model)  # then what the user set in the app
    if model.flops is None:
        model = model.replace(flops=count_flops(model))
    return model


def restore_saved_card(model: Any) -> Any:
    """``model`` with the preprocessing/labels the user applied in the app last time (keyed by the file's
    sha256), where neither the model's card nor its file metadata say otherwise."""
    from edgekit.models import Preprocess

    card = settings.saved_card(model.sha256)
    if not card:
        return model
    sources = dict(model.metadata.get("card_sources", {}))
    pre, labels = model.preprocess, model.labels
    if card.get("preprocess") and (pre is None or all(sources.get(k) == "default" for k in card["preprocess"])):
        pre = Preprocess.from_dict(card["preprocess"])
        sources.update({k: "saved in the app" for k in card["preprocess"]})
    if card.get("labels") and labels is None:
        labels = tuple(card["labels"])
        sources["labels"] = "saved in the app"
    meta = {**model.metadata, "card_sources": sources}
    if isinstance(card.get("detection"), dict):  # a detector's decoder/thresholds set on the page
        meta["card"] = {**dict(meta.get("card") or {}), "task": "detection", "detection": card["detection"]}
        from edgekit.types import Task

        return model.replace(preprocess=pre, labels=labels, metadata=meta, task=Task.DETECTION)
    return model.replace(preprocess=pre, labels=labels, metadata=meta)


def input_size(model: Any) -> tuple[int, int] | None:
    """``(height, width)`` of the model's image input, when its shape fixes them (NCHW or NHWC)."""
    spec = model.inputs[0] if model.inputs else None
    shape = tuple(spec.shape) if spec is not None else ()
    if len(shape) != 4:
        return None
    nhwc = spec.layout == "NHWC" or (spec.layout != "NCHW" and shape[3] in (1, 3) and shape[1] not in (1, 3))
    hw = shape[1:3] if nhwc else shape[2:4]
    return (int(hw[0]), int(hw[1])) if all(isinstance(d, int) and d > 0 for d in hw) else None


def detector_classes(model: Any, spec: Any) -> int | None:
    """A detector's class count: its class names (the card's, the file's, or COCO-80 for an 80-class
    head), else what the head's shape implies for its decoder (not the last dim: 4 box + 1 objectness)."""
    from edgekit.detection.head import head_classes

    return len(spec.labels) if spec.labels else head_classes(model, spec.config.decoder)


def placeholder_preprocess(model: Any, spec: Any) -> Any:
    """What the preprocessing editor shows when the card gives none: a detector's letterbox input as
    it runs (size, scale, colour order), else the defaults at the model's input size."""
    from edgekit.models import Preprocess

    if spec is not None:
        from edgekit.detection.head import as_preprocess

        return as_preprocess(spec)
    size = input_size(model)
    return Preprocess(size=size) if size else None


def convert_in_worker(model: Any, to: str, out: str, progress: Any) -> Any:
    """Worker: ``convert`` with the numeric check; returns ``(model, report)``."""
    from edgekit.models import convert

    return convert(model, to=to, out=out, check=True, progress=progress)


def describe_check(report: Any) -> str:
    """The numeric check of a ConversionReport in one sentence."""
    if report.passed is None:
        return "Numeric check skipped."
    verdict = "passed" if report.passed else "FAILED"
    agree = "" if report.top1_agreement is None else f", top-1 agreement {report.top1_agreement:.0%}"
    return (f"Numeric check {verdict}: max |diff| {report.max_abs_diff:.2e} (mean {report.mean_abs_diff:.2e}) "
            f"vs tolerance {report.tolerance:.0e} on {report.samples} samples{agree}.")


class ModelPage(Page):
    """Shows the current model and lets the user replace, edit or convert it."""

    title = "Model"

    def __init__(self, state, runner, parent: QWidget | None = None) -> None:
        super().__init__(state, runner, parent)
        self.setAcceptDrops(True)
        self._build_open_row()
        self._build_info()
        self._build_editors()
        self.pre_editor.set_value(None)  # the defaults, greyed: not spin boxes at their minimum (1x1, scale 0)
        self.pre_editor.origin.setText("Open a model to see and edit its preprocessing.")
        self._build_convert()
        self.content.addStretch(1)
        self.classes: int | None = None  # the class count the card shows (a detector's, not its last dim)
        state.model_changed.connect(self.show_model)

    def _build_open_row(self) -> None:
        row = QHBoxLayout()
        self.open_button = QPushButton("Open model file…")
        self.recent = QComboBox()
        self.recent.setMinimumWidth(260)
        self.recent.setPlaceholderText("Recent models")
        self.recent.addItems(settings.recent_models())
        self.bundled = QComboBox()
        self.bundled.addItems(bundled_models())
        self.load_bundled = QPushButton("Load bundled")
        for w in (self.open_button, QLabel("Recent:"), self.recent, QLabel("Bundled:"), self.bundled, self.load_bundled):
            row.addWidget(w)
        row.addStretch(1)
        self.content.addLayout(row)
        hint = QLabel("…or drop an ONNX, OpenVINO IR (.xml) or PyTorch (.pt) file anywhere on this page.")
        hint.setStyleSheet("color: gray;")
        self.content.addWidget(hint)
        self.open_button.clicked.connect(self._ask_file)
        self.recent.activated.connect(lambda i: self.open_model(self.recent.itemText(i)))
        self.load_bundled.clicked.connect(lambda: self.open_model(self.bundled.currentText()))

    def _build_info(self) -> None:
        grid = QGridLayout()
        self.info = Card("Model")
        grid.addWidget(self.info, 0, 0)
        box = QGroupBox("Inputs and outputs")
        self.io_table = make_table(["kind", "name", "shape", "dtype", "layout"])
        QGridLayout(box).addWidget(self.io_table)
        grid.addWidget(box, 0, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.content.addLayout(grid)

    def _build_editors(self) -> None:
        row = QHBoxLayout()
        self.pre_editor, self.labels_editor = PreprocessEditor(), LabelsEditor()
        self.labels_editor.failed.connect(self.banner.show_error)
        row.addWidget(self.pre_editor, 1)
        row.addWidget(self.labels_editor, 1)
        self.content.addLayout(row)
        self.apply_button = QPushButton("Apply preprocessing and labels")
        self.apply_button.clicked.connect(self.apply_edits)
        self.content.addWidget(self.apply_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.detection_editor = DetectionEditor()  # shown for detectors only
        self.detection_editor.setVisible(False)
        self.detection_editor.failed.connect(self.banner.show_error)
        self.detection_editor.applied.connect(self._detection_applied)
        self.content.addWidget(self.detection_editor)

    def _build_convert(self) -> None:
        box = QGroupBox("Convert (with a numeric check against the original)")
        row = QHBoxLayout(box)
        self.convert_to = QComboBox()
        self.convert_to.addItems(["onnx", "openvino"])
        self.convert_out = QLineEdit(str(Path.home() / "edgekit" / "converted"))
        browse = QPushButton("Folder…")
        self.convert_button = QPushButton("Convert")
        for w in (QLabel("To:"), self.convert_to, QLabel("Output:"), self.convert_out, browse, self.convert_button):
            row.addWidget(w)
        self.convert_result = QLabel("")
        self.convert_result.setWordWrap(True)
        self.content.addWidget(box)
        self.content.addWidget(self.convert_result)
        browse.clicked.connect(self._ask_out)
        self.convert_button.clicked.connect(self.convert)
        self._set_enabled(False)

    def _set_enabled(self, loaded: bool) -> None:
        for w in (self.apply_button, self.convert_button, self.pre_editor, self.labels_editor):
            w.setEnabled(loaded)

    # ---- opening -----------------------------------------------------------------
    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", settings.get("models/dir"), MODEL_FILTER)
        if path:
            settings.put("models/dir", str(Path(path).parent))
            self.open_model(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.open_model(urls[0])

    def open_model(self, source: str) -> None:
        """Load ``source`` (path or bundled name) in a worker; errors show on the banner."""
        if not source or self.job is not None:
            return
        self.banner.show_info(f"Loading {source}…")
        self.job = self.start_job(
            load_in_worker, source, on_result=lambda m: self._loaded(source, m),
            on_error=self.banner.show_error, on_done=self._job_done,
        )

    def _job_done(self) -> None:
        self.job = None

    def _loaded(self, source: str, model: Any) -> None:
        self.banner.show_success(f"Loaded {model.name}.")
        self.recent.clear()
        self.recent.addItems(settings.add_recent_model(source))
        self.recent.setCurrentIndex(0)  # the model just opened (first), not the "Recent models" placeholder
        self.state.set_model(model)

    # ---- showing -----------------------------------------------------------------
    def show_model(self, model: Any) -> None:
        """Fill the card, the I/O table and the editors from ``model``.

        A detector (as the Detection box recognises it: card, ONNX metadata or head shapes) shows task
        "detection" and the detector's class count (YOLOX's [1, N, 85] is 80 classes, where
        ``Model.num_classes`` reads the last dim); with no preprocessing in the card, the editor's
        placeholders follow the model's input (a detector's letterbox size and pixels)."""
        self._set_enabled(model is not None)
        if model is None:
            return
        self.detection_editor.set_model(model)
        spec = self.detection_editor.spec
        self.classes = detector_classes(model, spec) if spec is not None else model.num_classes
        mb = model.size_bytes / 2**20
        rows = (
            ("Name", model.name), ("Task", "detection" if spec is not None else str(model.task)),
            ("Format", str(model.format)), ("Precision", str(model.precision)),
            ("Path", str(model.path or "in memory")), ("Size", f"{mb:.2f} MiB"),
            ("Parameters", "unknown" if model.params is None else f"{model.params:,}"),
            ("FLOPs (batch 1)", "unknown" if model.flops is None else f"{model.flops / 1e6:,.1f} MFLOPs"),
            ("Classes", str(self.classes or "unknown")), ("sha256", model.sha256 or "–"),
        )
        for label, value in rows:
            self.info.add_row(label, value)
        io = [("input", t.name, str(list(t.shape)), t.dtype, t.layout) for t in model.inputs]
        io += [("output", t.name, str(list(t.shape)), t.dtype, t.layout) for t in model.outputs]
        fill_table(self.io_table, io)
        self._offer_conversions(str(model.format))
        sources = model.metadata.get("card_sources", {})
        assumed = spec.assumptions() if spec is not None else []
        pixels = next((a for a in assumed if a.startswith("pixels")), None)
        shown = model.preprocess
        if spec is not None and shown is not None and shown.resize != "letterbox":  # a card saved before the
            shown = dataclasses.replace(shown, resize="letterbox")  # fix said "stretch"; a detector letterboxes
        self.pre_editor.set_value(shown, sources, placeholder_preprocess(model, spec), pixels)
        if model.labels is None and spec is not None and spec.labels:  # the names the detector is shown with
            note = ("⚠ Assumed: the 80 COCO class names (none in the file or its card)"
                    if "the 80 COCO class names" in assumed
                    else f"{len(spec.labels)} from the model file's metadata")
            self.labels_editor.set_value(spec.labels, note=note)
        else:
            self.labels_editor.set_value(model.labels, sources.get("labels", "card" if model.labels else None))

    def _offer_conversions(self, fmt: str) -> None:
        from edgekit.models import supported_conversions

        targets = [b for a, b in supported_conversions() if a == fmt]
        self.convert_to.clear()
        self.convert_to.addItems(targets)
        self.convert_button.setEnabled(bool(targets))
        self.convert_button.setToolTip("" if targets else f"edgekit converts nothing from {fmt}")
        # an empty box read as broken: it says why it is empty (after a conversion to OpenVINO, say)
        self.convert_to.setPlaceholderText("" if targets else f"nothing from {fmt}")

    def apply_edits(self) -> None:
        """Make a new Model with the edited preprocessing and labels (the file is not touched)."""
        model = self.state.model
        if model is None:
            return
        try:
            pre = self.pre_editor.value()
        except (ValueError, TypeError) as exc:
            self.banner.show_error(str(exc))
            return
        labels = self.labels_editor.value()
        if labels and self.classes and model.labels is None and len(labels) != self.classes:
            self.banner.show_error(f"the model has {self.classes} classes but {len(labels)} labels were given")
            return
        sources = {**model.metadata.get("card_sources", {}), **{k: "user" for k in pre.to_dict()}}
        if labels:
            sources["labels"] = "user"
        edited = model.replace(preprocess=pre, labels=labels, metadata={**model.metadata, "card_sources": sources})
        saved = settings.saved_card(model.sha256) or {}  # keeps the detection settings saved beside them
        settings.save_card(model.sha256, {**saved, "preprocess": pre.to_dict(), "labels": list(labels or ())})
        self.state.set_model(edited)
        self.banner.show_success("Preprocessing and labels applied (the file is unchanged; the app remembers "
                                 "them for this model).")

    def _detection_applied(self, model: Any) -> None:
        saved = settings.saved_card(model.sha256) or {}
        settings.save_card(model.sha256, {**saved, "task": "detection", "detection": model.metadata["card"]["detection"]})
        self.state.set_model(model)
        self.banner.show_success("Detection settings applied (the file is unchanged; they are in the model's card "
                                 "and the app remembers them for this model).")

    # ---- converting --------------------------------------------------------------
    def _ask_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.convert_out.text())
        if folder:
            self.convert_out.setText(folder)

    def convert(self) -> None:
        """Convert the current model in a worker and show the numeric check."""
        model = self.state.model
        if model is None or self.job is not None:
            return
        to = self.convert_to.currentText()
        self.convert_result.setText(f"Converting to {to}…")
        self.job = self.start_job(
            convert_in_worker, model, to, self.convert_out.text(), on_result=self._converted,
            on_progress=lambda event: self.convert_result.setText(f"{describe_event(event)}…"),
            on_error=self._convert_failed, on_done=self._job_done,
        )

    def _convert_failed(self, exc: BaseException) -> None:
        self.convert_result.setText("")
        self.banner.show_error(exc)

    def _converted(self, result: tuple[Any, Any]) -> None:
        new_model, report = result
        self.convert_result.setText(f"Wrote {new_model.path} in {report.seconds:.1f} s.\n{describe_check(report)}")
        # the check's verdict in the banner: below the Convert row it was out of view at 1280x720
        check = ("numeric check skipped" if report.passed is None
                 else f"numeric check passed: max |diff| {report.max_abs_diff:.1e}")
        self.banner.show_success(f"Converted to {new_model.format} ({check}); the new model is now current.")
        self.state.set_model(new_model)
