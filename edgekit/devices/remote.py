"""edgekit on a device: its profile, the checks before use, shipping bundles, measuring, verifying.

Shipping sends only what changed: the device's copy of the bundle's manifest
says which files (by sha256 and size) are already there. The remote manifest is
removed first and written last, so a copy cut short is an incomplete bundle,
which the device refuses to run (it verifies every checksum before use).
"""

from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgekit.devices.ssh import Cancel, Connection, RunResult
from edgekit.devices.store import Device
from edgekit.errors import DeviceError

MIN_REMOTE = "0.1.0"  # the first edgekit with `edgekit device measure`
BUNDLE_BACKENDS = ("onnxruntime", "openvino")
PROFILE_TIMEOUT_S = 90.0


class CommandFailed(DeviceError):
    """edgekit ran on the device and reported an error (the device itself is fine)."""


class BundleRefused(CommandFailed):
    """The device refused a copied bundle (a checksum differs): it was not run."""


@dataclass(frozen=True)
class Shipment:
    """One bundle copied to a device.

    Attributes:
        path: the bundle's folder on the device.
        sent / kept: files copied, and files already there with the same sha256.
        bytes_sent: bytes copied.
        seconds: wall time of the copy (listing and renames included).
    """

    path: str
    sent: tuple[str, ...]
    kept: tuple[str, ...]
    bytes_sent: int
    seconds: float

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class DeviceCheck:
    """What ``edgekit device check`` found.

    Attributes:
        device / url: which device.
        python / edgekit: versions there (``None``: not found).
        backends: runtime -> version there (``None``: not installed).
        problems: what stops or limits edgekit there, one sentence each, with the install command.
        profile: the device's own ``edgekit profile --json`` (``None`` when it could not run).
        seconds: time the check took.
    """

    device: str
    url: str
    python: str | None
    edgekit: str | None
    backends: dict[str, str | None]
    problems: tuple[str, ...] = ()
    profile: dict | None = None
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when edgekit can measure there."""
        return not self.problems

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {**asdict(self), "ok": self.ok}


def version_tuple(text: str | None) -> tuple[int, ...]:
    """``"0.1.0rc1"`` -> ``(0, 1, 0)``; unknown -> ``()``."""
    return tuple(int(x) for x in re.findall(r"\d+", (text or "").split("+")[0])[:3])


def install_command(what: str = "edgekit") -> str:
    """The command that installs ``what`` on the device."""
    import edgekit

    spec = f"edgekit>={edgekit.__version__}" if what == "edgekit" else what
    return f"python3 -m pip install '{spec}'"


class Remote:
    """edgekit on one device, over one SSH connection (use as a context manager)."""

    def __init__(self, device: Device, conn: Connection) -> None:
        self.device, self.conn = device, conn
        self._profile: Any = None

    @classmethod
    def open(cls, device: Device) -> Remote:
        """Connect to ``device`` (see :meth:`Connection.open` for the errors)."""
        return cls(device, Connection.open(device))

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- edgekit there -----------------------------------------------------------------
    def edgekit(self, args: str, timeout: float, cancel: Cancel = None) -> RunResult:
        """Run ``<device's edgekit command> args`` there."""
        return self.conn.run(f"{self.device.edgekit} {args}", timeout, cancel)

    def profile(self) -> Any:
        """The device's ``HardwareProfile`` (its own ``edgekit profile --json``).

        Raises:
            DeviceError: edgekit is not installed there, or too old to print a profile.
        """
        from edgekit.hardware import HardwareProfile

        if self._profile is not None:
            return self._profile
        res = self.edgekit("profile --json", PROFILE_TIMEOUT_S)
        err = res.stderr.lower()
        point = (f"install it there with `{install_command()}`, or point at it with `edgekit device add "
                 f"{self.device.name} {self.device.url} --edgekit ~/venv/bin/edgekit --force`")
        if res.rc == 127 or "not found" in err or "no such file" in err:
            raise DeviceError(f"edgekit is not installed on {self.device.name} (`{self.device.edgekit}`: "
                              f"{_last(res.stderr) or 'command not found'}); {point}")
        if res.rc == 126 or "cannot execute" in err or "permission denied" in err:
            # not on the PATH an SSH command gets: bash's exec then tries the bare name in the home folder,
            # where a folder called edgekit (its snapshots, its bundles) "cannot execute: Is a directory"
            said = _last(res.stderr) or "exit 126"
            raise DeviceError(f"`{self.device.edgekit}` cannot be run on {self.device.name} ({said}): edgekit is not "
                              f"installed there, or not on the PATH an SSH command gets; {point}")
        try:
            self._profile = HardwareProfile.from_dict(json.loads(res.stdout))
        except (ValueError, TypeError, KeyError) as exc:
            raise DeviceError(f"`{self.device.edgekit} profile --json` on {self.device.name} gave no profile "
                              f"(exit {res.rc}: {_last(res.stderr) or _last(res.stdout) or 'no output'}); its edgekit "
                              f"is probably older than {MIN_REMOTE}: upgrade it with `{install_command()}`") from exc
        return self._profile

    def check(self) -> DeviceCheck:
        """Profile the device and list what is missing (never raises for a missing runtime)."""
        import edgekit

        start = time.monotonic()
        prof = self.profile()
        v = prof.versions
        problems, notes = [], []
        there = v.get("edgekit")
        if version_tuple(there) < version_tuple(MIN_REMOTE):
            problems.append(f"edgekit {there or 'unknown version'} there is older than {MIN_REMOTE} (needed to "
                            f"measure bundles); upgrade it: {install_command()}")
        elif there != edgekit.__version__:
            notes.append(f"edgekit {there} there, {edgekit.__version__} here")
        if not v.get("onnxruntime"):
            problems.append(f"onnxruntime is not installed there (bundles need it); {install_command('onnxruntime')}")
        if not v.get("openvino"):
            notes.append(f"openvino is not installed there (optional: Intel CPUs/GPUs/NPUs); "
                         f"{install_command('openvino')}")
        backends = {b: v.get(b) for b in ("onnxruntime", "openvino", "torch")}
        return DeviceCheck(self.device.name, self.device.url, v.get("python"), there, backends, tuple(problems),
                           prof.to_dict(), time.monotonic() - start, tuple(notes))

    def require(self) -> Any:
        """The profile, once the device can measure bundles.

        Raises:
            DeviceError: edgekit missing or too old, or no onnxruntime there, with the install command.
        """
        check = self.check()
        if check.problems:
            raise DeviceError(f"{self.device.name} cannot measure yet: {'; '.join(check.problems)}")
        return self.profile()

    # ---- bundles -----------------------------------------------------------------------
    def bundle_path(self, name: str) -> str:
        """Where bundle ``name`` lives on the device."""
        return f"{self.device.workdir.rstrip('/')}/bundles/{name}"

    def ship(self, bundle: Path, name: str, cancel: Cancel = None, full: bool = False) -> Shipment:
        """Copy bundle folder (or zip) ``bundle`` to the device as ``name``, sending only what changed.

        Raises:
            DeviceError: the connection dropped, the disk is full, a copy overran its limit.
        """
        start = time.monotonic()
        bundle = Path(bundle)
        dest = self.bundle_path(name)
        if bundle.is_file():  # a zip travels whole, under a temporary name until complete
            sent = self.conn.put(bundle, dest + ".zip", cancel)
            return Shipment(dest + ".zip", (bundle.name,), (), sent, time.monotonic() - start)
        from edgekit.deployment.integrity import list_files
        from edgekit.deployment.manifest import MANIFEST, MANIFEST_DIGEST

        local = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))["files"]
        there = {} if full else self._remote_files(dest)
        sizes = self.conn.sizes(dest)
        for rel in (MANIFEST_DIGEST, MANIFEST):  # incomplete from here until the end of the copy
            self.conn.remove(f"{dest}/{rel}")
        for rel in sorted(set(sizes) - set(local) - {MANIFEST, MANIFEST_DIGEST}):
            self.conn.remove(f"{dest}/{rel}")  # stale or half-copied (.part) files would fail verification
        sent, kept, nbytes = [], [], 0
        for rel in list_files(bundle):
            entry = local[rel]
            if there.get(rel, {}).get("sha256") == entry["sha256"] and sizes.get(rel) == entry["size"]:
                kept.append(rel)
                continue
            nbytes += self.conn.put(bundle / rel, f"{dest}/{rel}", cancel)
            sent.append(rel)
        for rel in (MANIFEST, MANIFEST_DIGEST):  # last: the bundle is complete only now
            nbytes += self.conn.put(bundle / rel, f"{dest}/{rel}", cancel)
            sent.append(rel)
        return Shipment(dest, tuple(sent), tuple(kept), nbytes, time.monotonic() - start)

    def _remote_files(self, dest: str) -> dict:
        text = self.conn.read_text(f"{dest}/manifest.json")
        try:
            return dict(json.loads(text)["files"]) if text else {}
        except (ValueError, KeyError, TypeError):
            return {}

    def measure(self, path: str, seconds: float, cancel: Cancel = None) -> dict:
        """Run ``edgekit device measure`` on the shipped bundle at ``path``; return its JSON.

        Raises:
            BundleRefused: the device found the copy incomplete or modified (it did not run it).
            DeviceError: the command failed, overran its limit or the connection dropped.
        """
        timeout = 120.0 + 10 * seconds
        res = self.edgekit(f"device measure {shlex.quote(path)} --seconds {seconds:g} --json", timeout, cancel)
        return self._json(res, "device measure", path)

    def measure_together(self, paths: list[str], seconds: float, cancel: Cancel = None) -> list[dict]:
        """Run ``edgekit device measure`` on several shipped bundles at once (timed interleaved there);
        their JSON objects in order.

        Raises:
            BundleRefused: the device found a copy incomplete or modified (none was run).
            DeviceError: the command failed, overran its limit or the connection dropped; an edgekit there
                that takes one bundle per call (an older one) is a :class:`CommandFailed`.
        """
        if len(paths) == 1:
            return [self.measure(paths[0], seconds, cancel)]
        timeout = 120.0 + 10 * seconds * len(paths)
        quoted = " ".join(shlex.quote(p) for p in paths)
        res = self.edgekit(f"device measure {quoted} --seconds {seconds:g} --json", timeout, cancel)
        out = self._json(res, "device measure", paths[0])
        if not isinstance(out.get("results"), list) or len(out["results"]) != len(paths):
            raise CommandFailed(f"`edgekit device measure` on {self.device.name} measured one bundle of {len(paths)}")
        return out["results"]

    def verify(self, path: str, timeout: float = 300.0, cancel: Cancel = None) -> tuple[int, dict]:
        """Run ``edgekit verify --json`` on a shipped bundle; return (exit code, report).

        Exit code 1 (a promise not kept there) still returns the report.
        """
        res = self.edgekit(f"verify {shlex.quote(path)} --json", timeout, cancel)
        if res.rc == 1:
            return 1, json.loads(res.stdout)
        return 0, self._json(res, "verify", path)

    def _json(self, res: RunResult, what: str, path: str) -> dict:
        if res.rc == 0:
            try:
                return json.loads(res.stdout)
            except ValueError as exc:
                raise DeviceError(f"`edgekit {what}` on {self.device.name} printed no JSON "
                                  f"({_last(res.stdout) or 'empty output'}); is its edgekit {MIN_REMOTE} or newer? "
                                  f"{install_command()}") from exc
        message = _last(res.stderr) or _last(res.stdout) or f"exit code {res.rc}"
        if "bundle" in message.lower() and any(w in message.lower() for w in ("modified", "missing", "complete")):
            raise BundleRefused(f"{self.device.name} refused its copy of {path}: {message}")
        if "no such command" in message.lower():
            raise DeviceError(f"edgekit on {self.device.name} has no `{what}` ({message}); upgrade it: "
                              f"{install_command()}")
        raise CommandFailed(f"on {self.device.name}: `edgekit {what} {path}` failed: {message}")


def _last(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1][:400] if lines else ""
