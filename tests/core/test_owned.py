"""``edgekit._owned``: an output folder is replaced only while it holds nothing but what edgekit wrote."""

from __future__ import annotations

import os

import pytest

from edgekit._io import atomic_dir
from edgekit._owned import OWN_LIST, check_replaceable, foreign_files, read_list, write_list
from edgekit.errors import OutputExists


def _output(folder):
    (folder / "models").mkdir(parents=True)
    (folder / "report.json").write_text("{}")
    (folder / "models" / "m.onnx").write_bytes(b"onnx")
    write_list(folder)
    return folder


def test_the_list_names_every_file_and_itself(tmp_path):
    out = _output(tmp_path / "out")
    assert read_list(out) == {"report.json", "models/m.onnx", OWN_LIST}
    assert foreign_files(out, read_list(out)) == []
    check_replaceable(out)  # nothing foreign: no error


def test_user_files_are_named_three_at_most(tmp_path):
    out = _output(tmp_path / "out")
    for name in ("a.txt", "b.txt", "models/c.txt", "z/d.txt", "z/e.txt"):
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_text(name)
    with pytest.raises(OutputExists) as caught:
        check_replaceable(out)
    assert str(caught.value) == (f"{out} holds files edgekit did not write (a.txt, b.txt, models/c.txt and 2 more), "
                                 "so it will not be replaced; move them out of it, or choose another output (--out)")


def test_a_link_counts_as_foreign_and_an_empty_folder_does_not(tmp_path):
    out = _output(tmp_path / "out")
    (out / "empty").mkdir()
    assert foreign_files(out, read_list(out)) == []
    os.symlink(tmp_path, out / "elsewhere")
    assert foreign_files(out, read_list(out)) == ["elsewhere"]


def test_no_list_or_an_unreadable_one_is_no_edgekit_output(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}")
    with pytest.raises(OutputExists, match=r"is not an edgekit output; it holds \(report.json\)"):
        check_replaceable(out)
    (out / OWN_LIST).write_bytes(b"\xff\xfe\x00")
    with pytest.raises(OutputExists, match="is not an edgekit output"):
        check_replaceable(out)


def test_missing_or_empty_folders_are_replaceable_a_file_is_not(tmp_path):
    check_replaceable(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputExists, match="notes.txt is not an edgekit output"):
        check_replaceable(tmp_path / "notes.txt")


def test_atomic_dir_with_a_list_refuses_before_and_keeps_everything(tmp_path):
    out = _output(tmp_path / "out")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputExists, match="notes.txt"), atomic_dir(out, force=True, owned=read_list) as tmp:
        (tmp / "new.txt").write_text("never written")
    assert sorted(p.name for p in out.iterdir()) == [OWN_LIST, "models", "notes.txt", "report.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp or parked folder left
    (out / "notes.txt").unlink()
    with atomic_dir(out, force=True, owned=read_list) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
