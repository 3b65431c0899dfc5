"""The window as a whole: pages, status bar, settings, palettes, error dialogs."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

pytestmark = pytest.mark.gui


def test_sidebar_lists_every_page_and_switches(window):
    titles = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
    assert titles == ["Hardware", "Model", "Benchmark", "Optimize", "Deploy", "Live demo"]
    window.sidebar.setCurrentRow(4)
    assert window.current_page is window.pages["DeployPage"]
    assert window.stack.currentWidget().isAncestorOf(window.pages["DeployPage"])


def test_status_bar_follows_model_target_backend(window, tiny_onnx):
    window.state.set_model(tiny_onnx)
    window.state.set_target("raspberry-pi-5")
    window.state.set_backend("openvino")
    assert window.model_label.text() == "Model: tiny"
    assert window.target_label.text() == "Target: raspberry-pi-5"
    assert window.backend_label.text() == "Backend: openvino"


def test_settings_survive_a_restart(qtbot, tmp_path):
    from edgekit_gui import settings
    from edgekit_gui.main_window import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(700, 500)
    settings.add_recent_model("/models/a.onnx")
    settings.put("targets/last", "raspberry-pi-5")
    first.close()
    assert (tmp_path / "edgekit-gui.ini").is_file()  # redirected by conftest, never the user's settings
    second = MainWindow()
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (700, 500)
    assert second.state.target == "raspberry-pi-5"
    assert second.pages["ModelPage"].recent.itemText(0) == "/models/a.onnx"
    second.close()


def test_palette_follows_the_colour_scheme(qapp, monkeypatch):
    from edgekit_gui import theme

    monkeypatch.setattr(theme, "is_dark", lambda: True)
    dark = theme._palette(True)
    light = theme._palette(False)
    assert dark.window().color().lightness() < 80 < light.window().color().lightness()
    theme.apply_theme(qapp)
    assert qapp.palette().window().color() == dark.window().color()
    monkeypatch.setattr(theme, "is_dark", lambda: False)
    qapp.styleHints().colorSchemeChanged.emit(qapp.styleHints().colorScheme())  # the system switched back
    assert qapp.palette().window().color() == light.window().color()
    for pal in (dark, light):  # a disabled label looks disabled, as a disabled button does
        group, role = pal.ColorGroup, pal.ColorRole
        assert pal.color(group.Disabled, role.WindowText) != pal.color(group.Active, role.WindowText)
        assert pal.color(group.Disabled, role.WindowText) == pal.color(group.Disabled, role.ButtonText)


def test_unexpected_errors_show_a_dialog_instead_of_aborting(qtbot, monkeypatch):
    from edgekit_gui.errors import install_excepthook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook()
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    assert boxes and "RuntimeError: boom in a slot" in boxes[-1].text()
    assert "Traceback" in boxes[-1].detailedText()
    for box in boxes:
        box.close()


def test_sdk_errors_show_the_sdk_sentence(qtbot):
    from edgekit.errors import TargetError
    from edgekit_gui.errors import show_error_dialog

    box = show_error_dialog(None, TargetError("target foo.yaml: cpu.cores must be an integer (line 4)"))
    qtbot.addWidget(box)
    assert box.text() == "target foo.yaml: cpu.cores must be an integer (line 4)"
    assert box.detailedText() == ""


def test_the_banner_restyles_only_when_the_kind_of_message_changes(qtbot):
    from edgekit_gui.widgets.banner import MessageBanner

    banner = MessageBanner()
    qtbot.addWidget(banner)
    restyles = []
    banner.setStyleSheet = lambda sheet, _set=banner.setStyleSheet: restyles.append(sheet) or _set(sheet)
    for n in range(3):  # the live page repeats one error every tick
        banner.show_error(f"the source failed ({n})")
    assert len(restyles) == 1 and banner.kind == "error" and banner.text() == "the source failed (2)"
    banner.show_success("done")
    banner.clear_message()
    banner.show_error("again")
    assert len(restyles) == 3 and not banner.isHidden() and banner.text() == "again"


def test_edgekit_gui_help_prints_usage_and_opens_no_window(capsys):
    """`edgekit-gui --help` opened the window (Qt took the flag as its own and ignored it)."""
    from PySide6.QtWidgets import QApplication

    from edgekit_gui.app import main

    before = len(QApplication.topLevelWidgets()) if QApplication.instance() else 0
    assert main(["edgekit-gui", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: edgekit-gui") and "edgekit --help" in out and "EDGEKIT_GUI_SETTINGS" in out
    assert (len(QApplication.topLevelWidgets()) if QApplication.instance() else 0) == before
