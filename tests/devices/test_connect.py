"""Connecting to a device: the happy path and every way it is refused, against a real SSH server."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from conftest import EDGEKIT, add_device

from edgekit.cli import main
from edgekit.devices.remote import Remote
from edgekit.devices.ssh import Connection
from edgekit.errors import Cancelled, DeviceError


def test_check_reports_the_devices_own_profile(device, capsys):
    assert main(["device", "check", "loop", "--json"]) == 0
    import json

    check = json.loads(capsys.readouterr().out)
    import edgekit

    assert check["ok"] and check["edgekit"] == edgekit.__version__
    assert check["python"] and check["backends"]["onnxruntime"]
    assert check["profile"]["cpu_name"]


def test_unknown_host_key_is_refused_with_fingerprint_then_trusted(server, client_key, capsys):
    add_device("pi", server, client_key, trusted=False)
    assert main(["device", "check", "pi"]) == 2
    err = capsys.readouterr().err
    fp = server.host_key.get_fingerprint("sha256")
    assert "unknown host key" in err and fp in err and "edgekit device trust pi" in err
    assert main(["device", "trust", "pi", "--yes"]) == 0
    assert fp in capsys.readouterr().out
    assert main(["device", "check", "pi"]) == 0


def test_changed_host_key_is_refused_and_never_replaced(server, client_key, capsys):
    import asyncssh

    dev = add_device("pi", server, client_key, trusted=False)
    other = asyncssh.generate_private_key("ssh-ed25519")
    from edgekit.devices.store import config_dir

    line = " ".join(other.export_public_key("openssh").decode().split()[:2])
    (config_dir() / "known_hosts").write_text(f"[127.0.0.1]:{server.port} {line}\n")
    with pytest.raises(DeviceError, match="HOST KEY CHANGED") as exc:
        Connection.open(dev)
    assert server.host_key.get_fingerprint("sha256") in str(exc.value) and "ssh-keygen -R" in str(exc.value)
    assert main(["device", "trust", "pi", "--yes"]) == 2  # trust does not overwrite a changed key
    assert "HOST KEY CHANGED" in capsys.readouterr().err


def test_wrong_port_is_refused_quickly(server, client_key):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dev = add_device("pi", server, client_key, port=port)
    start = time.monotonic()
    with pytest.raises(DeviceError, match=f"refused the connection: nothing listens on port {port}"):
        Connection.open(dev)
    assert time.monotonic() - start < 5


def test_a_host_that_never_answers_is_given_up_within_the_timeout(server, client_key):
    with socket.socket() as s:  # accepts TCP, never speaks SSH
        s.bind(("127.0.0.1", 0))
        s.listen()
        dev = add_device("pi", server, client_key, port=s.getsockname()[1], timeout=1.5)
        start = time.monotonic()
        with pytest.raises(DeviceError, match="did not answer within 1.5 s"):
            Connection.open(dev)
        assert time.monotonic() - start < 10


def test_wrong_user_or_key_is_refused(server, client_key, tmp_path):
    import asyncssh

    dev = add_device("pi", server, client_key, user="root")
    with pytest.raises(DeviceError, match="refused to log in user 'root'"):
        Connection.open(dev)
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    stranger.chmod(0o600)
    dev = add_device("pi2", server, stranger)
    with pytest.raises(DeviceError, match="authorized_keys"):
        Connection.open(dev)


def test_remote_without_edgekit_says_how_to_install(server, client_key, capsys):
    add_device("bare", server, client_key, edgekit="edgekit-not-installed-here")
    assert main(["device", "check", "bare"]) == 2
    err = capsys.readouterr().err
    assert "edgekit is not installed on bare" in err and "pip install 'edgekit>=" in err


def test_a_folder_named_like_the_command_is_not_called_an_old_edgekit(server, client_key, capsys):
    """No edgekit on the device's PATH but a folder ~/edgekit (its snapshots, its bundles): bash's exec
    tried the folder ("cannot execute: Is a directory", exit 126) and the check said "its edgekit is
    probably older than 0.1.0: upgrade it" to a device that has none. Here: --edgekit naming a folder
    (a venv rather than its bin/edgekit), which /bin/sh refuses the same way (exit 126)."""
    venv = server.home / "venv"
    venv.mkdir()
    add_device("bare", server, client_key, edgekit=str(venv))
    assert main(["device", "check", "bare"]) == 2
    err = capsys.readouterr().err
    assert "cannot be run on bare" in err and "not on the PATH an SSH command gets" in err, err
    assert "older than" not in err and "--edgekit ~/venv/bin/edgekit" in err


def test_remote_with_an_older_edgekit_says_which_and_how_to_upgrade(server, client_key, capsys):
    import sys

    old = server.home / "old-edgekit"
    old.write_text("#!/bin/sh\n"
                   f"{sys.executable} -c \"import json; from edgekit.hardware import profile_hardware; "
                   "d = profile_hardware().to_dict(); d['versions']['edgekit'] = '0.0.3'; print(json.dumps(d))\"\n")
    old.chmod(0o755)
    add_device("old", server, client_key, edgekit=str(old))
    assert main(["device", "check", "old"]) == 1
    out = capsys.readouterr().out
    assert "edgekit 0.0.3 there is older than" in out and "pip install 'edgekit>=" in out


def test_a_hanging_command_is_stopped_on_the_device(device, server):
    with Connection.open(device) as conn:
        start = time.monotonic()
        with pytest.raises(DeviceError, match="did not finish within 1.5 s; it was stopped there"):
            conn.run("sleep 300", timeout=1.5)
        assert time.monotonic() - start < 10
    sleeper = server.pid_of("sleep 300")
    deadline = time.monotonic() + 5
    while server.alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server.alive(sleeper)


def test_cancel_stops_the_remote_process(device, server):
    flag = threading.Event()
    threading.Timer(0.5, flag.set).start()
    with Connection.open(device) as conn, pytest.raises(Cancelled):
        conn.run("sleep 300", timeout=60, cancel=flag.is_set)
    sleeper = server.pid_of("sleep 300")
    deadline = time.monotonic() + 5
    while server.alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server.alive(sleeper)


def test_device_names_that_collide_are_refused(server, client_key, tmp_path, monkeypatch, capsys):
    url = f"ssh://edge@127.0.0.1:{server.port}"
    assert main(["device", "add", "raspberry-pi-5", url]) == 2
    assert "already a bundled target" in capsys.readouterr().err
    assert main(["device", "add", "cpu", url]) == 2
    assert "reserved" in capsys.readouterr().err
    assert main(["device", "add", "my.yaml", url]) == 2
    assert main(["device", "add", "pi", "ssh://edge:secret@127.0.0.1"]) == 2
    assert "never stores passwords" in capsys.readouterr().err
    add_device("board", server, client_key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "board").write_text("name: board\n")  # a target file with the device's name
    from edgekit.devices.store import find_device

    with pytest.raises(DeviceError, match="both a registered device and a file"):
        find_device("board")


def test_add_list_remove(server, client_key, capsys):
    url = f"ssh://edge@127.0.0.1:{server.port}"
    assert main(["device", "add", "pi", url, "--key", str(client_key), "--target", "raspberry-pi-5",
                 "--edgekit", EDGEKIT]) == 0
    assert main(["device", "add", "pi", url]) == 2
    capsys.readouterr()
    assert main(["device", "list", "--json"]) == 0
    import json

    listed = json.loads(capsys.readouterr().out)
    assert listed["pi"]["port"] == server.port and listed["pi"]["target"] == "raspberry-pi-5"
    assert "password" not in json.dumps(listed)
    assert main(["device", "remove", "pi"]) == 0
    assert main(["device", "check", "pi"]) == 2
    assert "no device named 'pi'" in capsys.readouterr().err


def test_remote_profile_is_reused_within_a_connection(device):
    with Remote.open(device) as remote:
        assert remote.profile() is remote.profile()


def test_a_broken_device_list_is_named_and_never_blocks_plain_targets(capsys):
    from edgekit.devices.store import devices_file, find_device

    devices_file().parent.mkdir(parents=True)
    devices_file().write_text("{not json")
    assert find_device("local") is None and find_device("raspberry-pi-5") is None
    assert find_device("targets/raspberry-pi-5.yaml") is None
    with pytest.raises(DeviceError, match="devices.json"):
        find_device("pi5")
    assert main(["device", "list"]) == 2
    assert "devices.json" in capsys.readouterr().err
