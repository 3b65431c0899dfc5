"""Showing errors: the SDK's sentence for an ``EdgekitError``, a dialog for anything unexpected.

No error reaches the terminal as a crash: :func:`install_excepthook` routes
uncaught exceptions (e.g. in a slot) to a dialog and the app keeps running.
"""

from __future__ import annotations

import re
import sys
import traceback
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from edgekit.errors import EdgekitError

_OPEN: set[QMessageBox] = set()


# The SDK's sentences name the CLI's options ("pass --force", "--data DIR"); the app has controls
# instead. One table, here, says what each option is called on each page (None: any other page).
CONTROLS: dict[str, dict[str | None, str]] = {
    "force": {"DeployPage": "tick “Replace an existing bundle at that path” to replace it",
              None: "delete the existing one first"},
    "data": {"OptimizePage": "choose your images under “Validation data” (Folder… or List…)",
             "DeployPage": "choose your images under “Validation sample from” (Folder… or List…)",
             None: "choose a folder of images (one sub-folder per class)"},
    "data at": {"OptimizePage": "choose under “Validation data”", "DeployPage": "choose under “Validation sample from”",
                None: "choose"},
    "seconds": {"OptimizePage": "“Benchmark time”", "BenchmarkPage": "“Time”", None: "the benchmark time"},
    "out": {"DeployPage": "another bundle path", None: "another output folder"},
    "preprocess": {None: "set its preprocessing and labels on the Model page (“Apply preprocessing and labels”)"},
}
_CLI_WORDS: tuple[tuple[re.Pattern, str, str], ...] = (
    # (pattern in the SDK's sentence, the control it means, how the replacement reads: {control})
    (re.compile(r"pass --force(?: to replace it)?|--force"), "force", "{control}"),
    (re.compile(r"point --data at"), "data at", "{control}"),
    (re.compile(r"pass data=DIR \(--data DIR\)|(?:pass |with |give )?--(?:data|calib) DIR"), "data", "{control}"),
    (re.compile(r"\(--seconds\)"), "seconds", "({control})"),
    (re.compile(r"--seconds"), "seconds", "{control}"),
    (re.compile(r"another output \(--out\)"), "out", "{control}"),
    (re.compile(r"load it with edgekit\.load_model\(path, preprocess=Preprocess\(\.\.\.\)\) or write a card once "
                r"with `edgekit card MODEL \.\.\. --save`"), "preprocess", "{control}"),
)


def for_gui(text: str, surface: str | None = None) -> str:
    """``text`` with the CLI's option names replaced by what the control is called on ``surface``
    (a page's class name, e.g. "DeployPage"): "pass --force to replace it" reads "tick “Replace an
    existing bundle at that path” to replace it" on the Deploy page."""
    for pattern, control, words in _CLI_WORDS:
        names = CONTROLS[control]
        replacement = words.format(control=names.get(surface, names[None]))
        text = pattern.sub(lambda _m, r=replacement: r, text)  # a function: the text is never a regex template
    return text


def describe(exc: BaseException, surface: str | None = None) -> str:
    """One line for the user: the SDK's own sentence (in the app's words for ``surface``, see
    :func:`for_gui`), or the type and message of a surprise."""
    if isinstance(exc, EdgekitError):
        return for_gui(str(exc), surface)
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
