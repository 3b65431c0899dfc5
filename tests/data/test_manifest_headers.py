"""A manifest's header row names its columns; a class name the model made unique says which label it means."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgekit.data import ArrayDataset, ManifestDataset, check_classes
from edgekit.errors import DataError


@pytest.fixture
def photos(tmp_path):
    """Three images beside the manifest, labelled 0, 1, 2 (bright, dark, mid)."""
    for name, value in (("a.png", 200), ("b.png", 20), ("c.png", 100)):
        cv2.imwrite(str(tmp_path / name), np.full((8, 8, 3), value, np.uint8))
    return tmp_path


def _manifest(folder, header, rows):
    path = folder / "list.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_label_path_header_is_read_by_column_name(photos):
    ds = ManifestDataset(_manifest(photos, "label,path", ["0,a.png", "1,b.png", "2,c.png"]))
    assert ds.index_labels and [p.name for p in ds.paths] == ["a.png", "b.png", "c.png"]
    assert [ds[i][1] for i in range(3)] == [0, 1, 2]


def test_extra_columns_between_path_and_label_are_ignored(photos):
    rows = ["a.png,tench,0,n01440764", "b.png,goldfish,1,n01443537", "c.png,shark,2,n01484850"]
    ds = ManifestDataset(_manifest(photos, "Filename,name,Class_ID,wnid", rows))
    assert ds.index_labels  # the class_id column, not the names
    assert [ds[i][1] for i in range(3)] == [0, 1, 2]


def test_a_header_naming_only_the_first_column_path_reads_as_before(photos):
    """'path,name,wnid': the path is where the positional reading puts it, so the second column is the
    label, as before headers were read (no new refusal of a list that worked)."""
    ds = ManifestDataset(_manifest(photos, "path,name,wnid", ["a.png,cat,n1", "b.png,dog,n2"]))
    assert ds.classes == ("cat", "dog") and len(ds) == 2


def test_a_file_without_header_is_read_by_position(photos):
    path = photos / "plain.csv"
    path.write_text("a.png,cat\nb.png,dog\n")
    ds = ManifestDataset(path)
    assert ds.classes == ("cat", "dog") and len(ds) == 2


@pytest.mark.parametrize(("header", "fault"), [
    ("path,image,label", "names 2 path columns"),
    ("name,wnid,path", "names no label column"),
])
def test_an_unusable_header_names_the_file_and_the_columns_it_needs(photos, header, fault):
    with pytest.raises(DataError, match=fault) as info:
        ManifestDataset(_manifest(photos, header, ["a.png,x,0", "b.png,y,1"]))
    message = str(info.value)
    assert "list.csv" in message and "path column" in message and "label column" in message


def _imagenet_like_labels():
    labels = [f"class {i}" for i in range(700)]
    labels[134], labels[517] = "crane (n02012849)", "crane (n03126707)"
    labels[638], labels[639] = "maillot (n03710637)", "maillot (n03710721)"
    return labels


def test_a_duplicated_class_name_lists_the_labels_it_could_mean():
    ds = ArrayDataset(np.zeros((3, 4, 4, 3), np.uint8), [0, 1, 2], ["crane", "maillot", "class 5"])
    with pytest.raises(DataError) as info:
        check_classes(ds, _imagenet_like_labels())
    message = str(info.value)
    assert "'crane' could be 'crane (n02012849)' or 'crane (n03126707)'" in message
    assert "'maillot' could be 'maillot (n03710637)' or 'maillot (n03710721)'" in message
    assert "full label" in message and "0-based" in message


def test_many_duplicated_names_are_cut_short():
    labels = [f"dup{i} (#{j})" for i in range(6) for j in range(2)]
    ds = ArrayDataset(np.zeros((6, 4, 4, 3), np.uint8), range(6), [f"dup{i}" for i in range(6)])
    with pytest.raises(DataError, match="and 3 more") as info:
        check_classes(ds, labels)
    assert "'dup3' could be" not in str(info.value) and len(str(info.value)) < 600
