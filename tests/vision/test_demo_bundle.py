"""`edgekit demo BUNDLE` runs a deployed bundle live, verified first, as it will run on the device."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_runs_a_bundle_folder(tmp_path):
    bundle, stats = tmp_path / "digits-bundle", tmp_path / "s.json"
    built = subprocess.run([sys.executable, "-m", "edgekit", "deploy", "demo:digits", "--out", str(bundle)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    done = subprocess.run([sys.executable, "-m", "edgekit", "demo", str(bundle), "--seconds", "2", "--json",
                           str(stats)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    data = json.loads(stats.read_text())
    assert data["readouts"]["frames_inferred"] > 0
    assert data["readouts"]["accuracy"]["accuracy"] > 0.9  # the bundle's labels and preprocessing were used
    (bundle / "labels.txt").write_text("tampered\n")  # a changed file: refused before anything runs
    refused = subprocess.run([sys.executable, "-m", "edgekit", "demo", str(bundle), "--seconds", "1"],
                             capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
