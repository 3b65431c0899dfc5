"""The ``edgekit`` command line: one module per sub-command, each with ``register(app)``.

Every :class:`~edgekit.errors.EdgekitError` becomes one red line on stderr and
exit code 2; nothing from inside a library reaches the user as a traceback
(set ``EDGEKIT_DEBUG=1`` to see it).
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from edgekit.errors import EdgekitError

# sub-command modules under edgekit.cli; each defines register(app: typer.Typer)
COMMANDS = (
    "profile", "backends", "targets",
    "info", "convert", "pull", "eval", "bench",
    "compress", "plan", "run",
    "demo", "gui",
    "deploy", "verify", "serve", "export",
)

app = typer.Typer(
    name="edgekit",
    help="Take a trained vision model to an edge device: profile, convert, benchmark, "
    "compress, deploy and demo it live.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _register_all() -> None:
    for name in COMMANDS:
        importlib.import_module(f"edgekit.cli.{name}").register(app)


_register_all()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (2 for any edgekit error or usage error)."""
    try:
        app(args=argv, prog_name="edgekit")  # standalone: usage errors print usage, exit 2
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except EdgekitError as exc:
        if os.environ.get("EDGEKIT_DEBUG"):
            raise
        from edgekit.cli._console import err_console

        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
