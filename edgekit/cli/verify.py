"""``edgekit verify BUNDLE``: re-run the packaged validation sample on this device.

Exit codes: 0 = every promise held; 1 = accuracy, agreement or latency beyond
the manifest's tolerance; 2 = the bundle was refused (a modified, missing or
extra file, an unsafe zip, an unknown schema) or cannot run here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as esc
from rich.table import Table


def render(report) -> Table:
    """The checks as a rich table."""
    table = Table(title=f"verify {esc(report.bundle)} on {report.backend}", title_justify="left")
    for name in ("check", "promised", "measured", "limit", "result", "note"):
        table.add_column(name, justify="right" if name in ("promised", "measured") else "left")
    for c in report.checks:
        result = {True: "[green]ok[/]", False: "[bold red]FAILED[/]", None: "[yellow]not enforced[/]"}[c.ok]
        fmt = (lambda v: "-" if v is None else f"{v:.4f}")
        table.add_row(c.name, fmt(c.promised), fmt(c.measured), c.limit, result, esc(c.note))
    return table


def register(app: typer.Typer) -> None:
    """Add ``verify`` to the CLI."""

    @app.command("verify")
    def verify_cmd(
        bundle: Annotated[Path, typer.Argument(help="Bundle folder or .zip.")],
        backend: Annotated[str | None, typer.Option(help="Run on this allowed backend instead of the preferred one.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print only the report as JSON.")] = False,
    ) -> None:
        """Check a bundle's files and re-measure its promises here (exit 1 when one fails)."""
        from edgekit.cli._console import console, print_json
        from edgekit.deployment.verify import EXIT_FAILED, verify_bundle

        report = verify_bundle(bundle, backend=backend)
        if as_json:
            print_json(report.to_dict())
        else:
            console.print(render(report))
            verdict = "[green]bundle verified: every promise held[/]" if report.passed else \
                "[bold red]bundle does not keep its promises on this device[/]"
            console.print(verdict)
        if not report.passed:
            raise typer.Exit(EXIT_FAILED)
