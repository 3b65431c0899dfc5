"""``export_mender``: a bundle -> a Mender artifact for a fleet of devices (OTA update).

Mender's ``directory`` update module replaces one folder on the device with the contents of
``update.tar`` and the path in ``dest_dir``; an artifact is that payload plus a header
(name, compatible device types, provides) and the payload's sha256 checksums. Here:

* payload = the bundle exactly as deployed (its own ``manifest.json`` checksums stay inside,
  so the device can check the files again after Mender checked the tarball);
* a state script ``ArtifactInstall_Leave`` runs ``edgekit verify`` on the installed folder:
  a bundle that does not verify on the device fails the update and Mender rolls it back.

``mender-artifact`` (Debian/Ubuntu package ``mender-artifact``) writes and reads the artifact;
this module drives it and reads the result back, so what is returned is what Mender sees.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from edgekit._io import expand_user
from edgekit.deployment.bundle import Bundle
from edgekit.deployment.manifest import MANIFEST, MANIFEST_DIGEST
from edgekit.errors import BackendUnavailable, BundleError, OutputExists

DEFAULT_ROOT = "/opt/edgekit/bundles"
VERIFY_SCRIPT = "ArtifactInstall_Leave_50_edgekit-verify"


@dataclass(frozen=True)
class MenderArtifact:
    """An artifact as ``mender-artifact read`` reports it.

    Attributes:
        path: the ``.mender`` file.
        name: artifact name (unique per bundle content: Mender skips a name already installed).
        device_types: compatible device types.
        payload_type: update module (``"directory"``).
        files: ``{file name: sha256}`` of the payload (``update.tar``, ``dest_dir``).
        scripts: state scripts inside.
        dest: the folder the bundle is installed into on the device (known to the export that
            wrote it; ``None`` from :func:`read_artifact`, whose tool does not print it).
    """

    path: Path
    name: str
    device_types: tuple[str, ...]
    payload_type: str
    files: dict[str, str]
    scripts: tuple[str, ...]
    dest: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"path": str(self.path), "name": self.name, "device_types": list(self.device_types),
                "payload_type": self.payload_type, "files": dict(self.files), "scripts": list(self.scripts),
                "dest": self.dest}


def mender_tool() -> str:
    """Path of ``mender-artifact``.

    Raises:
        BackendUnavailable: it is not installed.
    """
    tool = shutil.which("mender-artifact")
    if tool is None:
        raise BackendUnavailable("mender-artifact is not installed; on Debian/Ubuntu: apt-get install mender-artifact "
                                 "(or get it from https://docs.mender.io/downloads)")
    return tool


# the device type Mender knows a target's boards by (meta-mender's MACHINE for them); other targets name theirs
MENDER_DEVICE_TYPES = {"raspberry-pi-4": "raspberrypi4", "raspberry-pi-5": "raspberrypi5"}


def device_types_for(target: str | None) -> tuple[str, ...]:
    """The Mender device types a bundle built for ``target`` installs on by default.

    Why: the default was ``raspberrypi4`` whatever the bundle was built and measured for, so a bundle
    for this x86 machine (or a Jetson) was offered to a fleet of Pi 4s.

    Raises:
        BundleError: ``target`` has no device type edgekit knows (the caller must name it).
    """
    known = MENDER_DEVICE_TYPES.get(str(target or ""))
    if known is None:
        raise BundleError(f"the bundle was built for target {target!r}, which has no Mender device type edgekit knows: "
                          "name the devices that may install it with --device-type NAME (repeat for several; the "
                          "name in /var/lib/mender/device_type on them), e.g. --device-type raspberrypi4")
    return (known,)


def export_mender(bundle: str | Path | Bundle, out: str | Path, *, device_types: tuple[str, ...] | None = None,
                  dest: str | None = None, force: bool = False) -> MenderArtifact:
    """Write a Mender ``directory`` artifact installing the bundle to ``dest`` on each device.

    Args:
        bundle: bundle folder, zip, or an opened :class:`Bundle` (verified first).
        out: the ``.mender`` file to write.
        device_types: device types the artifact installs on (Mender refuses it on others); ``None``: the
            one of the bundle's target (:func:`device_types_for`).
        dest: absolute install folder on the device (default ``/opt/edgekit/bundles/<name>``).
        force: replace an existing ``out``.

    Returns:
        The artifact as read back by ``mender-artifact read``.

    Raises:
        BundleError: the bundle is refused, or ``dest``/``device_types`` are unusable.
        OutputExists: ``out`` exists and ``force`` is false.
        BackendUnavailable: ``mender-artifact`` is not installed.
    """
    tool = mender_tool()
    opened = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
    m = opened.manifest
    dest = dest or f"{DEFAULT_ROOT}/{m.serve_name}"
    if not dest.startswith("/") or any(c in dest for c in "\n\"'`$\\") or "/../" in f"{dest}/":
        raise BundleError(f"--dest {dest!r} must be a plain absolute folder path on the device, e.g. {DEFAULT_ROOT}/NAME")
    if device_types is None:
        device_types = device_types_for(m.target)
    if not device_types or any(not re.fullmatch(r"[A-Za-z0-9._+-]+", t) for t in device_types):
        raise BundleError(f"--device-type {list(device_types)} must name device types such as raspberrypi4")
    out = expand_user(out)
    if out.exists() and not force:
        raise OutputExists(f"{out} exists; pass --force to replace it", path=out)
    digest = hashlib.sha256((opened.root / MANIFEST).read_bytes()).hexdigest()[:12]
    name = f"{m.serve_name}-{digest}"
    with tempfile.TemporaryDirectory(prefix="edgekit-mender-") as tmp:
        work = Path(tmp)
        (work / "update.tar").write_bytes(_payload(opened))
        (work / "dest_dir").write_text(dest, encoding="utf-8")
        (work / VERIFY_SCRIPT).write_text(f"#!/bin/sh\n# edgekit verify is the health check: non-zero fails the "
                                          f"update and Mender rolls back\nexec edgekit verify '{dest}'\n",
                                          encoding="utf-8")
        partial = out.with_name(out.name + ".partial")
        cmd = [tool, "write", "module-image", "-T", "directory", "-n", name, "-o", str(partial),
               "-f", str(work / "update.tar"), "-f", str(work / "dest_dir"), "-s", str(work / VERIFY_SCRIPT),
               "--software-name", f"edgekit-{m.serve_name}", "--software-version", digest]
        for device in device_types:
            cmd += ["-t", device]
        _run(cmd, f"mender-artifact could not write {out}")
        partial.replace(out)
    return replace(read_artifact(out), dest=dest)


def _payload(bundle: Bundle) -> bytes:
    """``update.tar``: the bundle's files, sorted, with fixed owner and time (same bundle, same bytes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for rel in (MANIFEST, MANIFEST_DIGEST, *sorted(bundle.manifest.files)):
            data = (bundle.root / rel).read_bytes()
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read_artifact(path: str | Path) -> MenderArtifact:
    """Read an artifact's header and payload checksums with ``mender-artifact read``.

    Raises:
        BundleError: not a Mender artifact (or a corrupt one).
        BackendUnavailable: ``mender-artifact`` is not installed.
    """
    path = Path(path)
    text = _run([mender_tool(), "read", str(path)], f"{path} is not a readable Mender artifact")

    def field(label: str) -> str:
        found = re.search(rf"^\s*{label}:\s*(.*)$", text, re.MULTILINE)
        return found.group(1).strip() if found else ""

    devices = tuple(re.findall(r"[^\s,\[\]']+", field("Compatible devices")))
    files = dict(re.findall(r"name:\s+(\S+)\s*\n(?:\s+\w+:.*\n)*?\s+checksum:\s+([0-9a-f]{64})", text))
    scripts_block = re.search(r"State scripts:\n((?:\s{4,}\S+\n)*)", text)
    scripts = tuple(scripts_block.group(1).split()) if scripts_block else ()
    return MenderArtifact(path, field("Name"), devices, field("Type"), files, scripts)


def _run(cmd: list[str], failure: str) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BundleError(f"{failure}: mender-artifact did not finish in 300 s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BundleError(f"{failure}: {detail[0]}")
    return done.stdout
