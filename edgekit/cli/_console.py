"""Shared rich consoles and helpers for printing results as tables or JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (for ``--json``), nothing else."""
    print(json.dumps(data, indent=2, default=str))
