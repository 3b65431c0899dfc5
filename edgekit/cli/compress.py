"""``edgekit compress MODEL --method fp16|int8|int8-dynamic|prune --out FILE``.

Writes a new model file (and its ``.json`` card); the input is never touched.
INT8 static needs calibration images (``--data DIR``; demo models use their
training split).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape as esc

METHODS = ("fp16", "int8", "int8-dynamic", "prune")
_TAGS = {"fp16": "fp16", "int8": "int8", "int8-dynamic": "int8-dynamic", "prune": "pruned"}  # output file tags


def _calibration(model, data: str | None, n: int):
    from edgekit.data import calibration_set, open_dataset
    from edgekit.data.spec import image_size
    from edgekit.errors import DataError

    if data:
        ds = open_dataset(data, image_size(model))
    elif model.name.startswith("demo:digits"):
        ds = open_dataset("demo-train", image_size(model))
    else:
        raise DataError(f"INT8 static needs calibration images for {model.name}: pass --data DIR "
                        "(one sub-folder of images per class)")
    return calibration_set(ds, model, n=n)


def _check_format(fmt: str | None, method: str) -> str | None:
    """``--format`` is onnx or openvino, and openvino only where a method can write it (not silently ignored)."""
    from edgekit.errors import ConfigError

    if fmt is None:
        return None
    fmt = fmt.lower()
    if fmt not in ("onnx", "openvino"):
        raise ConfigError(f"--format {fmt!r} is unknown; choose onnx or openvino (or leave it out)")
    if fmt == "openvino" and method not in ("fp16", "int8"):
        raise ConfigError(f"--method {method} writes ONNX only; drop --format openvino, or convert the result "
                          "afterwards with edgekit convert --to openvino")
    return fmt


def _refuse_existing(model, method: str, out, fmt, force) -> None:
    """Refuse an existing ``--out`` (or its ``.json`` / ``.bin``) before calibration or pruning runs,
    naming the same files, with the same message, the method itself would refuse minutes later."""
    from edgekit.compress._common import output_path, refuse_existing
    from edgekit.types import Format

    if method == "fp16":
        target = Format.parse(fmt or model.format, "format")
    else:
        target = Format.OPENVINO if method == "int8" and fmt == "openvino" else Format.ONNX
    refuse_existing(output_path(model, out, _TAGS[method], target), target, model, force)


def _compress(model, method: str, out, fmt, data, samples, ratio, force):
    from edgekit.errors import ConversionError

    if method not in METHODS:
        raise ConversionError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "prune":
        from edgekit.planner.build import torch_twin

        twin = torch_twin(model)
        if twin is None:
            raise ConversionError(f"pruning needs a PyTorch model; {model.name} has no .pt checkpoint beside it")
        model = twin
    _refuse_existing(model, method, out, fmt, force)
    if method == "fp16":
        from edgekit.compress import to_fp16

        return to_fp16(model, out, fmt=fmt, force=force)
    if method == "int8-dynamic":
        from edgekit.compress import quantize_dynamic_int8

        return quantize_dynamic_int8(model, out, force=force)
    if method == "int8":
        from edgekit.compress import quantize_int8, quantize_openvino

        feeds = _calibration(model, data, samples)
        if fmt == "openvino":
            return quantize_openvino(model, feeds, out, force=force)
        return quantize_int8(model, feeds, out, force=force)
    from edgekit.compress import prune_channels

    return prune_channels(model, ratio, out, force=force).model


def register(app: typer.Typer) -> None:
    @app.command("compress")
    def compress_cmd(
        model: Annotated[str, typer.Argument(help="Model file or name.")],
        method: Annotated[str, typer.Option(help="fp16 | int8 | int8-dynamic | prune")],
        out: Annotated[str, typer.Option(help="Output file (.onnx / .xml) or folder.")],
        fmt: Annotated[str | None, typer.Option("--format", help="onnx | openvino (fp16, int8).")] = None,
        data: Annotated[str | None, typer.Option(help="Calibration images (int8).")] = None,
        samples: Annotated[int, typer.Option(min=1, help="Calibration samples (int8).")] = 300,
        ratio: Annotated[float, typer.Option(help="Share of channels removed (prune).")] = 0.3,
        force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the new model as JSON.")] = False,
    ) -> None:
        """Compress a model into a NEW file (never edits the input)."""
        from edgekit.cli._console import console, print_json
        from edgekit.models import load_model

        fmt = _check_format(fmt, method)
        source = load_model(model)
        result = _compress(source, method, out, fmt, data, samples, ratio, force)
        if as_json:
            print_json(result.to_dict())
            return
        before, after = source.size_bytes / 1e6, result.size_bytes / 1e6
        console.print(f"[green]wrote[/] {esc(str(result.path))} ({result.precision}, {after:.2f} MB, was {before:.2f} MB)")
