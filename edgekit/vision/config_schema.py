"""The schema of ``live.yaml`` (the ``live:`` mapping): types and ranges.

Why: ``yaml.safe_load`` gives whatever the file holds, and a hand-edited ``seconds: five`` reached
:class:`~edgekit.vision.config.LiveConfig` as text and ended in an internal ``TypeError``, while
``loop: yes please`` (text, so true) looped a video the user meant to stop. Checked here with the same
pydantic helper as ``plan.yaml``; the message names the file, the field and the fix. Backend, device
and precision are text here: which devices exist is known only on the machine that runs the file, and
``compile_session`` names them; backend names and precisions are checked by :class:`LiveConfig`
itself (so ``edgekit demo --backend`` is checked alike, with a did-you-mean). The fields and their defaults are
:class:`LiveConfig`'s own (a field added there and not typed here fails on import). Imported lazily by
:meth:`LiveConfig.from_dict`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, create_model

from edgekit._schema import Strict, check_section
from edgekit.vision.config import LiveConfig

FIX = "see `edgekit demo --help` for each setting"


def _camera(value: Any) -> Any:
    """``source: 0`` (a YAML number) is camera 0, as ``--source 0`` is."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000 else value


def _names(value: Any) -> Any:
    """``classes: person, car`` means ``[person, car]``; a number names a class too (a digits label)."""
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    if isinstance(value, list):
        return [str(n) if isinstance(n, (int, float)) and not isinstance(n, bool) else n for n in value]
    return value


Text = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Seconds = Annotated[float, Field(gt=0.0, le=1e7)]  # about 16 weeks: a kiosk demo, not forever


# each saved field of LiveConfig and what the file may hold for it; the defaults are the dataclass's own
_TYPES: dict[str, Any] = {
    "model": Text, "source": Annotated[Text, BeforeValidator(_camera)], "backend": Text, "device": Text,
    "precision": Text, "compare": Text | None, "compare_backend": Text | None, "compare_device": Text,
    "compare_precision": Text, "reference_every": Annotated[int, Field(ge=1, le=1_000_000)],
    "seconds": Seconds | None, "fps": Annotated[float, Field(gt=0.0, le=10_000.0)] | None, "loop": bool,
    "record": Text | None, "json_out": Text | None, "window": bool, "force": bool, "track": bool,
    "conf": Annotated[float, Field(ge=0.0, le=1.0)] | None,
    "classes": Annotated[list[Name], BeforeValidator(_names), Field(max_length=100_000)] | None,
    "card_flags": dict[str, Any] | None,  # checked by edgekit._config_files.check_card_flags
}

LiveSchema = create_model("LiveSchema", __base__=Strict, **{
    f.name: (_TYPES[f.name], f.default) for f in dataclasses.fields(LiveConfig) if not f.name.endswith("_obj")})


def check(data: Any, where: str | Path) -> dict:
    """Validate the ``live:`` mapping; return the keys it holds with checked values.

    Raises:
        ConfigError: naming ``where``, the field path and the fix.
    """
    return check_section(LiveSchema, data, where=where, section="live", fix=FIX)
