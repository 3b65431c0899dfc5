"""edgekit's desktop app: a thin PySide6 layer over the edgekit SDK.

Every page calls the same ``edgekit`` functions a script would; long calls run
on worker threads (:mod:`edgekit_gui.jobs`) so the window never freezes.
Start it with ``edgekit-gui`` or ``python -m edgekit_gui``.
"""

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the app (see :func:`edgekit_gui.app.main`)."""
    from edgekit_gui.app import main as _main

    return _main(argv)
