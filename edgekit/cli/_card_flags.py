"""The model-card flags every command that takes a MODEL accepts, attached in one place.

Why: ``--mean/--std/--scale/--bgr/--size/--resize/--labels/--card/--assume-defaults``
mean the same for ``eval``, ``bench``, ``plan``, ``compress``, ``deploy``, ``demo``,
``info`` and ``card``; so do ``--arch/--input-shape`` for a PyTorch file (added where a
command does not declare them itself, as ``convert`` and ``info`` do). :func:`attach` adds them to any command with a ``model``
parameter when the lazy group loads it (``edgekit.cli._lazy``), stores what the
user gave in :data:`CURRENT` for the command's run, and :func:`load_cli_model`
applies it to the model the command loads. No command repeats the flags.
"""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edgekit.cli._options import ArchOption, InputShapeOption

if TYPE_CHECKING:
    from edgekit.models.card_options import CardOptions

# what this command's card flags said (set while it runs); the card module (numpy, OpenCV) loads only when a
# command runs, so `edgekit bench --help` stays as light as `edgekit --help`
CURRENT: contextvars.ContextVar[CardOptions | None] = contextvars.ContextVar("card_options", default=None)
# --arch / --input-shape given to a command that takes them from here: load_model's keyword arguments
LOAD_ARGS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("load_args", default=None)
_LOAD_NAMES = ("arch", "input_shape")
_NAMES = ("card", "mean", "std", "scale", "bgr", "size", "resize", "labels_file", "assume_defaults")


def _floats(value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        numbers = tuple(float(v) for v in value.replace(" ", ",").split(",") if v)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a list of numbers like 0.485,0.456,0.406") from None
    if len(numbers) not in (1, 3):
        raise typer.BadParameter(f"give 1 or 3 numbers, not {len(numbers)}")
    return numbers * 3 if len(numbers) == 1 else numbers


def _card_flags(
    card: Annotated[Path | None, typer.Option(
        "--card", exists=True, dir_okay=False, help="Model card JSON to use (default: MODEL.json beside the model).")] = None,
    mean: Annotated[str | None, typer.Option(
        "--mean", help="Per-channel mean after scaling, e.g. 0.485,0.456,0.406.")] = None,
    std: Annotated[str | None, typer.Option("--std", help="Per-channel std, e.g. 0.229,0.224,0.225.")] = None,
    scale: Annotated[float | None, typer.Option(
        "--scale", help="Pixel multiplier before the mean, e.g. 0.00392 (1/255).")] = None,
    bgr: Annotated[bool | None, typer.Option("--bgr/--rgb", help="Channel order the model expects (default RGB).")] = None,
    size: Annotated[int | None, typer.Option("--size", min=8, max=8192, help="Input side in pixels, e.g. 224.")] = None,
    resize: Annotated[str | None, typer.Option(
        "--resize", help="How images reach --size: stretch, shorter-crop (shorter side + centre crop) or letterbox.")
    ] = None,
    labels_file: Annotated[Path | None, typer.Option(
        "--labels", exists=True, dir_okay=False, help="Class names: .txt (one per line), .csv (index,name) or .json.")
    ] = None,
    assume_defaults: Annotated[bool, typer.Option(
        "--assume-defaults", help="No card or flags: assume ImageNet preprocessing (warned).")] = False,
    arch: ArchOption = None,
    input_shape: InputShapeOption = None,
) -> None:
    """Never run: its parameters are the flags :func:`attach` adds (typer builds them)."""


def _options() -> list:
    scratch = typer.Typer(add_completion=False)
    scratch.command()(_card_flags)
    return list(typer.main.get_command(scratch).params)


def attach(command: Any) -> Any:
    """Add the card flags to ``command`` when it takes a ``model`` (once)."""
    names = {p.name for p in command.params}
    takes_model = "model" in names or command.name == "deploy"  # deploy's PLAN_OR_MODEL is called source
    if not takes_model or "card" in names or command.callback is None:
        return command
    own = [name for name in _LOAD_NAMES if name not in names]  # convert/info declare --arch themselves
    command.params.extend(p for p in _options() if p.name in _NAMES or p.name in own)
    inner = command.callback

    def callback(*args: Any, **kwargs: Any) -> Any:
        load = {name: kwargs.pop(name, None) for name in own}
        given = {name: kwargs.pop(name, None) for name in _NAMES}
        from edgekit.models.card_options import CardOptions

        options = CardOptions(card=given["card"], size=given["size"], resize=given["resize"],
                              mean=_floats(given["mean"]), std=_floats(given["std"]), scale=given["scale"], bgr=given["bgr"], labels=given["labels_file"],
                              assume_defaults=bool(given["assume_defaults"]))
        token, load_token = CURRENT.set(options), LOAD_ARGS.set(_load_args(load))
        try:
            return inner(*args, **kwargs)
        finally:
            CURRENT.reset(token)
            LOAD_ARGS.reset(load_token)

    command.callback = callback
    return command


def _load_args(given: dict) -> dict:
    from edgekit.cli._options import parse_shape

    out = {"arch": given.get("arch"), "input_shape": parse_shape(given.get("input_shape"))}
    return {k: v for k, v in out.items() if v is not None}


def load_cli_model(spec: Any, *, need_preprocess: bool = False, **kwargs: Any) -> Any:
    """``load_model(spec, **kwargs)`` with this command's card flags applied.

    Args:
        need_preprocess: the command feeds images (eval, plan, deploy, demo, compress): refuse a
            model that nothing says how to preprocess, naming the flags.
    """
    from edgekit.models import load_model
    from edgekit.models.card_options import apply_card_options

    kwargs = {**(LOAD_ARGS.get() or {}), **{k: v for k, v in kwargs.items() if v is not None}}
    model = spec if not isinstance(spec, (str, Path)) else load_model(spec, **kwargs)
    detector = False
    if need_preprocess:
        from edgekit.detection.head import model_task

        detector = model_task(model) == "detection"
        need_preprocess = not detector  # a detector's head fixes its letterbox and pixels
    from edgekit.models.card_options import CardOptions

    model = apply_card_options(model, CURRENT.get() or CardOptions(), need_preprocess=need_preprocess)
    if detector:
        note_assumptions(model)
    return model


def note_assumptions(model: Any) -> None:
    """One line on stderr naming what a detector runs on that nothing states (YOLOX's BGR 0..255
    pixels, the COCO names): eval, demo, compress and plan ran on them without a word."""
    from edgekit.detection.head import detector_spec
    from edgekit.errors import EdgekitError

    try:
        assumed = detector_spec(model).assumptions()
    except EdgekitError:  # an unknown head: the command itself says so
        return
    if assumed:
        from rich.markup import escape

        from edgekit.cli._console import err_console

        err_console.print(f"note: {escape(model.name)}: nothing in the file or its card states {' or '.join(assumed)}; "
                          "assumed. `edgekit card MODEL` shows them; `edgekit card MODEL --save` with --bgr/--rgb, "
                          "--scale and --labels records yours", highlight=False, soft_wrap=True)
