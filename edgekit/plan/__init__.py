"""The measured planner: ``plan(model, target, data, budget) -> Report``.

Example:
    >>> from edgekit.plan import plan
    >>> report = plan("demo:digits-mnv2", target="local")   # doctest: +SKIP
    >>> print(report.to_markdown())                          # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "plan": "edgekit.plan.planner",
    "iter_plan": "edgekit.plan.planner",
    "PlanConfig": "edgekit.plan.config",
    "Report": "edgekit.plan.report",
    "Candidate": "edgekit.plan.report",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'edgekit.plan' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
