"""An inline message strip at the top of a page: errors in red, notes in blue, success in green."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from edgekit_gui.errors import describe, for_gui
from edgekit_gui.theme import ACCENT, BAD, GOOD

MAX_WARNINGS = 3  # more would push the page down; the rest are in the log
_STYLE = "QLabel {{ background: {bg}; color: white; padding: 6px 10px; border-radius: 4px; }}"


class MessageBanner(QLabel):
    """Shows one message at a time; hidden when empty.

    The text wraps, but the banner does not tell the page's layout that its height depends on its
    width: it sets its own height from the width it got instead. Why: a height-for-width
    item makes the page's scroll area size the whole page by its *preferred* height, so a two-line
    banner on the Live demo page pushed its plots 200 px below a 1280x720 window.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setWordWrap(True)
        self.kind = ""
        self.warnings: list[str] = []  # the SDK's warnings since the page's job started, shown under each message
        self._message: tuple[str, str, str] | None = None  # (text, colour, kind) of the message itself
        self.hide()

    def line_height(self) -> int:
        """The height of a one-line message (the title's row is given it, so one appearing moves nothing)."""
        probe = QLabel("Ag")
        probe.setStyleSheet(_STYLE.format(bg=ACCENT))
        probe.setFont(self.font())
        return probe.sizeHint().height()

    def hasHeightForWidth(self) -> bool:
        return False

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        """As tall as the text needs at the banner's current width (wrapped lines).

        QLabel never answers a height-for-width below its minimum height, which the last fit set:
        without letting it go first, a banner that once wrapped (a message shown while the page was
        still narrow, a two-line error) kept that height for every later one-line message."""
        if not self.text():
            return
        held = self.minimumHeight()
        self.setMinimumHeight(0)
        need = super().heightForWidth(self.width())
        self.setFixedHeight(need if need > 0 else held)

    def _show(self, text: str, colour: str, kind: str) -> None:
        self._message = (text, colour, kind)
        if kind != self.kind:  # restyling re-polishes; the live page repeats one message every tick
            self.kind = kind
            self.setStyleSheet(_STYLE.format(bg=colour))
        shown = self.warnings[:MAX_WARNINGS]
        more = len(self.warnings) - len(shown)
        lines = [text, *(f"⚠ {w}" for w in shown)] + ([f"⚠ {more} more in the log"] if more > 0 else [])
        text = "\n".join(line for line in lines if line)
        changed = text != self.text() or self.isHidden()
        self.setText(text)
        self.show()
        if changed:  # the live page repeats one message every tick: no relayout for it
            self._fit_height()

    def warn(self, text: str) -> None:
        """Add one of the SDK's warnings (``EdgekitWarning``) under the message, now and under every later
        one until :meth:`clear_message` or :meth:`forget_warnings`.

        Why: a warning raised in a worker went to the log only, so "fed [0, 1] RGB with no mean/std" or
        "skipped 3 unreadable images" never reached someone using the app; and a result message shown a
        moment later would have replaced a banner that showed it alone."""
        surface = self.parent().objectName() if self.parent() is not None else None  # the page's class name
        text = for_gui(text, surface)  # the app's controls, not the SDK's call or the CLI's flags
        if text in self.warnings:
            return
        self.warnings.append(text)
        self._show(*(self._message or ("", ACCENT, "info")))

    def forget_warnings(self) -> None:
        """Drop the warnings (a new job starts); the message stays."""
        if self.warnings:
            self.warnings = []
            if self._message is not None and self._message[0]:
                self._show(*self._message)
            else:
                self.clear_message()

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
        """Hide the banner (its warnings too)."""
        self.kind = ""
        self.warnings, self._message = [], None
        self.setText("")
        self.hide()
