"""Optimize page: target cards from targets/, a real plan through a worker, cancel, use the choice."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture()
def optimize_page(window, qtbot, tiny_onnx, digits_folder):
    window.state.set_model(tiny_onnx)
    page = window.show_page("OptimizePage")
    qtbot.waitUntil(lambda: page.cards.current() is not None, timeout=60000)
    form = page.form
    for name, box in form.methods.items():
        box.setChecked(name in ("fp32", "int8-dynamic"))
    form.seconds.setValue(0.2)
    form.cache.setChecked(False)
    form.set_folder(str(digits_folder))
    form.max_drop.setValue(50.0)
    return page


def test_target_cards_come_from_the_targets_folder(optimize_page):
    from edgekit.targets import list_targets

    assert set(optimize_page.cards.buttons) == set(list_targets())
    assert optimize_page.results.plot.isHidden()  # no empty chart before a plan (its first paint is slow)
    assert optimize_page.cards.current().name == "local"
    optimize_page.cards.buttons["raspberry-pi-5"].click()
    assert optimize_page.state.target == "raspberry-pi-5"
    assert "aarch64 · 4 cores · 8 GB" in optimize_page.cards.buttons["raspberry-pi-5"].text()
    assert "Cortex-A76" in optimize_page.cards.buttons["raspberry-pi-5"].toolTip()


def test_plan_runs_with_progress_in_order_and_carries_the_choice(optimize_page, qtbot, recorder, window):
    page = optimize_page
    page.form.latency.setValue(5000.0)
    page.start()
    job = page.job
    events = recorder(job)
    with qtbot.waitSignals([job.signals.started, job.signals.finished], order="strict", timeout=240000):
        pass
    assert events.names == ["started", "progress", "returned", "finished"], page.banner.text()
    progress = events.payloads("progress")
    fractions = [e.fraction for e in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {"building", "accuracy", "benchmarking", "done"} <= {e.stage for e in progress}
    assert page.steps.count() == sum(1 for e in progress if e.done is None)
    report = page.report
    assert report.plan_config.methods == ("fp32", "int8-dynamic") and report.plan_config.seconds == 0.2
    assert page.results.table.rowCount() == len(report.candidates)
    keys = {page.results.table.item(r, 1).text() for r in range(page.results.table.rowCount())}
    assert keys == {c.key for c in report.candidates}
    assert report.best_key in page.banner.text()
    from edgekit_gui.errors import for_gui  # the log in the app's words ("Benchmark time", not --seconds)

    assert page.results.log.toPlainText().splitlines() == [for_gui(line, "OptimizePage") for line in report.log]
    qtbot.waitUntil(lambda: not page.results.drawing, timeout=5000)  # the scatter follows a moment later
    assert page.results.plot.isVisible()  # hidden while there was nothing to plot
    assert any(item.name() == "chosen" for item in page.results.plot.getPlotItem().listDataItems())
    lines = [i for i in page.results.plot.getPlotItem().items if type(i).__name__ == "InfiniteLine"]
    budget = report.config["latency_budget_ms"]
    assert budget == 5000.0 and any(abs(line.value() - math.log10(budget)) < 1e-9 for line in lines)
    page.form.latency.setValue(12345.0)  # the form changes after the run: the chart still shows the plan's budget
    page.show_report(report)
    qtbot.waitUntil(lambda: not page.results.drawing, timeout=5000)
    lines = [i for i in page.results.plot.getPlotItem().items if type(i).__name__ == "InfiniteLine"]
    assert not any(abs(line.value() - math.log10(12345.0)) < 1e-9 for line in lines)
    page.results.table.sortItems(2)  # sortable by latency
    latencies = [page.results.table.item(r, 2).text() for r in range(page.results.table.rowCount())]
    numbers = [float(x) for x in latencies if x != '–']
    assert numbers == sorted(numbers)
    page.use_button.click()
    assert window.state.choice.key == report.best_key
    live = window.pages["LiveDemoPage"]
    assert live.picker_a.model.itemText(0) == f"Plan choice: {report.best_key}"
    assert report.best_key.split("/")[0] in window.pages["DeployPage"].what.values["Plan choice"].text()
    deploy = window.pages["DeployPage"]  # validated on the images the plan was measured on, not the default
    assert deploy.data.folder.text() == report.config["data"] and deploy.data.kind.currentText().startswith("Your")
    chosen = report.best  # its stored precision (an INT8 QDQ model's "fp32" method keeps it INT8), not the method
    assert f"({chosen.model['format']}, {chosen.model['precision']})" in deploy.what.values["Model"].text()
    # a second plan: the first one's table and "Use this model" are not offered as this run's result;
    # cancelled, the first plan (which still stands) is shown again
    page.start()
    assert page.results.table.rowCount() == 0 and not page.use_button.isEnabled()
    with qtbot.waitSignal(page.job.signals.progress, timeout=60000):
        pass
    page.cancel_button.click()
    qtbot.waitUntil(lambda: page.job is None, timeout=60000)
    assert page.results.table.rowCount() == len(report.candidates) and page.use_button.isEnabled()
    assert window.state.report is report and "shown again" in page.status.text()


def test_plan_can_be_cancelled(optimize_page, cancel_mid_run):
    page = optimize_page
    cancel_mid_run(page)
    assert page.report is None and not page.use_button.isEnabled()


def test_closing_the_window_during_a_plan_leaves_no_child_process(optimize_page, qtbot, window):
    psutil = pytest.importorskip("psutil")
    page = optimize_page
    page.start()
    job = page.job
    qtbot.waitUntil(lambda: bool(psutil.Process().children(recursive=True)), timeout=30000)
    children = psutil.Process().children(recursive=True)
    with qtbot.waitSignal(job.signals.finished, timeout=30000):
        window.close()
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"plan processes left behind: {[p.pid for p in alive]}"


def test_a_plan_refused_at_its_first_step_leaves_no_stale_progress_list(optimize_page, qtbot, tmp_path):
    """A folder with no images stopped the plan at once; the banner said why, and a progress list
    beside it still read "0%  loading ..." as if something were under way."""
    page = optimize_page
    empty = tmp_path / "no-images"
    empty.mkdir()
    page.form.set_folder(str(empty))
    page.start()
    qtbot.waitUntil(lambda: page.job is None and page.banner.kind == "error", timeout=60000)
    assert "no-images" in page.banner.text()
    assert page.progress_box.isHidden() and page.run_button.isEnabled()


def test_a_target_yaml_with_errors_is_shown_and_the_page_keeps_working(optimize_page, qtbot, tmp_path):
    page = optimize_page
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\ncpu:\n  arch: aarch64\n  cores: four\nmemory_mb: 512\n")
    page.open_target_file(str(bad))
    qtbot.waitUntil(lambda: page.banner.kind == "error", timeout=30000)
    assert "broken.yaml" in page.banner.text()
    assert "broken" not in page.cards.buttons and page.cards.current().name == "local"
    good = tmp_path / "mine.yaml"
    good.write_text((page.cards.targets["raspberry-pi-5"].path).read_text().replace("raspberry-pi-5", "my-pi"))
    page.open_target_file(str(good))
    qtbot.waitUntil(lambda: page.cards.current() is not None and page.cards.current().name == "my-pi", timeout=30000)
    assert page.state.target == str(good)


def test_the_scatter_log_axis_labels_round_values_that_never_run_into_each_other():
    """pyqtgraph labels every minor tick of a log axis ("0.2 0.3 0.4 ..." running into each other);
    thinned to 1-2-5 values, a plan within one decade got no label at all. Every tick drawn is round,
    labelled and at least 40 px from the next, across decades and within one."""
    import math
    from itertools import pairwise

    from edgekit_gui.widgets.plots import LogAxis, log_ticks

    wide = log_ticks(0.2, 300, px_per_decade=60)  # 3+ decades on a narrow plot: 1-2-5 would collide
    assert wide and all(math.log10(b / a) * 60 >= 40 for a, b in pairwise(wide)), wide
    assert set(wide) <= {1 * 10.0 ** e for e in range(-1, 3)} | {0.2, 2, 20, 200, 0.5, 5, 50}, wide
    narrow = log_ticks(2.2, 4.8, px_per_decade=1200)  # one decade, as a plan's candidates often are
    assert len(narrow) >= 3 and all(2.2 <= t <= 4.8 for t in narrow), narrow
    axis = LogAxis("bottom")
    assert axis.logTickStrings([math.log10(t) for t in narrow], 1.0, 1.0) == [f"{t:g}" for t in narrow]


def test_sub_millisecond_latencies_are_labelled_in_milliseconds(qtbot):
    """pyqtgraph scaled an axis whose values were all below 1 by 1000 on its own: 0.14-0.22 ms
    candidates were labelled 140-220 with "(x0.001)" after "ms" in the axis title."""
    from edgekit_gui.widgets.plots import make_plot

    plot = make_plot("t", "latency p50 (ms, log)", "top-1 accuracy (%)", log_x=True)
    qtbot.addWidget(plot)
    plot.getPlotItem().setLogMode(x=True, y=False)
    plot.plot([0.14, 0.18, 0.22], [70.0, 71.0, 72.0], pen=None, symbol="o")
    plot.resize(600, 400)
    plot.show()
    qtbot.waitExposed(plot)
    plot.getPlotItem().autoRange()  # as a repaint would
    axis = plot.getPlotItem().getAxis("bottom")
    assert "x0.001" not in axis.labelString()
    ticks = axis.tickValues(*axis.range, 600)
    shown = [float(s) for spacing, values in ticks for s in axis.tickStrings(values, axis.autoSIPrefixScale, spacing or 1)]
    assert shown and all(0.1 <= v <= 0.25 for v in shown), shown


def test_a_detectors_plan_names_its_metric_in_the_table_and_on_the_chart(qtbot):
    """A detector's plan is judged in mAP@0.5:0.95; the table's column still said "accuracy %"."""
    from edgekit_gui.optimize.results import COLUMNS, PlanResults

    results = PlanResults()
    qtbot.addWidget(results)
    column = COLUMNS.index("accuracy %")
    results.set_metric("mAP@0.5:0.95")
    assert results.table.horizontalHeaderItem(column).text() == "mAP@0.5:0.95 %"
    assert results.plot.getPlotItem().getAxis("left").labelText == "mAP@0.5:0.95 (%)"
    results.set_metric("top-1")  # the next plan, of a classifier
    assert results.table.horizontalHeaderItem(column).text() == "accuracy %"


def test_an_estimated_latency_shows_what_it_was_estimated_from_on_hover(qtbot):
    """The table said "~4.55 ms (est.)" with nothing to say from what (published figures, their
    sources, a ratio timed here): the basis was only in report.json."""
    from edgekit.planner.report import Candidate
    from edgekit.targets.estimate import Estimate
    from edgekit.types import Method
    from edgekit_gui.optimize.results import COLUMNS, PlanResults

    basis = ("mobilenet_v1 fp32 on tflite/cpu: 47 ms [https://example.org/pi5]",
             "int8 ran at 0.7x the FP32 time here (onnxruntime/cpu, measured)")
    est = Estimate(4.55, 1.0, 20.5, "reference", basis)
    cand = Candidate("onnxruntime/cpu/int8", "onnxruntime", "cpu", "int8", Method.INT8, {}, size_mb=0.9,
                     accuracy=0.98, estimate=est, status="chosen")
    measured = Candidate("onnxruntime/cpu/fp32", "onnxruntime", "cpu", "fp32", Method.FP32, {}, size_mb=2.7,
                         p50_ms=3.1, accuracy=0.98, status="valid")
    results = PlanResults()
    qtbot.addWidget(results)
    results.show_candidates([cand, measured], [], None, None)
    column = COLUMNS.index("latency p50 ms")
    tips = {results.table.item(r, 1).text(): results.table.item(r, column).toolTip() for r in range(2)}
    assert all(b in tips["onnxruntime/cpu/int8"] for b in basis), tips
    assert "Estimated from" not in tips["onnxruntime/cpu/fp32"]


def test_the_form_saves_the_plan_config_edgekit_run_replays(optimize_page, tiny_onnx, tmp_path):
    from edgekit.planner import PlanConfig

    page = optimize_page
    path = page.save_config(str(tmp_path / "plan.yaml"))
    config = PlanConfig.load(path)
    assert config.model == str(tiny_onnx.path) and config.target == "local"
    assert config.methods == ("fp32", "int8-dynamic") and config.seconds == 0.2 and config.max_accuracy_drop == 0.5
    assert config == page.form.config(str(tiny_onnx.path), "local")
    page.form.seconds.setValue(3.0)
    page.form.methods["fp16"].setChecked(True)
    page.cards.buttons["raspberry-pi-5"].click()
    assert page.open_config(str(path)) == config  # the saved request fills the form again
    assert page.form.config(str(tiny_onnx.path), "local") == config and page.cards.current().name == "local"


def test_a_path_label_list_is_validation_data_like_a_folder(optimize_page, digits_folder, tmp_path, monkeypatch):
    """Users' labels often come as a CSV (``edgekit eval --data list.csv`` takes one): the List… button picks
    it, and the plan and the Deploy page's sample read the same images as from the folder."""
    from PySide6.QtWidgets import QFileDialog, QPushButton

    from edgekit.data import open_dataset
    from edgekit_gui.widgets.data_picker import DataPicker, data_argument

    rows = ["path,label"] + [f"{p},{p.parent.name}" for p in sorted(digits_folder.rglob("*.png"))]
    listing = tmp_path / "digits.csv"
    listing.write_text("\n".join(rows) + "\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(listing), ""))  # the user's pick
    form = optimize_page.form
    next(b for b in form.findChildren(QPushButton) if b.text() == "List…").click()
    config = form.config("tiny.onnx", "local")
    assert config.data == str(listing)
    assert len(open_dataset(config.data)) == len(open_dataset(str(digits_folder))) == len(rows) - 1
    picker = DataPicker(allow_none=True)
    picker.set_folder(digits_folder)  # switches to "your images"
    picker.browse_list.click()
    assert picker.spec()[1] == str(listing) and len(open_dataset(data_argument(picker.spec()))) == len(rows) - 1


def _close_candidates_report():
    """Four candidates between 2.2 and 4.8 ms (inside one decade, no 1/2/5 ms tick between them)."""
    from edgekit.planner.report import Candidate, Report
    from edgekit.types import CandidateStatus as S
    from edgekit.types import Method

    def cand(key, method, p50, acc, status):
        backend, device, _ = key.split("/")
        return Candidate(key, backend, device, str(method), method, {}, size_mb=2.3, p50_ms=p50, accuracy=acc,
                         accuracy_ci=(acc - 0.01, acc + 0.01), n=500, drop=0.756 - acc,
                         drop_ci=(0.756 - acc, 0.756 - acc), status=status)

    return Report(model="shufflenet", model_sha256="0" * 64, target="local", estimated=False,
                  candidates=(cand("onnxruntime/cpu/fp32", Method.FP32, 4.8, 0.756, S.VALID),
                              cand("onnxruntime/cpu/int8", Method.INT8, 2.9, 0.751, S.CHOSEN),
                              cand("openvino/cpu/fp32", Method.FP32, 3.6, 0.756, S.VALID),
                              cand("openvino/cpu/int8", Method.INT8, 2.2, 0.70, S.REJECTED)),
                  best_key="onnxruntime/cpu/int8", log=("Chose onnxruntime/cpu/int8.",),
                  config={"max_accuracy_drop": 0.01, "latency_budget_ms": None})


def test_the_scatter_labels_its_latency_axis_and_keeps_points_and_labels_inside(window, qtbot):
    """At 1280x720, candidates within one decade got no x tick label at all, the slowest sat on the
    plot's edge and the "accuracy floor" label was cut on the left."""
    import math

    import pyqtgraph as pg
    from PySide6.QtGui import QImage, QPainter

    window.resize(1280, 720)
    page = window.show_page("OptimizePage")
    report = _close_candidates_report()
    page.show_report(report)
    qtbot.waitUntil(lambda: not page.results.drawing, timeout=5000)
    qtbot.wait(100)  # laid out and painted
    item = page.results.plot.getPlotItem()
    axis, view = item.getAxis("bottom"), item.getViewBox()
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        texts = [spec[2] for spec in axis.generateDrawSpecs(painter)[2]]  # the tick labels drawn
    finally:
        painter.end()
    values = [float(t) for t in texts if t]
    assert len(values) >= 3, texts  # readable numbers in ms
    (x0, x1), _ = view.viewRange()
    assert all(10 ** x0 <= v <= 10 ** x1 for v in values), (texts, 10 ** x0, 10 ** x1)
    inside = view.sceneBoundingRect().adjusted(8, 8, -8, -8)  # a marker's half-width from every edge
    for c in report.candidates:
        point = view.mapViewToScene(pg.Point(math.log10(c.latency_ms), 100 * c.accuracy))
        assert inside.contains(point), (c.key, point, inside)
    labels = [child for child in view.addedItems if isinstance(child, pg.InfiniteLine) and child.label is not None]
    texts = {line.label.toPlainText(): line.label for line in labels}
    floor = texts["accuracy floor 74.6 %"]
    assert view.sceneBoundingRect().contains(floor.sceneBoundingRect()), floor.sceneBoundingRect()
    chosen = next(t for t in view.addedItems if isinstance(t, pg.TextItem) and t.toPlainText().startswith("chosen"))
    assert view.sceneBoundingRect().contains(chosen.sceneBoundingRect())
    assert not chosen.sceneBoundingRect().intersects(floor.sceneBoundingRect())  # both readable


def test_preprocessing_set_in_the_app_travels_in_the_saved_plan_and_back(optimize_page, tiny_onnx, tmp_path, qtbot,
                                                                          window):
    """A bare ONNX fed as the user set it in the app: the saved plan.yaml kept no card flags, so
    `edgekit run plan.yaml` refused the model, and opening the file in the app loaded it without them."""
    import shutil

    from edgekit.models.card_options import load_with_flags
    from edgekit.planner import PlanConfig

    bare = tmp_path / "bare.onnx"
    shutil.copy(tiny_onnx.path, bare)  # no card beside it
    edited = load_with_flags(bare, {"mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3], "size": 32, "resize": "stretch"})
    window.state.set_model(edited)
    path = tmp_path / "plan.yaml"
    assert optimize_page.save_config(str(path)) is None  # the flags are checked in a worker: written after
    qtbot.waitUntil(path.exists, timeout=30000)
    config = PlanConfig.load(path)
    assert config.model == str(bare) and config.card_flags["mean"] == [0.4, 0.5, 0.6]
    assert optimize_page.banner.kind == "success" and "edgekit run" in optimize_page.banner.text()
    named = edited.replace(labels=tuple("abcdefghij"), metadata={  # labels typed in the app: no file to name
        **edited.metadata, "card_sources": {**edited.metadata["card_sources"], "labels": "user"}})
    window.state.set_model(named)
    path.unlink()
    optimize_page.save_config(str(path))
    qtbot.waitUntil(path.exists, timeout=30000)
    assert optimize_page.banner.kind == "info" and "without the labels set in the app" in optimize_page.banner.text()
    window.state.set_model(tiny_onnx)
    optimize_page.open_config(str(path))
    qtbot.waitUntil(lambda: window.state.model.path == bare, timeout=30000)
    assert window.state.model.preprocess == edited.preprocess


def test_a_model_with_no_validation_data_of_its_own_asks_for_the_users_images(window, digits_model, tiny_onnx):
    """ShuffleNet opened, the page still offered "Bundled held-out digits", and "Run plan" stopped on a
    banner: the digits validate only the demo models, whose cards name them."""
    from edgekit_gui.optimize.settings_form import DEMO_DATA, FOLDER_DATA

    page = window.show_page("OptimizePage")
    window.state.set_model(digits_model)  # its card: "validation": demo-test
    assert page.form.data_kind.currentText() == DEMO_DATA
    window.state.set_model(tiny_onnx.replace(validation=None))
    assert page.form.data_kind.currentText() == FOLDER_DATA and page.form.data_folder.isEnabled()


def test_a_finished_plan_gives_its_decision_log_the_progress_lists_room_and_names_its_metric(window, qtbot):
    """At 1280x720 the decision log showed 3-4 lines under the emptied progress list; a detector's
    plan was announced as "accuracy 42.3%" beside a table and chart in mAP@0.5:0.95."""
    from dataclasses import replace

    window.resize(1280, 720)
    page = window.show_page("OptimizePage")
    assert page.progress_box.isHidden()  # nothing runs: no empty progress list
    report = replace(_close_candidates_report(), metric="mAP@0.5:0.95",
                     log=tuple(f"decision line {i}" for i in range(30)))
    page.progress_box.setVisible(True)  # as after a run
    page.show_report(report)
    qtbot.waitUntil(lambda: not page.results.drawing, timeout=5000)
    qtbot.wait(100)
    assert page.progress_box.isHidden()
    log = page.results.log
    lines = log.viewport().height() // log.fontMetrics().lineSpacing()
    assert lines >= 7, lines
    assert "mAP@0.5:0.95 75.1%" in page.banner.text() and "accuracy" not in page.banner.text()
