"""Measuring models: accuracy metrics (:mod:`.metrics`, :mod:`.accuracy`) and speed (:mod:`.benchmark`).

Names are imported lazily so that using one part does not load the others.
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports

_LAZY = {
    "bench": "edgekit.evaluation.benchmark",
    "BenchResult": "edgekit.evaluation.benchmark",
    "BenchSettings": "edgekit.evaluation.benchmark",
    "evaluate": "edgekit.evaluation.accuracy",
    "Metrics": "edgekit.evaluation.metrics",
    "compute_metrics": "edgekit.evaluation.metrics",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
