"""Versions of Python and every runtime edgekit can drive.

Read from installed package metadata, never by importing the package: torch
and openvino take seconds to import and a profile must stay quick.
"""

from __future__ import annotations

import platform
from importlib import metadata

# key in the profile -> distribution names that provide it (first one found wins)
RUNTIMES: dict[str, tuple[str, ...]] = {
    "edgekit": ("edgekit",),
    "numpy": ("numpy",),
    "onnx": ("onnx",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino", "onnxruntime-directml"),
    "openvino": ("openvino",),
    "nncf": ("nncf",),
    "torch": ("torch",),
    "opencv": (
        "opencv-python-headless",
        "opencv-python",
        "opencv-contrib-python-headless",
        "opencv-contrib-python",
    ),
    "PySide6": ("PySide6", "PySide6-Essentials"),
}


def dist_version(*names: str) -> str | None:
    """Version of the first installed distribution among ``names``, else None."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def runtime_versions() -> dict[str, str | None]:
    """Return ``{"python": "3.11.9", "numpy": "2.4.0", "torch": None, ...}``.

    None means the runtime is not installed.
    """
    versions: dict[str, str | None] = {"python": platform.python_version()}
    versions.update({key: dist_version(*names) for key, names in RUNTIMES.items()})
    return versions
