"""`edgekit gui` on a box that cannot open a window says what to install instead of a Qt abort."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgekit_gui.platform_check import install_advice, missing_libraries, platform_problem

pytestmark = pytest.mark.gui


def _plugin_needing(tmp_path: Path, soname: str) -> Path:
    """A real shared object linked against ``soname``, which then disappears (as on a stock box)."""
    if shutil.which("gcc") is None or shutil.which("ldd") is None:
        pytest.skip("gcc and ldd are needed to build a plugin with a missing dependency")
    (tmp_path / "dep.c").write_text("int dep(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int dep(void); int plugin(void) { return dep(); }\n")
    dep = tmp_path / soname
    subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(dep), str(tmp_path / "dep.c")],
                   check=True)
    plugin = tmp_path / "libqxcb.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(plugin), str(tmp_path / "plugin.c"), str(dep)], check=True)
    dep.unlink()
    return plugin


def test_a_missing_library_of_the_plugin_is_named_with_the_install_command(tmp_path):
    plugin = _plugin_needing(tmp_path, "libedgekit-gone.so.7")  # a name no system provides
    assert missing_libraries(plugin) == ["libedgekit-gone.so.7"]
    problem = platform_problem({"DISPLAY": ":0"}, plugin=plugin)
    assert "libedgekit-gone.so.7 not installed" in problem and "apt-get install" in problem and "README" in problem


def test_xcb_cursor_maps_to_the_debian_and_fedora_packages():
    advice = install_advice(["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
    assert "apt-get install libxcb-cursor0 libxcb-icccm4" in advice
    assert "dnf install xcb-util-cursor xcb-util-wm" in advice


def test_no_display_is_one_sentence_with_the_fix():
    problem = platform_problem({}, plugin=None)
    assert problem is not None and "DISPLAY" in problem and "Xvfb" in problem


def test_offscreen_needs_nothing():
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_app_exits_2_with_the_sentence_instead_of_a_qt_abort():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "edgekit_gui"], check=False, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "DISPLAY" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
