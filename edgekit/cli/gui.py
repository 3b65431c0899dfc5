"""``edgekit gui``: start the desktop app (a separate package, ``edgekit_gui``).

The SDK never imports Qt, so the app is started as its own process: the same
thing the ``edgekit-gui`` entry point does.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import typer

from edgekit.errors import BackendUnavailable


def gui() -> None:
    """Open the desktop app (Hardware, Model, Benchmark, Optimize, Deploy, Live demo pages)."""
    if importlib.util.find_spec("PySide6") is None or importlib.util.find_spec("edgekit_gui") is None:
        raise BackendUnavailable('the desktop app needs PySide6; install it with: pip install "edgekit[gui]"')
    _check_display()
    app = subprocess.Popen([sys.executable, "-m", "edgekit_gui"])
    try:
        code = app.wait()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM here: passed on, so the app closes as its close button does
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
        raise
    raise typer.Exit(code)


def _check_display() -> None:
    """On Linux without X11/Wayland Qt aborts inside its platform plugin (exit 250): say so first."""
    import os

    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise BackendUnavailable("edgekit gui needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set; run it "
                                 "on the desktop, over ssh -X, under Xvfb (xvfb-run edgekit gui), or use the CLI "
                                 "commands (edgekit --help) instead")


def register(app: typer.Typer) -> None:
    """Add ``gui`` to the CLI."""
    app.command("gui")(gui)
