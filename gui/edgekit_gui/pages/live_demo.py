"""Live demo page: a model on a camera, video, folder or the demo stream, with honest readouts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from edgekit._text import first_few
from edgekit.errors import EdgekitError
from edgekit.vision.sources.camera import redact_url
from edgekit_gui import _busy, settings
from edgekit_gui.live.ab_strip import ABStrip
from edgekit_gui.live.bridge import FrameBridge
from edgekit_gui.live.capture import Recording, save_snapshot
from edgekit_gui.live.controls import PredictorPicker, SourcePicker, compact
from edgekit_gui.live.detection_controls import DetectionControls, describe_detector
from edgekit_gui.live.follow import FrameFollower
from edgekit_gui.live.plots import LivePlots
from edgekit_gui.live.readout_panel import ReadoutPanel
from edgekit_gui.live.session import start_pipeline, stop_pipeline
from edgekit_gui.live.video_view import VideoView
from edgekit_gui.pages.base import Page

FROM_SOURCE = "(from source)"  # the source's own labels; short enough to show whole
UI_INTERVAL_MS = 100  # readouts refresh at 10 Hz; frames show as they come (newest wins, <= 60 Hz)
RECORD_FPS = 30.0  # the recording's frame clock; frames are repeated or skipped by their arrival time
PLOT_EVERY = 5  # plots redraw every 5th refresh (2 Hz): a redraw of two plots costs the GUI thread most


def describe_model(model: Any, progress: Any) -> tuple[Any, Any]:
    """Worker: ``(model, (labels, card conf) or None)``; a name is loaded and an ONNX file may be read."""
    return model, describe_detector(model)


def _same(a: Any, b: Any) -> bool:
    """The same model pick: equal names, or the very same ``Model``/candidate object (their ``==``
    would compare arrays)."""
    return a == b if isinstance(a, str) and isinstance(b, str) else a is b


# where list_cameras looks (edgekit.vision.sources.camera): Linux lists V4L2 nodes, elsewhere indices are tried
NO_CAMERA_HINT = ("no /dev/video* capture device" if sys.platform.startswith("linux")
                  else "no camera answered at indices 0-8")


def find_cameras(progress: Any, cancel: Any) -> list:
    """Worker: cameras on this machine (none here is normal), probed in a child process
    (:mod:`edgekit_gui.child_call`): importing OpenCV here held the GIL and stalled the window
    on the first opening of this page."""
    from edgekit_gui.child_call import call_in_child

    return call_in_child("edgekit.vision:list_cameras", cancel=cancel)


class LiveDemoPage(Page):
    """Runs :class:`edgekit.vision.LivePipeline` and shows its frames and :class:`Readouts`."""

    title = "Live demo"
    scrolls = False
    presentation_toggled = Signal(bool)

    def __init__(self, state, runner, parent: QWidget | None = None) -> None:
        super().__init__(state, runner, parent)
        self.pipe: Any = None
        self.stopping: set = set()  # pipelines whose stop runs in a worker
        self.latest: Any = None
        self.frames_received = self._ticks = 0
        self.presenting = False
        self.recording = Recording()
        self.snapshot_dir = Path(settings.get("live/snapshots", str(Path.home() / "edgekit" / "snapshots")))
        # <= ~60 frames/s reach the GUI, the rate the view paints: the follower takes the pipeline's newest
        # frame at most every 16.7 ms and the bridge's cool-down (8 ms + drawing + the event loop's latency) is
        # shorter, so a frame taken is drawn and scaled on the follower's thread, not waiting for the GUI's
        self.bridge = FrameBridge(self, prepare=self._fit, min_interval_ms=8)
        self.follower: FrameFollower | None = None
        self.bridge.delivered.connect(self._show_frame)
        self._build_controls()
        self._build_views()
        self.timer = QTimer(self)
        self.timer.setInterval(UI_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        state.model_changed.connect(lambda *_: self._refresh_models())
        state.choice_changed.connect(lambda *_: self._refresh_models())
        self._refresh_models()
        self._set_running(False)
        self._cameras_found = False

    # ---- layout --------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.controls = QWidget()
        box = QVBoxLayout(self.controls)
        box.setContentsMargins(0, 0, 0, 0)
        row1, row2, row3 = QHBoxLayout(), QHBoxLayout(), QHBoxLayout()
        self.detection = DetectionControls()  # a detector's slider and class filter: their own row
        self.source = SourcePicker()
        self.source.select(settings.get("live/source", "demo"))
        self.truth = QComboBox()
        self.truth.addItem(FROM_SOURCE, None)  # the model's classes join it at Start (an empty box read as broken)
        compact(self.truth, 13)
        self.truth.setToolTip("What the camera shows (number keys 0–9 choose it too)")
        row1.addWidget(self.source)
        row1.addWidget(QLabel("Ground truth:"))
        row1.addWidget(self.truth)
        row1.addStretch(1)
        self.picker_a, self.picker_b = PredictorPicker("Model A:"), PredictorPicker("B:")
        self.ab = QCheckBox("A/B compare with")
        row2.addWidget(self.picker_a)
        row2.addWidget(self.ab)
        row2.addWidget(self.picker_b)
        row2.addStretch(1)
        self.start_button, self.pause_button, self.stop_button = QPushButton("Start"), QPushButton("Pause"), QPushButton("Stop")
        self.snapshot_button, self.record_button = QPushButton("Snapshot"), QPushButton("Record")
        self.present_button = QPushButton("Present (full screen)")
        self.save_button = QPushButton("Save as live.yaml…")
        self.save_button.setToolTip("These settings as a file: edgekit run live.yaml replays them")
        self.record_button.setCheckable(True)
        for w in (self.start_button, self.pause_button, self.stop_button, self.snapshot_button, self.record_button,
                  self.present_button, self.save_button):
            row3.addWidget(w)
        self.status = QLabel("")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # cut, never widens the page
        self.status.setToolTip("The view shows at most ~60 frames a second; the readouts count every frame.")
        row3.addWidget(self.status, 1)
        for row in (row1, row2):
            box.addLayout(row)
        box.addWidget(self.detection)
        box.addLayout(row3)
        self.content.addWidget(self.controls)
        self.ab.toggled.connect(self.picker_b.setEnabled)
        self.picker_b.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.snapshot_button.clicked.connect(self.snapshot)
        self.record_button.toggled.connect(self.toggle_record)
        self.present_button.clicked.connect(lambda: self.set_presenting(not self.presenting))
        self.source.rescan.clicked.connect(lambda: self.scan_cameras(announce=True))
        self.save_button.clicked.connect(self._ask_save)
        self.detection.changed.connect(self._view_changed)
        self.picker_a.model.currentIndexChanged.connect(lambda *_: self._describe_model())
        self._described: dict[Any, Any] = {}  # model name -> (labels, conf) | None: names load once
        self._pending: list[Any] = []  # models being described (a list: a Model need not be hashable)
        self.truth.currentIndexChanged.connect(self._truth_changed)

    def _build_views(self) -> None:
        self.view = VideoView("Choose a source and a model, then press Start")
        self.ab_strip = ABStrip()
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.view, 1)
        column.addWidget(self.ab_strip)
        self.panel = ReadoutPanel()
        scroll = QScrollArea()
        scroll.setObjectName("readoutScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.panel)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # as narrow as the panel allows (its long rows wrap), never clipped: 1024-wide screens
        scroll.setMinimumWidth(self.panel.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([640, 330])  # the panel's share beyond its minimum; the video takes the rest
        self.plots = LivePlots()
        self.plots.setFixedHeight(190)
        self.plots.declare("fps", ["capture", "inference", "display"])
        self.plots.declare("ms", ["inference", "end to end"])
        self.content.addWidget(self.splitter, 1)
        self.content.addWidget(self.plots)

    def _refresh_models(self) -> None:
        # A: the plan's choice when there is one; B: the current (original) model, to compare against
        self.picker_a.refresh(self.state.model, self.state.choice, prefer="Plan choice")
        self.picker_b.refresh(self.state.model, self.state.choice, prefer="Current model")
        self._describe_model()

    def _describe_model(self) -> None:
        """Offer the slider and class filter when model A is a detector (found in a worker: a name
        is loaded, a file's header read); disable them, saying why, for a classifier."""
        model = self.picker_a.choice()[0]
        if self.pipe is not None:
            return  # the controls act on the model running; the pick is described again at Stop
        if model is None:
            self.detection.set_detector(None, "Choose a model")
        elif isinstance(model, str) and model in self._described:
            self._show_described((model, self._described[model]))
        elif not any(_same(model, m) for m in self._pending):  # a refresh changes the pick several times
            self._pending.append(model)
            self.start_job(describe_model, model, on_result=self._show_described, on_error=self._not_described,
                              on_done=lambda: self._forget_pending(model))

    def _forget_pending(self, model: Any) -> None:
        self._pending = [m for m in self._pending if not _same(model, m)]

    def _not_described(self, exc: BaseException) -> None:
        self.detection.set_detector(None, f"The model could not be read: {exc}")

    def _show_described(self, result: tuple[Any, Any]) -> None:
        model, found = result
        if isinstance(model, str):
            self._described[model] = found
        if not _same(model, self.picker_a.choice()[0]):
            return  # another model was picked meanwhile
        self._truth_for(found is None)
        self.panel.show_kind(found is not None)  # its sections now, not a classifier's until its first frame
        if found is None:
            self.detection.set_detector(None, "The confidence threshold and class filter apply to detection "
                                              "models; this model is a classifier (it names one class per frame).")
            return
        labels, conf = found
        if self.detection.detector and (self.detection.labels(), self.detection.default_conf) == (labels, conf):
            return  # the same detector again (a refresh): keep the user's slider and filter
        self.detection.blockSignals(True)
        self.detection.set_detector(labels)
        self.detection.set_default_conf(conf)
        self.detection.blockSignals(False)

    def _truth_for(self, classifier: bool) -> None:
        """A declared class is a classifier's ground truth; a detector is scored against the boxes a
        labelled stream carries."""
        self.truth.setEnabled(classifier)
        self.truth.setToolTip("What the camera shows (number keys 0–9 choose it too)" if classifier else
                              "A detector is scored against the ground-truth boxes of the labelled detection "
                              "stream (running mAP), not against one declared class")

    def _view_changed(self) -> None:
        """Hand the slider and filter to the running pipeline; the next frames use them (no restart)."""
        if self.pipe is None or not self.detection.detector:
            return
        try:
            self.pipe.set_detection_view(self.detection.conf(), self.detection.classes())
        except EdgekitError as exc:
            self.banner.show_error(exc)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running and self.job is None)
        for w in (self.pause_button, self.stop_button, self.snapshot_button, self.record_button):
            w.setEnabled(running)
        for w in (self.source, self.picker_a, self.ab):
            w.setEnabled(not running)
        self.picker_b.setEnabled(not running and self.ab.isChecked())

    def on_shown(self) -> None:
        """Look for cameras the first time the page is shown."""
        if not self._cameras_found:
            self._cameras_found = True
            self.scan_cameras()

    def scan_cameras(self, announce: bool = False) -> None:
        """Find cameras in a worker and offer them; ``announce`` (a click on "Find cameras"): say
        what was found (the look made when the page first opens stays quiet: no camera is normal).

        Why the words: a click that found none changed nothing on the page, so "Find cameras"
        looked broken; the button is off while it looks, and the banner says what it found."""
        self.source.rescan.setEnabled(False)
        if announce:
            self.banner.show_info("Looking for cameras…")

        def found(cameras: list) -> None:
            self.source.set_cameras(cameras)
            if not announce:
                return
            if cameras:
                names = ", ".join(f"{c.index}: {c.name}" for c in cameras)
                self.banner.show_success(f"Found {len(cameras)} camera(s) ({names}); pick one under Source.")
            else:
                self.banner.show_info(f"No camera found ({NO_CAMERA_HINT}); plug one in and click Find cameras "
                                      "again, or play a video, an image folder or an image list.")

        self.start_job(find_cameras, on_result=found, on_error=self.banner.show_error,
                          on_done=lambda: self.source.rescan.setEnabled(True))

    # ---- run control -----------------------------------------------------------------------
    def request(self) -> Any:
        """The run the controls describe, as the :class:`edgekit.vision.config.LiveConfig` that
        ``edgekit demo`` builds (``seconds=None``: it runs until Stop; file sources loop)."""
        from edgekit.vision.config import LiveConfig

        main, backend = self.picker_a.choice()
        reference, reference_backend = self.picker_b.choice() if self.ab.isChecked() else (None, "auto")
        spec = self.source.spec()
        source = {"source": spec} if isinstance(spec, str) else {"source": str(getattr(spec, "info", spec)),
                                                                  "source_obj": spec}
        return LiveConfig.choose(main, backend, reference, reference_backend, fps=self.source.fps(), loop=True,
                                 seconds=None, conf=self.detection.conf(), classes=self.detection.classes(),
                                 **source)

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save live demo settings", "live.yaml", "Live demo (*.yaml *.yml)")
        if path:
            self.save_config(path)

    def save_config(self, path: str) -> Any:
        """Write the controls as a :class:`LiveConfig` YAML (the dialog already asked before replacing a
        file); ``edgekit run`` replays it for 15 s unless the file says otherwise. The preprocessing set
        in the app goes in as card flags (:func:`edgekit_gui.card_flags.save_config`: ``None`` when they
        are checked in a worker first)."""
        from edgekit_gui.card_flags import save_config

        config = self.request().replace(seconds=15.0, loop=False)
        model = config.model_obj if hasattr(config.model_obj, "format") else None  # a Model, not a plan row
        return save_config(self, config, model, path)

    def start(self) -> None:
        """Compile and start the pipeline in a worker."""
        if self.pipe is not None or self.job is not None:
            return
        request = self.request()
        if request.source_obj is None and redact_url(request.source) == request.source:  # no password in the settings file
            settings.put("live/source", request.source)
        self.banner.clear_message()
        self.bridge.reset()
        self.plots.reset()
        self.panel.clear()
        self.ab_strip.setVisible(request.has_reference)  # now, not mid-run: showing it relayouts the page
        self.view.clear("Starting…")
        self.latest, self.frames_received, self._ticks = None, 0, 0
        self.start_button.setEnabled(False)
        self.job = self.start_job(
            start_pipeline, request, on_progress=lambda event: self.status.setText(f"{event.stage.capitalize()} {event.message}…"),
            on_result=self._started,
            on_error=self._failed, on_done=self._start_done,
        )

    def _record_frame(self, live: Any) -> None:
        """The pipeline's render thread, while recording: draw and record every frame full-size (the
        pipeline's ``on_frame`` only then; otherwise only the frames the view takes are drawn)."""
        if self.recording.active:
            self.recording.write(live.annotated())

    def _fit(self, live: Any) -> tuple[Any, Any, Any]:
        """Draw the overlay of a frame the GUI will show and scale it to the view; the bridge runs
        this on the follower's thread (OpenCV releases the GIL) and only for frames that are not dropped."""
        frame = live.annotated()
        return self.view.fit(frame), frame, live.readouts

    def _started(self, result: tuple[Any, tuple, tuple]) -> None:
        pipe, classes, said = result
        self.pipe = pipe
        self.follower = FrameFollower(pipe, self.bridge.post).start()
        if said:  # how "auto" chose the runtime, and what the runtime says bears on the accuracy shown
            self.banner.show_info("\n".join(said))  # one note a line: joined by a space they ran together
        _busy.hold()
        self.state.set_backend(self.picker_a.choice()[1])
        self._fill_truth(classes)
        self.timer.start()
        self._set_running(True)

    def _start_done(self) -> None:
        self.job = None
        self._set_running(self.pipe is not None)

    def _failed(self, exc: BaseException) -> None:
        self.banner.show_error(exc)
        self.status.setText("")
        self.ab_strip.hide()
        self.view.clear("Not running")

    def _fill_truth(self, classes: tuple) -> None:
        self.truth.blockSignals(True)
        self.truth.clear()
        self.truth.addItem(FROM_SOURCE, None)
        for name in classes:
            self.truth.addItem(str(name), str(name))
        self.truth.blockSignals(False)

    def toggle_pause(self) -> None:
        """Pause or resume taking frames."""
        if self.pipe is None:
            return
        if self.pipe.paused:
            self.pipe.resume()
            self.pause_button.setText("Pause")
        else:
            self.pipe.pause()
            self.pause_button.setText("Resume")

    def stop(self) -> None:
        """Stop the pipeline (its threads are joined in a worker)."""
        pipe, self.pipe = self.pipe, None
        if pipe is None:
            return
        _busy.release()
        self.timer.stop()
        self._stop_following()
        self._finish_recording()
        self.pause_button.setText("Pause")
        self._set_running(False)
        self._describe_model()  # the pick may have changed while it ran (a model loaded meanwhile)
        self.status.setText("Stopped.")
        self.stopping.add(pipe)
        self.start_job(stop_pipeline, pipe, on_error=self.banner.show_error,
                          on_done=lambda: self.stopping.discard(pipe))

    def shutdown(self) -> None:
        """Window closing: stop the pipeline now (threads join within ~0.2 s)."""
        self.timer.stop()
        self._stop_following(wait_s=0.5)
        if self.job is not None:
            self.job.cancel()
        pipe, self.pipe = self.pipe, None
        if pipe is not None:
            _busy.release()
        for each in {pipe, *self.stopping} - {None}:
            each.stop(timeout=1.0)  # idempotent; a queued stop job may have been cancelled
        self.stopping.clear()
        self._finish_recording()

    def _stop_following(self, wait_s: float = 0.0) -> None:
        if self.follower is not None:
            self.follower.stop(wait_s)
            self.follower = None

    # ---- what arrives ------------------------------------------------------------------------
    def _show_frame(self, item: tuple[Any, Any, Any]) -> None:
        fitted, frame, readouts = item
        self.view.show_frame(fitted, frame)
        self.latest = readouts
        self.frames_received += 1

    def _tick(self) -> None:
        pipe, r = self.pipe, self.latest
        if r is not None:
            if r.predictor.backend and r.predictor.backend != self.state.backend:
                self.state.set_backend(r.predictor.backend)
            self.panel.show_readouts(r)
            self.ab_strip.show_readouts(r)
            lat = {name: r.latency[key].p50_ms for key, name in (("inference", "inference"),
                                                                  ("end_to_end", "end to end")) if key in r.latency}
            self._ticks += 1
            if self._ticks % PLOT_EVERY == 0:  # sample both, redraw the FPS plot now and latency 2 ticks later
                self.plots.add({"capture": r.capture_fps.ema, "inference": r.inference_fps.ema,
                                "display": r.display_fps.ema}, lat, redraw=("fps",))
            elif self._ticks % PLOT_EVERY == 2:
                self.plots.redraw("ms")
            if r.source_error:
                self.banner.show_error(f"The source failed: {r.source_error}. Reopening it…")
            elif self.banner.kind == "error" and pipe is not None and pipe.error is None:
                self.banner.clear_message()
            self.status.setText(f"{self.frames_received} of {r.frames_displayed} frames shown"
                                + _skipped_note(getattr(pipe, "source", None), "; "))
        elif pipe is not None and pipe.error is None:  # no frame yet: a stream failing from the start said nothing
            early = pipe.readouts
            if early.elapsed_s >= 1 or early.source_error:  # not "Starting…" and "Not running" while it waits
                self.view.clear(f"Waiting for the first frame from {early.source} ({early.elapsed_s:.0f} s)…")
                self.panel.model_label.setText(f"Running · waiting for {early.source}")
            if early.source_error:
                self.banner.show_error(f"No frame yet from {early.source} ({early.elapsed_s:.0f} s, "
                                       f"{early.source_reopens} reopen(s)): {early.source_error}")
        if self.follower is not None and self.follower.error is not None:  # a run nobody can watch: stop it
            error = self.follower.error
            self.stop()
            self.banner.show_error(f"The view could not show a frame, so the run was stopped: {error}")
            return
        if pipe is not None and pipe.finished:
            self._pipeline_ended(pipe)

    def _pipeline_ended(self, pipe: Any) -> None:
        if pipe.error is not None:
            self.banner.show_error(pipe.error)
        else:
            self.banner.show_info("The source ended." + _skipped_note(pipe.source, " "))
        self.stop()

    # ---- ground truth, snapshot, record, presentation -----------------------------------------------
    def _truth_changed(self, index: int) -> None:
        if self.pipe is not None:
            self.pipe.set_ground_truth(self.truth.itemData(index))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        if text.isdigit() and self.truth.isEnabled() and int(text) + 1 < self.truth.count():
            self.truth.setCurrentIndex(int(text) + 1)
        elif event.key() == Qt.Key.Key_Escape and self.presenting:
            self.set_presenting(False)
        elif event.key() == Qt.Key.Key_Space and self.pipe is not None:
            self.toggle_pause()
        else:
            super().keyPressEvent(event)

    def snapshot(self) -> Path | None:
        """Save the frame on screen as a PNG."""
        frame = self.view.current_frame()
        if frame is None:
            return None
        try:
            path = save_snapshot(frame, self.snapshot_dir)
        except Exception as exc:  # noqa: BLE001 - shown, the demo keeps running
            self.banner.show_error(exc)
            return None
        self.banner.show_success(f"Snapshot saved: {path}")
        return path

    def toggle_record(self, on: bool) -> None:
        """Start or finish recording the annotated video."""
        if not on:
            self._finish_recording()
            return
        import time

        path = self.snapshot_dir / f"recording-{time.strftime('%Y%m%d-%H%M%S')}.mp4"
        try:
            self.recording.start(path, fps=RECORD_FPS)  # frames are placed by arrival time: plays back in real time
        except Exception as exc:  # noqa: BLE001
            self.banner.show_error(exc)
            self.record_button.setChecked(False)
            return
        if self.pipe is not None:
            self.pipe.on_frame = self._record_frame  # every frame from now on, on the pipeline's render thread
        self.record_button.setText("Stop recording")
        self.view.recording_since = self.recording.started_at  # the view draws "● REC m:ss"
        self.banner.show_info(f"Recording to {path}…")

    def _finish_recording(self) -> None:
        if self.pipe is not None:
            self.pipe.on_frame = None  # frames rendered where they were inferred again
        self.view.recording_since = None
        self.view.update()
        self.record_button.blockSignals(True)
        self.record_button.setChecked(False)
        self.record_button.setText("Record")
        self.record_button.blockSignals(False)
        try:
            path, frames = self.recording.stop()
        except Exception as exc:  # noqa: BLE001
            self.banner.show_error(exc)
            return
        if self.recording.error is not None:
            self.banner.show_error(self.recording.error)
        elif path is not None:
            self.banner.show_success(f"Recorded {frames} frames to {path}")

    def set_presenting(self, on: bool) -> None:
        """Full-screen presentation: only the video, the readouts and the plots."""
        self.presenting = on
        self.controls.setVisible(not on)
        self.present_button.setText("Leave presentation (Esc)" if on else "Present (full screen)")
        self.presentation_toggled.emit(on)
        self.setFocus()


def _skipped_note(source: Any, lead: str) -> str:
    """``lead`` + "2 file(s) that do not decode as images skipped: a.jpg, b.jpg" for a folder source that
    skipped files, else ``""``. Why: a broken file among the photos was left out without a word."""
    skipped = list(getattr(source, "skipped", None) or ())
    if not skipped:
        return ""
    return f"{lead}{len(skipped)} file(s) that do not decode as images skipped: {first_few(f.name for f in skipped)}"
