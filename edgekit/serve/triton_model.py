"""Triton python backend ``model.py``: run the edgekit bundle copied beside it.

``edgekit export BUNDLE --format triton --triton-backend python`` copies this file to
``repo/<name>/1/model.py`` and the bundle to ``repo/<name>/1/bundle/``. Triton's python stub
imports it as a plain file; the Python it embeds needs ``edgekit`` (with the bundle's runtime:
onnxruntime or openvino) importable, e.g. ``pip install edgekit`` in the Triton image.

Why a python backend at all when Triton has onnxruntime/openvino backends: those need a full
Triton build; this variant runs in any Triton that has the python backend (the one in the
``nvidia-pytriton`` wheel included), with the bundle verified exactly as on the device, and it
refuses bad inputs (NaN included) with the same words as ``edgekit serve`` and KServe.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# Triton's stub embeds the system Python and ignores PYTHONPATH: EDGEKIT_PYTHONPATH adds the site-packages
# of a virtual environment holding edgekit (and numpy). It must happen when the stub loads this file: the
# stub imports triton_python_backend_utils (which imports numpy) right after, for its config auto-complete.
sys.path[:0] = [p for p in os.environ.get("EDGEKIT_PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]


def _pb() -> Any:
    """``triton_python_backend_utils``: it exists only inside Triton's stub, so it is imported late."""
    import triton_python_backend_utils

    return triton_python_backend_utils


class TritonPythonModel:
    """One bundle per model instance; each request is answered on its own (no cross-request batching)."""

    def initialize(self, args: dict) -> None:
        """Verify and compile the bundle; a refused bundle fails the model load with the bundle's sentence."""
        self.pb = _pb()
        from edgekit.serve.adapter import BundleModel

        folder = Path(args["model_repository"]) / args["model_version"] / "bundle"
        self.model = BundleModel(folder)
        config = json.loads(args["model_config"])
        self.inputs = [i["name"] for i in config["input"]]
        self.outputs = [o["name"] for o in config["output"]]
        self.batched = int(config.get("max_batch_size", 0)) > 0  # a detection answer gets the batch axis then

    def execute(self, requests: list) -> list:
        """One response per request; bad input answers that request alone with INVALID_ARG (HTTP 400)."""
        from edgekit.errors import InputMismatch

        pb, responses = self.pb, []
        for request in requests:
            try:
                given = {n: pb.get_input_tensor_by_name(request, n) for n in self.inputs}
                inputs = {n: _array(t) for n, t in given.items() if t is not None}  # optional: a detector's image
                outputs = self.model.infer(inputs)
                if self.batched and {"boxes", "scores", "classes"} <= set(outputs):
                    outputs = {n: a[None] for n, a in outputs.items()}
                tensors = [t for t in (_tensor(pb, n, outputs[n]) for n in self.outputs if n in outputs) if t is not None]
                responses.append(pb.InferenceResponse(output_tensors=tensors))
            except InputMismatch as exc:
                error = pb.TritonError(str(exc), pb.TritonError.INVALID_ARG)
                responses.append(pb.InferenceResponse(output_tensors=[], error=error))
        return responses

    def finalize(self) -> None:
        """Release the session when Triton unloads the model."""
        self.model.close()


def _numpy1() -> bool:
    """Whether the stub runs numpy 1, the C API it is built against (``launch.py`` gives it one when
    ``.venv/pytriton/stub-site`` holds it)."""
    import numpy as np

    return int(np.__version__.split(".")[0]) < 2


def _array(tensor: object) -> object:
    """A request tensor as numpy: ``as_numpy()`` under numpy 1, through DLPack under numpy 2.

    Why DLPack there: the stub is built against numpy 1's C API; with numpy 2 in the environment
    ``as_numpy()`` hands back stale memory and ``pb_utils.Tensor(name, array)`` an empty tensor.
    DLPack crosses the boundary without numpy's ABI and without a copy (and crashes the stub under numpy 1).
    """
    import numpy as np

    return tensor.as_numpy() if _numpy1() else np.from_dlpack(tensor)


def _tensor(pb: Any, name: str, array: object) -> object | None:
    """A response tensor from numpy (see :func:`_array`); ``None`` for a BYTES tensor (a detector's
    ``labels``) under numpy 2, which DLPack cannot carry and the stub's numpy path returns empty:
    the answer then goes without it, the class names stay in ``labels.txt``."""
    import numpy as np

    array = np.ascontiguousarray(array)
    if _numpy1():
        return pb.Tensor(name, array)
    if array.dtype == object:
        return None
    return pb.Tensor.from_dlpack(name, array.__dlpack__())
