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
