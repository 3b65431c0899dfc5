"""A hand-edited devices.json is checked by the same schema library as every other file edgekit reads."""

from __future__ import annotations

import json

import pytest

from edgekit.devices.store import Device, add_device, devices_file, load_devices
from edgekit.errors import DeviceError


@pytest.fixture(autouse=True)
def _config(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_CONFIG_DIR", str(tmp_path / "config"))


@pytest.mark.parametrize(("field", "value", "words"), [
    ("port", 70000, "port"), ("port", "22", "port"), ("connect_timeout_s", -1, "connect_timeout_s"),
    ("host", "", "host"), ("name", "../evil", "name"),
])
def test_a_bad_field_is_one_sentence_naming_it(field, value, words):
    add_device(Device("pi5", "192.0.2.10", "pi"))
    data = json.loads(devices_file().read_text())
    data["devices"]["pi5"][field] = value
    devices_file().write_text(json.dumps(data))
    with pytest.raises(DeviceError) as err:
        load_devices()
    message = str(err.value)
    assert "devices.json" in message and words in message and "\n" not in message


def test_a_good_file_round_trips():
    add_device(Device("pi5", "192.0.2.10", "pi", port=2222, target="raspberry-pi-5"))
    assert load_devices()["pi5"].port == 2222


def test_device_list_fits_80_columns_and_names_only_the_settings_a_device_sets(tmp_path, capsys):
    """Six columns broke "raspberry-pi-5" and the address mid-word at 80 columns."""
    from edgekit.cli import main

    add_device(Device("pi5", "raspberrypi.local", "pi", target="raspberry-pi-5"))
    add_device(Device("nuc", "10.20.30.40", "engineer", port=2222, target="intel-nuc-iris-xe"))
    key = tmp_path / "keys" / "id_lab_ed25519"
    key.parent.mkdir()
    key.write_text("")
    add_device(Device("lab", "192.168.100.200", "me", key=str(key), edgekit="/opt/venv/bin/edgekit"))
    assert main(["device", "list"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    for whole in ("raspberry-pi-5", "intel-nuc-iris-xe", "ssh://engineer@10.20.30.40:2222"):
        assert whole in out
    lines = " ".join(out.split())
    assert f"lab:key{key},command/opt/venv/bin/edgekit" in "".join(out.split())  # a long key path wraps
    assert "pi5:" not in lines and "defaults: key from ssh-agent or ~/.ssh, command edgekit" in lines
