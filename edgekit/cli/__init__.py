"""The ``edgekit`` command line: one module per sub-command, each with ``register(app)``.

Every :class:`~edgekit.errors.EdgekitError` becomes one red line on stderr and
exit code 2; nothing from inside a library reaches the user as a traceback
(set ``EDGEKIT_DEBUG=1`` to see it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import typer

from edgekit.cli._lazy import lazy_group
from edgekit.errors import EdgekitError, EdgekitWarning

# sub-command modules under edgekit.cli; each defines register(app: typer.Typer)
COMMANDS = (
    "profile", "backends", "targets",
    "info", "card", "convert", "pull", "eval", "bench",
    "compress", "plan", "run",
    "demo", "gui",
    "deploy", "verify", "serve", "export", "device",
)

app = typer.Typer(
    name="edgekit",
    help="Take a trained vision model to an edge device: profile, convert, benchmark, "
    "compress, deploy and demo it live.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    cls=lazy_group(COMMANDS),  # each sub-command module is imported when it runs (edgekit.cli._lazy)
)


def _show_version(wanted: bool) -> None:
    """``edgekit --version``: what a bug report needs, read from the installed packages' metadata
    (no runtime is imported, so it answers at once even where a runtime is broken)."""
    if not wanted:
        return
    import platform
    from importlib import metadata

    from edgekit import __version__

    def installed(*distributions: str) -> str:
        for name in distributions:
            with contextlib.suppress(metadata.PackageNotFoundError):
                return metadata.version(name)
        return "not installed"

    typer.echo(f"edgekit {__version__}")
    typer.echo(f"python {platform.python_version()} ({sys.executable})")
    # the GPU and small-device builds of onnxruntime and the GUI's Qt come under other distribution names
    for shown, *distributions in (("numpy", "numpy"), ("onnxruntime", "onnxruntime", "onnxruntime-gpu",
                                  "onnxruntime-openvino", "onnxruntime-directml"), ("openvino", "openvino"),
                                  ("torch", "torch"), ("PySide6", "PySide6-Essentials", "PySide6")):
        typer.echo(f"{shown} {installed(*distributions)}")
    raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_show_version,
                                 help="Show the versions of edgekit, Python and the runtimes, and exit."),
) -> None:  # a group needs a callback when its commands are not registered up front
    pass


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """An EdgekitWarning is for the user: one yellow line, not Python's file:line + source echo."""
    if not issubclass(category, EdgekitWarning) or os.environ.get("EDGEKIT_DEBUG"):
        _python_showwarning(message, category, filename, lineno, file, line)
        return
    from rich.markup import escape

    from edgekit.cli._console import print_message

    print_message(f"[yellow]warning:[/] {escape(str(message))}")  # wrapped on a terminal, one line in a pipe


_python_showwarning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (2 for any edgekit error or usage error, 1 for a bug)."""
    _drop_unreadable_size_vars()
    with warnings.catch_warnings(), _noting_ctrl_c():
        warnings.showwarning = _show_warning
        return _main(argv)


def _drop_unreadable_size_vars() -> None:
    """Forget ``COLUMNS``/``LINES`` that are not plain ASCII numbers (the terminal's own size is used).

    Why: rich reads them with ``int()`` after ``str.isdigit()``, which a "²" passes, so every command
    died with a ValueError from inside rich before it printed anything."""
    for var in ("COLUMNS", "LINES"):
        value = os.environ.get(var)
        if value is not None and not (value.isascii() and value.isdigit()):
            del os.environ[var]


_ctrl_c_pressed = threading.Event()
_stopped_by: list[int] = []  # the signal that cancelled the command: SIGINT (Ctrl-C), SIGTERM or SIGHUP
# besides Ctrl-C, the signals that cancel a command (where the platform has them): kill/timeout, a dropped session
_ALSO_CANCELS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _noting_ctrl_c() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt as always, and is also noted, because a library may turn it
    into another error: numpy, OpenVINO or onnxruntime interrupted while their C modules initialise
    raise ImportError ("initialization failed", "PyCapsule_Import could not import module"), at
    times with no trace of the KeyboardInterrupt. Any error after a Ctrl-C is then a cancel, not a bug.

    SIGTERM (``kill``, ``timeout``, a service manager) and SIGHUP (the terminal or the SSH session to
    the device went away) are cancels too: by default they end the process on the spot, so no
    ``finally`` ran and ``compress --out out/m.xml`` left ``out/.m.xml.<random>.tmp/`` behind; raised
    as KeyboardInterrupt, every command cleans up as it does for Ctrl-C (the demo and the servers stop
    as they do for Ctrl-C), and the exit status is the shell's (143, 129)."""
    _ctrl_c_pressed.clear()
    _stopped_by.clear()
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    mine = {s for s in (signal.SIGINT, *_ALSO_CANCELS)  # left alone where someone else installed a handler
            if signal.getsignal(s) is (signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL)}

    def noted(signum: int, frame: Any) -> None:
        if not _stopped_by:
            _stopped_by.append(signum)
        _ctrl_c_pressed.set()
        signal.default_int_handler(signum, frame)

    previous = {s: signal.signal(s, noted) for s in mine}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _cancel_line() -> str:
    by = _stopped_by[0] if _stopped_by else signal.SIGINT
    return "cancelled (Ctrl-C)" if by == signal.SIGINT else f"cancelled ({signal.Signals(by).name})"


def _say(line: str) -> None:
    """One line on stderr, which may be gone (SIGHUP: the terminal closed) - then nobody needs it."""
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr)


def _cancelled() -> int:
    """Say the command was cancelled; the shell's exit code for the signal (Ctrl-C 130, SIGTERM 143, SIGHUP 129)."""
    _say(_cancel_line())
    return 128 + int(_stopped_by[0] if _stopped_by else signal.SIGINT)


def _from_ctrl_c(exc: BaseException) -> bool:
    """True when Ctrl-C was pressed during the command or a KeyboardInterrupt is in ``exc``'s chain
    (commands that report Ctrl-C themselves, like ``edgekit demo``, exit with 130 outside it and
    print their own line)."""
    if _ctrl_c_pressed.is_set():
        return True
    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _main(argv: list[str] | None) -> int:
    try:
        app(args=argv, prog_name="edgekit")  # standalone: usage errors print usage, exit 2
    except SystemExit as exc:
        code = exc.code
        if code not in (0, None) and _from_ctrl_c(exc):  # Typer turns Ctrl-C into Exit(130) first
            _say(_cancel_line())  # (a command that ends well after Ctrl-C, as serve does, says nothing)
            if code == 130 and _stopped_by and _stopped_by[0] != signal.SIGINT:
                return 128 + int(_stopped_by[0])
        return code if isinstance(code, int) else (0 if code is None else 1)
    except EdgekitError as exc:
        if _from_ctrl_c(exc):  # e.g. a model load that Ctrl-C broke: a cancel, not the model's fault
            return _cancelled()
        if os.environ.get("EDGEKIT_DEBUG"):
            raise
        from rich.markup import escape

        from edgekit.cli._console import print_message

        print_message(f"[bold red]error:[/] {escape(str(exc))}")
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside a command (while the CLI itself starts)
        return _cancelled()
    except OSError as exc:
        if os.environ.get("EDGEKIT_DEBUG") or exc.filename is None:
            raise
        # the user's file system said no (name too long, read-only, not a folder, disk full): not a bug
        from rich.markup import escape

        from edgekit.cli._console import print_message

        name = str(exc.filename)
        shown = name if len(name) <= 120 else f"{name[:60]}...{name[-40:]} ({len(name)} characters)"
        print_message(f"[bold red]error:[/] cannot use {escape(shown)}: {escape(exc.strerror or str(exc))}; "
                      "check the path, its length and its permissions")
        return 2
    except Exception as exc:  # a bug in edgekit, not the user's fault: still no traceback by default
        if _from_ctrl_c(exc):  # Ctrl-C while a pybind11 runtime initialised: "ImportError: initialization failed"
            return _cancelled()
        if os.environ.get("EDGEKIT_DEBUG") or isinstance(exc, Warning):  # a warning made an error (-W error) stays one
            raise
        from rich.markup import escape

        from edgekit.cli._console import print_message

        print_message(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} (this is a bug in edgekit; "
                      "rerun with EDGEKIT_DEBUG=1 for the traceback and report it)")
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
