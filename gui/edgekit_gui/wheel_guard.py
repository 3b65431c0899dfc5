"""The mouse wheel over a settings panel scrolls the panel, not the field under the pointer.

Why: scrolling the Optimize page's settings with the wheel (a real window at 1280x720) changed its
Objective from latency to efficiency as the pointer passed over the combo box: Qt gives a combo box or
spin box the wheel, and focus with it, whenever the pointer is over it. Here such a field takes the
wheel only once it has focus (clicked or tabbed to); until then the wheel scrolls the scroll area
around it, as everywhere else on the page.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QWidget

_FIELDS = (QComboBox, QAbstractSpinBox)


class WheelGuard(QObject):
    """An application event filter: see the module docstring."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(obj, _FIELDS) and obj.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel no longer gives it focus
            return False
        if kind != QEvent.Type.Wheel or not isinstance(obj, _FIELDS) or obj.hasFocus():
            return False
        area = _scroll_area(obj)
        if area is not None:
            QCoreApplication.sendEvent(area.viewport(), event)
        return True  # never to the field itself


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def install_wheel_guard(app: QApplication) -> WheelGuard:
    """Install the guard on ``app`` once (it is the app's child, so it lives as long)."""
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
    return guard
