"""Check, before Qt starts, that a window can be opened here; say what to install if not.

Why: on a stock Linux box without ``libxcb-cursor0`` (or ``libxcb-icccm4``, ...)
Qt aborts inside ``QApplication`` with a platform-plugin message that names no
package, and with no display at all it aborts with exit code 250. We read the
xcb plugin's missing libraries with ``ldd`` first and turn them into one
sentence naming the Debian/Ubuntu and Fedora packages and the README section.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

README_SECTION = 'README.md, "The desktop app on Linux"'

# soname -> (Debian/Ubuntu package, Fedora package)
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}
HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "linuxfb", "eglfs"}


def missing_libraries(plugin: Path) -> list[str]:
    """Sonames ``ldd`` reports as "not found" for ``plugin`` (empty when ldd is absent)."""
    ldd = shutil.which("ldd")
    if ldd is None or not plugin.is_file():
        return []
    out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20, check=False).stdout
    missing = [line.split("=>")[0].strip() for line in out.splitlines() if "not found" in line]
    return list(dict.fromkeys(missing))


def install_advice(sonames: list[str]) -> str:
    """``apt-get``/``dnf`` commands installing the packages that provide ``sonames``."""
    debian = [PACKAGES.get(name, (name, name))[0] for name in sonames]
    fedora = [PACKAGES.get(name, (name, name))[1] for name in sonames]
    return (f"sudo apt-get install {' '.join(dict.fromkeys(debian))} (Debian/Ubuntu) or "
            f"sudo dnf install {' '.join(dict.fromkeys(fedora))} (Fedora)")


def xcb_plugin() -> Path | None:
    """Path of the PySide6 xcb platform plugin, if this PySide6 ships one."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def platform_problem(env: dict[str, str] | None = None, plugin: Path | None = None) -> str | None:
    """One sentence saying why Qt cannot open a window here, or None when it can.

    Args:
        env: the environment to judge (default ``os.environ``).
        plugin: the xcb plugin to inspect (default: PySide6's own).
    """
    env = dict(os.environ if env is None else env)
    if not sys.platform.startswith("linux"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform in HEADLESS_PLATFORMS or platform.startswith("wayland") and env.get("WAYLAND_DISPLAY"):
        return None
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return ("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset): run the app in a "
                "desktop session, over `ssh -X`, or under Xvfb (`xvfb-run edgekit gui`); "
                f"see {README_SECTION}")
    if platform in ("", "xcb") and not env.get("WAYLAND_DISPLAY"):
        found = plugin if plugin is not None else xcb_plugin()
        missing = missing_libraries(found) if found is not None else []
        if missing:
            return (f"Qt's X11 plugin cannot load: {', '.join(missing)} not installed; install with: "
                    f"{install_advice(missing)}; see {README_SECTION}")
    return None
