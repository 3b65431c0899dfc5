"""The schema of ``plan.yaml`` (the ``plan:`` mapping): types, ranges, enums.

Why: ``yaml.safe_load`` gives whatever the file holds, so ``seconds: '2s'``,
``methods: fp32`` (iterated letter by letter), ``max_accuracy_drop: lots`` or
``seconds: .inf`` (a plan that never ends) used to reach the planner. Checked
here with the same pydantic helper as bundle manifests; the message names the
file, the field and the fix, and never formats the (possibly alias-expanded)
value. Imported lazily by :meth:`PlanConfig.from_dict`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from edgekit._config_files import check_card_flags
from edgekit._schema import Strict, check_section

MAX_SECONDS = 3600.0  # per candidate: an hour is far past any useful benchmark

FIX = "see `edgekit plan --help` for each setting"


def _wrap(value: Any) -> Any:
    """``methods: fp32`` means ``[fp32]``; a comma list ``fp32, int8`` means both."""
    return [m.strip() for m in value.split(",") if m.strip()] if isinstance(value, str) else value


Text = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Positive = Annotated[float, Field(gt=0.0, le=1e9)]
Method = Literal["fp32", "fp16", "bf16", "int8", "int8-qop", "int8-dynamic", "prune"]


class PlanSchema(Strict):
    model: Text
    target: Text = "local"
    data: Text | None = None
    max_accuracy_drop: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.01
    latency_budget_ms: Positive | None = None
    max_model_mb: Positive | None = None
    objective: Literal["latency", "size", "accuracy", "efficiency"] = "latency"
    methods: Annotated[list[Method], BeforeValidator(_wrap), Field(min_length=1, max_length=16)] = ("fp32",)
    seconds: Annotated[float, Field(gt=0.0, le=MAX_SECONDS)] = 1.0
    calibration_samples: Annotated[int, Field(ge=1, le=1_000_000)] = 300
    verify: bool = False
    cache: bool = True
    out: Text | None = None
    calibration: Text | None = None
    card_flags: dict[str, Any] | None = None  # checked by edgekit._config_files.check_card_flags


def check(data: Any, where: str | Path) -> dict:
    """Validate the ``plan:`` mapping; return it with ``methods`` as a tuple and unknown keys refused.

    Raises:
        ConfigError: naming ``where``, the field path and the fix.
    """
    out = check_section(PlanSchema, data, where=where, section="plan", fix=FIX, required=("model",))
    if "methods" in out:
        out["methods"] = tuple(out["methods"])
    if "card_flags" in out:
        out["card_flags"] = check_card_flags(out["card_flags"], str(where))
    return out
