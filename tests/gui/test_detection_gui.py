"""Detectors in the app: the Model page shows and keeps task, decoder and thresholds; Optimize plots mAP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def tiny_detector(tmp_path_factory):
    """An Ultralytics-style head ([1, 4+2, 64]) exported from torch."""
    torch = pytest.importorskip("torch")

    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 6, 8, stride=8)

        def forward(self, x):
            y = self.conv(x).flatten(2)
            return torch.cat([y[:, :4] * 8, torch.sigmoid(y[:, 4:])], 1)

    from .conftest import export_head

    return export_head(Head(), 64, tmp_path_factory.mktemp("det") / "tinydet.onnx", "output0")


def test_detector_settings_shown_edited_and_kept(window, tiny_detector, tiny_onnx):
    from edgekit.detection.head import detector_spec
    from edgekit.models import load_model
    from edgekit_gui.pages.model import restore_saved_card

    page = window.show_page("ModelPage")
    window.state.set_model(tiny_onnx)  # a classifier: no detection box
    assert page.detection_editor.isHidden()
    model = load_model(tiny_detector)
    window.state.set_model(model)
    editor = page.detection_editor
    assert not editor.isHidden() and editor.task.text() == "detection"
    assert editor.decoder.currentText() == "ultralytics" and "shapes" in editor.source.text()
    editor.conf.setValue(0.6)
    editor.iou.setValue(0.3)
    editor.max_det.setValue(50)
    editor.apply()
    edited = window.state.model
    assert page.banner.kind == "success"
    config = detector_spec(edited).config  # what eval, deploy and the live demo read
    assert (config.conf, config.iou, config.max_det) == (0.6, 0.3, 50)
    again = restore_saved_card(load_model(tiny_detector))  # remembered for this file
    assert detector_spec(again).config.conf == 0.6 and str(again.task) == "detection"


def test_optimize_plots_latency_against_map_for_a_detector(window, qtbot):
    from edgekit.planner.report import Candidate, Report
    from edgekit.types import CandidateStatus, Method

    def cand(key, method, p50, acc, drop, status):
        backend, device, _ = key.split("/")
        return Candidate(key, backend, device, str(method), method, {}, size_mb=3.5, p50_ms=p50, accuracy=acc,
                         accuracy_ci=(acc - 0.05, acc + 0.05), n=32, drop=drop, drop_ci=(drop, drop), status=status)

    report = Report(model="yolox_nano", model_sha256="0" * 64, target="local", estimated=False,
                    candidates=(cand("onnxruntime/cpu/fp32", Method.FP32, 87.0, 0.433, 0.0, CandidateStatus.CHOSEN),
                                cand("onnxruntime/cpu/int8", Method.INT8, 154.0, 0.144, 0.288,
                                     CandidateStatus.REJECTED)),
                    best_key="onnxruntime/cpu/fp32", log=("Chose onnxruntime/cpu/fp32.",),
                    config={"max_accuracy_drop": 0.01, "latency_budget_ms": None}, metric="mAP@0.5:0.95")
    page = window.show_page("OptimizePage")
    page.show_report(report)
    qtbot.waitUntil(lambda: not page.results.drawing, timeout=5000)
    assert "mAP@0.5:0.95" in page.results.plot.getPlotItem().getAxis("left").labelText
    points = [item for item in page.results.plot.getPlotItem().listDataItems() if len(item.yData or [])]
    assert any(abs(y - 43.3) < 1e-6 for item in points for y in item.yData)  # mAP in percent on the y axis
