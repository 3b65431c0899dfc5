"""Measuring models: accuracy metrics (:mod:`.metrics`, :mod:`.accuracy`) and speed (:mod:`.benchmark`).

Names are imported lazily so that using one part does not load the others.
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports

_LAZY = {
    "bench": "edgekit.evaluate.benchmark",
    "BenchResult": "edgekit.evaluate.benchmark",
    "BenchSettings": "edgekit.evaluate.benchmark",
    "evaluate": "edgekit.evaluate.accuracy",
    "Metrics": "edgekit.evaluate.metrics",
    "compute_metrics": "edgekit.evaluate.metrics",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
