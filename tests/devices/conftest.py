"""A loopback "device": a real SSH server on 127.0.0.1 whose device is this machine in its own home folder.

Every test gets its own config folder (EDGEKIT_CONFIG_DIR), cache, HOME (so
~/.ssh of the person running the tests is never read or written) and no SSH
agent. The server is stopped in the fixture's ``finally``, even when a test fails.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

asyncssh = pytest.importorskip("asyncssh", reason="the device tests need asyncssh (pip install 'edgekit[remote]')")

sys.path.insert(0, str(Path(__file__).parent))  # the server helper sits beside this file (no tests package)
from sshserver import LoopbackDevice

USER = "edge"
EDGEKIT = f"{sys.executable} -m edgekit"  # the device runs the same virtual environment's edgekit


@pytest.fixture(scope="session")
def client_key(tmp_path_factory) -> Path:
    """A throwaway ed25519 key pair; returns the private key file (mode 600)."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path_factory.mktemp("keys") / "id_ed25519"
    key.write_private_key(str(path))
    key.write_public_key(str(path) + ".pub")
    path.chmod(0o600)
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Path:
    """Config, cache and HOME of this test only; no agent."""
    monkeypatch.setenv("EDGEKIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    (tmp_path / "home").mkdir()
    return tmp_path


@pytest.fixture(autouse=True)
def no_ssh_loop_left():
    """Every connection a test opened is closed by its end: its loop thread ("edgekit-ssh") is gone.

    Why: a leaked connection's thread outlived the devices tests once in CI and failed every later
    test that checks no edgekit thread is left; this names the test that leaked it instead.
    """
    yield
    deadline = time.monotonic() + 15  # a close in flight finishes well within this
    while _ssh_loops() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _ssh_loops(), "an SSH connection's loop thread outlived this test: a Connection was not closed"


def _ssh_loops() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "edgekit-ssh" and t.is_alive()]


@pytest.fixture
def server(tmp_path, client_key):
    """The running loopback device (stopped afterwards whatever happens)."""
    home = tmp_path / "device-home"
    home.mkdir()
    dev = LoopbackDevice(home, USER, asyncssh.read_public_key(str(client_key) + ".pub"))
    try:
        yield dev.start()
    finally:
        dev.stop()


def add_device(name: str, server: LoopbackDevice, key: Path, *, trusted: bool = True, edgekit: str = EDGEKIT,
               user: str = USER, port: int | None = None, timeout: float = 5.0, target: str = ""):
    """Register ``name`` for ``server`` (and trust its host key unless ``trusted`` is false)."""
    from edgekit.devices.store import Device, config_dir
    from edgekit.devices.store import add_device as add

    device = Device(name, "127.0.0.1", user, port or server.port, str(key), target, edgekit,
                    str(server.home / "edgekit-work"), timeout)
    add(device, force=True)
    if trusted:
        known = config_dir() / "known_hosts"
        with open(known, "a", encoding="utf-8") as f:
            f.write(server.known_hosts_line())
    return device


@pytest.fixture
def device(server, client_key):
    """Device ``loop`` registered and trusted."""
    return add_device("loop", server, client_key)
