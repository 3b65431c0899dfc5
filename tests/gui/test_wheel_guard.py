"""The mouse wheel over the Optimize page's settings scrolls the panel; it changed the objective
from latency to efficiency as the pointer passed over the combo box (a real window, 1280x720)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def _wheel(widget, notches: int = -1):
    """A wheel turn (negative: towards the user, i.e. scroll down) over the middle of ``widget``."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def _scroll_area(widget):
    from PySide6.QtWidgets import QAbstractScrollArea

    parent = widget.parentWidget()
    while not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def test_the_wheel_over_an_unfocused_combo_scrolls_the_panel_and_keeps_its_value(window, qtbot, tiny_onnx):
    from PySide6.QtCore import Qt

    window.resize(1280, 720)
    window.state.set_model(tiny_onnx)
    page = window.show_page("OptimizePage")
    combo, spin = page.form.objective, page.form.seconds
    area = _scroll_area(combo)
    bar = area.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=10000)  # the settings do not fit: the panel scrolls
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel gives it no focus
    before, seconds, top = combo.currentText(), spin.value(), bar.value()
    _wheel(combo)
    _wheel(spin)
    assert (combo.currentText(), spin.value()) == (before, seconds)
    assert bar.value() > top  # the panel scrolled instead


def test_a_focused_combo_still_takes_the_wheel(window, qtbot, tiny_onnx):
    window.state.set_model(tiny_onnx)
    page = window.show_page("OptimizePage")
    combo = page.form.objective
    combo.setCurrentIndex(0)
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=5000)
    _wheel(combo)
    assert combo.currentIndex() == 1  # clicked or tabbed to, it is the user's to turn
