"""Deploy page (being written)."""

from edgekit_gui.pages.base import Page


class DeployPage(Page):
    """Deploy."""

    title = "Deploy"
