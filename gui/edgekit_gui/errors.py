"""Showing errors: the SDK's sentence for an ``EdgekitError``, a dialog for anything unexpected.

No error reaches the terminal as a crash: :func:`install_excepthook` routes
uncaught exceptions (e.g. in a slot) to a dialog and the app keeps running.
"""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from edgekit.errors import EdgekitError

_OPEN: set[QMessageBox] = set()


def describe(exc: BaseException) -> str:
    """One line for the user: the SDK's own sentence, or the type and message of a surprise."""
    if isinstance(exc, EdgekitError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"Unexpected {type(exc).__name__}: {text[0] if text else 'no message'}"


def show_error_dialog(parent: QWidget | None, exc: BaseException, title: str = "edgekit") -> QMessageBox:
    """Open a non-blocking message box for ``exc`` and return it (tests can read its text)."""
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setIcon(QMessageBox.Icon.Warning if isinstance(exc, EdgekitError) else QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(describe(exc))
    details = getattr(exc, "__traceback_text__", None) or "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    )
    if not isinstance(exc, EdgekitError):
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    _OPEN.add(box)  # a parentless box would be garbage-collected (and vanish) without a reference
    box.finished.connect(lambda *_: _OPEN.discard(box))
    box.show()
    return box


def install_excepthook() -> None:
    """Show uncaught exceptions in a dialog instead of aborting the app."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, exc, tb)
            return
        traceback.print_exception(kind, exc, tb)
        if QApplication.instance() is not None:
            exc.__traceback_text__ = "".join(traceback.format_exception(kind, exc, tb))
            show_error_dialog(QApplication.activeWindow(), exc, "edgekit: unexpected error")

    sys.excepthook = hook
