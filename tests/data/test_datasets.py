"""Image folders, manifests, arrays, splits and calibration sets: behaviour and clear errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgekit.data import (
    ArrayDataset,
    ImageFolder,
    ManifestDataset,
    calibration_set,
    check_classes,
    demo_digits,
    stratified_split,
)
from edgekit.errors import DataError, EdgekitWarning


def _img(value: int, size: int = 12) -> np.ndarray:
    return np.full((size, size, 3), value, np.uint8)


@pytest.fixture
def folder(tmp_path):
    for c, name in enumerate(["cat", "dog", "ant"]):
        (tmp_path / name).mkdir()
        for i in range(4):
            cv2.imwrite(str(tmp_path / name / f"{i}.png"), _img(40 * c + i))
    return tmp_path


def test_image_folder_sorted_classes_and_bgr_images(folder):
    ds = ImageFolder(folder)
    assert ds.classes == ("ant", "cat", "dog") and len(ds) == 12 and ds.skipped == 0
    image, label = ds[0]
    assert image.dtype == np.uint8 and image.shape == (12, 12, 3) and ds.classes[label] == "ant"
    assert list(ds.labels) == [0] * 4 + [1] * 4 + [2] * 4
    assert [lab for _, lab in ds] == list(ds.labels)
    with pytest.raises(IndexError):
        ds[12]


def test_unreadable_images_are_skipped_with_a_count(folder):
    (folder / "cat" / "broken.jpg").write_bytes(b"not a jpeg at all")
    (folder / "dog" / "empty.png").write_bytes(b"")
    with pytest.warns(EdgekitWarning, match="skipped 2 of 14 image"):
        ds = ImageFolder(folder)
    assert ds.skipped == 2 and len(ds) == 12
    assert {p.name for p in ds.skipped_files} == {"broken.jpg", "empty.png"}


def test_a_truncated_image_is_skipped_and_counted_when_read(folder):
    """A PNG with a valid header but a cut-off body passes the open-time check; reading it must skip it."""
    whole = (folder / "cat" / "0.png").read_bytes()
    (folder / "cat" / "cut.png").write_bytes(whole[: len(whole) // 2])
    ds = ImageFolder(folder)
    assert ds.skipped == 0 and len(ds) == 13  # the header looked fine
    with pytest.warns(EdgekitWarning, match="skipped unreadable image cut.png"):
        pairs = list(ds)
    assert len(pairs) == 12 and all(image.shape == (12, 12, 3) for image, _ in pairs)
    assert ds.skipped == 1 and [p.name for p in ds.skipped_files] == ["cut.png"]
    assert len(list(ds)) == 12 and ds.skipped == 1  # counted once, however often it is read
    _, held = stratified_split(ds, 0.5)
    assert len(list(held)) in (len(held), len(held) - 1)  # a split skips it too
    with pytest.raises(DataError, match="cut.png could not be decoded"):
        ds[ds.paths.index(folder / "cat" / "cut.png")]


def test_image_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        ImageFolder(tmp_path / "nope")
    with pytest.raises(DataError, match="0 class sub-folder"):
        ImageFolder(tmp_path)
    (tmp_path / "only").mkdir()
    cv2.imwrite(str(tmp_path / "only" / "a.png"), _img(1))
    with pytest.raises(DataError, match="1 class sub-folder") as info:
        ImageFolder(tmp_path)
    assert str(tmp_path) in str(info.value)
    (tmp_path / "other").mkdir()
    (tmp_path / "only" / "a.png").unlink()
    with pytest.raises(DataError, match="no images"):
        ImageFolder(tmp_path)


def test_manifest_relative_paths_and_names(folder):
    manifest = folder / "list.csv"
    manifest.write_text("path,label\ncat/0.png,cat\ndog/1.png,dog\n# comment\nant/2.png,ant\n")
    ds = ManifestDataset(manifest)
    assert ds.classes == ("ant", "cat", "dog") and len(ds) == 3
    assert [ds.classes[lab] for _, lab in ds] == ["cat", "dog", "ant"]
    fixed = ManifestDataset(manifest, classes=["dog", "cat", "ant"])
    assert fixed[0][1] == 1


def test_manifest_errors(folder):
    bad = folder / "bad.csv"
    bad.write_text("../outside.png,cat\ncat/0.png,dog\n")  # a user's manifest may point anywhere (issue 13)
    with pytest.warns(EdgekitWarning, match=r"missing \(line 1: ../outside.png\)"):
        ManifestDataset(bad)
    bad.write_text("cat/0.png,cat\ncat/1.png,zebra\n")
    with pytest.raises(DataError, match="'zebra' is not one of"):
        ManifestDataset(bad, classes=["cat", "dog"])
    bad.write_text("cat/0.png\n")  # a plain image list: said as such, not as a malformed row
    with pytest.raises(DataError, match="lists images with no labels"):
        ManifestDataset(bad)
    bad.write_text("cat/0.png,cat\ncat/1.png\n")  # one row short of its label: the row is named
    with pytest.raises(DataError, match="line 2"):
        ManifestDataset(bad)
    with pytest.raises(DataError, match="does not exist"):
        ManifestDataset(folder / "missing.csv")
    image = folder / "photo.png"  # an image given where a manifest is expected
    cv2.imwrite(str(image), np.full((8, 8, 3), 200, np.uint8))
    with pytest.raises(DataError, match="photo.png is not a text manifest"):
        ManifestDataset(image)


def test_array_dataset_checks():
    ds = ArrayDataset([_img(1), _img(2)], [0, 1], ["a", "b"])
    assert len(ds) == 2 and ds[1][1] == 1
    with pytest.raises(DataError, match="2 images but 1 labels"):
        ArrayDataset([_img(1), _img(2)], [0], ["a", "b"])
    with pytest.raises(DataError, match="0..1"):
        ArrayDataset([_img(1)], [2], ["a", "b"])


def test_stratified_split_is_deterministic_and_balanced():
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    ds = ArrayDataset(np.zeros((100, 2, 2, 3), np.uint8), labels, list("abcd"))
    rest, held = stratified_split(ds, 0.3, seed=1)
    assert len(rest) + len(held) == 100 and not set(rest.indices) & set(held.indices)
    assert np.bincount(held.labels).tolist() == [3, 6, 9, 12]
    again = stratified_split(ds, 0.3, seed=1)[1]
    assert list(again.indices) == list(held.indices)
    assert list(stratified_split(ds, 0.3, seed=2)[1].indices) != list(held.indices)
    with pytest.raises(DataError):
        stratified_split(ds, 1.0)


def test_demo_digits_are_the_held_out_real_scans():
    test, train = demo_digits("test"), demo_digits("train", size=32)
    assert len(test) == 539 and len(train) == 1797 - 539 and test.classes == tuple("0123456789")
    assert np.bincount(test.labels).min() >= 50
    a, b = test[5], demo_digits("test")[5]
    assert a[0].shape == (64, 64, 3) and np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert train[0][0].shape == (32, 32, 3)


class _FakeModel:
    """Only what calibration_set reads from an edgekit Model (name, preprocess, labels)."""

    def __init__(self, labels):
        from edgekit.models.preprocess import Preprocess
        from edgekit.models.spec import TensorSpec

        self.inputs = (TensorSpec("pixels", (None, 3, 16, 16)),)
        self.preprocess = Preprocess(size=(16, 16))
        self.labels = labels


def test_calibration_set_uses_the_models_preprocessing_and_is_balanced():
    labels = np.repeat(np.arange(3), 20)
    images = [_img(int(v)) for v in labels * 50]
    ds = ArrayDataset(images, labels, ["a", "b", "c"])
    feeds = calibration_set(ds, _FakeModel(("a", "b", "c")), n=9, seed=0)
    assert len(feeds) == 9 and set(feeds[0]) == {"pixels"}
    assert feeds[0]["pixels"].shape == (1, 3, 16, 16) and feeds[0]["pixels"].dtype == np.float32
    firsts = sorted(round(float(f["pixels"][0, 0, 0, 0]) * 255) for f in feeds)
    assert firsts == [0, 0, 0, 50, 50, 50, 100, 100, 100]
    with pytest.warns(EdgekitWarning, match="has 60"):
        assert len(calibration_set(ds, _FakeModel(None), n=100)) == 60


def test_classes_must_match_the_model_labels():
    ds = ArrayDataset([_img(1), _img(2)], [0, 1], ["cat", "zebra"])
    with pytest.raises(DataError, match="'zebra'"):
        calibration_set(ds, _FakeModel(("cat", "dog")), n=2)
    # a subset of the model's classes in another order maps by name
    assert check_classes(ds, ["zebra", "x", "cat"]).tolist() == [2, 0]
    # a name the model gives two classes (ImageNet's two "crane"s) means the first, as in the live readouts
    assert check_classes(ds, ["x", "cat", "zebra", "cat"]).tolist() == [1, 2]


def test_a_yolo_folder_given_to_a_classifier_is_named_as_detection_data(tmp_path):
    """`edgekit eval classifier.onnx --data coco64/` said "the dataset's classes 'images', 'labels' are
    not among the model's 1000 labels": the folder is a detector's, and the error says so."""
    from edgekit.data import check_classes, open_dataset

    for sub in ("images", "labels"):
        (tmp_path / sub).mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "labels" / "b.png"), np.zeros((8, 8, 3), np.uint8))  # any image, to open at all
    with pytest.raises(DataError, match="detection dataset.*classifier.*path,label list"):
        check_classes(open_dataset(str(tmp_path)), [f"class {i}" for i in range(5)])
    coco = tmp_path / "val.json"
    coco.write_text('{"images": [], "annotations": [], "categories": [{"id": 1, "name": "dog"}]}')
    with pytest.raises(DataError, match="val.json is a COCO json .*detection dataset.*classifier"):
        open_dataset(str(coco))  # read as a path,label list it "named 1 class(es)"


def test_class_folders_named_with_a_trailing_carriage_return_are_their_class(tmp_path):
    """Folders made by a script reading a Windows list are called "cat\\r": the model's "cat" did not match."""
    from edgekit.data import check_classes, open_dataset
    from edgekit.vision.sources import open_source

    for name in ("cat\r", "dog "):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "a.png"), np.zeros((8, 8, 3), np.uint8))
    data = open_dataset(str(tmp_path))
    assert list(data.classes) == ["cat", "dog"] and len(data) == 2
    assert check_classes(data, ["dog", "cat"]).tolist() == [1, 0]
    source = open_source(str(tmp_path))
    source.open()
    assert sorted(source.read().label for _ in range(2)) == ["cat", "dog"]


def test_a_list_of_image_paths_given_as_labelled_data_says_it_has_no_labels(tmp_path, capsys):
    """`ls *.jpg > shots.txt; edgekit eval m --data shots.txt` said "line 1: expected 'path,label'" as if the
    file were a broken CSV; it is a list of photos (a live source), and nothing in it can be scored."""
    from edgekit.cli import main
    from edgekit.data import open_dataset

    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / name), _img(3))
    shots = tmp_path / "shots.txt"
    shots.write_text(f"{tmp_path / 'a.png'}\nb.png\n")
    with pytest.raises(DataError, match=r"shots.txt lists images with no labels, so nothing can be scored \(it "
                                        r"plays live: edgekit demo --source shots.txt\); give a label per image"):
        open_dataset(str(shots))
    assert main(["eval", "demo:digits", "--data", str(shots)]) == 2
    assert "lists images with no labels" in capsys.readouterr().err
