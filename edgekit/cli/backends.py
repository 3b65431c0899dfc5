"""``edgekit backends``: which backends and devices can run here, and why not when not."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape as esc
from rich.table import Table


def collect() -> list[dict]:
    """One row per backend x device: ``{backend, device, available, reason}``."""
    from edgekit.backends import available_backends, device_status

    rows = []
    for name, ok, reason in available_backends():
        devices = device_status(name) if ok else [("-", False, reason)]
        rows += [{"backend": name, "device": d, "available": d_ok, "reason": why} for d, d_ok, why in devices]
    return rows


def capability_rows() -> list[dict]:
    """One row per registered backend: what it declares (``BackendCapabilities.to_dict``)."""
    from edgekit.backends import capabilities, list_backends

    return [{"backend": name, **capabilities(name).to_dict()} for name in list_backends()]


def render_capabilities(rows: list[dict]) -> Table:
    """The declared capabilities as a rich table: one column per backend, one row per declaration.

    Why this way round: seven columns of lists broke every word at 80 columns ("onnxrunti / me",
    "int8-dyn / amic"); a backend's lists wrap between their items in a column of their own."""
    table = Table(title="What each backend declares", title_justify="left")
    table.add_column("", style="bold", no_wrap=True)
    for row in rows:
        table.add_column(row["backend"], overflow="fold")
    lines = (("reads", lambda r: ", ".join(r["formats"])), ("devices", lambda r: ", ".join(r["devices"])),
             ("precisions", lambda r: ", ".join(r["precisions"])),
             ("runs files made by", lambda r: ", ".join(r["methods"])),
             ("options", lambda r: r["options"].rsplit(".", 1)[-1]),
             ("bundle", lambda r: "yes" if r["bundle"] else "no"))
    for name, value in lines:
        table.add_row(name, *(esc(value(row)) for row in rows))
    return table


def render(rows: list[dict]) -> Table:
    """The rows as a rich table."""
    table = Table(title="Backends and devices", title_justify="left")
    for column in ("backend", "device", "available", "reason / fix"):
        table.add_column(column, overflow="fold")
    for row in rows:
        mark = "[green]yes[/]" if row["available"] else "[yellow]no[/]"
        table.add_row(row["backend"], esc(row["device"]), mark, esc(row["reason"]))
    return table


def register(app: typer.Typer) -> None:
    """Add ``backends`` to the CLI."""

    @app.command("backends")
    def backends_cmd(
        as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
        declared: Annotated[bool, typer.Option("--capabilities", help="Show what each backend declares (formats, "
                                               "devices, precisions, compressed files it runs, options type).")] = False,
    ) -> None:
        """List inference backends (onnxruntime, openvino, torch) and their devices, with
        availability and, when unavailable, the reason and the fix."""
        from edgekit.cli._console import console, print_json

        rows = capability_rows() if declared else collect()
        if as_json:
            print_json(rows)
            return
        console.print(render_capabilities(rows) if declared else render(rows))
