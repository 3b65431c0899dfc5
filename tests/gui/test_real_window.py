"""The desktop app in a real X window (Xvfb), driven with the mouse and keyboard (xdotool).

Why: offscreen tests never load Qt's X11 plugin, never see a window manager's
geometry and never exercise the real start-up path of ``edgekit-gui``; a user
does. Needs Debian's ``xvfb``, ``xdotool`` and ``imagemagick`` (``.ci/run``
installs them where apt is available); skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgekit_gui.platform_check import platform_problem

psutil = pytest.importorskip("psutil")

pytestmark = [pytest.mark.gui, pytest.mark.slow]

PAGES = 6
SCREENS = [(1280, 720), (1024, 640)]


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian: apt-get install xvfb xdotool imagemagick)")


@pytest.fixture
def display(request):
    """A fresh Xvfb screen of the requested size; stopped even when the test fails."""
    _need("Xvfb", "xdotool", "import")
    width, height = request.param
    number = next(n for n in range(90, 200) if _free_display(n))
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = f":{number}"
    # the socket appears before the server takes connections (a loaded machine: the app once found it refusing)
    while not Path(f"/tmp/.X11-unix/X{number}").exists() or not _accepts(env):
        if server.poll() is not None or time.monotonic() > deadline:
            pytest.skip(f"Xvfb :{number} did not start (exit code {server.poll()})")
        time.sleep(0.1)
    problem = platform_problem(env)
    if problem is not None:
        _stop(server, number)
        pytest.skip(problem)
    yield env, (width, height)
    _stop(server, number)


def _free_display(number: int) -> bool:
    """No X server holds display ``number``: no lock, or the lock of a process that is gone (Xvfb takes
    over a stale lock and socket itself)."""
    lock = Path(f"/tmp/.X{number}-lock")
    if not lock.exists():
        return not Path(f"/tmp/.X11-unix/X{number}").exists()
    try:
        os.kill(int(lock.read_text().strip()), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):  # unreadable, or another user's server: not ours to take
        return False
    return False


def _stop(server: subprocess.Popen, number: int) -> None:
    """SIGTERM, so Xvfb removes its /tmp/.X<n>-lock and socket itself (SIGKILL left both: two
    displays used up per run, until the 90..199 range ran out); a server that ignores it is killed
    and its files removed here."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)
    for leftover in (Path(f"/tmp/.X{number}-lock"), Path(f"/tmp/.X11-unix/X{number}")):
        leftover.unlink(missing_ok=True)


def _accepts(env) -> bool:
    """The X server at ``env["DISPLAY"]`` answers a client."""
    return subprocess.run(["xdotool", "getdisplaygeometry"], env=env, capture_output=True, timeout=30,
                          check=False).returncode == 0


def _xdo(env, *args: str) -> str:
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=30,
                          check=False).stdout.strip()


def _window(env, app) -> str:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert app.poll() is None, f"edgekit-gui exited early: {app.stderr.read()[-2000:]}"
        found = _xdo(env, "search", "--onlyvisible", "--pid", str(app.pid))
        if found:
            return found.splitlines()[-1]
        time.sleep(0.5)
    pytest.fail("the edgekit window did not appear within 90 s")


def _geometry(env, window: str) -> tuple[int, int, int, int]:
    values = dict(line.split("=") for line in _xdo(env, "getwindowgeometry", "--shell", window).splitlines())
    return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])


@pytest.mark.parametrize("display", SCREENS, indirect=True, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_click_through_every_page_in_a_real_window(display, tmp_path):
    env, (width, height) = display
    env = {**env, "EDGEKIT_GUI_SETTINGS": str(tmp_path / "settings.ini"), "HOME": str(tmp_path)}
    app = subprocess.Popen([sys.executable, "-m", "edgekit_gui"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        window = _window(env, app)
        time.sleep(3)  # let the first page settle (profile, lazy imports)
        _x, _y, w, h = _geometry(env, window)
        assert w <= width and h <= height, f"a {w}x{h} window does not fit a {width}x{height} screen"
        _xdo(env, "mousemove", "--window", window, "75", "60", "click", "1")  # a sidebar item, by mouse
        for page in range(1, PAGES + 1):
            _xdo(env, "windowactivate", "--sync", window)
            _xdo(env, "key", "--window", window, f"ctrl+{page}")
            time.sleep(1.5)
            shot = tmp_path / f"page{page}-{width}x{height}.png"
            subprocess.run(["import", "-display", env["DISPLAY"], "-window", "root", str(shot)], env=env,
                           timeout=30, check=True)
            assert shot.stat().st_size > 5000  # a real picture, not an empty frame
        children = [p.pid for p in psutil.Process(app.pid).children(recursive=True)]
        _xdo(env, "key", "--window", window, "ctrl+q")
        app.wait(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    stderr = app.stderr.read()
    assert "Traceback" not in stderr, stderr[-3000:]
    time.sleep(1)
    alive = [pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert not alive, f"processes left behind after the window closed: {alive}"
    shots = os.environ.get("EDGEKIT_REAL_WINDOW_SHOTS")  # tools/real_window_screenshots.sh keeps them
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        for png in tmp_path.glob("page*.png"):
            shutil.copy(png, Path(shots) / png.name)
