"""Live demo page: frames and readouts from the demo stream, A/B, ground truth, snapshot, errors, close."""

from __future__ import annotations

import threading
import time

import pytest

pytestmark = pytest.mark.gui


def _pipeline_threads() -> list[str]:
    """The threads a live run starts (all named "edgekit-..."); an SSH loop is another part's to close
    (tests/devices checks that its own tests leave none)."""
    return [t.name for t in threading.enumerate() if t.name.startswith("edgekit-") and t.name != "edgekit-ssh"]


@pytest.fixture()
def live_page(window, tiny_onnx, tmp_path):
    window.state.set_model(tiny_onnx)
    page = window.show_page("LiveDemoPage")
    page.picker_a.model.setCurrentIndex(page.picker_a.model.findText("Current model: tiny"))
    page.picker_a.backend.setCurrentText("onnxruntime")
    page.snapshot_dir = tmp_path / "snaps"
    return page


def _state(page) -> str:
    """What a live run looks like now, for a wait that timed out: the page, its pipeline, the thread
    that hands frames to the view, the bridge, and every edgekit thread's stack."""
    import sys
    import traceback

    pipe, follower = page.pipe, page.follower
    lines = [f"frames_received={page.frames_received} banner={page.banner.kind}:{page.banner.text()!r}",
             f"status={page.status.text()!r} bridge posted={page.bridge.posted} dropped={page.bridge.dropped}"]
    if pipe is not None:
        r = pipe.readouts
        lines.append(f"pipe error={pipe.error!r} finished={pipe.finished} paused={pipe.paused} "
                     f"source_error={r.source_error!r} reopens={r.source_reopens} captured={r.frames_captured} "
                     f"inferred={r.frames_inferred} displayed={r.frames_displayed}")
    else:
        lines.append("pipe=None")
    if follower is not None:
        lines.append(f"follower alive={follower._thread.is_alive()} error={follower.error!r}")
    frames = sys._current_frames()
    for t in threading.enumerate():
        if t.name.startswith("edgekit-") and t.ident in frames:
            lines.append(f"--- {t.name}\n" + "".join(traceback.format_stack(frames[t.ident], limit=6)))
    return "\n".join(lines)


def _wait(page, qtbot, condition, timeout_ms: int) -> None:
    """``qtbot.waitUntil`` that says, when it times out, what the run was doing."""
    from pytestqt.exceptions import TimeoutError as QtTimeout

    try:
        qtbot.waitUntil(condition, timeout=timeout_ms)
    except QtTimeout:
        pytest.fail(f"timed out after {timeout_ms} ms:\n{_state(page)}")


def _start(page, qtbot, frames=20):
    page.start()
    qtbot.waitUntil(lambda: page.pipe is not None or page.banner.kind == "error", timeout=60000)
    assert page.pipe is not None, page.banner.text()
    qtbot.waitUntil(lambda: page.frames_received >= frames, timeout=60000)
    qtbot.wait(250)  # one readout refresh


def test_demo_stream_shows_frames_and_readouts(live_page, qtbot, window):
    page = live_page
    _start(page, qtbot)
    assert page.view.frames_shown >= 20 and page.view.current_frame().shape[2] == 3
    r = page.latest
    assert r.frames_inferred >= 20 and r.predictor.backend == "onnxruntime"
    assert page.panel.values["inference FPS"].text().split()[0] == f"{r.inference_fps.ema:.1f}" or r.inference_fps.ema > 0
    assert page.panel.values["truth"].text() in [str(i) for i in range(10)]  # the demo stream's labels
    assert "n=" in page.panel.values["accuracy"].text()
    total, beyond = (float(v) for v in page.panel.values["total · beyond inference"].text().split(" · "))
    assert total >= beyond >= 0 and "infe" in page.panel.values["by stage"].text()  # where the CPU goes
    assert page.panel.topk_labels[0].text() != "–" and page.panel.topk_bars[0].value() > 0
    assert page.panel.detection_box.isHidden() and not page.panel.topk_box.isHidden()  # a classifier: no box rows
    assert page.plots.points("fps", "inference") >= 1
    assert window.backend_label.text() == "Backend: onnxruntime"
    shown, of = page.status.text().split(" frames shown")[0].split(" of ")  # how many the view took of all
    assert 20 <= int(shown) <= int(of), page.status.text()
    window.resize(1280, 720)  # the running page's texts never make it wider than the window
    qtbot.waitUntil(lambda: window.size().width() == 1280)
    qtbot.wait(300)
    outer = window.stack.currentWidget()
    assert not outer.horizontalScrollBar().isVisible(), outer.widget().minimumSizeHint().width()
    for name in ("capture FPS", "inference FPS", "display FPS"):  # each number beside its name, not under it
        value = page.panel.values[name]
        label = value.parentWidget().layout().labelForField(value)
        assert abs(value.geometry().y() - label.geometry().y()) <= 3, (name, value.text(), page.panel.width())
    snap = page.snapshot()
    assert snap is not None and snap.is_file() and snap.stat().st_size > 0
    page.toggle_pause()
    assert page.pipe.paused
    page.toggle_pause()
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)
    assert page.start_button.isEnabled()


def test_record_and_presentation_mode(live_page, qtbot, window):
    from PySide6.QtCore import Qt

    page = live_page
    _start(page, qtbot, frames=5)
    assert page.pipe.on_frame is None  # the view takes frames at its own rate: no hand-off per frame
    page.record_button.click()
    began = time.monotonic()
    assert page.recording.active and page.pipe.on_frame is not None  # a recording takes every frame
    shown = page.frames_received
    qtbot.waitUntil(lambda: page.frames_received > shown + 15, timeout=30000)
    qtbot.wait(1200)  # long enough that one frame's slot is far under 10 % of the length
    assert page.view.rec_text().startswith("● REC 0:0")  # the badge on the video, with the elapsed time
    page.record_button.click()
    wall = time.monotonic() - began
    assert not page.recording.active and page.banner.kind == "success", page.banner.text()
    assert page.view.rec_text() == "" and page.pipe.on_frame is None
    shown, seq = page.frames_received, page.latest.seq
    qtbot.waitUntil(lambda: page.frames_received > shown + 5, timeout=10000)  # the view goes on, newer frames
    assert page.latest.seq > seq
    videos = list(page.snapshot_dir.glob("recording-*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0
    # it plays back in real time: its length is the wall time it recorded, whatever rate frames came at
    import cv2

    video = cv2.VideoCapture(str(videos[0]))
    length = video.get(cv2.CAP_PROP_FRAME_COUNT) / video.get(cv2.CAP_PROP_FPS)
    video.release()
    assert abs(length - wall) <= 0.1 * wall, (length, wall)
    page.present_button.click()
    assert window.isFullScreen() and not window.sidebar.isVisible() and not page.controls.isVisible()
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    assert not window.isFullScreen() and window.sidebar.isVisible() and page.controls.isVisible()
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


def test_ab_compare_and_declared_ground_truth(live_page, qtbot):
    page = live_page
    assert page.truth.currentText() == "(from source)"  # before Start too: the box was empty
    page.ab.setChecked(True)
    page.picker_b.model.setCurrentIndex(page.picker_b.model.findText("Current model: tiny"))
    page.picker_b.backend.setCurrentText("openvino")
    _start(page, qtbot)
    qtbot.waitUntil(lambda: page.latest.ab is not None and page.latest.ab.compared > 5, timeout=30000)
    qtbot.wait(250)
    assert page.ab_strip.isVisible()
    assert "openvino" in page.ab_strip.b_label.text() and "onnxruntime" in page.ab_strip.a_label.text()
    ab = page.latest.ab
    assert "agreement" in page.ab_strip.agreement.text() and page.ab_strip.bar.value() >= 0
    assert 0.0 <= ab.agreement <= 1.0
    r = page.latest  # split view: A's top-1 of the frame on screen (as its overlay and the top-5), B's newest
    page.ab_strip.show_readouts(r)
    page.panel.show_readouts(r)
    pair = r.ab.last_frame
    assert pair is not None and pair.b_label == r.ab.last_label
    assert f"<b>{r.top1[0]}</b> {r.top1[1]:.1%}" in page.ab_strip.a_label.text()
    assert page.panel.topk_labels[0].text() == f"{r.top1[0]}  {r.top1[1]:.0%}"  # one source: the same number
    assert f"{pair.b_confidence:.1%}" in page.ab_strip.b_label.text()
    verdict = page.ab_strip.verdict.text()
    assert f"frame #{pair.seq}" in verdict and ("agree" if pair.agree else "differ") in verdict
    qtbot.keyClick(page, "7")
    assert page.truth.currentText() == "7"
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


def test_the_reference_can_be_any_model_file(live_page, qtbot, tiny_onnx, monkeypatch):
    """`edgekit demo --compare FILE` takes a file; the app's B offered only the current and bundled
    models, so an FP32 original could not be set beside its INT8 bundle."""
    from PySide6.QtWidgets import QFileDialog

    from edgekit_gui.live.controls import OPEN_MODEL

    page = live_page
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tiny_onnx.path), ""))  # the user's pick
    page.ab.setChecked(True)
    page.picker_b.model.setCurrentIndex(page.picker_b.model.findText(OPEN_MODEL))
    page.picker_b._picked(page.picker_b.model.currentIndex())
    assert page.picker_b.choice()[0] == str(tiny_onnx.path) and page.picker_b.model.currentText() == "tiny.onnx"
    page.picker_b.refresh(None, None)  # a new current model refreshes the list: the file stays offered
    assert page.picker_b.model.findData(str(tiny_onnx.path)) >= 0
    page.picker_b.add_file(str(tiny_onnx.path))
    _start(page, qtbot)
    _wait(page, qtbot, lambda: page.latest.ab is not None and page.latest.ab.compared > 5, 30000)
    assert page.latest.ab.agreement == 1.0  # the same network in both: every frame agrees
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))  # a cancelled dialog
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)
    page.picker_b.model.setCurrentIndex(page.picker_b.model.findText(OPEN_MODEL))
    page.picker_b._picked(page.picker_b.model.currentIndex())
    assert page.picker_b.model.currentText() != OPEN_MODEL and page.picker_b.choice()[0] is not None


def test_a_detectors_ab_strip_stays_under_the_video(live_page, qtbot, window):
    """YOLOX against YOLOv8n on COCO photos: B's side showed "3 person, 1 dog, 1 bicycle (frame #686)"
    in 15 pt, which wrapped into a strip taller than its row and was drawn over the video."""
    page = live_page
    window.resize(1280, 720)
    for picker in (page.picker_a, page.picker_b):
        picker.model.setCurrentIndex(picker.model.findText("demo:digits-det"))
    page.ab.setChecked(True)
    _start(page, qtbot, frames=5)
    _wait(page, qtbot, lambda: page.latest.ab is not None and page.latest.ab.compared > 3, 30000)
    qtbot.wait(300)
    strip, view = page.ab_strip, page.view
    assert strip.isVisible() and "15pt" not in strip.b_label.text()  # a detector: no top-1 on either side
    top_left = strip.mapTo(window, strip.rect().topLeft())
    view_bottom = view.mapTo(window, view.rect().bottomLeft()).y()
    assert top_left.y() > view_bottom, (top_left.y(), view_bottom, view.height(), strip.height())  # under the video
    assert strip.height() <= 110, strip.height()
    r = page.latest  # one snapshot (the page refreshes the strip meanwhile)
    strip.show_readouts(r)
    pair = r.ab.last_frame  # long box counts go to the tooltip, short ones stay in the line
    assert pair.a_label in strip.verdict.toolTip() and pair.b_label in strip.verdict.toolTip()
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


def test_a_missing_video_file_is_an_error_and_the_demo_still_starts(live_page, qtbot, tmp_path):
    page = live_page
    page.source.select(str(tmp_path / "gone.mp4"))
    page.start()
    qtbot.waitUntil(lambda: page.banner.kind == "error", timeout=30000)
    assert "gone.mp4" in page.banner.text() and page.pipe is None
    qtbot.waitUntil(lambda: page.job is None, timeout=10000)
    page.source.select("demo")
    _start(page, qtbot, frames=5)
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


def test_a_labelled_image_list_is_a_source_with_running_accuracy(live_page, qtbot, tmp_path, monkeypatch):
    """The file picker offers path,label lists (what `edgekit eval --data` takes): each photo's label
    is the truth of its frame, so the page shows a running accuracy on the user's own photos."""
    import cv2
    from PySide6.QtWidgets import QFileDialog

    from edgekit.data import demo_digits
    from edgekit_gui.live.controls import VIDEO

    data = demo_digits("test")
    rows = ["path,label"]
    for i in range(12):
        image, label = data[i]
        cv2.imwrite(str(tmp_path / f"{i}.png"), image)
        rows.append(f"{i}.png,{label}")  # integer labels: the model's output indices
    listing = tmp_path / "mine.csv"
    listing.write_text("\n".join(rows) + "\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(listing), ""))  # the user's pick
    page = live_page
    page.source.combo.setCurrentText(VIDEO)
    page.source._picked(page.source.combo.currentIndex())
    assert page.source.spec() == str(listing)
    _start(page, qtbot, frames=5)
    _wait(page, qtbot, lambda: "n=" in page.panel.values["accuracy"].text(), 20000)
    assert page.panel.values["truth"].text() in [str(i) for i in range(10)]
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


class UnpluggableCamera:
    """A fake at the hardware edge: the demo stream paced like a camera, which can be unplugged."""

    def __init__(self) -> None:
        from edgekit.vision import DemoSource

        self.inner = DemoSource(fps=60)
        self.info = self.inner.info
        self.unplugged = threading.Event()

    def open(self) -> None:
        from edgekit.errors import SourceError

        if self.unplugged.is_set():
            raise SourceError("camera 0 is not connected; plug it in or pick another source")
        self.inner.open()

    def read(self):
        from edgekit.errors import SourceError

        if self.unplugged.is_set():
            raise SourceError("camera 0 stopped delivering frames (unplugged?)")
        return self.inner.read()

    def close(self) -> None:
        self.inner.close()


def test_a_camera_that_vanishes_is_reported_and_recovered_from(live_page, qtbot):
    page = live_page
    camera = UnpluggableCamera()
    page.source.add_source(camera, "Camera 0: test camera")
    _start(page, qtbot, frames=5)
    camera.unplugged.set()
    _wait(page, qtbot, lambda: page.banner.kind == "error", 20000)
    assert "camera 0" in page.banner.text() and page.pipe is not None, _state(page)
    camera.unplugged.clear()
    before = page.frames_received
    _wait(page, qtbot, lambda: page.frames_received > before + 5, 20000)
    _wait(page, qtbot, lambda: page.banner.kind != "error", 5000)
    assert "reopened" in page.panel.source_label.text()
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


def test_a_view_that_cannot_show_a_frame_stops_the_run_and_says_why(live_page, qtbot, monkeypatch):
    page = live_page
    _start(page, qtbot, frames=3)

    def broken(frame):
        raise ValueError("cannot scale a frame of this size")

    monkeypatch.setattr(page.view, "fit", broken)  # drawn and scaled on the follower's thread
    qtbot.waitUntil(lambda: page.pipe is None, timeout=10000)
    assert page.banner.kind == "error" and "could not show a frame" in page.banner.text()
    assert "cannot scale a frame of this size" in page.banner.text() and page.start_button.isEnabled()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


def test_closing_the_window_with_a_running_demo_stops_within_2_s(live_page, qtbot, window):
    page = live_page
    page.source.speed.setCurrentText("Full speed")
    _start(page, qtbot)
    assert _pipeline_threads()
    t0 = time.monotonic()
    window.close()
    elapsed = time.monotonic() - t0
    assert not _pipeline_threads() and page.pipe is None
    assert elapsed < 2.0, f"closing took {elapsed:.2f} s"


def test_the_page_describes_its_run_as_the_live_config_edgekit_demo_builds(live_page, tiny_onnx, tmp_path):
    from edgekit.vision.config import LiveConfig

    config = live_page.request()
    assert isinstance(config, LiveConfig) and config.model_obj is tiny_onnx
    assert (config.model, config.backend, config.source, config.loop) == (str(tiny_onnx.path), "onnxruntime", "demo",
                                                                           True)
    cli_side = LiveConfig(model=str(tiny_onnx.path), backend="onnxruntime", source="demo", fps=config.fps,
                          seconds=None, loop=True)
    assert config == cli_side  # the same request, whichever door built it
    assert LiveConfig.load(config.save(tmp_path / "live.yaml")) == config


def test_auto_says_which_runtime_it_measured_fastest(window, qtbot, tiny_onnx, tmp_path):
    """A dynamic-INT8 model on "auto": the runtimes are measured and the banner says which won."""
    pytest.importorskip("openvino", reason="the race needs a second runtime")
    from edgekit.compress import quantize_dynamic_int8

    dynamic = quantize_dynamic_int8(tiny_onnx, tmp_path / "tiny-dyn.onnx")
    window.state.set_model(dynamic)
    page = window.show_page("LiveDemoPage")
    page.picker_a.model.setCurrentIndex(page.picker_a.model.findText(f"Current model: {dynamic.name}"))
    assert page.picker_a.model.currentIndex() >= 0
    page.picker_a.backend.setCurrentText("auto")
    assert page.request().backend == "auto"
    _start(page, qtbot, frames=5)
    said = page.banner.text()
    assert page.banner.kind == "info" and "auto:" in said and "running on" in said, said
    # one note a line (joined by a space they read "...running on openvino live workers: ..."): how
    # auto chose, then, on a CPU backend, how its runs fill the cores
    auto, *others = said.split("\n")
    assert auto.endswith(f"running on {page.latest.predictor.backend}"), said
    assert all(line.startswith("live workers:") for line in others), said
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


def test_cpu_by_stage_wraps_only_between_stages(qtbot):
    """The "by stage" row wraps in a narrow panel; a line never ends inside a pair ("infe" / "4.84")."""
    import re

    from PySide6.QtGui import QTextLayout, QTextOption

    from edgekit.vision.readouts import CPU_STAGES, Readouts
    from edgekit_gui.live.readout_panel import ReadoutPanel

    panel = ReadoutPanel()
    qtbot.addWidget(panel)
    cpu = {stage: 1.23 + i for i, stage in enumerate(CPU_STAGES)} | {"total": 30.5, "beyond_inference": 7.25}
    panel.show_readouts(Readouts(cpu_ms=cpu))
    label = panel.values["by stage"]
    text = label.text()
    assert "infe" in text
    pair = re.compile(r"[a-z]+ \d+\.\d\d")  # a stage and its milliseconds
    for width in range(60, 400, 7):  # the panel's width follows the window's
        layout = QTextLayout(text, label.font())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        layout.setTextOption(option)
        layout.beginLayout()
        lines = []
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            lines.append(text[line.textStart():line.textStart() + line.textLength()])
        layout.endLayout()
        for shown in lines:
            tokens = shown.replace("\u00a0", " ").strip()
            assert re.fullmatch(rf"{pair.pattern}(\s+{pair.pattern})*", tokens), (width, lines)



def test_a_camera_at_its_default_rate_is_chosen_for_at_its_pace_and_opened_once(live_page, qtbot, monkeypatch):
    """A camera from "Find cameras" at "Full speed" (no rate asked): the app opens it before compiling, the
    banner says the session was chosen at the camera's 30 frames/s, and Stop releases the one capture."""
    from edgekit.vision.sources import camera as camera_module
    from edgekit.vision.sources.camera import CameraInfo
    from tests.vision.test_sources import FakeCapture

    opened: list = []
    monkeypatch.setattr(camera_module, "_open_capture", lambda target, *a: opened.append(FakeCapture()) or opened[-1])
    page = live_page
    page.source.set_cameras([CameraInfo(0, "test camera")])
    page.source.select("0")
    page.source.speed.setCurrentText("Full speed")
    _start(page, qtbot, frames=5)
    assert "as the source's 30 frames/s come" in page.banner.text()
    assert len(opened) == 1 and not opened[0].released
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)
    qtbot.waitUntil(lambda: opened[0].released, timeout=5000)
    assert len(opened) == 1


def test_an_ip_camera_url_can_be_typed_in_and_its_password_stays_off_screen(live_page, qtbot, monkeypatch, tmp_path):
    """The app had no way to open a network stream (an RTSP IP camera) that `edgekit demo --source
    rtsp://...` opens; the URL is asked again when it is not one, and its password is neither shown
    in the picker nor kept in the settings file."""
    from edgekit.vision.sources import camera as camera_module
    from edgekit_gui.live.controls import STREAM
    from tests.vision.test_sources import FakeCapture

    url = "rtsp://admin:s3cret@127.0.0.1:9/live"
    typed, labels = iter([("camera-1", True), (url, True)]), []  # the user's typing, as the dialog returns it
    from edgekit_gui.live import controls

    def type_into(parent, title, label, text=""):  # the user's typing into the dialog the page opens
        labels.append(label)
        return next(typed)

    monkeypatch.setattr(controls, "ask_text", type_into)
    opened: list = []
    monkeypatch.setattr(camera_module, "_open_capture", lambda target, *a: opened.append(target) or FakeCapture())
    page = live_page
    page.source.combo.setCurrentText(STREAM)
    page.source._picked(page.source.combo.currentIndex())
    assert "'camera-1' is not a stream URL (rtsp://camera-1 or http://camera-1?)" in labels[1]
    assert page.source.spec() == url and page.source.combo.currentText() == "rtsp://admin:***@127.0.0.1:9/live"
    assert not page.source.speed.isEnabled() and page.source.fps() is None  # a stream keeps its own rate
    _start(page, qtbot, frames=5)
    assert opened == [url]
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)
    from edgekit_gui import settings

    assert "s3cret" not in str(settings.get("live/source", ""))
    monkeypatch.setattr(controls, "ask_text", lambda *a, **k: ("", False))  # a cancelled dialog
    page.source.combo.setCurrentText(STREAM)
    page.source._picked(page.source.combo.currentIndex())
    assert page.source.spec() == "demo" and page.source.speed.isEnabled()


def test_a_stream_that_never_gives_a_frame_says_why_in_the_banner(live_page, qtbot, monkeypatch):
    """An MP4 served without range requests opens and never gives a frame: the page sat on a black
    view with nothing said, while the pipeline kept failing and reopening it."""
    from edgekit.vision.sources import camera as camera_module
    from tests.vision.test_sources import FakeCapture

    monkeypatch.setattr(camera_module, "_open_capture", lambda target, *a: FakeCapture(frames=0))
    page = live_page
    url = "http://127.0.0.1:9/clip.mp4"
    page.source.select(url)
    page.start()
    qtbot.waitUntil(lambda: page.banner.kind == "error" and "No frame yet" in page.banner.text(), timeout=60000)
    assert url in page.banner.text() and "range requests" in page.banner.text()
    assert page.frames_received == 0
    assert page.view.caption.startswith(f"Waiting for the first frame from {url}")  # not "Starting…"
    assert page.panel.model_label.text() == f"Running · waiting for {url}"  # not "Not running"
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


def test_a_saved_live_yaml_keeps_the_preprocessing_set_in_the_app(window, qtbot, tiny_onnx, tmp_path):
    """The Live page saved live.yaml for a bare ONNX without what the app knew of it, so `edgekit run
    live.yaml` refused the model: nothing said how to feed it. The app's preprocessing goes in as card flags."""
    import shutil

    from edgekit.models.card_options import load_with_flags
    from edgekit.vision.config import LiveConfig

    bare = tmp_path / "bare.onnx"
    shutil.copy(tiny_onnx.path, bare)  # no card beside it
    edited = load_with_flags(bare, {"mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3], "size": 32, "resize": "stretch"})
    window.state.set_model(edited)
    page = window.show_page("LiveDemoPage")
    page.picker_a.model.setCurrentIndex(page.picker_a.model.findText("Current model: bare"))
    path = tmp_path / "live.yaml"
    assert page.save_config(str(path)) is None  # checked in a worker, written after
    qtbot.waitUntil(path.exists, timeout=30000)
    config = LiveConfig.load(path)
    assert config.model == str(bare) and config.card_flags["std"] == [0.2, 0.25, 0.3]
    assert page.banner.kind == "success"


def test_the_panel_says_why_accuracy_and_map_are_not_scored(qtbot):
    """A model of other classes on a labelled source: "not scored" with the source's labels, never
    a 0% that reads as a broken model."""
    from edgekit.vision.readouts import AccuracyReadout, MapReadout, Readouts
    from edgekit_gui.live.readout_panel import ReadoutPanel

    panel = ReadoutPanel()
    qtbot.addWidget(panel)
    narrow = panel.minimumSizeHint().width()
    panel.show_readouts(Readouts(accuracy=AccuracyReadout(n=40, unknown=40, unknown_labels=("3", "7"))))
    assert panel.values["accuracy"].text() == "not scored: the labels ('3', '7') are none of the model's classes"
    # the long text wraps: it widened the panel past its scroll area and cut every value off at the right
    assert panel.minimumSizeHint().width() <= narrow
    assert panel.values["95% interval"].text() == "–"
    panel.show_readouts(Readouts(accuracy=AccuracyReadout(n=40, correct=30, accuracy=0.75, unknown=4,
                                                          unknown_labels=("okapi",))))
    assert "75.0%" in panel.values["accuracy"].text() and "4 with labels the model lacks" in panel.values["accuracy"].text()
    panel.show_readouts(Readouts(detections=(), det_map=MapReadout(unknown=12, unknown_classes=("3", "7", "1", "0"))))
    assert panel.values["mAP@0.5 · 0.5:0.95"].text() == ("not scored: the source's classes ('3', '7', '1', ...) "
                                                       "are none of the model's")


def test_find_cameras_says_what_it_found(live_page, qtbot, monkeypatch):
    """A click on "Find cameras" that found none changed nothing on the page: it looked broken."""
    from edgekit.vision.sources.camera import CameraInfo
    from edgekit_gui.pages import live_demo

    page = live_page
    found: list = []
    monkeypatch.setattr(live_demo, "find_cameras", lambda progress, cancel: list(found))  # the hardware edge
    qtbot.waitUntil(lambda: page.source.rescan.isEnabled(), timeout=30000)  # the quiet look made on first opening
    assert page.banner.kind != "info"
    page.source.rescan.click()
    qtbot.waitUntil(lambda: page.source.rescan.isEnabled(), timeout=10000)
    assert page.banner.kind == "info" and page.banner.text().startswith("No camera found"), page.banner.text()
    found.append(CameraInfo(0, "USB webcam", "/dev/video0"))
    page.source.rescan.click()
    qtbot.waitUntil(lambda: page.source.rescan.isEnabled(), timeout=10000)
    assert page.banner.kind == "success" and "0: USB webcam" in page.banner.text()
    assert any(page.source.combo.itemData(i) == "0" for i in range(page.source.combo.count()))


def test_a_folder_whose_files_do_not_decode_is_said_not_played_as_zeros(live_page, qtbot, tmp_path):
    """A folder where no file decodes ended at once with "The source ended." and nothing else; one
    broken file among good photos was skipped without a word (the status line names it now)."""
    import cv2

    from edgekit.data import demo_digits

    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (broken / name).write_bytes(b"not an image")
    page = live_page
    page.source.select(str(broken))
    page.start()
    _wait(page, qtbot, lambda: page.banner.kind == "error" and "could be decoded" in page.banner.text(), 60000)
    assert "none of the 2 image(s)" in page.banner.text() and "a.jpg, b.jpg" in page.banner.text()
    qtbot.waitUntil(lambda: page.pipe is None and not _pipeline_threads(), timeout=10000)

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for i in range(3):
        cv2.imwrite(str(mixed / f"{i}.png"), demo_digits("test")[i][0])
    (mixed / "z.jpg").write_bytes(b"not an image")
    page.source.select(str(mixed))
    page.start()
    _wait(page, qtbot, lambda: "skipped" in page.status.text(), 60000)  # the folder plays on, in a loop
    assert "1 file(s) that do not decode as images skipped: z.jpg" in page.status.text()
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


@pytest.mark.filterwarnings("default::edgekit.errors.EdgekitWarning")
def test_the_sdks_warnings_from_a_worker_reach_the_pages_banner_under_its_message(window, qtbot, tiny_onnx):
    """A card-less model ran on the Live page fed [0, 1] RGB; the SDK's warning saying so went to the log only.
    Warnings stay under the next message (the start-up notes here) and go when the next job starts."""
    window.state.set_model(tiny_onnx.replace(preprocess=None))  # as a bare ONNX with no card loads
    page = window.show_page("LiveDemoPage")
    page.picker_a.model.setCurrentIndex(page.picker_a.model.findText("Current model: tiny"))
    page.picker_a.backend.setCurrentText("onnxruntime")
    qtbot.waitUntil(lambda: page.runner.running == 0, timeout=30000)  # superqt's per-job catch_warnings nest
    _start(page, qtbot)
    text = page.banner.text()
    assert "⚠ tiny: nothing says how to turn an image into its input" in text and "with no mean/std" in text
    assert "set its preprocessing and labels on the Model page" in text and "load_model" not in text  # app words
    assert page.banner.isVisible()
    page.stop()
    qtbot.waitUntil(lambda: page.pipe is None, timeout=30000)
    assert "nothing says how" not in page.banner.text()  # the stop job started: the last job's warning is gone


def test_the_banner_keeps_warnings_under_each_message_until_cleared(qtbot):
    from edgekit_gui.widgets.banner import MAX_WARNINGS, MessageBanner

    banner = MessageBanner()
    qtbot.addWidget(banner)
    banner.warn("skipped 3 unreadable images")
    assert banner.text() == "⚠ skipped 3 unreadable images" and banner.kind == "info"
    banner.show_success("Loaded tiny.")
    banner.warn("skipped 3 unreadable images")  # the same warning again: once
    assert banner.text() == "Loaded tiny.\n⚠ skipped 3 unreadable images" and banner.kind == "success"
    for n in range(MAX_WARNINGS + 1):
        banner.warn(f"note {n}")
    assert banner.text().splitlines()[-1] == f"⚠ {len(banner.warnings) - MAX_WARNINGS} more in the log"
    banner.forget_warnings()
    assert banner.text() == "Loaded tiny."
    banner.warn("again")
    banner.clear_message()
    assert banner.text() == "" and banner.warnings == [] and banner.isHidden()


def test_the_stream_url_dialog_is_wide_enough_for_a_camera_url(live_page, qtbot):
    """The URL dialog opened 382 px wide: a camera's rtsp://user:password@host:port/path scrolled out of its
    field while it was typed. The user types into the real dialog here; what was typed comes back."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QInputDialog

    from edgekit_gui.live.controls import URL_DIALOG_WIDTH, ask_text

    seen = {}

    def type_and_accept():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(20, type_and_accept)
            return
        seen["width"] = dialog.width()
        dialog.setTextValue("rtsp://admin:s3cret@camera.local:554/stream1")
        dialog.accept()

    QTimer.singleShot(0, type_and_accept)
    assert ask_text(live_page, "Network stream", "Stream URL:") == ("rtsp://admin:s3cret@camera.local:554/stream1", True)
    assert seen["width"] >= URL_DIALOG_WIDTH
