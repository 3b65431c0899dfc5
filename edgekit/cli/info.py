"""``edgekit info``: what a model file is: inputs, outputs, format, precision, cost, hash."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape as esc
from rich.table import Table

from edgekit._text import first_few
from edgekit.cli._options import ArchOption, InputShapeOption, ModelArg


def _count(n: int | None, unit: str = "") -> str:
    if n is None:
        return "unknown"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.2f} {suffix}{unit}"
    return f"{n} {unit}".strip()


def _tensor(spec) -> str:
    dims = ", ".join(str(d) for d in spec.shape)
    layout = f" {spec.layout}" if spec.layout else ""
    return esc(f"{spec.name}  [{dims}]  {spec.dtype}{layout}")


def _task(model, given: str) -> str:
    """Classification, or detection with the head edgekit recognised and where to see the rest.

    Why: a YOLOX file (no metadata, no card) showed its shapes and nothing of being a detector; the head
    is recognised from those shapes, and ``edgekit card`` says what it is run on."""
    from edgekit.detection.head import detector_spec, model_task
    from edgekit.errors import EdgekitError
    from edgekit.types import Task

    if model_task(model) != Task.DETECTION:
        return "classification"
    try:
        spec = detector_spec(model)
    except EdgekitError as error:  # a detector's card that does not parse: say so here, where it is looked at
        return f"detection ({error})"
    found = dict(spec.sources).get("decoder", "card")
    classes = f", {len(spec.labels)} classes" if spec.labels else ""
    assumed = "; some of it assumed" if spec.assumptions() else ""
    return (f"detection: {spec.config.decoder} head (from its {found}){classes}{assumed}; "
            f"`edgekit card {given}` shows what it is run on")


def render(model, given: str = "MODEL") -> Table:
    """A Model as a two-column table; ``given``: the model as the user named it (for the commands it suggests)."""
    from edgekit.cli._console import key_value_table

    rows = [("Format", str(model.format)), ("Path", esc(str(model.path or "(in memory)")))]
    rows += [(f"Input {i}", _tensor(t)) for i, t in enumerate(model.inputs)]
    rows += [(f"Output {i}", _tensor(t)) for i, t in enumerate(model.outputs)]
    rows += [
        ("Precision", str(model.precision)),
        ("FLOPs (batch 1)", _count(model.flops, "FLOP")),
        ("Parameters", _count(model.params)),
        ("Size", f"{model.size_bytes / 1e6:.2f} MB in {len(model.files)} file(s)"),
        ("sha256" if len(model.files) <= 1 else f"sha256 of {len(model.files)} files", model.sha256),
    ]
    rows.append(("Task", esc(_task(model, given))))
    if model.preprocess is not None:
        p = model.preprocess
        rows.append(
            (
                "Preprocess",
                esc(
                    f"{p.size[0]}x{p.size[1]} {p.channel_order} {p.resize}, "
                    f"scale {p.scale:.4g}, mean {list(p.mean)}, std {list(p.std)}"
                ),
            )
        )
    if model.labels:
        shown = first_few(model.labels, 10)
        rows.append(("Labels", esc(f"{len(model.labels)}: {shown}")))
    return key_value_table(f"Model {esc(model.name)}", rows)


def register(app: typer.Typer) -> None:
    """Add ``info`` to the CLI."""

    @app.command("info")
    def info(
        model: ModelArg,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print only the model description as JSON.")
        ] = False,
        input_shape: InputShapeOption = None,
        arch: ArchOption = None,
    ) -> None:
        """Show a model's inputs/outputs, format, precision, FLOPs, parameters, size and sha256."""
        from edgekit.cli._card_flags import load_cli_model
        from edgekit.cli._console import console, print_json
        from edgekit.cli._options import parse_shape

        loaded = load_cli_model(model, input_shape=parse_shape(input_shape), arch=arch)
        if as_json:
            print_json({**loaded.to_dict(), "size_bytes": loaded.size_bytes})
            return
        console.print(render(loaded, model))
