"""Benchmark page (being written)."""

from edgekit_gui.pages.base import Page


class BenchmarkPage(Page):
    """Benchmark."""

    title = "Benchmark"
