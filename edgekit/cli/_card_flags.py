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

import contextlib
import contextvars
from collections.abc import Iterator
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


def _floats(value: str | None, flag: str) -> tuple[float, ...] | None:
    """``--mean``/``--std`` text -> 3 numbers: ``0.485,0.456,0.406``, ``"0.485 0.456 0.406"``, Python's
    ``[0.485, 0.456, 0.406]`` or one number for all three channels.

    Raises:
        ModelLoadError: not 1 or 3 numbers, naming ``flag`` (one line, like ``--resize``; a click usage box
            did not name the flag).
    """
    if value is None:
        return None
    text = value.strip()
    if text[:1] + text[-1:] in ("[]", "()"):  # pasted from Python
        text = text[1:-1]
    example = "0.485,0.456,0.406" if flag == "--mean" else "0.229,0.224,0.225"
    try:
        numbers = tuple(float(v) for v in text.replace(" ", ",").split(",") if v)
    except ValueError:
        from edgekit.errors import ModelLoadError

        raise ModelLoadError(f"{flag} {value!r} is not a list of numbers; give 3 (one per channel, RGB order unless "
                             f"--bgr) like {flag} {example}, or 1 for all channels") from None
    if len(numbers) not in (1, 3):
        from edgekit.errors import ModelLoadError

        raise ModelLoadError(f"{flag} {value!r}: give 1 or 3 numbers (one per channel, or one for all), not "
                             f"{len(numbers)}; e.g. {flag} {example}")
    return numbers * 3 if len(numbers) == 1 else numbers


def _checked(given: dict) -> dict:
    """``given`` with ``--mean``/``--std`` parsed and the three numbers checked, each error naming its flag."""
    from edgekit._pixel_numbers import check_numbers

    out = dict(given, mean=_floats(given["mean"], "--mean"), std=_floats(given["std"], "--std"))
    typed = {k: given[k] for k in ("mean", "std") if given[k] is not None}
    check_numbers(mean=out["mean"], std=out["std"], scale=out["scale"], flags=True, given=typed)
    return out


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
        given = _checked({name: kwargs.pop(name, None) for name in _NAMES})
        from edgekit.models.card_options import CardOptions

        options = CardOptions(card=given["card"], size=given["size"], resize=given["resize"],
                              mean=given["mean"], std=given["std"], scale=given["scale"], bgr=given["bgr"], labels=given["labels_file"],
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

    before = model.preprocess
    model = apply_card_options(model, CURRENT.get() or CardOptions(), need_preprocess=need_preprocess)
    if model.preprocess != before:  # eval applies the flags twice: one warning
        warn_pixel_range(model, CURRENT.get() or CardOptions())
        if not detector:
            note_defaults(model)
    if detector:
        note_assumptions(model)
    return model


def warn_pixel_range(model: Any, options: CardOptions) -> None:
    """Warn (once, not refuse: it may be meant) when ``--mean``/``--std`` look like 0..255 pixel values
    while the scale maps pixels to 0..1: ``--mean 123.7,116.3,103.5`` with the default 1/255 ran
    silently at 0.2% top-1 on an ImageNet model. Only when the user gave ``--mean``, ``--std`` or ``--scale``."""
    pre = model.preprocess
    if pre is None or (options.mean, options.std, options.scale) == (None, None, None) or pre.scale >= 1:
        return
    top = 255 * pre.scale  # the largest pixel after scaling
    values = {"mean": pre.mean[: pre.channels], "std": pre.std[: pre.channels]}
    big = [k for k, v in values.items() if max(v) > top * (1 + 1e-6)]
    if not big:
        return
    import warnings

    from edgekit._pixel_numbers import _shown
    from edgekit.errors import EdgekitWarning

    sources = model.metadata.get("card_sources", {})

    def given(name: str, text: str) -> str:  # the flag when the user gave it, else where the value came from
        if getattr(options, name) is not None:
            return f"--{name} {text}"
        source = sources.get(name, "default")
        return f"the default {name} {text}" if source == "default" else f"{name} {text} (from {source})"

    inverse = _inverse(pre.scale)
    scale = given("scale", _shown(pre.scale) + (f" (1/{inverse})" if inverse else ""))
    factor = f"divided by {inverse}" if inverse else f"times {_shown(pre.scale)}"
    fixed = " ".join(f"--{k} {_shown(tuple(round(x * pre.scale, 4) for x in values[k]))}" for k in big)
    others = [k for k in values if k not in big and values[k] != ((0.0,) if k == "mean" else (1.0,)) * len(values[k])]
    then = "".join(f" (then --{k} {_shown(tuple(round(x / pre.scale, 2) for x in values[k]))} in 0..255 too)"
                   for k in others)
    what = " and ".join(given(k, _shown(values[k])) for k in big)
    warnings.warn(EdgekitWarning(
        f"{what} {'look' if len(big) > 1 else 'looks'} like 0..255 pixel values, but {scale} maps pixels to "
        f"0..{top:.3g} first, so {model.name} would see every input far off its range; give {fixed} ({factor}), or "
        f"--scale 1 to keep pixels in 0..255{then}"), stacklevel=2)


def _inverse(scale: float) -> int | None:
    """``255`` for a scale of 1/255 (so it can be shown as people write it); ``None`` when not 1/n."""
    inverse = round(1 / scale)
    return inverse if inverse and abs(1 / scale - inverse) < 1e-3 * inverse else None


IMAGENET_FLAGS = "--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --resize shorter-crop"


def note_defaults(model: Any) -> None:
    """One line on stderr when the user gave some preprocessing flags but not ``--mean``/``--std``, and
    no card or file metadata did: the rest were filled in silently with the plain defaults (mean 0,
    std 1, stretch). Measured: the real-data ShuffleNet (ImageNet-normalised) evaluated with only
    ``--resize shorter-crop`` scored 22.4 % top-1 with no word said; with ImageNet's numbers, 75.6 %."""
    sources = model.metadata.get("card_sources", {})
    pre = model.preprocess
    if pre is None or "user" not in sources.values() or not any(
            sources.get(k, "default") == "default" for k in ("mean", "std")):
        return
    from rich.markup import escape

    from edgekit._pixel_numbers import _shown
    from edgekit.cli._console import print_message

    inverse = _inverse(pre.scale)
    scale = f"1/{inverse}" if inverse else _shown(pre.scale)
    values = {"mean": f"mean {_shown(pre.mean[: pre.channels])}", "std": f"std {_shown(pre.std[: pre.channels])}",
              "scale": f"pixels x {scale}", "channel_order": pre.channel_order, "resize": f"{pre.resize} resize"}
    flags = {"mean": "--mean", "std": "--std", "scale": "--scale", "channel_order": "--bgr/--rgb", "resize": "--resize"}
    assumed = [k for k in values if sources.get(k, "default") == "default"]
    names = ", ".join(flags[k] for k in assumed[:-1]) + (" or " if len(assumed) > 1 else "") + flags[assumed[-1]]
    print_message(f"note: {escape(model.name)}: no {names} given, so it runs on "
                  f"{escape(', '.join(values[k] for k in assumed))}. A model trained on ImageNet-normalised images "
                  f"needs {IMAGENET_FLAGS} (or --assume-defaults); `edgekit card MODEL ... --save` records yours")


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

        from edgekit.cli._console import print_message

        print_message(f"note: {escape(model.name)}: nothing in the file or its card states {' or '.join(assumed)}; "
                      "assumed. `edgekit card MODEL` shows them; `edgekit card MODEL --save` with --bgr/--rgb, "
                      "--scale and --labels records yours")


def given_flags() -> dict | None:
    """The card flags this command was given, as a saved config keeps them (``card_flags:`` in live.yaml or
    plan.yaml, :mod:`edgekit._config_files`); ``None`` when none was given."""
    from edgekit._config_files import check_card_flags

    options, load = CURRENT.get(), LOAD_ARGS.get() or {}
    flags = {} if options is None else {
        "card": options.card, "mean": options.mean, "std": options.std, "scale": options.scale, "bgr": options.bgr,
        "size": options.size, "resize": options.resize, "labels": options.labels,
        "assume_defaults": options.assume_defaults}
    flags.update(arch=load.get("arch"), input_shape=load.get("input_shape"))
    plain = {k: str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v for k, v in flags.items()}
    return check_card_flags(plain)


@contextlib.contextmanager
def use_flags(flags: dict | None) -> Iterator[None]:
    """Run as if the command had been given ``flags`` (a config's ``card_flags``): what
    :func:`load_cli_model` applies, so ``edgekit run`` replays them as the saving command did."""
    from edgekit.models.card_options import options_from_flags

    options, load = options_from_flags(flags)
    token, load_token = CURRENT.set(options), LOAD_ARGS.set(load)
    try:
        yield
    finally:
        CURRENT.reset(token)
        LOAD_ARGS.reset(load_token)
