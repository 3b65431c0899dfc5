"""The app's pages, one module each, in sidebar order."""

from __future__ import annotations


def page_classes() -> list[type]:
    """Page classes in sidebar order (imported lazily so a broken page cannot stop the others)."""
    from edgekit_gui.pages.benchmark import BenchmarkPage
    from edgekit_gui.pages.deploy import DeployPage
    from edgekit_gui.pages.hardware import HardwarePage
    from edgekit_gui.pages.live_demo import LiveDemoPage
    from edgekit_gui.pages.model import ModelPage
    from edgekit_gui.pages.optimize import OptimizePage

    return [HardwarePage, ModelPage, BenchmarkPage, OptimizePage, DeployPage, LiveDemoPage]
