"""``edgekit card MODEL [--mean ... --std ... --labels FILE] [--save | --out FILE]``: the model card.

Prints what edgekit will do with the model's inputs and outputs — task,
preprocessing, labels — and where each value came from (file metadata, a
card, your flags, a default); ``--save`` writes it beside the model as
``MODEL.json`` so every later command (and the desktop app) reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as esc

from edgekit.cli._options import ModelArg


def register(app: typer.Typer) -> None:
    """Add ``card`` to the CLI."""

    @app.command("card", help=(
        "Show a model's card (task, preprocessing, labels and where each value came from); "
        "with --save, write it beside the model."))
    def card(
        model: ModelArg,
        save: Annotated[bool, typer.Option("--save", help="Write the card beside the model as MODEL.json.")] = False,
        out: Annotated[Path | None, typer.Option("--out", help="Write the card to this file instead.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Replace an existing card file.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print only the card as JSON.")] = False,
    ) -> None:
        import json

        from edgekit._io import write_text_atomic
        from edgekit.cli._card_flags import load_cli_model
        from edgekit.cli._console import console, key_value_table, print_json
        from edgekit.errors import ModelLoadError
        from edgekit.models.card_options import card_dict

        loaded = load_cli_model(model)
        data = card_dict(loaded)
        target = out if out is not None else (loaded.path.with_suffix(".json") if save and loaded.path else None)
        if save and loaded.path is None:
            raise ModelLoadError(f"{loaded.name} has no file to save a card beside; give --out FILE")
        if target is not None:
            write_text_atomic(target, json.dumps(data, indent=2) + "\n", force=force)
        if as_json:
            print_json(data)
            return
        sources = data.get("sources", {})
        rows = [("Task", str(loaded.task))]
        for key, value in (data.get("preprocess") or {}).items():
            rows.append((key, esc(f"{value}  ({sources.get(key, 'card')})")))
        if loaded.preprocess is None:
            rows.append(("Preprocess", "[yellow]unknown: give --mean/--std/--size/--resize (or --assume-defaults)[/]"))
        labels = loaded.labels or ()
        shown = ", ".join(labels[:8]) + (" ..." if len(labels) > 8 else "")
        rows.append(("Labels", esc(f"{len(labels)}: {shown}") if labels else "[yellow]none (give --labels FILE)[/]"))
        console.print(key_value_table(f"Card of {esc(loaded.name)}", rows))
        if target is not None:
            console.print(f"wrote {esc(str(target))}", highlight=False)
