"""The Live demo's pickers: frame source, and model + backend (for A and for B)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QPushButton, QWidget

from edgekit.backends import list_backends
from edgekit.vision.sources import STREAM_SCHEMES, is_stream_url
from edgekit.vision.sources.camera import redact_url

DEMO, VIDEO, FOLDER = "Demo digits (labelled)", "Video, image or image list…", "Image folder…"
URL_DIALOG_WIDTH = 560  # px: rtsp://user:password@camera.local:554/stream1 fits its field whole
STREAM = "Network stream (RTSP/HTTP URL)…"  # an IP camera, as `edgekit demo --source rtsp://...` opens it
_ASK_URL = f"Stream URL ({', '.join(STREAM_SCHEMES)}):"  # what open_source opens as a stream
# a path,label list (what `edgekit eval --data` takes) plays as labelled frames: a running accuracy on one's own photos
_FILES = ("Video, image, path,label list or COCO boxes (*.mp4 *.avi *.mkv *.mov *.webm *.jpg *.jpeg *.png *.bmp *.webp "
          "*.csv *.tsv *.txt *.json);;All (*)")
SPEEDS = {"Camera-like, 30 FPS": 30.0, "Full speed": None}
BUNDLED = ("demo:digits", "demo:digits-mnv2", "demo:digits-det")
OPEN_MODEL = "Model file…"  # any model file, as `edgekit demo --compare FILE` takes one
MODEL_FILES = "Models (*.onnx *.xml *.pt *.pth *.ts);;All (*)"


def compact(combo: QComboBox, chars: int) -> None:
    """Let ``combo`` shrink to ``chars`` characters (long entries elide; the popup shows them
    whole) instead of growing to its longest entry, which pushed the page past 1024 px."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)


def _row(owner: QWidget, *widgets: QWidget) -> None:
    """Lay ``widgets`` out left to right in ``owner``, without margins."""
    row = QHBoxLayout(owner)
    row.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        row.addWidget(w)


class SourcePicker(QWidget):
    """Cameras found, demo stream, a video file or a folder. :meth:`spec` gives ``open_source`` text."""

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        compact(self.combo, 20)  # "Demo digits (labelled)" whole; the page still fits 1024 px
        self.speed = QComboBox()
        self.speed.addItems(list(SPEEDS))
        self.rescan = QPushButton("Find cameras")
        _row(self, QLabel("Source:"), self.combo, self.speed, self.rescan)
        self.set_cameras([])
        self.combo.activated.connect(self._picked)
        self.combo.currentIndexChanged.connect(lambda _: self._sync_speed())
        self._sync_speed()

    def _sync_speed(self) -> None:
        """A stream sends at its own rate: the pace choice is off for it (it read as if it applied)."""
        stream = is_stream_url(str(self.spec()))
        self.speed.setEnabled(not stream)
        self.speed.setToolTip("A network stream sends frames at its own rate" if stream else
                              "Pace of the demo stream, a video or a folder; the rate asked of a camera")

    def set_cameras(self, cameras: list[Any]) -> None:
        """Offer the demo stream, each camera found, a file and a folder."""
        current = self.spec()
        current = current if isinstance(current, str) else "demo"
        self.combo.clear()
        self.combo.addItem(DEMO, "demo")
        for cam in cameras:
            self.combo.addItem(f"Camera {cam.index}: {cam.name}", str(cam.index))
        self.combo.addItem(STREAM, "")
        self.combo.addItem(VIDEO, "")
        self.combo.addItem(FOLDER, "")
        self.select(current)

    def _ask_url(self) -> str:
        """A stream URL typed by the user ('' when cancelled); asked again, saying why, until it is one."""
        label, url = _ASK_URL, ""
        while True:
            url, ok = ask_text(self, "Network stream", label, url)
            url = url.strip()
            if not ok or not url:
                return ""
            if is_stream_url(url):
                return url
            hint = "" if "://" in url else f" (rtsp://{url} or http://{url}?)"  # a camera's address typed bare
            label = f"{url!r} is not a stream URL{hint}.\n{_ASK_URL}"

    def _picked(self, index: int) -> None:
        text = self.combo.itemText(index)
        if text == STREAM:
            url = self._ask_url()
            if not url:
                self.combo.setCurrentIndex(0)
                return
            self.select(url)
        elif text in (VIDEO, FOLDER):
            path = (QFileDialog.getOpenFileName(self, "Video, image or image list", "", _FILES)[0]
                    if text == VIDEO else QFileDialog.getExistingDirectory(self, "Image folder"))
            if not path:
                self.combo.setCurrentIndex(0)
                return
            self.select(path)
        self.changed.emit(self.spec())

    def select(self, spec: str) -> None:
        """Choose the entry for ``spec`` (adding a file/folder entry when needed)."""
        for i in range(self.combo.count()):
            if self.combo.itemData(i) == spec and spec:
                self.combo.setCurrentIndex(i)
                return
        if spec and spec != "demo" and not spec.isdigit():  # before the three "…" entries
            shown = redact_url(spec) if is_stream_url(spec) else spec  # a camera's password stays off the screen
            self.combo.insertItem(self.combo.count() - 3, shown, spec)
            self.combo.setCurrentIndex(self.combo.count() - 4)
        else:
            self.combo.setCurrentIndex(0)

    def add_source(self, source: Any, name: str) -> None:
        """Offer a ready-made FrameSource (e.g. from a plugin or a test) and select it."""
        self.combo.insertItem(0, name, source)
        self.combo.setCurrentIndex(0)

    def spec(self) -> Any:
        """``open_source`` text for the current entry (or a FrameSource object added with add_source)."""
        data = self.combo.currentData() if self.combo.count() else "demo"
        return data if data and not isinstance(data, str) else str(data or "demo")

    def fps(self) -> float | None:
        """Pace for generated/file sources, the rate asked of a camera (None = as fast as the model
        runs, or a stream's own rate)."""
        return None if is_stream_url(str(self.spec())) else SPEEDS[self.speed.currentText()]


class PredictorPicker(QWidget):
    """A model (plan choice, current model, bundled demos, a model file) and a backend.

    Why a file: the reference of an A/B is often another file (the FP32 original beside its INT8
    bundle, YOLOv8n beside YOLOX), which ``edgekit demo --compare FILE`` took and the app did not."""

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QComboBox()
        compact(self.model, 14)
        self.backend = QComboBox()
        self.backend.addItems(["auto", *list_backends()])
        self.files: list[str] = []  # model files picked here, offered again after a refresh
        _row(self, QLabel(label), self.model, QLabel("on"), self.backend)
        self.model.activated.connect(self._picked)
        self.refresh(None, None)

    def refresh(self, current: Any, choice: Any, prefer: str = "") -> None:
        """Offer the plan choice, the current model, the bundled demos and the files picked; select
        the first entry starting with ``prefer`` (else the first entry)."""
        self.model.clear()
        if choice is not None:
            self.model.addItem(f"Plan choice: {choice.key}", choice)
        if current is not None:
            self.model.addItem(f"Current model: {current.name}", current)
        for name in BUNDLED:
            self.model.addItem(name, name)
        for path in self.files:
            self.model.addItem(Path(path).name, path)
        self.model.addItem(OPEN_MODEL, None)
        index = next((i for i in range(self.model.count()) if prefer and self.model.itemText(i).startswith(prefer)), 0)
        self.model.setCurrentIndex(index)

    def _picked(self, index: int) -> None:
        if self.model.itemText(index) != OPEN_MODEL:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Model file", "", MODEL_FILES)
        if path:
            self.add_file(path)
        else:
            self.model.setCurrentIndex(0)  # never left on the "Model file…" entry itself

    def add_file(self, path: str) -> None:
        """Offer ``path`` (a model file) and select it."""
        if path not in self.files:
            self.files.append(path)
            self.model.insertItem(self.model.count() - 1, Path(path).name, path)
        self.model.setCurrentIndex(self.model.findData(path))
        self.model.setToolTip(path)

    def choice(self) -> tuple[Any, str]:
        """The picked model (a plan candidate, a ``Model`` or a name) and backend."""
        return self.model.currentData(), self.backend.currentText()


def ask_text(parent: QWidget, title: str, label: str, text: str = "") -> tuple[str, bool]:
    """``QInputDialog.getText``, wide enough for a stream URL: ``(text, accepted)``.

    Why: the static dialog opened 382 px wide, and a camera's URL with its user, password, port and
    path scrolled out of its field while it was typed."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setTextValue(text)
    dialog.resize(max(dialog.sizeHint().width(), URL_DIALOG_WIDTH), dialog.sizeHint().height())
    accepted = dialog.exec() == QInputDialog.DialogCode.Accepted
    value = dialog.textValue()
    dialog.deleteLater()
    return value, accepted
