"""Devices reached over SSH: measure on the real Raspberry Pi, Jetson or NUC instead of estimating.

``edgekit device add pi5 ssh://pi@pi5.local --target raspberry-pi-5`` registers one
(:mod:`edgekit.devices.store`; never a password); from then on ``pi5`` is a target:
``plan(model, target="pi5")`` builds each candidate here, ships it as a verified
bundle (only what changed), runs edgekit's own benchmark there and labels every
figure measured on the device (:mod:`edgekit.devices.planning`). Host keys are
checked as OpenSSH does; every connection and command is bounded in time
(:mod:`edgekit.devices.ssh`). asyncssh is imported only when a device is contacted
(``pip install 'edgekit[remote]'``).

Example:
    >>> from edgekit.devices import Device, add_device       # doctest: +SKIP
    >>> add_device(Device("pi5", "pi5.local", "pi", target="raspberry-pi-5"))
    >>> from edgekit import plan
    >>> plan("demo:digits", target="pi5").best.notes[0]
    'measured on device pi5 (ssh://pi@pi5.local:22)'
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports

_LAZY = {
    "Device": "edgekit.devices.store",
    "add_device": "edgekit.devices.store",
    "remove_device": "edgekit.devices.store",
    "get_device": "edgekit.devices.store",
    "load_devices": "edgekit.devices.store",
    "Remote": "edgekit.devices.remote",
    "DeviceCheck": "edgekit.devices.remote",
    "DeviceMeasurer": "edgekit.devices.planning",
    "PlanIncomplete": "edgekit.devices.planning",
    "bench_on_device": "edgekit.devices.planning",
    "deploy_to_device": "edgekit.devices.planning",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
