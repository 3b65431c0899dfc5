"""Speed-ups are shown with their interval, and a "noisy — rerun longer" badge when the interval
is wide (or unknown) or the machine was busy while the plan measured."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def _cand(key, method, p50, ci_rel, speedup=None, speedup_ci=None, status="valid"):
    from edgekit.planner.report import Candidate

    backend, device, _ = key.split("/")
    return Candidate(key=key, backend=backend, device=device, precision="fp32", method=method, model={},
                     p50_ms=p50, ci_rel=ci_rel, accuracy=0.98, speedup=speedup, speedup_ci=speedup_ci, status=status)


def _report(eager_ci_rel):
    from edgekit.planner.report import Report

    cands = (
        _cand("onnxruntime/cpu/fp32", "fp32", 1.0, 0.02, status="chosen"),
        _cand("onnxruntime/cpu/int8", "int8", 0.5, 0.02, 2.0, (1.92, 2.08)),
        _cand("openvino/cpu/int8", "int8", 0.8, 0.4, 1.3, (0.93, 2.3)),
        _cand("torch/cpu/eager", "eager", 130.0, eager_ci_rel),
    )
    return Report(model="tiny", model_sha256="0" * 64, target="local", estimated=False, candidates=cands,
                  best_key="onnxruntime/cpu/fp32", log=("chosen",), eager_ms=130.0, speedup_vs_eager=130.0,
                  config={"latency_budget_ms": None, "max_accuracy_drop": 0.01})


def _speedup_cells(page):
    from edgekit_gui.optimize.results import COLUMNS

    table, col = page.results.table, COLUMNS.index("speed-up")
    return {table.item(r, 1).text(): table.item(r, col).text() for r in range(table.rowCount())}


def test_speedups_show_their_interval_and_a_badge_when_it_is_wide(window, qtbot):
    page = window.show_page("OptimizePage")
    page.load_at_start = 0.2  # a quiet machine
    page.show_report(_report(eager_ci_rel=0.6))  # the eager median is known to +-60 %: 130x is a guess
    cells = _speedup_cells(page)
    assert cells["onnxruntime/cpu/int8"] == "2x (1.92–2.08x)"  # narrow: the number and its interval, no badge
    assert cells["openvino/cpu/int8"].startswith("~1x, a tie (0.93–2.30x)")
    assert "noisy — rerun longer" in cells["openvino/cpu/int8"]
    assert "130x faster than PyTorch eager FP32" in page.banner.text()
    assert "noisy — rerun longer" in page.banner.text()

    page.show_report(_report(eager_ci_rel=0.02))  # a tight eager measurement: the headline stands bare
    assert "130x faster than PyTorch eager FP32 (" in page.banner.text()
    assert "noisy" not in page.banner.text()


def test_a_busy_machine_puts_the_badge_on_every_measured_speedup(window, qtbot):
    page = window.show_page("OptimizePage")
    page.load_at_start = 3.5  # other work queued 3.5 threads per core when the plan started
    page.show_report(_report(eager_ci_rel=0.02))
    cells = _speedup_cells(page)
    assert cells["onnxruntime/cpu/int8"] == "2x (1.92–2.08x) · noisy — rerun longer"
    assert "busy" in page.banner.text() and "noisy — rerun longer" in page.banner.text()
