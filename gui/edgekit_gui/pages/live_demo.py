"""Live demo page (being written)."""

from edgekit_gui.pages.base import Page


class LiveDemoPage(Page):
    """Live demo."""

    title = "Live demo"
