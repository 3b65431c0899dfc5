"""Starting the app: ``edgekit-gui`` / ``python -m edgekit_gui``."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from edgekit_gui.errors import install_excepthook
from edgekit_gui.platform_check import platform_problem
from edgekit_gui.settings import APP, ORG
from edgekit_gui.theme import apply_theme


def create_app(argv: list[str] | None = None) -> QApplication:
    """The ``QApplication`` (reused when one exists), themed and named for QSettings."""
    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName("edgekit")
    apply_theme(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Open the main window and run the event loop; returns the exit code.

    Exits with code 2 and one sentence on stderr when no window can be opened
    here (no display, or system libraries Qt's X11 plugin needs are missing)
    instead of letting Qt abort.
    """
    problem = platform_problem()
    if problem is not None:
        print(f"edgekit-gui: {problem}", file=sys.stderr)
        return 2
    app = create_app(argv)
    install_excepthook()
    from edgekit_gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    return app.exec()
