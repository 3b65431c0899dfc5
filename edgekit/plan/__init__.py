"""The measured planner: ``plan(model, target, data, budget) -> Report``.

Example:
    >>> from edgekit.plan import plan
    >>> report = plan("demo:digits-mnv2", target="local")   # doctest: +SKIP
    >>> print(report.to_markdown())                          # doctest: +SKIP
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports

_LAZY = {
    "plan": "edgekit.plan.planner",
    "iter_plan": "edgekit.plan.planner",
    "PlanConfig": "edgekit.plan.config",
    "Report": "edgekit.plan.report",
    "Candidate": "edgekit.plan.report",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
