"""Shipping bundles to the device: only what changed, a full disk, a dropped link, a damaged copy."""

from __future__ import annotations

import errno

import pytest

from edgekit.devices.remote import BundleRefused, Remote
from edgekit.devices.runner import DeviceRunner, build_bundle
from edgekit.errors import DeviceError


@pytest.fixture
def bundle(device):
    from edgekit.devices.runner import device_target
    from edgekit.models import load_model

    with Remote.open(device) as remote:
        target = device_target(device, remote.profile())
    return build_bundle(load_model("demo:digits"), "onnxruntime", "cpu", "fp32", target)


def test_only_what_changed_is_shipped(device, bundle):
    with Remote.open(device) as remote:
        first = remote.ship(bundle, "digits")
        again = remote.ship(bundle, "digits")
    assert "model/digits.onnx" in first.sent and first.bytes_sent > 300_000
    assert again.sent == ("manifest.json", "manifest.sha256")  # the manifest pair is always written last
    assert "model/digits.onnx" in again.kept and again.bytes_sent < 20_000


def test_a_full_disk_on_the_device_is_named(device, server, bundle):
    server.fail_writes_with = errno.ENOSPC
    with Remote.open(device) as remote, pytest.raises(DeviceError, match="disk (is|may be) full") as exc:
        remote.ship(bundle, "digits")
    assert "df -h" in str(exc.value)


def test_a_copy_cut_short_is_never_run_and_the_next_run_completes_it(device, server, bundle):
    server.drop_after_bytes = 50_000  # mid-way through the 320 kB model
    with Remote.open(device) as remote, pytest.raises(DeviceError, match="lost while copying"):
        remote.ship(bundle, "digits")
    assert not (server.home / "edgekit-work" / "bundles" / "digits" / "model" / "digits.onnx").exists()
    server.drop_after_bytes = None
    with Remote.open(device) as remote:
        path = remote.bundle_path("digits")
        with pytest.raises(BundleRefused, match="manifest.json is missing"):  # the device refuses half a bundle
            remote.measure(path, 0.2)
        remote.ship(bundle, "digits")
        out = remote.measure(path, 0.2)
    assert out["bench"]["status"] == "ok" and out["verify"]["passed"]


def test_a_damaged_copy_is_refused_there_and_sent_again(device, server, bundle):
    with Remote.open(device) as remote:
        remote.ship(bundle, bundle.name)  # where the runner ships it
    copy = server.home / "edgekit-work" / "bundles" / bundle.name / "labels.txt"
    copy.write_text(copy.read_text().replace("1", "7"))  # same size, different bytes
    from edgekit.models import load_model

    runner = DeviceRunner.open(device)
    model = load_model("demo:digits")
    try:  # measured together with another candidate: the whole batch is refused, then sent whole, once
        m, other = runner.measure_together([(model, "onnxruntime", "cpu", "fp32"), (model, "openvino", "cpu", "fp32")],
                                           0.2, resume=False)
    finally:
        runner.close()
    assert m.bench["status"] == "ok" and other.bench["status"] == "ok"
    assert "labels.txt" in m.shipment["sent"]  # the second, full copy
    assert server.count("device measure") == 2


def test_a_device_without_sftp_gets_its_bundles_through_the_shell(tmp_path, client_key):
    """A server with no SFTP subsystem (Dropbear without sftp-server, an sshd_config with no Subsystem
    line) answered `device check`, then every bench/plan/deploy there failed with "connection lost while
    reading .../manifest.json". Files now go through sh: shipped whole, only what changed the second
    time, verified there."""
    import asyncssh

    from edgekit.devices.runner import device_target
    from edgekit.models import load_model
    from tests.devices.conftest import add_device
    from tests.devices.sshserver import LoopbackDevice

    home = tmp_path / "dropbear-home"
    home.mkdir()
    server = LoopbackDevice(home, "edge", asyncssh.read_public_key(str(client_key) + ".pub"), sftp=False).start()
    try:
        device = add_device("nosftp", server, client_key, user="edge")
        with Remote.open(device) as remote:
            bundle = build_bundle(load_model("demo:digits"), "onnxruntime", "cpu", "fp32",
                                  device_target(device, remote.profile()))
            first = remote.ship(bundle, "digits")
            again = remote.ship(bundle, "digits")
        assert "model/digits.onnx" in first.sent and first.bytes_sent > 300_000
        assert again.sent == ("manifest.json", "manifest.sha256") and "model/digits.onnx" in again.kept
        shipped = home / "edgekit-work" / "bundles" / "digits" / "model" / "digits.onnx"
        assert shipped.read_bytes() == (bundle / "model" / "digits.onnx").read_bytes()
        assert not list(home.rglob("*.part"))
        assert any(c.startswith("sh -c 'mkdir -p") for c in server.commands)  # the files went through sh
    finally:
        server.stop()
