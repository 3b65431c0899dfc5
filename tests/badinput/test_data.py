"""Image folders, CSV manifests and arrays that are empty, corrupt, hostile or huge.

Each case: ``DataError`` (or ``TypeError`` for a wrong argument type) with one sentence
naming the folder/file, a warning that says "skipped N of M" whenever something was
skipped, and an image bomb refused from its header (never decoded).
"""

from __future__ import annotations

import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgekit.data import ArrayDataset, ImageFolder, ManifestDataset, open_dataset
from edgekit.errors import DataError, EdgekitWarning

from .conftest import assert_sentence


def png_bomb(path: Path, side: int = 25000) -> Path:
    """A small valid PNG declaring ``side`` x ``side`` grey pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    comp = zlib.compressobj(9)
    row = b"\0" * (side + 1)
    raw = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return path


def _good(path: Path, value: int = 90) -> Path:
    cv2.imwrite(str(path), np.full((16, 16, 3), value, np.uint8))
    return path


def _classes(root: Path, names=("a", "b")) -> Path:
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture(scope="module")
def bomb_bytes(tmp_path_factory) -> bytes:
    return png_bomb(tmp_path_factory.mktemp("bomb") / "bomb.png").read_bytes()


def test_a_png_bomb_is_skipped_from_its_header_with_skipped_n_of_m(tmp_path, bomb_bytes):
    root = _classes(tmp_path / "data")
    (root / "a" / "bomb.png").write_bytes(bomb_bytes)
    _good(root / "a" / "ok.png")
    _good(root / "b" / "ok.png")
    with pytest.warns(EdgekitWarning) as record:
        data = ImageFolder(root)
    assert len(data) == 2
    assert_sentence(str(record[0].message), "skipped 1 of 3", "25000x25000")


def test_a_folder_of_only_image_bombs_is_a_data_error(tmp_path, bomb_bytes):
    root = _classes(tmp_path / "data")
    (root / "a" / "x.png").write_bytes(bomb_bytes)
    (root / "b" / "y.png").write_bytes(bomb_bytes)
    with warnings.catch_warnings(), pytest.raises(DataError) as info:
        warnings.simplefilter("ignore")
        ImageFolder(root)
    assert_sentence(str(info.value), "data", "no readable images")


def test_the_pixel_limit_is_configurable(tmp_path, monkeypatch):
    root = _classes(tmp_path / "data")
    cv2.imwrite(str(root / "a" / "big.png"), np.zeros((300, 300, 3), np.uint8))
    _good(root / "b" / "ok.png")
    monkeypatch.setenv("EDGEKIT_MAX_IMAGE_PIXELS", "10000")
    with pytest.warns(EdgekitWarning, match="skipped 1 of 2") as record:
        ImageFolder(root)
    assert_sentence(str(record[0].message), "300x300", "EDGEKIT_MAX_IMAGE_PIXELS")


HEADERS = {
    "png-0x0": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 8 + bytes([8, 2, 0, 0, 0]) + b"\0" * 4,
    "jpeg-65535": b"\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03" + b"\0" * 20,
    "bmp-huge": b"BM" + b"\0" * 16 + (100000).to_bytes(4, "little") + (100000).to_bytes(4, "little") + b"\0" * 30,
    "gif-65535": b"GIF89a" + b"\xff\xff\xff\xff" + b"\0" * 20,
    "jpeg-after-exif": (b"\xff\xd8" + (b"\xff\xe1\xea\x60" + b"\0" * 59998) * 2
                        + b"\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03" + b"\0" * 20),
}


@pytest.mark.parametrize("case", sorted(HEADERS))
def test_a_header_declaring_no_or_too_many_pixels_is_refused_before_decoding(tmp_path, case):
    from edgekit.imagelimits import oversize

    path = tmp_path / f"{case}.img"
    path.write_bytes(HEADERS[case])
    assert_sentence(oversize(path) or "", path.name)


def _corrupt(root: Path) -> None:
    (root / "a" / "x.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"garbage" * 10)
    (root / "b" / "y.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)


def test_a_folder_where_nothing_decodes_is_a_data_error(tmp_path):
    root = _classes(tmp_path / "data")
    _corrupt(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError) as info:
            list(ImageFolder(root))
    assert_sentence(str(info.value), "data")


def test_a_folder_of_truncated_jpegs_is_a_data_error_when_iterated(tmp_path):
    root = _classes(tmp_path / "data")
    for name in ("a", "b"):
        _, buf = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
        (root / name / "cut.jpg").write_bytes(buf.tobytes()[:200])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError) as info:
            list(ImageFolder(root))
    assert_sentence(str(info.value), "cut.jpg")


FOLDERS = {
    "missing": (lambda root: root / "nope", "nope"),
    "a-file": (lambda root: _good(root / "one.png"), "one.png"),
    "no-classes": (lambda root: root, "class"),
    "one-class": (lambda root: _classes(root, ("only",)), "class"),
    "empty-classes": (lambda root: _classes(root), "data"),
}


@pytest.mark.parametrize("case", sorted(FOLDERS))
def test_a_folder_that_is_not_a_dataset_is_one_sentence(tmp_path, case):
    make, named = FOLDERS[case]
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(DataError) as info:
        open_dataset(make(root))
    assert_sentence(str(info.value), named)


CSVS = {
    "missing-files": ("x.png,a\ny.png,b\n", "x.png"),
    "bad-row": ("only-one-column\n", "labels.csv"),
    "empty": ("", "labels.csv"),
    "binary": ("\0\1\2\3", "labels.csv"),
    "unknown-class": ("ok.png,zebra\n", "zebra"),
}


@pytest.mark.parametrize("case", sorted(CSVS))
def test_a_broken_csv_manifest_is_one_sentence(tmp_path, case):
    text, named = CSVS[case]
    _good(tmp_path / "ok.png")
    manifest = tmp_path / "labels.csv"
    manifest.write_text(text)
    with warnings.catch_warnings(), pytest.raises(DataError) as info:
        warnings.simplefilter("ignore")
        ManifestDataset(manifest, classes=["a", "b"] if case == "unknown-class" else None)
    assert_sentence(str(info.value), named)


ARRAYS = {
    "nan-label": (lambda: ([np.zeros((4, 4, 3), np.uint8)], [float("nan")], ["a"]), DataError, "labels"),
    "fraction-label": (lambda: ([np.zeros((4, 4, 3), np.uint8)], [0.5], ["a"]), DataError, "labels"),
    "text-label": (lambda: ([np.zeros((4, 4, 3), np.uint8)], ["cat"], ["a"]), DataError, "labels"),
    "label-out-of-range": (lambda: ([np.zeros((4, 4, 3), np.uint8)], [7], ["a"]), DataError, "labels"),
    "length-mismatch": (lambda: ([np.zeros((4, 4, 3), np.uint8)] * 2, [0], ["a"]), DataError, "labels"),
    "no-images": (lambda: ([], [], ["a"]), DataError, "no images"),
    "images-none": (lambda: (None, [0], ["a"]), TypeError, "images"),
    "labels-none": (lambda: ([np.zeros((4, 4, 3), np.uint8)], None, ["a"]), TypeError, "labels"),
}


@pytest.mark.parametrize("case", sorted(ARRAYS))
def test_array_dataset_arguments_are_checked(case):
    make, error, named = ARRAYS[case]
    with pytest.raises(error) as info:
        ArrayDataset(*make())
    assert_sentence(str(info.value), named)


@pytest.mark.parametrize("dataset", [["a", "b"], None, 5], ids=["list", "None", "int"])
def test_evaluate_with_something_that_is_not_a_dataset_is_a_type_error(dataset):
    from edgekit.evaluation import evaluate

    with pytest.raises(TypeError) as info:
        evaluate("demo:digits", dataset)
    assert_sentence(str(info.value), "dataset")


def test_evaluate_with_a_path_that_is_not_there_names_it_and_the_choices():
    """A path is opened as deploy and plan open it; a missing one is one sentence naming it."""
    from edgekit.evaluation import evaluate

    with pytest.raises(DataError) as info:
        evaluate("demo:digits", "folder/")
    assert_sentence(str(info.value), "folder/")
    assert "does not exist" in str(info.value) and "demo-test" in str(info.value)
