"""Arguments and options several commands share, declared once so their help reads the same."""

from __future__ import annotations

from typing import Annotated

import typer

from edgekit.errors import ModelLoadError

ModelArg = Annotated[str, typer.Argument(help="Model file (.onnx, .xml, .pt/.pth) or a name like demo:digits.")]
InputShapeOption = Annotated[
    str | None, typer.Option("--input-shape", help="Input shape for PyTorch files, e.g. 1,3,224,224.")
]
ArchOption = Annotated[
    str | None, typer.Option("--arch", help="Zoo architecture for a state-dict checkpoint, e.g. tinycnn.")
]


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """``"1,3,224,224"`` -> ``(1, 3, 224, 224)``.

    Raises:
        ModelLoadError: not a comma-separated list of positive integers.
    """
    if not text:
        return None
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        dims = ()
    if not dims or any(d <= 0 for d in dims):
        raise ModelLoadError(f"--input-shape {text!r} must be positive integers like 1,3,224,224")
    return dims
