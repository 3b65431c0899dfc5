"""Light and dark palettes that follow the system's colour scheme."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#2f7de1"
GOOD, BAD, WARN = "#2e9d57", "#d64545", "#d99a21"


def is_dark() -> bool:
    """True when the system asks for a dark scheme."""
    app = QApplication.instance()
    return bool(app) and app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def _palette(dark: bool) -> QPalette:
    pal = QPalette()
    base, text, window, alt = (
        ("#1e1f22", "#e6e6e6", "#2b2d30", "#26282b") if dark else ("#ffffff", "#1d1d1f", "#f3f3f5", "#f7f7f9")
    )
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: alt,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: window,
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.ToolTipBase: base,
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#8a8a8e",
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    # disabled text is grey, labels too (WindowText): the Live page's box controls, disabled for a
    # classifier, kept "Boxes: confidence ≥ 0.30 classes:" in full black beside a greyed slider
    for role in (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Text, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7f7f85"))
    return pal


def apply_theme(app: QApplication) -> None:
    """Use Fusion with a light or dark palette now and whenever the system scheme changes."""
    app.setStyle("Fusion")

    def update(*_: object) -> None:
        app.setPalette(_palette(is_dark()))

    update()
    app.styleHints().colorSchemeChanged.connect(update)


def plot_colors() -> tuple[str, str]:
    """(background, foreground) for pyqtgraph plots matching the palette."""
    return ("#1e1f22", "#d0d0d0") if is_dark() else ("#ffffff", "#303030")
