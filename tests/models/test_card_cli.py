"""The model card as a first-class artifact: `edgekit card`, the shared flags, file metadata, no silent guess."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import onnx
import pytest

from edgekit.errors import DataError, EdgekitWarning
from edgekit.models import load_model
from edgekit.models.card_options import CardOptions, apply_card_options, read_labels

from ..conftest import bare_env

IMAGENET_FLAGS = ["--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225", "--size", "32", "--resize", "stretch"]


def edgekit(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgekit", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, check=False, env=bare_env(COLUMNS="100"))


@pytest.fixture
def photos(tmp_path):
    """A two-class image folder named after tinycnn's first two label indices."""
    for label in ("0", "1"):
        for i in range(3):
            (tmp_path / "data" / label).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(tmp_path / "data" / label / f"{i}.png"), np.full((40, 40, 3), 60 * i, np.uint8))
    return tmp_path / "data"


def test_card_prints_what_is_unknown_and_save_writes_it_beside_the_model(tiny_onnx_copy):
    shown = edgekit("card", str(tiny_onnx_copy))
    assert shown.returncode == 0 and "unknown" in shown.stdout
    labels = tiny_onnx_copy.with_name("names.txt")
    labels.write_text("\n".join(f"class{i}" for i in range(10)))
    saved = edgekit("card", str(tiny_onnx_copy), *IMAGENET_FLAGS, "--bgr", "--labels", str(labels), "--save")
    assert saved.returncode == 0, saved.stderr
    card = json.loads(tiny_onnx_copy.with_suffix(".json").read_text())
    assert card["preprocess"]["mean"] == [0.485, 0.456, 0.406] and card["preprocess"]["channel_order"] == "BGR"
    assert card["labels"][3] == "class3" and card["sources"]["mean"] == "user"
    model = load_model(tiny_onnx_copy)  # every later load reads it, no flags
    assert model.preprocess.std == (0.229, 0.224, 0.225) and model.labels[0] == "class0"
    again = edgekit("card", str(tiny_onnx_copy), "--size", "48", "--save")
    assert again.returncode == 2 and "--force" in again.stderr  # never overwrites the user's card silently


def test_commands_that_feed_images_refuse_a_card_less_model_naming_the_flags(tiny_onnx_copy, photos):
    for args in (["eval", str(tiny_onnx_copy), "--data", str(photos)],
                 ["demo", str(tiny_onnx_copy), "--source", "synthetic", "--seconds", "1"],
                 ["deploy", str(tiny_onnx_copy), "--out", str(photos.parent / "b")]):
        done = edgekit(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "--mean" in done.stderr and "--assume-defaults" in done.stderr and "Traceback" not in done.stderr
    assert not (photos.parent / "b").exists()


def test_flags_on_eval_work_without_a_card(tiny_onnx_copy, photos):
    done = edgekit("eval", str(tiny_onnx_copy), "--data", str(photos), *IMAGENET_FLAGS, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["metrics"]["n"] == 6


def test_assume_defaults_warns_and_uses_imagenet(tiny_onnx):
    with pytest.warns(EdgekitWarning, match="assuming ImageNet"):
        model = apply_card_options(load_model(tiny_onnx), CardOptions(assume_defaults=True), need_preprocess=True)
    assert model.preprocess.mean == (0.485, 0.456, 0.406) and model.preprocess.size == (32, 32)
    assert model.metadata["card_sources"]["mean"] == "default (ImageNet)"


def test_no_preprocess_anywhere_is_one_sentence(tiny_onnx):
    with pytest.raises(DataError, match="nothing says how to turn an image into its input"):
        apply_card_options(load_model(tiny_onnx), None, need_preprocess=True)


def test_onnx_metadata_gives_names_and_size_without_flags(tiny_onnx, tmp_path):
    proto = onnx.load(str(tiny_onnx))
    names = {i: f"thing{i}" for i in range(10)}
    for key, value in (("names", str(names)), ("imgsz", "[32, 32]"), ("stride", "32")):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    path = tmp_path / "exported.onnx"
    onnx.save(proto, str(path))
    model = apply_card_options(load_model(path), None, need_preprocess=True)
    assert model.labels[:2] == ("thing0", "thing1")
    assert model.preprocess.size == (32, 32) and model.preprocess.resize == "letterbox"
    assert model.metadata["card_sources"]["size"] == "file metadata"


def test_duplicate_class_names_are_made_unique_by_synset(tmp_path):
    (tmp_path / "classes.txt").write_text("crane\nheron\ncrane\n")
    (tmp_path / "synset.txt").write_text("n02012849 crane\nn02009912 heron\nn03126707 crane\n")
    with pytest.warns(EdgekitWarning, match="duplicate class names 'crane'"):
        labels = read_labels(tmp_path / "classes.txt")
    assert labels == ("crane (n02012849)", "heron", "crane (n03126707)")


def test_help_of_card_ends_with_examples():
    done = edgekit("card", "--help")
    assert done.returncode == 0 and "Examples" in done.stdout and "--save" in done.stdout


def test_info_prints_the_files_own_sha256(tiny_onnx):
    import hashlib

    done = edgekit("info", str(tiny_onnx), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sha256"] == hashlib.sha256(tiny_onnx.read_bytes()).hexdigest()


def test_card_names_the_resize_flag_the_user_typed_beside_the_stored_name(tiny_onnx_copy):
    flags = [*IMAGENET_FLAGS[:-1], "shorter-crop"]
    done = edgekit("card", str(tiny_onnx_copy), *flags)
    assert done.returncode == 0, done.stderr
    assert "center_crop (--resize shorter-crop)" in done.stdout
    stretched = edgekit("card", str(tiny_onnx_copy), *IMAGENET_FLAGS)
    assert "--resize" not in stretched.stdout  # a name the flag shares is shown once
