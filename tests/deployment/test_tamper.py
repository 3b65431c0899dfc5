"""A bundle that is not exactly what deploy wrote is refused, naming what is wrong."""

from __future__ import annotations

import json
import shutil
import stat
import zipfile

import pytest

from edgekit.deployment import Bundle, Predictor
from edgekit.deployment.safezip import ZipLimits, extract
from edgekit.errors import BundleError


def test_untouched_copy_opens(bundle_copy):
    assert Bundle.open(bundle_copy).manifest.name == "tiny"


def test_one_changed_byte_in_the_model_is_refused(bundle_copy):
    model = bundle_copy / "model" / "tiny.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"model/tiny\.onnx was modified"):
        Predictor.open(bundle_copy)


@pytest.mark.parametrize("rel", ["validation/sample.npz", "README.md", "labels.txt"])
def test_a_removed_file_is_refused(bundle_copy, rel):
    (bundle_copy / rel).unlink()
    with pytest.raises(BundleError, match=f"{rel} is missing"):
        Predictor.open(bundle_copy)


def test_an_extra_file_is_refused(bundle_copy):
    (bundle_copy / "model" / "helper.py").write_text("print('hi')\n")
    with pytest.raises(BundleError, match=r"does not list: model/helper\.py"):
        Predictor.open(bundle_copy)


def test_a_symlink_inside_the_folder_is_refused(bundle_copy, tmp_path):
    (tmp_path / "elsewhere.txt").write_text("x")
    (bundle_copy / "link.txt").symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(BundleError, match="symbolic link"):
        Predictor.open(bundle_copy)


def test_an_edited_manifest_is_refused(bundle_copy):
    path = bundle_copy / "manifest.json"
    data = json.loads(path.read_text())
    data["validation"]["accuracy"] = 1.0
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    with pytest.raises(BundleError, match=r"manifest\.json was modified"):
        Predictor.open(bundle_copy)


def test_a_manifest_pointing_outside_is_refused(bundle_copy):
    from edgekit.deployment.build import write_manifest

    data = json.loads((bundle_copy / "manifest.json").read_text())
    write_manifest(bundle_copy, data)  # re-signed by hand, then made to list ../ entries
    data = json.loads((bundle_copy / "manifest.json").read_text())
    data["files"]["../outside.txt"] = {"sha256": "0" * 64, "size": 1}
    text = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
    (bundle_copy / "manifest.json").write_bytes(text)
    from edgekit.deployment.integrity import manifest_digest

    (bundle_copy / "manifest.sha256").write_text(manifest_digest(text) + "  manifest.json\n")
    with pytest.raises(BundleError, match="unsafe path"):
        Bundle.open(bundle_copy)


def _zip_with(bundle_zip, tmp_path, name: str, data: bytes = b"x", *, symlink: bool = False):
    out = tmp_path / "evil.zip"
    shutil.copy(bundle_zip, out)
    with zipfile.ZipFile(out, "a") as archive:
        info = zipfile.ZipInfo(name)
        if symlink:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, data)
    return out


@pytest.mark.parametrize("name", ["../escape.txt", "model/../../escape.txt", "/tmp/abs.txt", "C:/win.txt"])
def test_zip_entries_outside_the_folder_are_refused(bundle_zip, tmp_path, name):
    evil = _zip_with(bundle_zip, tmp_path, name)
    with pytest.raises(BundleError, match="outside the bundle folder"):
        Bundle.open(evil)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()


def test_zip_symlink_is_refused(bundle_zip, tmp_path):
    evil = _zip_with(bundle_zip, tmp_path, "model/link", b"/etc/passwd", symlink=True)
    with pytest.raises(BundleError, match="symbolic link"):
        Bundle.open(evil)


def test_zip_with_an_extra_entry_is_refused_after_extraction(bundle_zip, tmp_path):
    evil = _zip_with(bundle_zip, tmp_path, "model/extra.bin")
    with pytest.raises(BundleError, match=r"does not list: model/extra\.bin"):
        Predictor.open(evil)


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", b"\0" * (20 << 20))
    with pytest.raises(BundleError, match="zip bomb"):
        extract(bomb, tmp_path / "out")
    with pytest.raises(BundleError, match="limit 1000"):
        extract(bomb, tmp_path / "out2", ZipLimits(max_total_bytes=1000, max_ratio=1e9))
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_not_a_zip_is_refused(tmp_path):
    fake = tmp_path / "bundle.zip"
    fake.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(BundleError, match="neither a bundle folder nor a zip|not a valid zip"):
        Bundle.open(fake)
    with pytest.raises(BundleError, match="does not exist"):
        Bundle.open(tmp_path / "missing")


def test_zip_extraction_is_removed_when_closed(bundle_zip):
    bundle = Bundle.open(bundle_zip)
    root = bundle.root
    assert (root / "manifest.json").is_file()
    bundle.close()
    assert not root.exists()
