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
    from edgekit_gui.main_thread_gc import collect_on_gui_thread

    collect_on_gui_thread(app)  # a worker thread never frees a Qt object (a deadlock, seen in CI)
    return app


USAGE = """usage: edgekit-gui [Qt options such as -platform offscreen or -style fusion]

Opens the edgekit desktop app: Hardware, Model, Benchmark, Optimize, Deploy and
Live demo pages. Everything it does can be scripted: see `edgekit --help`.

environment:
  EDGEKIT_GUI_SETTINGS=FILE.ini  keep the app's settings (recent models, window
                                 size) in that ini file instead of the user's
  QT_QPA_PLATFORM=xcb|wayland    the display Qt opens the window on"""


def main(argv: list[str] | None = None) -> int:
    """Open the main window and run the event loop; returns the exit code.

    Exits with code 2 and one sentence on stderr when no window can be opened
    here (no display, or system libraries Qt's X11 plugin needs are missing)
    instead of letting Qt abort.
    """
    args = list(sys.argv[1:] if argv is None else argv[1:])
    if any(a in ("-h", "--help") for a in args):  # it opened the window
        print(USAGE)
        return 0
    problem = platform_problem()
    if problem is not None:
        print(f"edgekit-gui: {problem}", file=sys.stderr)
        return 2
    app = create_app(argv)
    install_excepthook()
    from edgekit_gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    close_on_stop_signals(window)
    return app.exec()


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def close_on_stop_signals(window) -> None:
    """Ctrl-C in the terminal that started the app, SIGTERM (``kill``, a session logging out, ``edgekit
    gui`` passing one on) and SIGHUP close the window as its close button does: the pages stop their
    work, a recording is finished and kept, the geometry is saved; the app then exits 0.

    Why: Ctrl-C did nothing (Python's handler waited for Python code to run, and an idle Qt runs
    none), and SIGTERM killed the app on the spot, leaving a recording's partial file. Why a timer:
    Python runs signal handlers only between bytecodes; a no-op every 200 ms lets it. A signal
    whose handler is not the default is left alone: an embedding test's own, or one ignored
    (``nohup`` ignores SIGHUP so that the app outlives the terminal).
    """
    import signal

    from PySide6.QtCore import QTimer

    closing: list = []

    def close(signum, frame) -> None:
        if closing:  # Ctrl-C in `edgekit gui`'s terminal reaches both; it then passes a SIGTERM on too
            return
        closing.append(signum)
        window.close()  # the close button's clean-up (MainWindow.closeEvent)
        QApplication.quit()  # also with another top-level window open (a presentation, a dialog)

    for name in STOP_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(signum, close)
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)
