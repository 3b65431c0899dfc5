"""The app's Deploy page copies a bundle built for a device there and verifies it there (as `deploy --to`)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytestmark = pytest.mark.gui


@pytest.fixture
def page(qtbot):
    """The Deploy page on its own (state and job runner as the window gives them), shown."""
    from edgekit_gui.jobs import JobRunner
    from edgekit_gui.pages.deploy import DeployPage
    from edgekit_gui.state import AppState

    state, runner = AppState(), JobRunner()
    page = DeployPage(state, runner)
    qtbot.addWidget(page)
    page.show()
    yield page
    runner.stop_all(10000)


def _finish(page, qtbot) -> None:
    with qtbot.waitSignal(page.job.signals.finished, timeout=180000):
        pass


def test_a_bundle_for_a_device_is_copied_and_verified_there(device, server, page, qtbot, tmp_path):
    from edgekit.models import load_model

    page.state.set_model(load_model("demo:digits"))
    page.state.set_target("loop")  # the card of a device added with `edgekit device add`
    assert page.copy_button.isVisible() and not page.copy_button.isEnabled()  # no bundle yet
    page.out.setText(str(tmp_path / "digits.zip"))
    page.samples.setValue(16)
    page.deploy_button.click()
    _finish(page, qtbot)
    assert page.banner.kind == "success", page.banner.text()
    assert page.result.values["Sample"].text().startswith("16 images"), page.result.values["Sample"].text()
    assert "accuracy 100.00%" in page.result.values["Sample"].text()
    assert page.copy_button.isEnabled() and page.copy_button.text() == "Copy to loop and verify there"
    page.copy_button.click()
    assert page.cancel_button.isEnabled() and not page.deploy_button.isEnabled()
    _finish(page, qtbot)
    assert page.banner.kind == "success" and "Verified on loop" in page.banner.text(), page.banner.text()
    assert "1 file sent" in page.result.values["On device"].text()
    assert "sample accuracy: 1 (>= " in page.result.values["Verified there"].text()
    assert (server.home / "edgekit-work" / "bundles" / "digits.zip").is_file()
    assert not page.cancel_button.isEnabled() and page.deploy_button.isEnabled()


def test_no_copy_button_for_a_target_that_is_not_a_device(page):
    page.state.set_target("raspberry-pi-5")  # estimated, not a device: nothing to copy to
    assert not page.copy_button.isVisible()
