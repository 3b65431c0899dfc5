"""An inline message strip at the top of a page: errors in red, notes in blue, success in green."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from edgekit_gui.errors import describe, for_gui
from edgekit_gui.theme import ACCENT, BAD, GOOD

_STYLE = "QLabel {{ background: {bg}; color: white; padding: 6px 10px; border-radius: 4px; }}"


class MessageBanner(QLabel):
    """Shows one message at a time; hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setWordWrap(True)
        self.kind = ""
        self.hide()

    def _show(self, text: str, colour: str, kind: str) -> None:
        if kind != self.kind:  # restyling re-polishes; the live page repeats one message every tick
            self.kind = kind
            self.setStyleSheet(_STYLE.format(bg=colour))
        self.setText(text)
        self.show()

    def show_error(self, exc: BaseException | str) -> None:
        """Show the SDK's sentence for ``exc`` (or a plain string) as an error."""
        surface = self.parent().objectName() if self.parent() is not None else None  # the page's class name
        self._show(for_gui(exc, surface) if isinstance(exc, str) else describe(exc, surface), BAD, "error")

    def show_info(self, text: str) -> None:
        """Show a neutral note."""
        self._show(text, ACCENT, "info")

    def show_success(self, text: str) -> None:
        """Show that something finished well."""
        self._show(text, GOOD, "success")

    def clear_message(self) -> None:
        """Hide the banner."""
        self.kind = ""
        self.setText("")
        self.hide()
