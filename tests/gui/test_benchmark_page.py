"""Benchmark page: real measurements through a worker, progress in order, results, cancel."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture()
def bench_page(window, qtbot, tiny_onnx):
    window.state.set_model(tiny_onnx)
    page = window.show_page("BenchmarkPage")
    qtbot.waitUntil(lambda: "onnxruntime" in page.backend_boxes, timeout=60000)
    page.seconds.setValue(0.3)
    return page


def test_benchmark_runs_in_a_worker_with_progress_in_order(bench_page, qtbot, recorder):
    page = bench_page
    for name, box in page.backend_boxes.items():
        box.setChecked(name in ("onnxruntime", "openvino") and box.isEnabled())
    assert page.progress.isHidden()  # idle, an empty bar read as a text field to type in
    page.start()
    job = page.job
    events = recorder(job)
    assert not page.progress.isHidden()
    with qtbot.waitSignals([job.signals.started, job.signals.finished], order="strict", timeout=120000):
        pass
    qtbot.waitUntil(lambda: page.job is None, timeout=5000)
    assert page.progress.isHidden()
    assert events.names == ["started", "progress", "returned", "finished"]
    fractions = [e.fraction for e in events.payloads("progress")]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    measured = {page.table.item(r, 0).text() for r in range(page.table.rowCount())}
    assert "onnxruntime" in measured and page.table.item(0, 3).text() == "ok"
    assert float(page.table.item(0, 4).text()) > 0  # p50 ms from the SDK
    assert len(page.plot.getPlotItem().listDataItems()) == sum(r.ok for r in page.results)
    assert page.banner.kind == "success" and page.state.backend in measured
    # the latency axis reads as plain milliseconds ("20 30 50"), not pyqtgraph's "2·10¹ 3·10¹"
    page.plot.getPlotItem().autoRange()
    axis = page.plot.getPlotItem().getAxis("bottom")
    shown = [s for spacing, values in axis.tickValues(*axis.range, 600)
             for s in axis.tickStrings(values, axis.autoSIPrefixScale, spacing or 1)]
    assert shown and all(float(s) > 0 for s in shown), shown


def test_benchmark_can_be_cancelled_and_run_again(bench_page, qtbot, cancel_mid_run):
    page = bench_page
    page.seconds.setValue(30.0)
    cancel_mid_run(page)
    assert page.table.rowCount() == 0
    page.seconds.setValue(0.2)
    page.start()
    with qtbot.waitSignal(page.job.signals.finished, timeout=120000):
        pass
    assert page.table.rowCount() >= 1


def test_benchmark_without_a_precision_says_what_to_choose(bench_page):
    for box in bench_page.precision_boxes.values():
        box.setChecked(False)
    bench_page.start()
    assert bench_page.job is None and "precision" in bench_page.banner.text()


def test_one_row_per_distinct_thing_measured_with_the_note_beside_it(window, qtbot, tiny_onnx, tmp_path):
    """fp32 and int8-dynamic asked of an int8-dynamic model measure the same graph: one row, and the
    runtime's note ("runs it as stored") in the note column, as ``edgekit bench`` footnotes it."""
    from edgekit.compress import quantize_dynamic_int8
    from edgekit_gui.pages.benchmark import COLUMNS

    quantized = quantize_dynamic_int8(tiny_onnx, tmp_path / "tiny-int8.onnx")
    window.state.set_model(quantized)
    page = window.show_page("BenchmarkPage")
    qtbot.waitUntil(lambda: "onnxruntime" in page.backend_boxes, timeout=60000)
    page.seconds.setValue(0.2)
    for name, box in page.backend_boxes.items():
        box.setChecked(name == "onnxruntime")
    for name, box in page.precision_boxes.items():
        box.setChecked(name in ("fp32", str(quantized.precision)))
    page.start()
    with qtbot.waitSignal(page.job.signals.finished, timeout=120000):
        pass
    assert page.table.rowCount() == 1, [page.table.item(r, 2).text() for r in range(page.table.rowCount())]
    note = page.table.item(0, COLUMNS.index("note")).text()
    assert f"asked fp32 and {quantized.precision}" in note and "runs it as stored" in note, note


def _tooltip_at(qtbot, table, row: int, column: int) -> str:
    """The tooltip a user gets hovering the cell (an empty string when none shows)."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    QToolTip.hideText()  # hidden after a short fade
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=3000)
    pos = table.visualRect(table.model().index(row, column)).center()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, table.viewport().mapToGlobal(pos))
    QApplication.sendEvent(table.viewport(), event)
    return QToolTip.text() if QToolTip.isVisible() else ""


def test_a_note_cut_short_in_its_cell_shows_in_full_as_its_tooltip(window, qtbot, tiny_onnx):
    """A long note is elided ("…") in a 1280x720 window; hovering it shows the whole note (every table
    made by the shared helper does this), and a cell shown in full gets no tooltip."""
    from edgekit.evaluation.benchmark import BenchResult
    from edgekit_gui.pages.benchmark import COLUMNS

    window.resize(1280, 720)
    window.state.set_model(tiny_onnx)
    page = window.show_page("BenchmarkPage")
    note = ("OpenVINO is not installed in this environment: pip install 'edgekit[openvino]' (or choose another "
            "runtime); the int8 model would otherwise run as stored on this CPU, without its VNNI instructions")
    page.show_results([BenchResult("tiny", "openvino", "cpu", "int8", status="unavailable", reason=note)])
    qtbot.wait(50)
    column = COLUMNS.index("note")
    index = page.table.model().index(0, column)
    shown = page.table.visualRect(index).width()
    assert shown < page.table.fontMetrics().horizontalAdvance(note)  # the cell cannot show it all
    assert _tooltip_at(qtbot, page.table, 0, column) == note
    assert _tooltip_at(qtbot, page.table, 0, COLUMNS.index("backend")) == ""  # "openvino" fits


def test_a_winner_is_named_only_when_the_measurement_orders_it(window, tiny_onnx):
    """The banner said "Fastest here: openvino ... 9.53 ms" beside onnxruntime at 9.69 ms, with
    intervals of +-11 % and +-6 %: within noise, as the planner would call it."""
    from edgekit.evaluation.benchmark import BenchResult

    def result(backend, p50, ci):
        return BenchResult("tiny", backend, "cpu", "fp32", status="ok", latency_ms={"p50": p50}, runs=100, ci_rel=ci)

    window.state.set_model(tiny_onnx)
    page = window.show_page("BenchmarkPage")
    page.show_results([result("openvino", 9.53, 0.11), result("onnxruntime", 9.69, 0.06)])
    assert page.banner.kind == "info" and "Fastest" not in page.banner.text()
    assert "openvino" in page.banner.text() and "onnxruntime" in page.banner.text() and "noise" in page.banner.text()
    page.show_results([result("openvino", 9.53, 0.02), result("onnxruntime", 12.6, 0.03)])
    assert page.banner.kind == "success" and page.banner.text().startswith("Fastest here: openvino")


def test_torch_is_ticked_for_a_model_it_can_run_and_not_for_a_bare_onnx_file(window, qtbot, tiny_onnx):
    """The page always left torch unticked ("an ONNX file has no module to run"), also for a model whose
    PyTorch checkpoint lies beside it, the eager baseline the planner measures and the SDK now runs."""
    pytest.importorskip("torch")
    from edgekit.models import load_model

    page = window.show_page("BenchmarkPage")
    qtbot.waitUntil(lambda: "torch" in page.backend_boxes, timeout=60000)
    torch_box = page.backend_boxes["torch"]
    if not torch_box.isEnabled():
        pytest.skip(f"torch cannot run here: {torch_box.toolTip()}")
    window.state.set_model(load_model("demo:digits-mnv2"))  # digits-mnv2.pt beside it, architecture in its card
    assert torch_box.isChecked()
    window.state.set_model(tiny_onnx)  # an ONNX file alone
    assert not torch_box.isChecked() and page.backend_boxes["onnxruntime"].isChecked()
