"""What ``plan.yaml`` and ``live.yaml`` share: the model-card flags the user gave, and paths that mean
the same whichever folder ``edgekit run`` starts in.

Why: a replayed config lost ``--mean/--std/--size/--resize/--labels...`` (the card flags), so a card-less
model ran with no preprocessing and showed wrong classes without a word; and a path was stored as typed,
relative to the folder the command ran in, so ``cd / && edgekit run /tmp/ud/live.yaml`` found no model.
Now the flags ride along as a ``card_flags:`` mapping, and a saved relative path is relative to the
YAML's folder: written so when it lies under that folder (else absolute), and resolved against it on load.
Names that are not paths (``demo:digits``, ``hub:...``, ``demo``, ``local``, a camera index, a URL) stay
as they are. Light on import: the configs check their fields on every construction.

Example:
    >>> check_card_flags({"mean": 0.5, "size": 224})
    {'mean': [0.5, 0.5, 0.5], 'size': 224}
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from edgekit._pixel_numbers import check_numbers
from edgekit.errors import ConfigError
from edgekit.types import RESIZE_NAMES

# the card flags of every command that takes a MODEL (edgekit.cli._card_flags), named as in the YAML
CARD_FLAGS = ("card", "mean", "std", "scale", "bgr", "size", "resize", "labels", "assume_defaults", "arch",
              "input_shape")
_PATH_FLAGS = ("card", "labels")
_KEYWORDS = frozenset({"demo", "demo-det", "synthetic", "local"})  # a --source or --target word, never a file
_SCHEME = re.compile(r"[A-Za-z][\w+.-]+:")  # demo:digits, hub:x, rtsp://; not a Windows drive (C:)


def check_card_flags(value: Any, where: str = "") -> dict | None:
    """``card_flags`` checked and written one way: mean/std as 3 numbers, ``input_shape`` as a list; a
    flag not given is left out; ``None`` when none is.

    Raises:
        ConfigError: an unknown flag or a value of the wrong kind, naming it and ``where``.
    """
    at = f"{where}: " if where else ""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{at}card_flags must be a mapping of card flags ({', '.join(CARD_FLAGS)}), "
                          f"not {type(value).__name__}")
    unknown = sorted(str(k)[:40] for k in value if k not in CARD_FLAGS)
    if unknown:
        raise ConfigError(f"{at}card_flags: unknown flag(s) {', '.join(unknown)}; allowed: {', '.join(CARD_FLAGS)}")
    out: dict[str, Any] = {}
    for key in CARD_FLAGS:
        given = value.get(key)
        if given is None or (key == "assume_defaults" and given is False):
            continue
        out[key] = _checked(key, given, at)
    if any(k in out for k in ("mean", "std", "scale")):  # a std of 0 or 1e-30 is refused now, not at replay
        try:
            check_numbers(mean=out.get("mean"), std=out.get("std"), scale=out.get("scale"))
        except ValueError as exc:  # PreprocessError
            raise ConfigError(f"{at}card_flags.{exc}") from None
    return out or None


def _checked(key: str, value: Any, at: str) -> Any:
    def bad(what: str) -> ConfigError:
        shown = repr(value)[:40] if isinstance(value, (int, float, str)) else type(value).__name__
        return ConfigError(f"{at}card_flags.{key} must be {what}, not {shown}; see `edgekit demo --help`")

    def number(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    if key in ("mean", "std"):
        numbers = [value] if number(value) else value
        if not isinstance(numbers, list) or len(numbers) not in (1, 3) or not all(number(x) for x in numbers):
            raise bad("1 or 3 numbers such as [0.485, 0.456, 0.406]")
        return [float(x) for x in numbers] * (3 if len(numbers) == 1 else 1)
    if key == "scale":
        if not number(value) or not value > 0:
            raise bad("a number greater than 0 such as 0.00392")
        return float(value)
    if key == "size":
        if not isinstance(value, int) or isinstance(value, bool) or not 8 <= value <= 8192:
            raise bad("a whole number of pixels from 8 to 8192")
        return value
    if key == "resize":
        if not isinstance(value, str) or value.lower() not in RESIZE_NAMES:
            raise bad("stretch, shorter-crop or letterbox")
        return value
    if key in ("bgr", "assume_defaults"):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if key == "input_shape":
        if isinstance(value, str):  # "1,3,224,224", as --input-shape takes it
            dims = [int(p) if p.strip().isdigit() else 0 for p in value.replace("x", ",").split(",") if p.strip()]
        else:
            whole = isinstance(value, list) and all(isinstance(d, int) and not isinstance(d, bool) for d in value)
            dims = list(value) if whole else []
        if not dims or len(dims) > 8 or any(d <= 0 for d in dims):
            raise bad("positive whole numbers such as [1, 3, 224, 224]")
        return dims
    if not isinstance(value, str) or not value or len(value) > 4096:  # card, labels, arch
        raise bad("text (a file path)" if key in _PATH_FLAGS else "text")
    return value


def _is_name(text: Any) -> bool:
    """True for text that is not a relative file path: a word, a camera index, a scheme, ``~``, absolute."""
    return (not isinstance(text, str) or not text or text in _KEYWORDS or text.isdigit() or text.startswith("~")
            or _SCHEME.match(text) is not None or Path(text).is_absolute())


def saved_path(text: Any, folder: str | Path, output: bool = False) -> Any:
    """``text`` as a config file in ``folder`` stores it: a relative path to something that exists here (or,
    ``output``, any relative path) relative to ``folder`` when it lies under it, else absolute; anything else
    (a name, an absolute path, a file that is not there) as given."""
    if _is_name(text):
        return text
    path = Path(os.path.abspath(text))
    if not output and not path.exists():
        return text  # a model or target name, or a file that is missing (the run names it)
    try:
        return path.relative_to(os.path.abspath(folder)).as_posix()
    except ValueError:
        return str(path)


def loaded_path(text: Any, folder: str | Path, output: bool = False) -> Any:
    """``text`` read from a config file in ``folder``: a relative path resolved against ``folder`` when it names
    something there (always, for an ``output``); else as given (a name, or an old config's path relative to
    where it was saved)."""
    if _is_name(text):
        return text
    path = Path(os.path.abspath(Path(folder) / text))
    return str(path) if output or path.exists() else text


def relocate(data: dict, folder: str | Path, inputs: tuple[str, ...], outputs: tuple[str, ...],
             saving: bool) -> dict:
    """``data`` (a config's mapping) with its paths, those in ``card_flags`` too, as :func:`saved_path`
    (``saving``) or :func:`loaded_path` make them for a file in ``folder``."""
    move = saved_path if saving else loaded_path
    out = dict(data)
    for key in inputs + outputs:
        if key in out:
            out[key] = move(out[key], folder, output=key in outputs)
    flags = out.get("card_flags")
    if isinstance(flags, dict):
        out["card_flags"] = {k: move(v, folder) if k in _PATH_FLAGS else v for k, v in flags.items()}
    return out
