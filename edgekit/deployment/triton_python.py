"""The python-backend variant of the Triton export: Triton serves the bundle through edgekit.

Layout (``repo/<name>/``)::

    config.pbtxt      backend: "python", same inputs/outputs/labels as the native variant
    labels.txt
    1/model.py        edgekit/serve/triton_model.py: verifies and runs the bundle
    1/bundle/         the bundle itself, its manifest and checksums unchanged

Why: the ``onnxruntime_onnx``/``openvino`` configs need a Triton build with those backends;
this one runs in any Triton with the python backend (the ``nvidia-pytriton`` wheel ships only
that one), and the model in it is verified on load exactly as on a device.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from edgekit.deployment.bundle import Bundle
from edgekit.deployment.manifest import MANIFEST, MANIFEST_DIGEST

MODEL_PY = Path(__file__).resolve().parent.parent / "serve" / "triton_model.py"


def write_python_model(bundle: Bundle, folder: Path) -> None:
    """Copy ``model.py`` and the whole bundle (manifest included) into ``folder/1``."""
    version = folder / "1"
    version.mkdir(parents=True, exist_ok=True)
    shutil.copy2(MODEL_PY, version / "model.py")
    for rel in (MANIFEST, MANIFEST_DIGEST, *sorted(bundle.manifest.files)):
        dest = version / "bundle" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(bundle.root / rel, dest)


def python_config(native: str, *, detection: bool = False) -> str:
    """``config.pbtxt`` of the native variant with the python backend instead.

    Inputs, outputs, labels, batching and instances stay as the native export wrote them, so
    clients see the same model whichever variant a cluster runs. A detection bundle also takes an
    optional ``image`` (the JPEG/PNG file as a UINT8 vector: the python stub mis-reads BYTES inputs
    under numpy 2) answered with ``boxes`` [N,4] FP32 (xyxy pixels), ``scores`` [N], ``classes`` [N]
    INT32 and ``labels`` [N] BYTES (class names), as ``edgekit serve`` and KServe answer it. The stub
    can return BYTES only when the numpy it runs is 1.x (its C API): under numpy 2 the answer goes
    without ``labels`` (the class names are in ``labels.txt``). The model's own inputs become optional
    then (a request sends one or the other).
    """
    lines = native.splitlines()
    out, block = [], ""
    for line in lines:
        out.append(f"backend: {json.dumps('python')}" if line.startswith("backend:") else line)
        block = line.split()[0] if line.endswith(" [") and not line.startswith(" ") else block
        if detection and block == "input" and line.startswith("    dims:"):
            out.append("    optional: true")
        if line == "]":
            block = ""
    if detection:
        out += DETECTION_TENSORS.splitlines()
    return "\n".join(out) + "\n"


DETECTION_TENSORS = """input [
  {
    name: "image"
    data_type: TYPE_UINT8
    dims: [ -1 ]
    optional: true
  }
]
output [
  { name: "boxes" data_type: TYPE_FP32 dims: [ -1, 4 ] },
  { name: "scores" data_type: TYPE_FP32 dims: [ -1 ] },
  { name: "classes" data_type: TYPE_INT32 dims: [ -1 ] },
  { name: "labels" data_type: TYPE_STRING dims: [ -1 ] }
]"""
