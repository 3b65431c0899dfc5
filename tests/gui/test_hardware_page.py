"""Hardware page: real profile of this machine, Measure through a worker, copy as JSON."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.gui


def test_profile_fills_cards_from_this_machine(window, qtbot):
    from edgekit.hardware import profile_hardware

    page = window.pages["HardwarePage"]
    qtbot.waitUntil(lambda: page.profile is not None, timeout=30000)
    expected = profile_hardware()
    assert page.cpu_card.values["Name"].text() == expected.cpu_name
    assert page.cpu_card.values["Architecture"].text() == expected.arch
    shown = {b.text(): b.objectName() == "badge_on" for b in page.badges.findChildren(type(page.cpu_card.title))}
    assert shown and all(shown[k] == expected.has(k) for k in expected.isa_keys)
    assert ", ".join(expected.ort_providers) in page.devices_card.values["onnxruntime providers"].text()


def test_measure_runs_in_a_worker_and_reports_progress(window, qtbot):
    page = window.pages["HardwarePage"]
    qtbot.waitUntil(lambda: page.job is None and page.profile is not None, timeout=30000)
    page.start(bench=True)
    job = page.job
    events = []
    job.signals.progress.connect(events.append)
    with qtbot.waitSignal(job.signals.finished, timeout=120000):
        pass
    assert page.profile.peak_gflops is not None and page.profile.peak_gflops > 0
    assert "GFLOP/s" in page.memory_card.values["Peak FP32"].text()
    assert events and all(0.0 <= e.fraction <= 1.0 for e in events)
    assert {e.stage for e in events} == {"microbenchmark"}


def test_copy_as_json_round_trips(window, qtbot, qapp):
    from edgekit.hardware import HardwareProfile

    page = window.pages["HardwarePage"]
    qtbot.waitUntil(lambda: page.profile is not None, timeout=30000)
    page.copy_button.click()
    text = qapp.clipboard().text()
    assert HardwareProfile.from_json(text) == page.profile
    assert json.loads(text)["cpu_name"] == page.profile.cpu_name


def test_a_measurement_can_be_cancelled_and_keeps_the_profile_shown(window, qtbot):
    """Measure ran ~20 s on 2 cores with no way to stop it (every other long job has a Cancel)."""
    page = window.pages["HardwarePage"]
    qtbot.waitUntil(lambda: page.job is None and page.profile is not None, timeout=30000)
    before = page.profile
    assert not page.cancel_button.isEnabled()
    page.measure_button.click()
    job = page.job
    assert page.cancel_button.isEnabled() and not page.measure_button.isEnabled()
    with qtbot.waitSignal(job.signals.progress, timeout=60000):
        pass  # it has started measuring
    with qtbot.waitSignal(job.signals.cancelled, timeout=60000):
        page.cancel_button.click()
    qtbot.waitUntil(lambda: page.job is None, timeout=30000)
    assert page.profile is before and page.profile.peak_gflops is None
    assert page.memory_card.values["Peak FP32"].text() == "not measured (click Measure)"
    assert "Cancelled; the figures shown are unchanged." in page.banner.text()
    assert page.measure_button.isEnabled() and not page.cancel_button.isEnabled()
