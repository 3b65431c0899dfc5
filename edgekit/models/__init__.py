"""Models: load (ONNX, OpenVINO IR, PyTorch), convert with a numeric check, count FLOPs.

Light on import: ``Model``, ``Preprocess`` and ``TensorSpec`` come eagerly;
the rest (which pulls in onnx, and torch/openvino inside functions) is
imported on first use.

Example:
    >>> from edgekit.models import load_model, convert        # doctest: +SKIP
    >>> model = load_model("tiny.onnx")
    >>> ir, report = convert(model, to="openvino", out="ir/")
    >>> report.max_abs_diff < report.tolerance
    True
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports
from edgekit.models.card import ValidationData, require_task
from edgekit.models.model import Model
from edgekit.models.preprocess import Preprocess
from edgekit.models.spec import TensorSpec

_LAZY = {
    "load_model": "edgekit.models.load",
    "read_card": "edgekit.models.load",
    "convert": "edgekit.models.conversion",
    "supported_conversions": "edgekit.models.conversion",
    "ConversionReport": "edgekit.models.check",
    "check_conversion": "edgekit.models.check",
    "count_flops": "edgekit.models.cost",
}

__all__ = [
    "ConversionReport",
    "Model",
    "Preprocess",
    "TensorSpec",
    "ValidationData",
    "check_conversion",
    "convert",
    "count_flops",
    "load_model",
    "read_card",
    "require_task",
    "supported_conversions",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
