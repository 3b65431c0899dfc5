"""The preprocessing numbers a user may type (``--mean/--std/--scale``, a card, a saved config's
``card_flags``) checked with no numpy or OpenCV.

Why a module of its own: :mod:`edgekit.models.preprocess` (numpy + OpenCV) refuses them when a
``Preprocess`` is made, and :mod:`edgekit._config_files` when a plan.yaml/live.yaml is made,
so a std of 0 is refused when the file is written, not when it is replayed. Core modules must
not import :mod:`edgekit.models` (the package graph stays free of cycles).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from edgekit.errors import PreprocessError

MIN_STD = 1e-6  # a std below this blows one grey level up to thousands: a typo, never a model's
MAX_SCALE = 1e6  # what a card may say (edgekit._schema.PreprocessSchema)


def _shown(values: float | tuple[float, ...] | list[float]) -> str:
    """``(0.2, 0.0, 0.2)`` -> ``"0.2,0,0.2"`` (as a flag takes it)."""
    if isinstance(values, numbers.Real):
        return f"{values:g}"
    return ",".join(f"{v:g}" if isinstance(v, numbers.Real) else repr(v) for v in values)


def check_numbers(*, mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None,
                  scale: float | None = None, flags: bool = False, given: dict[str, str] | None = None) -> None:
    """Refuse preprocessing numbers that make every input garbage: a mean that is not finite, a std
    that is not > 0 (a zero divided by zero: ``ZeroDivisionError`` deep in the pixel path; a negative
    or 1e-30 one ran silently at chance accuracy), a scale that is not > 0.

    Args:
        flags: name them as the CLI flags (``--std``) rather than as fields (``std``).
        given: the text the user typed per name (``{"std": "0.2,0,0.2"}``), shown instead of the numbers.

    Raises:
        PreprocessError: one sentence naming the value and the usual one (a ModelLoadError and a ValueError).
    """
    given = given or {}

    def name(field: str) -> str:
        return f"--{field}" if flags else field

    def got(field: str, value: Any) -> str:
        return given.get(field) or _shown(value)

    if mean is not None and not all(_finite(m) for m in mean):
        raise PreprocessError(f"{name('mean')} must be finite numbers (got {got('mean', mean)}): it is subtracted from "
                             f"every pixel after {name('scale')}; ImageNet models use 0.485,0.456,0.406, and 0 means none")
    if std is not None:
        if not all(_finite(s) and s > 0 for s in std):
            raise PreprocessError(f"{name('std')} must be > 0 for every channel (got {got('std', std)}): every pixel is "
                                 "divided by it; ImageNet models use 0.229,0.224,0.225, and 1 means none")
        if any(s < MIN_STD for s in std):
            raise PreprocessError(f"{name('std')} {got('std', std)} is too small (each must be at least {MIN_STD:g}): "
                                 "every pixel is divided by it; ImageNet models use 0.229,0.224,0.225, and 1 means none")
    if scale is not None and not (_finite(scale) and 0 < scale <= MAX_SCALE):
        raise PreprocessError(f"{name('scale')} must be > 0 and at most {MAX_SCALE:g} (got {got('scale', scale)}): every "
                             "pixel is multiplied by it first; 0.00392 (1/255) maps pixels to 0..1, 1 keeps them 0..255")


def _finite(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
