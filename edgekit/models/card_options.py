"""What a user says about a model's preprocessing and labels, merged with what the file and its card say.

Why: a third-party model arrives as a bare ``.onnx``. Its preprocessing is
written in the exporter's metadata (Ultralytics' ``imgsz``/``names``), in a
card beside it, or only in the user's head; the CLI flags
(``--mean/--std/--scale/--bgr/--size/--resize/--labels/--card``), the GUI
editor and ``load_model(preprocess=...)`` all end here. Every value remembers
where it came from (file metadata, card, user, default) so the app can show
it; nothing is guessed silently: with no preprocessing anywhere, commands that
feed images refuse with one sentence naming the flags, unless
``assume_defaults`` opts into the ImageNet defaults with a warning.

Example:
    >>> opts = CardOptions(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), size=224, resize="shorter-crop")
    >>> opts.preprocess_dict()["resize"]
    'center_crop'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit._pixel_numbers import check_numbers
from edgekit.errors import DataError, EdgekitError, ModelLoadError, warn_caller
from edgekit.models.labels import disambiguate, read_labels
from edgekit.models.model import Model
from edgekit.models.preprocess import Preprocess
from edgekit.types import RESIZE_NAMES
from edgekit.zoo.hub import read_card_file

IMAGENET = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225), "scale": 1 / 255,
            "channel_order": "RGB", "resize": "center_crop", "crop_ratio": 0.875}
FLAGS = "--mean, --std, --scale, --size, --resize, --bgr (or --card FILE, or --assume-defaults for ImageNet's)"


@dataclass(frozen=True)
class CardOptions:
    """Preprocessing and labels given by the user; ``None`` = not given (the file or card decides)."""

    card: Path | None = None
    size: int | tuple[int, int] | None = None
    resize: str | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    scale: float | None = None
    bgr: bool | None = None
    labels: Path | None = None
    assume_defaults: bool = False

    def is_empty(self) -> bool:
        """True when the user said nothing about the model."""
        return self == CardOptions()

    def preprocess_dict(self) -> dict:
        """The preprocessing fields the user gave, in :class:`Preprocess` names."""
        out: dict[str, Any] = {}
        if self.size is not None:
            out["size"] = (self.size, self.size) if isinstance(self.size, int) else tuple(self.size)
        if self.resize is not None:
            key = RESIZE_NAMES.get(self.resize.lower())
            if key is None:
                raise ModelLoadError(f"--resize {self.resize!r} is not known; choose stretch, shorter-crop or letterbox")
            out["resize"] = key
        for name in ("mean", "std", "scale"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.bgr is not None:
            out["channel_order"] = "BGR" if self.bgr else "RGB"
        return out


def file_metadata(model: Model) -> dict:
    """What the model file itself says: ONNX ``metadata_props`` (Ultralytics ``names``/``imgsz``/``task``,
    or ``mean``/``std``/``labels`` keys some exporters write), or an OpenVINO IR's ``rt_info``
    (:func:`openvino_metadata`), as card fields."""
    if model.metadata.get("ov_rt_info"):
        return openvino_metadata(model.metadata["ov_rt_info"])
    props = model.metadata.get("onnx_metadata") or {}  # read once by the ONNX loader
    card: dict[str, Any] = {}
    names = props.get("names")
    if names:
        parsed = _literal(names)
        if isinstance(parsed, dict):
            card["labels"] = [str(parsed[k]) for k in sorted(parsed, key=lambda k: int(k))]
        elif isinstance(parsed, list):
            card["labels"] = [str(x) for x in parsed]
    pre: dict[str, Any] = {}
    size = _literal(props.get("imgsz", "")) if props.get("imgsz") else None
    if isinstance(size, (list, tuple)) and len(size) == 2:
        pre.update(size=(int(size[0]), int(size[1])), resize="letterbox", scale=1 / 255, mean=(0.0, 0.0, 0.0),
                   std=(1.0, 1.0, 1.0), channel_order="RGB")
    for key in ("mean", "std"):
        value = _literal(props.get(key, "")) if props.get(key) else None
        if isinstance(value, (list, tuple)) and len(value) in (1, 3):
            pre[key] = tuple(float(v) for v in value)
    if pre:
        card["preprocess"] = pre
    if props.get("task"):
        card["task"] = {"detect": "detection", "classify": "classification"}.get(props["task"], props["task"])
    return card


# OpenVINO Model API resize_type -> Preprocess.resize
_OV_RESIZE = {"standard": "stretch", "fit_to_window": "letterbox", "fit_to_window_letterbox": "letterbox",
              "crop": "center_crop"}
_MODEL_API_KEYS = ("mean_values", "scale_values", "resize_type", "reverse_input_channels")


def openvino_metadata(rt: dict) -> dict:
    """Card fields from an IR's ``rt_info`` sections (as :func:`edgekit.models.openvino_io.rt_info` reads them).

    ``model_info`` (OpenVINO Model API, Geti/OTX exports) says what a wrapper does *before* the
    model: pixel mean/scale in 0..255 units, BGR->RGB when ``reverse_input_channels``, the resize,
    and space-separated labels. ``conversion_parameters`` (Model Optimizer) says what was *baked
    into* the graph: with ``mean_values``/``scale_values`` there, the IR takes raw pixels, and
    ``reverse_input_channels`` made it take BGR.
    """
    info, conv = rt.get("model_info") or {}, rt.get("conversion_parameters") or {}
    card: dict[str, Any] = {}
    if info.get("labels"):
        parsed = _literal(info["labels"])
        card["labels"] = [str(x) for x in parsed] if isinstance(parsed, (list, tuple)) else info["labels"].split()
    pre: dict[str, Any] = {}
    if any(key in info for key in _MODEL_API_KEYS):
        pre.update(scale=1.0, mean=_numbers(info.get("mean_values")) or (0.0,) * 3,
                   std=_numbers(info.get("scale_values")) or (1.0,) * 3)
        if "reverse_input_channels" in info:
            pre["channel_order"] = "RGB" if info["reverse_input_channels"].strip().lower() == "true" else "BGR"
        if info.get("resize_type") in _OV_RESIZE:
            pre["resize"] = _OV_RESIZE[info["resize_type"]]
    elif conv.get("mean_values") or conv.get("scale_values"):
        pre.update(scale=1.0, mean=(0.0,) * 3, std=(1.0,) * 3)
        if "reverse_input_channels" in conv:
            pre["channel_order"] = "BGR" if conv["reverse_input_channels"].strip().lower() == "true" else "RGB"
    if pre:
        card["preprocess"] = pre
    return card


def _numbers(text: str | None) -> tuple[float, ...] | None:
    """``"123.675 116.28 103.53"``, ``"[123.675,116.28,103.53]"`` or ``"data[...]"`` -> 3 floats (1 is repeated)."""
    import re

    found = [float(v) for v in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", text or "")]
    if len(found) == 1:
        return (found[0],) * 3
    return tuple(found) if len(found) == 3 else None


def _literal(text: str) -> Any:
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def apply_card_options(model: Model, options: CardOptions | None = None, *, need_preprocess: bool = False) -> Model:
    """``model`` with file metadata, a ``--card`` file and the user's flags applied, in that order.

    Each preprocessing value's origin is kept in ``model.metadata["card_sources"]``
    (``{"mean": "user", "size": "file metadata", ...}``).

    Raises:
        ModelLoadError: a bad card file or flag.
        DataError: ``need_preprocess`` and nothing says how to preprocess (naming the flags).
    """
    options = options or CardOptions()
    sources = dict(model.metadata.get("card_sources", {}))
    if model.preprocess is not None:
        sources.update({k: sources.get(k, "card") for k in model.preprocess.to_dict()})
    base = model.preprocess.to_dict() if model.preprocess is not None else {}
    meta = file_metadata(model) if model.preprocess is None or model.labels is None else {}
    for key, value in meta.get("preprocess", {}).items():
        if key not in base:
            base[key], sources[key] = value, "file metadata"
    labels = model.labels if model.labels is not None else meta.get("labels")
    if options.card is not None:
        card = _read_card_file(options.card)
        for key, value in card.get("preprocess", {}).items():
            base[key], sources[key] = value, f"card {options.card.name}"
        labels = card.get("labels", labels)
    for key, value in options.preprocess_dict().items():
        base[key], sources[key] = value, "user"
    if options.labels is not None:
        labels = read_labels(options.labels)
    if not base and options.assume_defaults:
        base = {**IMAGENET, "size": _input_size(model)}
        sources.update({k: "default (ImageNet)" for k in base})
        warn_caller(f"{model.name}: nothing says how to preprocess it; assuming ImageNet's (RGB, /255, mean "
                    f"{IMAGENET['mean']}, std {IMAGENET['std']}, shorter side + centre crop)")
    pre = _complete(model, base) if base else None
    if pre is not None:
        sources.update({k: "default" for k in pre.to_dict() if k not in sources})
    if pre is None and need_preprocess:
        raise DataError(f"{model.name}: nothing says how to turn an image into its input (no card beside "
                        f"{model.path.name if model.path else 'it'}, no metadata in the file); give {FLAGS}, "
                        "or write a card once with `edgekit card MODEL ... --save`", path=model.path)
    if labels is not None:
        labels = disambiguate(tuple(str(x) for x in labels), where=model.name)
    return model.replace(preprocess=pre, labels=None if labels is None else tuple(labels),
                         metadata={**model.metadata, "card_sources": sources})


def _complete(model: Model, fields: dict) -> Preprocess:
    """A :class:`Preprocess` from partial fields: the size defaults to the model's input size."""
    data = dict(fields)
    data.setdefault("size", _input_size(model))
    for key in ("size", "mean", "std"):
        value = data.get(key)
        if value is not None and not isinstance(value, tuple):
            data[key] = tuple(value)
    if isinstance(data.get("size"), tuple) and len(data["size"]) == 1:
        data["size"] = (data["size"][0], data["size"][0])
    try:
        return Preprocess.from_dict(data)
    except (TypeError, ValueError) as exc:  # PreprocessError (a std of 0) is a ValueError
        raise ModelLoadError(f"{model.name}: invalid preprocessing {exc}", path=model.path) from exc


def _input_size(model: Model) -> tuple[int, int]:
    shape = model.inputs[0].shape if model.inputs else ()
    dims = [d for d in shape[-3:] if isinstance(d, int) and d > 4]
    return (dims[-2], dims[-1]) if len(dims) >= 2 else (224, 224)


def _read_card_file(path: Path) -> dict:
    """A ``--card`` file, its preprocessing numbers checked here, where the error can name the file."""
    card = read_card_file(path)
    pre = card.get("preprocess") or {}
    try:
        check_numbers(mean=pre.get("mean"), std=pre.get("std"), scale=pre.get("scale"))
    except ModelLoadError as exc:
        raise ModelLoadError(f"model card {path}: {exc}; fix or remove it", path=path) from exc
    return card


def card_dict(model: Model) -> dict:
    """The card JSON ``edgekit card --save`` writes for ``model`` (what later loads restore)."""
    card: dict[str, Any] = {"name": model.name, "task": str(model.task)}
    if model.preprocess is not None:
        card["preprocess"] = model.preprocess.to_dict()
    if model.labels is not None:
        card["labels"] = list(model.labels)
    sources = model.metadata.get("card_sources")
    if sources:
        card["sources"] = dict(sources)
    return card


def options_from_flags(flags: dict | None) -> tuple[CardOptions, dict]:
    """A saved config's ``card_flags`` (as :func:`edgekit._config_files.check_card_flags` wrote them:
    mean/std/input_shape lists, paths as text) as ``(CardOptions, load_model keyword arguments)``.

    Why here and not in the CLI: the library's ``run_plan``/``plan`` and the app replay a
    plan.yaml too, and a third-party model saved with ``--mean/--std/--labels`` has nothing
    else that says how to feed it."""
    flags = flags or {}
    options = CardOptions(
        card=Path(flags["card"]) if flags.get("card") else None, size=flags.get("size"), resize=flags.get("resize"),
        mean=tuple(flags["mean"]) if flags.get("mean") else None, std=tuple(flags["std"]) if flags.get("std") else None,
        scale=flags.get("scale"), bgr=flags.get("bgr"), labels=Path(flags["labels"]) if flags.get("labels") else None,
        assume_defaults=bool(flags.get("assume_defaults")))
    load = {"arch": flags.get("arch"), "input_shape": tuple(flags["input_shape"]) if flags.get("input_shape") else None}
    return options, {k: v for k, v in load.items() if v is not None}


def load_with_flags(spec: str | Path, flags: dict | None, *, need_preprocess: bool = False) -> Model:
    """``load_model(spec)`` with a saved config's ``card_flags`` applied, as the command that saved
    it loaded the model (see :func:`options_from_flags`)."""
    from edgekit.models.load import load_model

    options, load = options_from_flags(flags)
    return apply_card_options(load_model(spec, **load), options, need_preprocess=need_preprocess)


USER_SOURCES = ("user", "saved in the app")  # card_sources values: set by flags or in the app, not by the file


def set_by_user(model: Model) -> list[str]:
    """The card fields (preprocessing keys, ``"labels"``) of ``model`` set by the user (flags or the app)."""
    return [k for k, v in model.metadata.get("card_sources", {}).items() if v in USER_SOURCES]


def flags_for(model: Model) -> dict | None:
    """The card flags that give a freshly loaded ``model`` the preprocessing it has now (set by the
    user, in the app or by flags), for a saved config to replay; ``None`` when the file or its card
    already says it, or when flags cannot say it (a non-square size, another crop ratio, NHWC):
    the caller then says so rather than save a config that feeds the model differently.

    Why: the app's preprocessing editor keeps its values in the app; a plan.yaml it saved for a
    bare ONNX replayed with ``edgekit run`` refused the model, nothing saying how to feed it."""
    if model.preprocess is None or model.path is None or not set_by_user(model):
        return None
    pre = model.preprocess
    flags: dict[str, Any] = {"mean": list(pre.mean), "std": list(pre.std), "scale": pre.scale,
                             "bgr": pre.channel_order == "BGR", "resize": pre.resize}
    if pre.size[0] == pre.size[1]:
        flags["size"] = pre.size[0]
    try:
        again = load_with_flags(model.path, flags).preprocess
    except EdgekitError:  # the file moved, or needs more than flags to load (a .pt's --arch): none saved
        return None
    return flags if again == pre else None
