"""The main window: a sidebar of pages, the current page, and a status bar of current choices."""

from __future__ import annotations

import time

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QScrollArea,
    QStackedWidget,
    QWidget,
)

from edgekit_gui import settings
from edgekit_gui.jobs import JobRunner
from edgekit_gui.pages import page_classes
from edgekit_gui.pages.base import Page
from edgekit_gui.state import AppState
from edgekit_gui.wheel_guard import guard_wheel


class MainWindow(QMainWindow):
    """edgekit's window. ``pages`` maps a page's class name to the page."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("edgekit")
        self.state = AppState(self)
        self.runner = JobRunner(self)
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(150)
        self.sidebar.setStyleSheet("QListWidget { font-size: 11pt; } QListWidget::item { padding: 8px 6px; }")
        self.stack = QStackedWidget()
        self.pages: dict[str, Page] = {}
        self._order: list[Page] = []
        for cls in page_classes():
            page = cls(self.state, self.runner)
            self.pages[cls.__name__] = page
            self._order.append(page)
            self.stack.addWidget(_scrollable(page))
            self.sidebar.addItem(page.title)
        central = QWidget()
        row = QHBoxLayout(central)
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._build_status_bar()
        for page in self.pages.values():
            signal = getattr(page, "presentation_toggled", None)
            if signal is not None:
                signal.connect(self._present)
        self.sidebar.currentRowChanged.connect(self._show_page)
        for i in range(min(9, self.sidebar.count())):
            QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self, lambda i=i: self.sidebar.setCurrentRow(i))
        guard_wheel(self)  # the wheel scrolls a page, not the combo box under the pointer
        QShortcut(QKeySequence(QKeySequence.StandardKey.Quit), self, self.close)
        self._restore()

    def _build_status_bar(self) -> None:
        self.model_label, self.target_label, self.backend_label = QLabel(), QLabel(), QLabel()
        for label in (self.model_label, self.target_label, self.backend_label):
            self.statusBar().addPermanentWidget(label)
        self.state.model_changed.connect(lambda *_: self._update_status())
        self.state.target_changed.connect(lambda *_: self._update_status())
        self.state.backend_changed.connect(lambda *_: self._update_status())
        self._update_status()

    def _update_status(self) -> None:
        model = self.state.model
        self.model_label.setText(f"Model: {model.name if model is not None else 'none'}")
        self.target_label.setText(f"Target: {self.state.target}")
        self.backend_label.setText(f"Backend: {self.state.backend}")

    def _show_page(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        if 0 <= index < len(self._order):
            self._order[index].on_shown()

    def _present(self, on: bool) -> None:
        """Presentation mode: full screen, no sidebar, no status bar."""
        self.sidebar.setVisible(not on)
        self.statusBar().setVisible(not on)
        if on:
            self._was_maximized = self.isMaximized()
            self.showFullScreen()
        elif getattr(self, "_was_maximized", False):
            self.showMaximized()
        else:
            self.showNormal()

    @property
    def current_page(self) -> Page:
        """The page the user is looking at."""
        return self._order[self.stack.currentIndex()]

    def show_page(self, name: str) -> Page:
        """Switch to the page whose class is ``name`` and return it."""
        page = self.pages[name]
        self.sidebar.setCurrentRow(self._order.index(page))
        return page

    def _restore(self) -> None:
        geometry = settings.app_settings().value("window/geometry")
        if not (isinstance(geometry, QByteArray) and not geometry.isEmpty() and self.restoreGeometry(geometry)):
            self.resize(1280, 820)
        self._fit_screen()
        self.state.target = settings.get("targets/last", "local") or "local"
        self._update_status()
        self.sidebar.setCurrentRow(0)

    def _fit_screen(self) -> None:
        """Never larger than the screen's available area (a 1280x820 first launch hid the status bar on a
        768-high screen); a saved geometry from a bigger monitor shrinks too."""
        screen = self.screen()
        if screen is None:
            return
        area = screen.availableGeometry()
        frame = self.frameGeometry().size() - self.geometry().size()  # title bar and borders, once mapped
        width = min(self.width(), area.width() - frame.width())
        height = min(self.height(), area.height() - frame.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
            self.move(area.topLeft())

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the geometry, then stop every page and worker (within 2 s)."""
        started = time.monotonic()
        settings.app_settings().setValue("window/geometry", self.saveGeometry())
        for page in self.pages.values():
            page.shutdown()
        left = max(100, 2000 - int((time.monotonic() - started) * 1000))
        self.runner.stop_all(left)
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_F11:
            self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)
        else:
            super().keyPressEvent(event)


def _scrollable(page: QWidget) -> QScrollArea:
    """``page`` inside a frameless scroll area: a page whose controls need more room than a small
    screen gives scrolls instead of forcing a minimum window size (1024x640 screens)."""
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area
