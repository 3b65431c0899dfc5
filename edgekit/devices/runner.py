"""Measure candidates on a device: build their bundles here, ship them, time them there together, bring the JSON back.

Bundles are built once per (model, backend, device, precision) into the user
cache and reused, so a re-run ships nothing new; measurements are stored per
device fingerprint too, so a plan the device dropped out of resumes where it
stopped (``resume=True``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgekit._io import expand_user
from edgekit.devices.remote import BUNDLE_BACKENDS, BundleRefused, Remote
from edgekit.devices.ssh import Cancel
from edgekit.devices.store import Device
from edgekit.errors import BundleError


@dataclass(frozen=True)
class Measured:
    """One candidate measured on a device.

    Attributes:
        bench: the device's ``BenchResult`` as a dict.
        verify: the device's ``VerifyReport`` of the bundle's sample as a dict.
        shipment: what was copied (``Shipment.to_dict()``); empty for a resumed result.
        build_s / call_s / remote_s: build here, the remote command's wall time seen from here,
            and the time spent inside edgekit there; ``call_s - remote_s`` is start-up + SSH.
        resumed: this result came from an earlier, interrupted run.
    """

    bench: dict
    verify: dict
    shipment: dict
    build_s: float
    call_s: float
    remote_s: float
    resumed: bool = False

    @property
    def startup_s(self) -> float:
        """Remote start-up (SSH channel + Python + edgekit import) for this candidate."""
        return max(0.0, self.call_s - self.remote_s)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Measured:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


def cache_root() -> Path:
    """``$EDGEKIT_CACHE/devices`` or the platform's user cache folder."""
    override = os.environ.get("EDGEKIT_CACHE")
    if override:
        return expand_user(override) / "devices"
    import platformdirs

    return Path(platformdirs.user_cache_dir("edgekit")) / "devices"


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def build_bundle(model: Any, backend: str, device: str, precision: str, target: Any, data: Any = None,
                 samples: int | None = None) -> Path:
    """A verified bundle of ``model`` for ``backend/device/precision`` (built once, then reused)."""
    import edgekit
    from edgekit.deployment import Bundle, deploy

    key = _digest(model.sha256, backend, device, precision, getattr(target, "name", target), str(data), samples,
                  edgekit.__version__)
    path = cache_root() / "bundles" / key
    if path.is_dir():
        try:
            Bundle.open(path)
            return path
        except BundleError:
            shutil.rmtree(path, ignore_errors=True)
    deploy(model, target=target, out=path, backend=backend, precision=precision, device=device, data=data,
           samples=samples, force=True)
    return path


class DeviceRunner:
    """Builds, ships and measures candidates on one device over one connection.

    Args:
        device: the registered device.
        remote: an open :class:`Remote` (``DeviceRunner.open`` makes one and checks it).
        target: the :class:`~edgekit.targets.Target` the device is (see :func:`device_target`).
        data: validation data packaged with each bundle (``None``: the demo split or noise).
    """

    def __init__(self, device: Device, remote: Remote, target: Any, data: Any = None) -> None:
        self.device, self.remote, self.target, self.data = device, remote, target, data
        self.profile = remote.profile()

    @classmethod
    def open(cls, device: Device, data: Any = None, profile: Any = None) -> DeviceRunner:
        """Connect, check edgekit there (unless its ``profile`` was read already), describe it as a target.

        Raises:
            DeviceError: unreachable, refused, or edgekit/onnxruntime missing there (with the install command).
        """
        remote = Remote.open(device)
        try:
            if profile is None:
                profile = remote.require()
            remote._profile = profile
            return cls(device, remote, device_target(device, profile), data)
        except BaseException:
            remote.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self.remote.close()

    def _resume_file(self) -> Path:
        return cache_root() / "measured" / f"{self.device.name}-{self.profile.fingerprint}.json"

    def _resume_key(self, model: Any, backend: str, device: str, precision: str, seconds: float) -> str:
        return _digest(model.sha256, backend, device, precision, seconds, self.profile.versions.get("edgekit"))

    def stored(self, model: Any, backend: str, device: str, precision: str, seconds: float) -> Measured | None:
        """A result an earlier (interrupted) run already brought back, if any."""
        path = self._resume_file()
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            hit = data.get(self._resume_key(model, backend, device, precision, seconds))
            return None if hit is None else Measured.from_dict({**hit, "resumed": True})
        except (OSError, ValueError, TypeError):
            return None

    def forget(self, items: list[tuple[Any, str, str, str]], seconds: float) -> None:
        """Drop what was stored for ``(model, backend, device, precision)`` items: their plan got every figure.

        Why: the store is for a plan the device dropped out of. Kept after the plan finished, a plan of the
        same model and settings days later took those old figures as "resumed from an interrupted run"
        and measured nothing (the app's plan on a loopback device brought back an earlier run's FP16 "1.56x
        FP32", timed one candidate after another, which interleaved reads 1.1x)."""
        from edgekit._io import write_text_atomic

        path = self._resume_file()
        if not path.is_file():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        keys = {self._resume_key(m, b, d, p, seconds) for m, b, d, p in items}
        kept = {k: v for k, v in data.items() if k not in keys}
        if len(kept) != len(data):
            write_text_atomic(path, json.dumps(kept, indent=1), force=True)

    def _store(self, key: str, measured: Measured) -> None:
        from edgekit._io import write_text_atomic

        path = self._resume_file()
        data = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                data = {}
        data[key] = measured.to_dict()
        write_text_atomic(path, json.dumps(data, indent=1), force=True)

    def measure_together(self, items: list[tuple[Any, str, str, str]], seconds: float, cancel: Cancel = None,
                         resume: bool = True, progress: Any = None) -> list[Measured | Exception]:
        """Measure ``(model, backend, device, precision)`` items there, timed interleaved: each is built
        and shipped, then one command verifies and benchmarks them all (see
        :func:`edgekit.devices.onboard.measure_bundles`). ``progress(i, text)`` before item ``i`` is shipped,
        ``progress(None, text)`` before they are timed.

        Returns:
            per item, in order, its :class:`Measured`, or the error that kept it from being measured
            (``BackendUnavailable``/``BundleError``: it cannot be bundled; ``CommandFailed``: edgekit
            there failed on it).

        Raises:
            DeviceError: the device dropped or refused (the items measured so far are stored for a re-run).
        """
        from edgekit.errors import BackendUnavailable

        out: list[Measured | Exception | None] = [None] * len(items)
        shipped: list[list] = []  # [index, resume key, local bundle, shipment, build seconds]
        for i, (model, backend, device, precision) in enumerate(items):
            key = self._resume_key(model, backend, device, precision, seconds)
            hit = self.stored(model, backend, device, precision, seconds) if resume else None
            if hit is not None:
                out[i] = hit
                continue
            if progress is not None:
                progress(i, f"shipping {backend}/{device}/{precision} ({i + 1} of {len(items)})")
            t0 = time.monotonic()
            try:
                local = build_bundle(model, backend, device, precision, self.target, self.data)
            except (BackendUnavailable, BundleError) as exc:
                out[i] = exc
                continue
            shipped.append([i, key, local, self.remote.ship(local, local.name, cancel), time.monotonic() - t0])
        if shipped:
            if progress is not None:
                progress(None, f"{len(shipped)} candidate(s) timed together, interleaved ({seconds:g} s each)")
            results, call_s = (self._run_each(shipped, seconds, cancel) if len(shipped) == 1  # nothing to interleave
                               else self._run_together(shipped, seconds, cancel))
            for (i, key, _, shipment, build_s), res in zip(shipped, results):
                if isinstance(res, Exception):
                    out[i] = res
                    continue
                measured = Measured(res["bench"], res["verify"], shipment.to_dict(), build_s, call_s[i],
                                    float(res.get("seconds", 0.0)))
                if resume:  # kept for a re-run of an interrupted plan (a --no-cache plan neither reads nor writes it)
                    self._store(key, measured)
                out[i] = measured
        return out  # type: ignore[return-value]

    def _run_together(self, shipped: list[list], seconds: float, cancel: Cancel) -> tuple[list, dict]:
        """One ``device measure`` of every shipped bundle; a copy found damaged there is sent whole, once."""
        from edgekit.devices.remote import CommandFailed

        start = time.monotonic()
        try:
            results = self.remote.measure_together([s[3].path for s in shipped], seconds, cancel)
        except BundleRefused:  # the copy there was damaged behind our back: send everything again, once
            for s in shipped:
                s[3] = self.remote.ship(s[2], s[2].name, cancel, full=True)
            start = time.monotonic()
            results = self.remote.measure_together([s[3].path for s in shipped], seconds, cancel)
        except CommandFailed:  # an older edgekit there (one bundle per call), or one candidate failed it
            return self._run_each(shipped, seconds, cancel)
        each = (time.monotonic() - start) / len(shipped)
        return results, {s[0]: each for s in shipped}

    def _run_each(self, shipped: list[list], seconds: float, cancel: Cancel) -> tuple[list, dict]:
        """One ``device measure`` per bundle (not interleaved): where the batch failed, each candidate gets
        its own result or its own error."""
        from edgekit.devices.remote import CommandFailed

        results: list = []
        call_s = {}
        for s in shipped:
            start = time.monotonic()
            try:
                results.append(self.remote.measure(s[3].path, seconds, cancel))
            except BundleRefused:
                s[3] = self.remote.ship(s[2], s[2].name, cancel, full=True)
                start = time.monotonic()
                results.append(self.remote.measure(s[3].path, seconds, cancel))
            except CommandFailed as exc:
                results.append(exc)
            call_s[s[0]] = time.monotonic() - start
        return results, call_s


def device_target(device: Device, profile: Any) -> Any:
    """The device as a :class:`~edgekit.targets.Target`: what its own profile says it runs.

    Backends are the bundle runtimes installed there (onnxruntime, openvino: torch
    candidates are never shipped); budgets and labels come from the device's
    declared target (``--target raspberry-pi-5``) when it has one.
    """
    from edgekit.targets import Target, load_target
    from edgekit.targets.model import Budgets

    declared = load_target(device.target) if device.target else None
    v = profile.versions
    backends: dict[str, dict[str, tuple[str, ...]]] = {}
    if v.get("onnxruntime"):
        backends["onnxruntime"] = {"devices": ("cpu",), "precisions": ("fp32", "fp16", "int8", "int8-dynamic")}
    if v.get("openvino"):
        devices = sorted({d.split(".")[0].lower() for d in profile.openvino_device_names} or {"cpu"})
        backends["openvino"] = {"devices": tuple(d for d in devices if d in ("cpu", "gpu", "npu")) or ("cpu",),
                                "precisions": ("fp32", "fp16", "int8")}
    backends = {b: e for b, e in backends.items() if b in BUNDLE_BACKENDS}
    return Target(
        name=device.name,
        description=f"device {device.name} ({device.url}), measured over SSH: {profile.summary()}",
        cpu_arch=profile.arch, cpu_model=profile.cpu_name,
        cores=profile.physical_cores or profile.logical_cores,
        isa=tuple(k for k, on in profile.isa.items() if on),
        memory_mb=(profile.memory_total or 0) // 2**20,
        backends=backends,
        budgets=declared.budgets if declared is not None else Budgets(),
        is_local=False,
    )


def offline_target(device: Device) -> Any:
    """The device as a ``Target`` without connecting (for a list of cards): its declared target's
    figures under the device's name, or a bare entry; ``plan`` reads the real profile over SSH."""
    import dataclasses

    from edgekit.targets import Target, load_target

    about = f"device {device.name} ({device.url}): latency measured on the device over SSH"
    if device.target:
        declared = load_target(device.target)
        return dataclasses.replace(declared, name=device.name, description=f"{about}; it is a {declared.name}",
                                   path=None, is_local=False, references=())
    return Target(name=device.name, cpu_arch="remote", cores=0, memory_mb=0, backends={}, description=about)


def is_device_target(target: Any) -> bool:
    """True for a ``Target`` that stands for a registered device (:func:`offline_target`, :func:`device_target`)."""
    return str(getattr(target, "description", "")).startswith("device ")
