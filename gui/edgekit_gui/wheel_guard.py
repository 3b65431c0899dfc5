"""The mouse wheel over a settings panel scrolls the panel, not the field under the pointer.

Why: scrolling the Optimize page's settings with the wheel (a real window at 1280x720) changed its
Objective from latency to efficiency as the pointer passed over the combo box: Qt gives a combo box or
spin box the wheel, and focus with it, whenever the pointer is over it. Here such a field takes the
wheel only once it has focus (clicked or tabbed to); until then the wheel scrolls the scroll area
around it, as everywhere else on the page. A field in no scroll area keeps Qt's behaviour.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QComboBox, QWidget


class WheelGuard(QObject):
    """An event filter on each combo box and spin box: see the module docstring.

    Why on each field and not on the application: an application filter is called, in Python and so
    under the GIL, for every event the GUI thread handles, competing with the live demo's workers."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or obj.hasFocus():
            return False
        area = _scroll_area(obj)
        if area is None:  # nothing around it to scroll
            return False
        QCoreApplication.sendEvent(area.viewport(), event)
        return True  # not to the field itself


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def guard_wheel(root: QWidget) -> WheelGuard:
    """Guard every combo box and spin box under ``root`` (the main window, once its pages are built):
    the wheel no longer gives them focus, and without focus it scrolls the page around them."""
    guard = WheelGuard(root)
    for field in [*root.findChildren(QComboBox), *root.findChildren(QAbstractSpinBox)]:
        if field.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        field.installEventFilter(guard)
    return guard
