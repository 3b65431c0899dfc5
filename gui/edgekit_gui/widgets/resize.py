"""Call back when a widget changes width (an event filter, so any widget can be watched)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget


class WidthWatcher(QObject):
    """Calls ``callback(width)`` after every resize of ``widget`` (e.g. a scroll area's viewport
    moved by a splitter, which a page's own ``resizeEvent`` never sees)."""

    def __init__(self, widget: QWidget, callback: Callable[[int], None]) -> None:
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._callback(watched.width())
        return False
