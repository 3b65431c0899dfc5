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

from edgekit._text import first_few
from edgekit.cli._options import ModelArg
from edgekit.types import RESIZE_NAMES


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
        conf: Annotated[float | None, typer.Option(
            "--conf", min=0.0, max=1.0, help="Detectors: confidence threshold to keep in the card.")] = None,
        iou: Annotated[float | None, typer.Option(
            "--iou", min=0.0, max=1.0, help="Detectors: NMS IoU threshold to keep in the card.")] = None,
        max_det: Annotated[int | None, typer.Option(
            "--max-det", min=1, help="Detectors: most boxes per image to keep in the card.")] = None,
    ) -> None:
        import json

        from edgekit._io import write_text_atomic
        from edgekit.cli._card_flags import load_cli_model
        from edgekit.cli._console import console, key_value_table, print_json
        from edgekit.errors import ModelLoadError
        from edgekit.models.card_options import card_dict

        loaded = load_cli_model(model)
        data = card_dict(loaded)
        detection_rows = _detection(loaded, data, conf=conf, iou=iou, max_det=max_det)
        target = out if out is not None else (loaded.path.with_suffix(".json") if save and loaded.path else None)
        if save and loaded.path is None:
            raise ModelLoadError(f"{loaded.name} has no file to save a card beside; give --out FILE")
        if target is not None:
            write_text_atomic(target, json.dumps(data, indent=2) + "\n", force=force)
        if as_json:
            print_json(data)
            return
        sources = data.get("sources", {})
        rows = [("Task", str(data.get("task", loaded.task))), *detection_rows]
        # a detector letterboxes and scales pixels (its Letterbox and Pixels rows); a classifier's resize
        # ("stretch"), crop, mean and std beside them read as if they applied, and none does
        for key, value in (() if detection_rows else (data.get("preprocess") or {}).items()):
            rows.append((key, esc(f"{_shown(key, value)}  ({sources.get(key, 'card')})")))
        if loaded.preprocess is None and not detection_rows:  # a detector's pixels are in its rows
            rows.append(("Preprocess", "[yellow]unknown: give --mean/--std/--size/--resize (or --assume-defaults)[/]"))
        labels = tuple(data.get("labels") or loaded.labels or ())
        shown = first_few(labels, 8)
        rows.append(("Labels", esc(f"{len(labels)}: {shown}") if labels else "[yellow]none (give --labels FILE)[/]"))
        console.print(key_value_table(f"Card of {esc(loaded.name)}", rows))
        if target is not None:
            console.print(f"wrote {esc(str(target))}", highlight=False)


def _shown(key: str, value: object) -> str:
    """A card value as shown, with the ``--resize`` word meaning it when the card's own name differs
    (``center_crop`` is what ``--resize shorter-crop`` stores: a user who typed the flag finds it)."""
    if key == "resize" and isinstance(value, str):
        word = next((w for w, name in RESIZE_NAMES.items() if name == value), value)  # the flag's first spelling
        if word != value:
            return f"{value} (--resize {word})"
    return str(value)


def _detection(loaded, data: dict, **thresholds) -> list[tuple[str, str]]:
    """For a detector: put ``task: detection`` and the ``detection`` object (decoder, thresholds, padding)
    in the card ``data`` (what later loads restore) and return the rows to show; ``[]`` for a classifier.

    Raises:
        ConfigError: thresholds given for a classifier.
    """
    from edgekit.detection.head import detector_spec, model_task
    from edgekit.errors import ConfigError
    from edgekit.types import Task

    given = {k: v for k, v in thresholds.items() if v is not None}
    if model_task(loaded) != Task.DETECTION:
        if given:
            raise ConfigError(f"--conf/--iou/--max-det apply to detectors; {loaded.name} is a classifier (drop them)")
        return []
    spec = detector_spec(loaded, **given)
    card = (loaded.metadata.get("card") or {}).get("detection") or {}
    data["task"] = str(Task.DETECTION)
    data["detection"] = spec.config.to_dict()
    if isinstance(data.get("preprocess"), dict):  # pixels stated: the resize is the detector's letterbox, not
        data["preprocess"]["resize"] = "letterbox"  # the classifier default ("stretch") the flags came with
    if spec.labels and not data.get("labels"):
        data["labels"] = list(spec.labels)
    sources = dict(spec.sources)

    def source(key: str) -> str:
        return "flag" if key in given else sources.get(key) or ("card" if key in card else "default")

    cfg = spec.config
    return [("Decoder", esc(f"{cfg.decoder}  ({source('decoder')})")),
            ("Confidence", f"{cfg.conf:g}  ({source('conf')})"),
            ("NMS IoU", f"{cfg.iou:g}  ({source('iou')})"),
            ("Max boxes", f"{cfg.max_det}  ({source('max_det')})"),
            ("Letterbox", esc(f"{spec.size[0]}x{spec.size[1]}, pad {cfg.pad} ({source('size')})")),
            ("Pixels", esc(f"{'RGB' if spec.rgb else 'BGR'}, x{spec.scale:g}  (")
             + ("card)" if sources.get("pixels") == "card" else f"[yellow]assumed: the {cfg.decoder} convention; "
                                                                 "--bgr/--rgb and --scale state yours[/])"))]
