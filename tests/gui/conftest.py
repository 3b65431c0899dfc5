"""GUI test fixtures: offscreen Qt, settings in a temp ini, and no thread-pool work left behind."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QThreadPool  # noqa: E402


@pytest.fixture(autouse=True)
def _settings_in_tmp(tmp_path, monkeypatch):
    """Every test gets its own settings file, never the user's."""
    monkeypatch.setenv("EDGEKIT_GUI_SETTINGS", str(tmp_path / "edgekit-gui.ini"))


@pytest.fixture(autouse=True)
def _no_leftover_workers(qapp):
    """Fail a test that leaves work running on the global QThreadPool (after stopping it)."""
    yield
    pool = QThreadPool.globalInstance()
    if pool.waitForDone(3000):
        return
    from edgekit_gui.jobs import cancel_all_jobs

    cancel_all_jobs(5000)
    pytest.fail(f"test left {pool.activeThreadCount()} thread-pool job(s) running", pytrace=False)


@pytest.fixture()
def window(qtbot):
    """The main window, shown offscreen; closed (stopping its workers) at the end."""
    from edgekit_gui.app import create_app
    from edgekit_gui.main_window import MainWindow

    create_app([])
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


@pytest.fixture(scope="session")
def digits_model():
    """The bundled demo model, loaded once through the SDK (skips if the demo asset is missing)."""
    from edgekit.errors import EdgekitError
    from edgekit.models import load_model

    try:
        return load_model("demo:digits")
    except EdgekitError as exc:
        pytest.skip(f"demo:digits is not available yet: {exc}")
