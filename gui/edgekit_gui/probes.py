"""Qt-free probes the app runs in a child process (:mod:`edgekit_gui.child_call`): they import
the runtimes (torch, OpenVINO, OpenCV), which would hold the GIL for seconds in a thread."""

from __future__ import annotations


def discover_backends() -> list[tuple[str, bool, str, list[tuple[str, bool, str]]]]:
    """Every backend with its availability and devices: ``(name, ok, reason, [(device, ok, why)])``."""
    from edgekit.backends import available_backends, device_status

    return [(name, ok, reason, device_status(name) if ok else []) for name, ok, reason in available_backends()]
