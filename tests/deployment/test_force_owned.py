"""``deploy(force=True)`` / ``deploy --force`` replace an existing bundle only: a file a user put inside a
bundle folder, a folder that is no bundle, or a zip that is no bundle is refused and left byte for byte."""

from __future__ import annotations

import shutil

import pytest

from edgekit.cli import main
from edgekit.deployment import Bundle, deploy
from edgekit.errors import OutputExists


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_user_file_inside_a_bundle_folder_is_refused_and_kept(bundle_dir, tiny_model, dataset, tmp_path):
    out = shutil.copytree(bundle_dir, tmp_path / "bundle")
    (out / "notes.txt").write_bytes(b"my notes\x00\xff")
    (out / "model" / "mine.onnx").write_bytes(b"my own model")
    before = _snapshot(out)
    with pytest.raises(OutputExists) as caught:
        deploy(tiny_model, out=out, data=dataset[:4], force=True)
    message = str(caught.value)
    assert str(out) in message and "model/mine.onnx" in message and "notes.txt" in message
    assert "move them out" in message and "--out" in message
    assert _snapshot(out) == before  # nothing removed, nothing rewritten
    (out / "notes.txt").unlink()
    (out / "model" / "mine.onnx").unlink()
    Bundle.open(out)  # the old bundle is intact and still verifies
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing parked beside it


def test_force_replaces_a_pure_bundle_folder_twice_in_a_row(tiny_model, dataset, tmp_path):
    out = tmp_path / "bundle"
    first = deploy(tiny_model, out=out, data=dataset[:4])
    for _ in range(2):
        again = deploy(tiny_model, out=out, data=dataset[:4], force=True)
        assert again.manifest.files.keys() == first.manifest.files.keys()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_a_folder_that_is_no_bundle_is_refused(tiny_model, dataset, tmp_path):
    out = tmp_path / "photos"
    out.mkdir()
    for i in range(5):
        (out / f"img{i}.jpg").write_bytes(b"jpeg %d" % i)
    with pytest.raises(OutputExists, match=r"is not an edgekit bundle; it holds \(img0.jpg, img1.jpg, img2.jpg and "
                                           r"2 more\)"):
        deploy(tiny_model, out=out, data=dataset[:4], force=True)
    assert len(list(out.iterdir())) == 5


def test_an_unreadable_manifest_counts_as_no_bundle(bundle_dir, tiny_model, dataset, tmp_path):
    out = shutil.copytree(bundle_dir, tmp_path / "bundle")
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(OutputExists, match="is not an edgekit bundle"):
        deploy(tiny_model, out=out, data=dataset[:4], force=True)
    assert (out / "manifest.json").read_text() == "{not json"


def test_a_zip_holding_a_file_its_manifest_does_not_list_is_refused(bundle_zip, tiny_model, dataset, tmp_path):
    import zipfile

    out = tmp_path / "b.zip"
    shutil.copy(bundle_zip, out)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("notes.txt", "mine")
    before = out.read_bytes()
    with pytest.raises(OutputExists, match="not an edgekit bundle zip"):
        deploy(tiny_model, out=out, data=dataset[:4], force=True)
    assert out.read_bytes() == before


def test_cli_refuses_with_exit_code_2_naming_the_file(bundle_dir, tiny_model, tmp_path, capsys):
    out = shutil.copytree(bundle_dir, tmp_path / "bundle")
    (out / "notes.txt").write_text("mine")
    assert main(["deploy", str(tiny_model.path), "--out", str(out), "--force", "--samples", "4"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith("error: ") and f"{out} holds files edgekit did not write (notes.txt)" in err, err
    assert (out / "notes.txt").read_text() == "mine"
