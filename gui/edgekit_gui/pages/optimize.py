"""Optimize page (being written)."""

from edgekit_gui.pages.base import Page


class OptimizePage(Page):
    """Optimize."""

    title = "Optimize"
