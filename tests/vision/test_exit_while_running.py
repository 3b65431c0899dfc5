"""A script that ends with a live pipeline still running exits cleanly, as if it had used ``with``."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import time
from edgekit.backends import compile_session
from edgekit.models import load_model
from edgekit.vision import DemoSource, LivePipeline

pipe = LivePipeline(DemoSource(size=(480, 640)), compile_session(load_model("demo:digits-mnv2"), "onnxruntime"))
pipe.start()
time.sleep(0.5)
print("frames", pipe.readouts.frames_displayed)
"""


def test_a_script_that_never_stops_its_pipeline_exits_with_status_zero():
    """Before the pipeline stopped itself at exit, 9 of 12 such runs aborted ("terminate called without an
    active exception", status 134): the interpreter's shutdown ended its daemon threads inside onnxruntime or
    OpenCV. Three runs, so a fix that only makes the abort rarer still fails here."""
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "terminate called" not in done.stderr
        assert int(done.stdout.split()[-1]) > 0  # it did run frames before the script ended
