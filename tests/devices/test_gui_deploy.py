"""The app's Deploy page copies a bundle built for a device there and verifies it there (as `deploy --to`)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    """The main window; afterwards its workers are waited for and automatic collection is back on."""
    from PySide6.QtCore import QThreadPool

    from edgekit_gui import main_thread_gc
    from edgekit_gui.app import create_app
    from edgekit_gui.main_window import MainWindow

    create_app([])
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    QThreadPool.globalInstance().waitForDone(10000)
    main_thread_gc.stop()


def _finish(page, qtbot) -> None:
    with qtbot.waitSignal(page.job.signals.finished, timeout=180000):
        pass


def test_a_bundle_for_a_device_is_copied_and_verified_there(device, server, window, qtbot, tmp_path):
    from edgekit.models import load_model

    window.state.set_model(load_model("demo:digits"))
    window.state.set_target("loop")  # the card of a device added with `edgekit device add`
    page = window.show_page("DeployPage")
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


def test_no_copy_button_for_a_target_that_is_not_a_device(window):
    window.state.set_target("raspberry-pi-5")  # estimated, not a device: nothing to copy to
    page = window.show_page("DeployPage")
    assert not page.copy_button.isVisible()
