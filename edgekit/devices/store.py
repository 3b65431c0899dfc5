"""Registered devices: ``name -> ssh://user@host:port`` plus key, target and remote settings.

Saved as ``devices.json`` in the user's config folder (platformdirs; the
``EDGEKIT_CONFIG_DIR`` environment variable overrides it, which tests use).
Never a password: authentication is by key file or the SSH agent, as OpenSSH does.
Host keys edgekit was told to trust go to ``known_hosts`` in the same folder
(``~/.ssh/known_hosts`` is read too, never written).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from edgekit._io import expand_user, write_text_atomic
from edgekit.errors import DeviceError

CONFIG_ENV = "EDGEKIT_CONFIG_DIR"
# names a device may not take: they mean something else to --target / bench --device
RESERVED = ("local", "cpu", "gpu", "npu", "cuda", "auto", "all")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_WORKDIR = ".cache/edgekit-device"  # relative paths are under the login folder on the device


@dataclass(frozen=True)
class Device:
    """One device edgekit reaches over SSH.

    Attributes:
        name: what commands call it (``--device pi5``, ``--target pi5``).
        host / port / user: where to connect and as whom.
        key: private key file (``None``: the SSH agent and ``~/.ssh/id_*``, as OpenSSH).
        target: the bundled target it is (``raspberry-pi-5``), for budgets and labels; may be empty.
        edgekit: the command that runs edgekit there (``edgekit``, ``~/venv/bin/edgekit``, ``python3 -m edgekit``).
        workdir: where bundles are copied on the device (relative = under the login folder).
        connect_timeout_s: longest wait for the TCP connection and the SSH login.
    """

    name: str
    host: str
    user: str
    port: int = 22
    key: str | None = None
    target: str = ""
    edgekit: str = "edgekit"
    workdir: str = DEFAULT_WORKDIR
    connect_timeout_s: float = 10.0

    @property
    def url(self) -> str:
        """``ssh://user@host:port``."""
        return f"ssh://{self.user}@{self.host}:{self.port}"

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Device:
        """Inverse of :meth:`to_dict` (unknown keys from a newer edgekit are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def config_dir() -> Path:
    """``$EDGEKIT_CONFIG_DIR`` or the platform's user config folder for edgekit."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return expand_user(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("edgekit"))


def devices_file() -> Path:
    """The JSON file the devices are saved in."""
    return config_dir() / "devices.json"


def parse_url(url: str) -> tuple[str, str, int]:
    """``ssh://user@host[:port]`` -> (user, host, port).

    Raises:
        DeviceError: not an ``ssh://`` URL with a user and a host, or a password in it.
    """
    parts = urlsplit(url)
    try:
        port = parts.port or 22
    except ValueError as exc:
        raise DeviceError(f"the port in {url!r} is not a number from 1 to 65535; write ssh://user@host:2222") from exc
    if parts.scheme != "ssh" or not parts.hostname or not parts.username:
        raise DeviceError(f"{url!r} is not an SSH address; write it as ssh://user@host or ssh://user@host:2222")
    if parts.password is not None:
        raise DeviceError(f"{parts.username}@{parts.hostname}: edgekit never stores passwords; remove it from the "
                          "URL and use a key (--key FILE) or the SSH agent")
    if parts.path not in ("", "/"):
        raise DeviceError(f"{url!r} has a path; give the remote folder with --workdir instead")
    return parts.username, parts.hostname, port


def load_devices() -> dict[str, Device]:
    """Every registered device by name (empty when none was added)."""
    path = devices_file()
    if not path.is_file():
        return {}
    from edgekit.safeyaml import read_json

    data = read_json(path, DeviceError, what="device list")  # strict JSON, depth and size bounded
    from edgekit._schema import validate
    from edgekit.devices.schema import DeviceListSchema

    # types and ranges by the same schema library as every other file edgekit reads
    validate(DeviceListSchema, data, where=f"device list {path}", error=DeviceError,
             fix="fix or delete the file and add the devices again (edgekit device add)", path=path)
    try:
        return {name: Device.from_dict(d) for name, d in data.get("devices", {}).items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise DeviceError(f"cannot read {path}: {exc}; fix or delete the file and add the devices again",
                          path=path) from exc


def _save(devices: dict[str, Device]) -> Path:
    data = {"devices": {name: d.to_dict() for name, d in sorted(devices.items())}}
    path = write_text_atomic(devices_file(), json.dumps(data, indent=2) + "\n", force=True)
    path.chmod(0o600)
    return path


def check_name(name: str) -> None:
    """Refuse names that would be ambiguous with a target, a target file or a backend device.

    Raises:
        DeviceError: naming the clash and what to do.
    """
    from edgekit.targets import list_targets

    if not _NAME.match(name):
        raise DeviceError(f"device name {name!r} must be letters, digits, '.', '_' or '-' (no '/', at most 64); "
                          "pick a short name like pi5")
    if name.lower() in RESERVED:
        raise DeviceError(f"device name {name!r} is reserved (it means something else to --target/--device); "
                          "pick another name like pi5")
    if name in list_targets():
        raise DeviceError(f"device name {name!r} is already a bundled target; pick another name (e.g. my-{name}) "
                          f"and pass --target {name} to say what it is")
    if name.endswith((".yaml", ".yml")):
        raise DeviceError(f"device name {name!r} looks like a target file; drop the .yaml suffix")


def add_device(device: Device, force: bool = False) -> Path:
    """Save ``device`` (replace one of the same name only with ``force``); return the file.

    Raises:
        DeviceError: a bad name, an unknown ``target``, or the name is taken.
    """
    check_name(device.name)
    if device.target:
        from edgekit.errors import TargetError
        from edgekit.targets import load_target

        try:
            load_target(device.target)
        except TargetError as exc:
            raise DeviceError(f"--target {device.target}: {exc}") from exc
    if device.key and not expand_user(device.key).is_file():
        raise DeviceError(f"key file {device.key} does not exist; pass the private key (e.g. ~/.ssh/id_ed25519) "
                          "or leave --key out to use the SSH agent", path=device.key)
    devices = load_devices()
    if device.name in devices and not force:
        raise DeviceError(f"a device named {device.name} exists ({devices[device.name].url}); "
                          "remove it first (edgekit device remove) or pass --force")
    devices[device.name] = device
    return _save(devices)


def remove_device(name: str) -> Device:
    """Forget device ``name``; return it.

    Raises:
        DeviceError: no such device.
    """
    devices = load_devices()
    device = get_device(name, devices)
    del devices[name]
    _save(devices)
    return device


def get_device(name: str, devices: dict[str, Device] | None = None) -> Device:
    """The device called ``name``.

    Raises:
        DeviceError: unknown, with a did-you-mean hint and how to add one.
    """
    import difflib

    devices = load_devices() if devices is None else devices
    if name in devices:
        return devices[name]
    hint = difflib.get_close_matches(name, list(devices), n=2, cutoff=0.5)
    extra = f"did you mean {', '.join(hint)}? " if hint else ""
    raise DeviceError(f"no device named {name!r}; {extra}add it with `edgekit device add {name} ssh://user@host`"
                      f" (known: {', '.join(sorted(devices)) or 'none'})")


def find_device(name: str) -> Device | None:
    """The device called ``name`` if one is registered, else ``None`` (never raises for a plain target).

    Raises:
        DeviceError: ``name`` is a device and also an existing file here, so ``--target``
            could mean either.
    """
    from edgekit.targets import list_targets

    if name.lower() in RESERVED or name in list_targets() or not _NAME.match(name) or name.endswith((".yaml", ".yml")):
        return None  # never a device name: a plain target never reads (a possibly broken) devices.json
    devices = load_devices()
    if name not in devices:
        return None
    if Path(name).exists():
        raise DeviceError(f"{name!r} is both a registered device and a file in {Path.cwd()}; "
                          f"pass the file as ./{name} or rename the device (edgekit device remove {name})")
    return devices[name]
