"""edgekit: take a trained vision model to an edge device and show it running live.

The public API is imported lazily so ``import edgekit`` stays light (numpy +
onnxruntime are the only hard runtime needs on a device); torch, openvino and
Qt are imported only by the functions that use them.

Example:
    >>> import edgekit
    >>> profile = edgekit.profile_hardware()          # doctest: +SKIP
    >>> model = edgekit.load_model("demo:digits")     # doctest: +SKIP
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "profile_hardware": "edgekit.hardware",
    "HardwareProfile": "edgekit.hardware",
    "load_model": "edgekit.models",
    "convert": "edgekit.models",
    "Model": "edgekit.models",
    "Preprocess": "edgekit.models",
    "TensorSpec": "edgekit.models",
    "list_backends": "edgekit.backends",
    "get_backend": "edgekit.backends",
    "compile_session": "edgekit.backends",
    "check_parity": "edgekit.backends",
    "bench": "edgekit.evaluation",
    "evaluate": "edgekit.evaluation",
    "plan": "edgekit.planner",
    "load_target": "edgekit.targets",
    "list_targets": "edgekit.targets",
    "deploy": "edgekit.deployment",
    "Predictor": "edgekit.deployment",
    "LivePipeline": "edgekit.vision",
    "errors": "edgekit.errors",
}

__all__ = ["__version__"]
__all__.extend(sorted(_LAZY))  # a form linters and IDEs read (not a bare sorted() call)

# subpackages named after ``import edgekit`` alone (``edgekit.evaluation.evaluate(...)``); imported then, not
# before, and left out of ``__all__`` so ``from edgekit import *`` stays light
_SUBPACKAGES = ("backends", "compress", "data", "deployment", "detection", "devices", "evaluation", "hardware",
                "models", "planner", "progress", "serve", "targets", "types", "vision", "zoo")

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, _SUBPACKAGES)
