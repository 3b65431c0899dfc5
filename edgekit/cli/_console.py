"""Shared rich consoles and helpers for printing results as tables or JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (for ``--json``), nothing else."""
    print(json.dumps(data, indent=2, default=str))


def key_value_table(title: str, rows: list[tuple[str, str]]) -> Table:
    """A two-column rich table (bold cyan keys, folded values) of ``rows``."""
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


NARROW = 120  # below this many columns, wide tables drop their secondary columns (never "…" for a number)


def table_console(wide: int) -> Console:
    """The console to print a wide table on: a terminal's own width; for a pipe or file,
    ``$COLUMNS`` when set (``COLUMNS=80 edgekit plan ... > log``), else ``wide``."""
    import os

    if console.is_terminal:
        return console
    columns = os.environ.get("COLUMNS", "")
    return Console(width=int(columns) if columns.isdigit() and int(columns) > 0 else wide)
