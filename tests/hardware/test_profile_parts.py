"""``profile_hardware(parts=...)`` probes only what is asked: ``bench -b onnxruntime`` never loads OpenVINO."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edgekit.errors import TargetError
from edgekit.hardware import profile_hardware


def test_parts_left_out_stay_empty_and_say_so():
    p = profile_hardware(parts=("cpu", "onnxruntime"))
    assert p.logical_cores >= 1 and "CPUExecutionProvider" in p.ort_providers
    assert p.openvino_devices == () and "not probed" in p.probe_notes["openvino"]


def test_unknown_part_is_refused_with_the_choices():
    with pytest.raises(TargetError, match="choose from"):
        profile_hardware(parts=("gpu",))


def test_bench_on_onnxruntime_imports_neither_openvino_nor_torch(tmp_path):
    code = ("import sys; from edgekit.cli import main; "
            "rc = main(['bench', 'demo:digits', '-b', 'onnxruntime', '--seconds', '0.2', '--json']); "
            "print(rc, 'openvino' in sys.modules, 'torch' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          check=False)
    assert done.stderr.strip().splitlines()[-1] == "0 False False", done.stderr[-2000:]
