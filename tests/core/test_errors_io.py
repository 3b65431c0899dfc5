"""The error tree maps library errors at the boundary; writers never clobber a file."""

from __future__ import annotations

import pytest

from edgekit import errors
from edgekit._io import atomic_dir, atomic_path, write_text_atomic


def test_every_error_is_an_edgekit_error():
    names = ["ModelLoadError", "ConversionError", "BackendUnavailable", "InputMismatch", "TargetError", "ConfigError",
             "DataError", "SourceError", "BudgetNotMet", "BundleError", "DownloadError", "OutputExists", "Cancelled",
             "TaskNotSupported"]
    for name in names:
        assert issubclass(getattr(errors, name), errors.EdgekitError)
        assert name in errors.__doc__  # the tree in the docstring stays complete


def test_map_exceptions_keeps_the_original_as_cause(tmp_path):
    mapping = errors.map_exceptions({ValueError: errors.ModelLoadError}, "cannot read model: {error}", path=tmp_path)
    with pytest.raises(errors.ModelLoadError) as info, mapping:
        raise ValueError("truncated protobuf\nmore detail")
    assert str(info.value) == "cannot read model: truncated protobuf"
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.path == tmp_path


def test_map_exceptions_lets_unmapped_errors_through():
    with pytest.raises(KeyError), errors.map_exceptions({ValueError: errors.ModelLoadError}, "x"):
        raise KeyError("k")


def test_existing_output_is_never_overwritten(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_text("user's file")
    with pytest.raises(errors.OutputExists, match="--force"):
        write_text_atomic(target, "new")
    assert target.read_text() == "user's file"
    write_text_atomic(target, "new", force=True)
    assert target.read_text() == "new"


def test_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash mid-write")
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_only_when_complete(tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("fail")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    with atomic_dir(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_a_home_of_no_known_user_is_a_clear_error_not_a_pathlib_traceback(tmp_path, monkeypatch, capsys):
    """``~nosuchuser/...`` (a typo, a manifest row) made ``Path.expanduser`` raise RuntimeError
    from inside pathlib; such a path now stays as written and the usual error names it."""
    from edgekit._io import expand_user
    from edgekit.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    assert expand_user("~/a.onnx") == tmp_path / "a.onnx"
    assert str(expand_user("~nosuchuser-edgekit/a.onnx")) == "~nosuchuser-edgekit/a.onnx"
    assert main(["card", "~nosuchuser-edgekit/model.onnx"]) != 0
    assert "model file ~nosuchuser-edgekit/model.onnx does not exist" in capsys.readouterr().err


def test_an_sdk_warning_points_at_the_users_line_whatever_the_depth_inside_edgekit(tmp_path):
    """A fixed stacklevel pointed into edgekit for every path but the one it was counted on."""
    import cv2
    import numpy as np

    from edgekit.data.datasets import ImageFolder
    from edgekit.models.labels import disambiguate

    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "a.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "dog" / "empty.png").write_bytes(b"")
    with pytest.warns(errors.EdgekitWarning, match="skipped 1 of 3") as found:
        ImageFolder(tmp_path)  # ImageFolder.__init__ -> _FileDataset.__init__ -> the warning
    with pytest.warns(errors.EdgekitWarning, match="duplicate class names") as dupes:
        disambiguate(("cat", "cat"), where="labels.txt")  # one call deep
    assert [w.filename for w in (*found, *dupes)] == [__file__, __file__]
