"""A bundle runs on a device that has only edgekit's core dependencies (numpy, onnxruntime, OpenCV...).

The device is simulated by a fresh interpreter whose imports of torch,
openvino, nncf, PySide6, fastapi and uvicorn fail, as if not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from edgekit.deployment import Predictor, deploy

DEVICE_SCRIPT = r'''
import json, sys, warnings

BLOCKED = {"torch", "openvino", "nncf", "PySide6", "fastapi", "uvicorn"}

class NotInstalled:
    """Import finder that makes the heavy packages look absent."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed on this device")
        return None

sys.meta_path.insert(0, NotInstalled())

import numpy as np
from edgekit.deployment import Predictor

image = np.random.default_rng(7).integers(0, 256, (40, 30, 3), dtype=np.uint8)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    predictor = Predictor.open(sys.argv[1])
prediction = predictor.predict(image)
print(json.dumps({
    "backend": predictor.backend,
    "prediction": prediction.to_dict(),
    "warnings": [str(w.message) for w in caught],
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED),
}))
'''


def run_on_device(bundle) -> dict:
    done = subprocess.run([sys.executable, "-c", DEVICE_SCRIPT, str(bundle)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_onnxruntime_bundle_runs_without_torch_openvino_or_qt(bundle_zip):
    result = run_on_device(bundle_zip)
    image = np.random.default_rng(7).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    here = Predictor.open(bundle_zip).predict(image)
    assert result["backend"] == "onnxruntime" and result["loaded"] == [] and result["warnings"] == []
    assert result["prediction"]["index"] == here.index and result["prediction"]["label"] == here.label
    assert result["prediction"]["score"] == pytest.approx(here.score, rel=1e-5)


def test_openvino_bundle_falls_back_to_onnxruntime_and_says_so(tiny_model, dataset, tmp_path):
    bundle = deploy(tiny_model, out=tmp_path / "ov.zip", data=dataset[:4], backend="openvino")
    result = run_on_device(bundle.path)
    assert result["backend"] == "onnxruntime" and result["loaded"] == []
    assert len(result["warnings"]) == 1
    assert "prefers openvino" in result["warnings"][0] and "using onnxruntime" in result["warnings"][0]
