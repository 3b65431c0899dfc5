"""Datasets as users keep them: CSV manifests with index labels, absolute paths, symlinks, a labels/ folder."""

from __future__ import annotations

import os
import warnings

import cv2
import numpy as np
import pytest

from edgekit.data import ManifestDataset, calibration_validation_split, check_classes, open_dataset
from edgekit.errors import DataError, EdgekitWarning


def _photo(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((12, 16, 3), value, np.uint8))
    return path


@pytest.fixture
def imagenet_like(tmp_path):
    """realdata's layout: labels/x.csv beside images/, index labels, extra columns."""
    rows = ["path,label,wnid,name"]
    for i, label in enumerate([0, 2, 4, 6]):
        _photo(tmp_path / "images" / f"im{i}.jpg", 40 * i)
        rows.append(f"images/im{i}.jpg,{label},n0000{label},class {label}")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "set.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "labels" / "set.csv"


def test_index_labels_and_paths_beside_the_labels_folder(imagenet_like):
    ds = open_dataset(imagenet_like)
    assert len(ds) == 4 and ds.index_labels
    assert [ds[i][1] for i in range(4)] == [0, 2, 4, 6]
    model_labels = [f"name{i}" for i in range(10)]
    # index labels are the model's output positions, whatever the model calls them
    assert check_classes(ds, model_labels).tolist() == list(range(7))


def test_index_labels_beyond_the_model_are_refused(imagenet_like):
    with pytest.raises(DataError, match="output indices"):
        check_classes(open_dataset(imagenet_like), ["a", "b", "c"])


def test_absolute_paths_and_symlinks_outside_the_manifest_folder_work(tmp_path):
    elsewhere = tmp_path / "photos"
    cat, dog = _photo(elsewhere / "cat.png", 10), _photo(elsewhere / "dog.png", 200)
    link = tmp_path / "lists" / "dog-link.png"
    link.parent.mkdir()
    os.symlink(dog, link)
    manifest = tmp_path / "lists" / "m.tsv"
    manifest.write_text(f"{cat}\tcat\ndog-link.png\tdog\n")
    ds = ManifestDataset(manifest)
    assert ds.classes == ("cat", "dog") and len(ds) == 2
    assert int(ds[1][0].mean()) == 200  # the symlink's target was read


def test_missing_files_are_named_with_their_line_and_skipped(tmp_path):
    _photo(tmp_path / "a.png", 1), _photo(tmp_path / "b.png", 2)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\na.png,x\ngone.png,y\nb.png,y\n")
    with pytest.warns(EdgekitWarning, match=r"skipped 1 of 3 rows whose file is missing \(line 3: gone.png\)"):
        ds = ManifestDataset(manifest)
    assert len(ds) == 2


def test_a_manifest_whose_files_are_all_missing_says_so(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("a.png,x\nb.png,y\n")
    with pytest.raises(DataError, match="none of its 2 image files exist"):
        ManifestDataset(manifest)


def test_duplicated_rows_count_once_with_a_warning(tmp_path):
    _photo(tmp_path / "a.png", 1), _photo(tmp_path / "b.png", 2)
    manifest = tmp_path / "m.csv"
    manifest.write_text("a.png,x\nb.png,y\na.png,x\n")
    with pytest.warns(EdgekitWarning, match="1 duplicated row"):
        ds = ManifestDataset(manifest)
    assert len(ds) == 2


def test_one_image_per_class_validates_on_everything_and_says_calibration_overlaps(imagenet_like):
    ds = open_dataset(imagenet_like)
    with pytest.warns(EdgekitWarning, match="overlaps validation"):
        calib, val, note = calibration_validation_split(ds)
    assert len(val) == len(ds) == len(calib)
    assert "--calib" in note


def test_mixed_class_sizes_split_the_big_classes_and_share_the_single_ones(tmp_path):
    rows = []
    for i in range(6):
        rows.append(f"{_photo(tmp_path / f'a{i}.png', i)},a")
    rows.append(f"{_photo(tmp_path / 'b.png', 99)},b")
    manifest = tmp_path / "m.csv"
    manifest.write_text("\n".join(rows))
    with pytest.warns(EdgekitWarning, match="1 class"):
        calib, val, _ = calibration_validation_split(ManifestDataset(manifest))
    a_val = {int(i) for i in val.indices if ManifestDataset(manifest)._label(int(i)) == 0}
    a_cal = {int(i) for i in calib.indices if ManifestDataset(manifest)._label(int(i)) == 0}
    assert len(a_val) == 3 and len(a_cal) == 3 and not a_val & a_cal  # the big class: half/half, no overlap
    assert 6 in set(val.indices.tolist()) and 6 in set(calib.indices.tolist())  # the single image: both


def test_classes_of_two_or_more_images_split_without_warning(tmp_path):
    rows = [f"{_photo(tmp_path / f'{c}{i}.png', i)},{c}" for c in "ab" for i in range(4)]
    manifest = tmp_path / "m.csv"
    manifest.write_text("\n".join(rows))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calib, val, note = calibration_validation_split(ManifestDataset(manifest))
    assert len(calib) == len(val) == 4 and "no overlap" in note
