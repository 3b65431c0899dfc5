"""Measuring models: accuracy metrics (:mod:`.metrics`, :mod:`.accuracy`) and speed (:mod:`.bench`).

Names are imported lazily so that using one part does not load the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "bench": "edgekit.evaluate.bench",
    "BenchResult": "edgekit.evaluate.bench",
    "BenchSettings": "edgekit.evaluate.bench",
    "evaluate": "edgekit.evaluate.accuracy",
    "Metrics": "edgekit.evaluate.metrics",
    "compute_metrics": "edgekit.evaluate.metrics",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'edgekit.evaluate' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
