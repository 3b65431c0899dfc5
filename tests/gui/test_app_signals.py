"""Ctrl-C, SIGTERM and SIGHUP close the desktop app as its close button does (it saves, stops, exits 0)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import as_in_a_terminal

pytestmark = [pytest.mark.gui, pytest.mark.skipif(not Path("/proc/self/status").is_file(),
                                                  reason="reads which signals a process catches from /proc (Linux)")]


def _catches(pid: int, signum: int) -> bool:
    """True once process ``pid`` has its own handler for ``signum`` (the kernel's SigCgt mask)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next((int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:")), 0)
    return bool(mask >> (signum - 1) & 1)


def _wait_until_it_catches(proc: subprocess.Popen, pid: int, signum: int) -> None:
    deadline = time.monotonic() + 90
    while not _catches(pid, signum):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, f"the app never took over {signal.Signals(signum).name}"
        time.sleep(0.1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_stop_signal_closes_the_app_cleanly(tmp_path, signum):
    """Before: SIGTERM killed the app on the spot (status -15, nothing saved) and Ctrl-C did nothing
    at all while the app sat idle."""
    ini = tmp_path / "gui.ini"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "EDGEKIT_GUI_SETTINGS": str(ini)}
    app = subprocess.Popen(as_in_a_terminal([sys.executable, "-m", "edgekit_gui"]), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_it_catches(app, app.pid, signal.SIGTERM)  # installed with the others, once the window is up
        app.send_signal(signum)
        _, err = app.communicate(timeout=60)
    finally:
        app.kill()
        app.communicate()  # reaped, its pipes closed (a failure here must not leak into later tests)
    assert app.returncode == 0, err
    assert "Traceback" not in err
    assert "geometry" in ini.read_text()  # the close button's clean-up ran (it saves the window's geometry)


def test_sigterm_to_edgekit_gui_closes_the_app_it_started(tmp_path):
    """`edgekit gui` runs the app as a child: SIGTERM to it is passed on, so the app closes cleanly
    instead of being killed (or left running)."""
    import psutil

    ini = tmp_path / "gui.ini"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "EDGEKIT_GUI_SETTINGS": str(ini)}
    cli = subprocess.Popen(as_in_a_terminal([sys.executable, "-m", "edgekit", "gui"]), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not (children := psutil.Process(cli.pid).children()):
            assert cli.poll() is None and time.monotonic() < deadline, cli.communicate()[1]
            time.sleep(0.1)
        _wait_until_it_catches(cli, children[0].pid, signal.SIGTERM)
        cli.send_signal(signal.SIGTERM)
        _, err = cli.communicate(timeout=60)
        children[0].wait(30)  # gone (its status went to `edgekit gui`, which waited for it)
    finally:
        cli.kill()
        cli.communicate()
    assert cli.returncode == 143 and "cancelled (SIGTERM)" in err, err
    assert "geometry" in ini.read_text()  # the app closed through its close button's clean-up, not killed
