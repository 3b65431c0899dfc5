"""Arguments and options several commands share, declared once so their help reads the same."""

from __future__ import annotations

from typing import Annotated

import typer

ModelArg = Annotated[str, typer.Argument(help="Model file (.onnx, .xml, .pt/.pth) or a name like demo:digits.")]
InputShapeOption = Annotated[
    str | None, typer.Option("--input-shape", help="Input shape for PyTorch files, e.g. 1,3,224,224.")
]
ArchOption = Annotated[
    str | None, typer.Option("--arch", help="Zoo architecture for a state-dict checkpoint, e.g. tinycnn.")
]
