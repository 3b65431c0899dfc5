"""Live demo with a detector: the confidence slider and class filter act on the running pipeline
(no restart), the counts and running mAP follow them, they are saved in live.yaml, and a classifier
gets them disabled with the reason."""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.gui


def _pipeline_threads() -> list[str]:
    """The threads a live run starts (all named "edgekit-..."); an SSH loop is another part's to close
    (tests/devices checks that its own tests leave none)."""
    return [t.name for t in threading.enumerate() if t.name.startswith("edgekit-") and t.name != "edgekit-ssh"]


def _pick(page, qtbot, name: str) -> None:
    page.picker_a.model.setCurrentIndex(page.picker_a.model.findText(name))
    page.picker_a.backend.setCurrentText("onnxruntime")
    qtbot.waitUntil(lambda: page.detection.detector == (name == "demo:digits-det")
                    and (page.detection.detector or "classifier" in page.detection.toolTip()), timeout=30000)


@pytest.fixture()
def det_page(window, qtbot):
    page = window.show_page("LiveDemoPage")
    _pick(page, qtbot, "demo:digits-det")
    return page


def _frames(page, qtbot, n: int) -> list:
    """The readouts of the next ``n`` frames the page shows."""
    seen: list = []
    page.bridge.delivered.connect(lambda item: seen.append(item[2]))
    qtbot.waitUntil(lambda: len(seen) >= n, timeout=30000)
    return seen[:n]


def test_slider_and_class_filter_change_the_running_demo(det_page, qtbot):
    page = det_page
    assert page.detection.isEnabled() and page.detection.value.text() == "0.30"  # the card's detection.conf
    assert page.detection.classes_button.text() == "All 10 classes"
    assert not page.truth.isEnabled() and "boxes" in page.truth.toolTip()  # scored on boxes, not a declared class
    page.detection.slider.setValue(5)
    page.start()
    qtbot.waitUntil(lambda: page.pipe is not None or page.banner.kind == "error", timeout=60000)
    pipe = page.pipe
    assert pipe is not None, page.banner.text()
    low = _frames(page, qtbot, 15)
    assert low[-1].source == "demo-det" and low[-1].det_map is not None  # the labelled detection stream

    page.detection.slider.setValue(90)  # while it runs: the next frames, same pipeline
    assert page.detection.value.text() == "0.90"
    qtbot.wait(300)  # frames already decoded at 0.05 are on their way
    high = _frames(page, qtbot, 15)
    assert page.pipe is pipe and high[-1].frames_inferred > low[-1].frames_inferred
    assert all(d.score >= 0.9 for r in high for d in r.detections)
    assert sum(len(r.detections) for r in high) < sum(len(r.detections) for r in low)

    page.detection.slider.setValue(30)
    items = [page.detection.list.item(i) for i in range(page.detection.list.count())]
    page.detection._check_all(False)
    items[5].setCheckState(items[5].checkState().Checked)  # only the 5s
    assert page.detection.classes() == ("5",) and page.detection.classes_button.text() == "1 of 10: 5"
    qtbot.wait(300)
    seen: list = []
    page.bridge.delivered.connect(lambda item: seen.append(item[2]))
    qtbot.waitUntil(lambda: any(r.detections for r in seen), timeout=30000)  # until a 5 is in view
    assert {d.label for r in seen for d in r.detections} == {"5"}
    qtbot.waitUntil(lambda: page.latest.det_map is not None and page.latest.det_map.classes == ("5",), timeout=10000)
    qtbot.wait(250)  # one readout refresh
    assert page.panel.values["objects"].text() in ("no objects",) or page.panel.values["objects"].text().endswith(' x "5"')
    assert "classes 5" in page.panel.values["scored on"].text() and "conf ≥ 0.30" in page.panel.values["scored on"].text()
    panel = page.panel  # a detector's boxes and mAP, not a classifier's empty top-k and accuracy rows
    assert not panel.detection_box.isHidden() and panel.topk_box.isHidden() and panel.accuracy_box.isHidden()
    assert page.pipe is pipe
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)


def test_values_round_trip_through_live_yaml(det_page, tmp_path):
    from edgekit.vision.config import LiveConfig

    page = det_page
    page.detection.set_values(0.7, ("3", "7"))
    written = page.save_config(str(tmp_path / "live.yaml"))
    assert written is not None and page.banner.kind == "success"
    config = LiveConfig.load(written)
    assert (config.model, config.conf, config.classes) == ("demo:digits-det", 0.7, ("3", "7"))
    page.detection.set_values(config.conf, config.classes)
    assert page.detection.conf() == 0.7 and page.detection.classes() == ("3", "7")


def test_classifier_gets_the_controls_disabled_with_the_reason(det_page, qtbot):
    page = det_page
    _pick(page, qtbot, "demo:digits")
    assert not page.detection.isEnabled() and "classifier" in page.detection.toolTip()
    assert page.truth.isEnabled()
    request = page.request()
    assert request.conf is None and request.classes is None  # nothing a classifier would refuse


def test_many_labels_get_a_quick_filter_box(qtbot):
    from edgekit_gui.live.detection_controls import DetectionControls

    controls = DetectionControls()
    qtbot.addWidget(controls)
    controls.set_detector(("0", "1", "2"))
    assert controls.search.isHidden()
    labels = tuple(f"class{i}" for i in range(78)) + ("bus", "school bus")
    controls.set_detector(labels)
    assert not controls.search.isHidden()
    controls.search.setText("bus")
    visible = [controls.list.item(i).text() for i in range(controls.list.count()) if not controls.list.item(i).isHidden()]
    assert visible == ["bus", "school bus"]
    controls.none_button.click()  # unticks the visible ones only
    assert len(controls.classes()) == 78 and controls.classes_button.text().startswith("78 of 80")


def test_a_detector_starting_shows_its_sections_before_its_first_frame(det_page, qtbot):
    """Between Start and the first frame the panel showed a classifier's "Top 5 predictions" and
    "Accuracy" for a detector: the sections follow the model being started as soon as it is known."""
    page = det_page
    panel = page.panel
    page.start()
    assert page.pipe is None and page.frames_received == 0  # starting: no frame yet
    assert not panel.detection_box.isHidden() and panel.topk_box.isHidden() and panel.accuracy_box.isHidden()
    qtbot.waitUntil(lambda: page.pipe is not None or page.banner.kind == "error", timeout=60000)
    assert page.pipe is not None, page.banner.text()
    page.stop()
    qtbot.waitUntil(lambda: not _pipeline_threads(), timeout=5000)
    _pick(page, qtbot, "demo:digits")  # a classifier picked: its top-k and accuracy, no box rows
    assert panel.detection_box.isHidden() and not panel.topk_box.isHidden() and not panel.accuracy_box.isHidden()
