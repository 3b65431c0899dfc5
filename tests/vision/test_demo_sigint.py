"""Ctrl-C (or SIGTERM: `timeout`, `kill`, a service manager) on `edgekit demo --record --json` ends like the
timer would: summary, JSON and a playable video."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import cv2
import pytest

from ..conftest import as_in_a_terminal


@pytest.mark.slow
@pytest.mark.parametrize(("stop", "status", "said"), [(signal.SIGINT, 130, "interrupted (Ctrl-C)"),
                                                     (signal.SIGTERM, 143, "stopped by SIGTERM")])
def test_a_stop_signal_keeps_the_summary_the_json_and_a_playable_video(tmp_path, stop, status, said):
    """SIGTERM used to end the process at once: no video, no JSON, a hidden 10 MB partial file left."""
    video, stats = tmp_path / "run.mp4", tmp_path / "run.json"
    proc = subprocess.Popen(as_in_a_terminal([sys.executable, "-m", "edgekit", "demo", "demo:digits", "--seconds",
                                               "120", "--record", str(video), "--json", str(stats)]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "80"})
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".run*")) and time.monotonic() < deadline:  # the recorder's temp file exists
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    time.sleep(3)  # some frames recorded
    proc.send_signal(stop)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert "Traceback" not in err and said in err and "cancelled" not in err  # one line, its own
    assert "Frames" in out  # the summary table was printed
    data = json.loads(stats.read_text())
    assert data["interrupted"] is True and data["stopped_by"] == stop.name and data["record"]["frames"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.mp4"]  # no partial file left
    capture = cv2.VideoCapture(str(video))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    assert frames == data["record"]["frames"]
