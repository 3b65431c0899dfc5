"""The measured planner: ``plan(model, target, data, budget) -> Report``.

Example:
    >>> from edgekit.planner import plan
    >>> report = plan("demo:digits-mnv2", target="local")   # doctest: +SKIP
    >>> print(report.to_markdown())                          # doctest: +SKIP
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports

_LAZY = {
    "plan": "edgekit.planner.planner",
    "iter_plan": "edgekit.planner.planner",
    "run_plan": "edgekit.planner.planner",
    "run_plan_process": "edgekit.planner.process",
    "PlanConfig": "edgekit.planner.config",
    "Report": "edgekit.planner.report",
    "Candidate": "edgekit.planner.report",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
