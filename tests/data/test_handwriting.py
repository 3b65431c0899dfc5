"""The realistic handwriting renderer (edgekit.data.handwriting + photo) and the demo-hard set it draws."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.data import demo_digits, open_dataset
from edgekit.data.digits import scans
from edgekit.data.handwriting import TOOLS, stroke_mask, thin
from edgekit.data.photo import HARD_SEED, hard_digits, realistic_digit
from edgekit.data.spec import paired_calibration

TOOL = {t.name: t for t in TOOLS}


@pytest.fixture(scope="module")
def train_scans():
    return scans("train")


def test_same_seed_same_photo_other_seed_other_photo(train_scans):
    x, _ = train_scans
    a = realistic_digit(np.random.default_rng(7), 64, image8=x[3])
    b = realistic_digit(np.random.default_rng(7), 64, image8=x[3])
    c = realistic_digit(np.random.default_rng(8), 64, image8=x[3])
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("size", [32, 64, 224])
def test_photos_are_bgr_uint8_of_the_asked_size(size, train_scans):
    x, _ = train_scans
    for seed, kw in enumerate(({"image8": x[0]}, {"digit": 7})):
        img = realistic_digit(np.random.default_rng(seed), size, **kw)
        assert img.shape == (size, size, 3) and img.dtype == np.uint8
        assert img.std() > 3  # not a blank frame


def _ink_is_lighter(seed: int, image8: np.ndarray, dark: float) -> bool:
    """Whether the ink is lighter than its surroundings (the stroke mask is the renderer's first draw;
    mild strength, so the camera's perspective tilt does not move thin strokes off that mask)."""
    img = realistic_digit(np.random.default_rng(seed), 64, image8=image8, dark=dark, strength=0.3).mean(axis=2)
    mask, _ = stroke_mask(np.random.default_rng(seed), 64, image8=image8, strength=0.3)
    return img[mask > 0.5].mean() > img[mask < 0.02].mean()


def test_both_polarities_appear_and_dark_zero_means_dark_ink_on_light_paper(train_scans):
    x, _ = train_scans
    mixed = [_ink_is_lighter(s, x[s], dark=0.4) for s in range(40)]
    assert 4 <= sum(mixed) <= 30, sum(mixed)
    assert not any(_ink_is_lighter(s, x[s], dark=0.0) for s in range(40))


def test_stroke_width_follows_the_tool_and_varies(train_scans):
    x, _ = train_scans
    area = {
        name: [float(stroke_mask(np.random.default_rng(s), 96, image8=x[5], tool=TOOL[name])[0].sum())
               for s in range(12)]
        for name in ("ballpoint", "marker")
    }
    assert np.mean(area["marker"]) > 2.5 * np.mean(area["ballpoint"])
    assert max(area["ballpoint"]) > 1.4 * min(area["ballpoint"])  # width and pressure differ per sample
    # within one stroke the pressure field changes the width: the local thickness is not constant
    mask, _ = stroke_mask(np.random.default_rng(3), 128, digit=8, tool=TOOL["gel"])
    import cv2

    thickness = cv2.distanceTransform((mask > 0.4).astype(np.uint8), cv2.DIST_L2, 3)
    ridge = thickness[(thickness >= cv2.dilate(thickness, np.ones((3, 3), np.uint8))) & (thickness > 0)]
    assert np.percentile(ridge, 90) > 1.3 * np.percentile(ridge, 10)


def test_distorted_digits_stay_inside_the_frame(train_scans):
    x, _ = train_scans
    for seed in range(60):
        kw = {"image8": x[seed]} if seed % 2 else {"digit": seed % 10}
        mask, _ = stroke_mask(np.random.default_rng(seed), 64, strength=1.0, tool=TOOL["marker"], **kw)
        border = np.concatenate([mask[:2].ravel(), mask[-2:].ravel(), mask[:, :2].ravel(), mask[:, -2:].ravel()])
        assert border.max() < 0.05, seed
        assert mask.max() > 0.5


def test_thinning_leaves_a_one_pixel_line():
    block = np.zeros((20, 30), np.uint8)
    block[5:15, 3:27] = 1
    line = thin(block)
    assert 0 < line.sum() < 30 and line[:, 10].sum() == 1


def test_demo_hard_is_the_held_out_scans_only():
    from edgekit.data import digits

    hard, test = hard_digits(64), demo_digits("test")
    held = np.flatnonzero(digits._load()[2])
    assert len(hard) == len(test) == 539 and hard.classes == test.classes
    assert list(hard.indices) == list(held)
    assert not set(hard.indices) & set(np.flatnonzero(~digits._load()[2]))
    assert [hard[i][1] for i in range(0, 539, 7)] == [test[i][1] for i in range(0, 539, 7)]
    a, b = hard[11], hard_digits(64)[11]
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], test[11][0])
    assert HARD_SEED not in (0, 1_000_003) and str(HARD_SEED) in hard.fingerprint


def test_demo_hard_opens_by_name_and_calibrates_on_demo_train():
    ds = open_dataset("demo-hard", size=48)
    assert len(ds) == 539 and ds[0][0].shape == (48, 48, 3)
    assert paired_calibration("demo-hard") == "demo-train"


@pytest.mark.slow
def test_eval_demo_hard_from_the_cli(capsys):
    from edgekit.cli import main

    assert main(["eval", "demo:digits", "--data", "demo-hard", "--limit", "120"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "n=120" in out


def test_realistic_scenes_box_each_digits_ink_and_repeat_from_their_seed():
    from edgekit.data.handscenes import realistic_scene

    for i in range(6):
        scene = realistic_scene(np.random.default_rng([3, i]), (96, 96), strength=1.0)
        again = realistic_scene(np.random.default_rng([3, i]), (96, 96), strength=1.0)
        assert scene.image.shape == (96, 96, 3) and np.array_equal(scene.image, again.image)
        assert len(scene.boxes) == len(scene.class_ids) >= 1
        assert (scene.boxes[:, :2] >= 0).all() and (scene.boxes[:, 2:] <= 96).all()
        assert ((scene.boxes[:, 2:] - scene.boxes[:, :2]) >= 3).all()
        assert set(scene.class_ids.tolist()) <= set(range(10))


def test_demo_det_hard_is_a_detection_set_of_held_out_scans():
    from edgekit.data.scenes import DATASET_NAMES, scene_at
    from edgekit.errors import DataError

    assert DATASET_NAMES["demo-det-hard"] == "realistic"
    scene = scene_at(20_261_201, 0, (128, 128), "realistic")
    assert scene.image.shape == (128, 128, 3) and scene.handwritten.dtype == bool
    with pytest.raises(DataError, match="detection dataset"):
        open_dataset("demo-det-hard")


def _train_demo():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "train_demo.py"
    if not path.is_file():
        pytest.skip("tools/train_demo.py is only in a source checkout")
    import sys

    if "_edgekit_train_demo" not in sys.modules:  # its dataclasses need the module registered
        spec = importlib.util.spec_from_file_location("_edgekit_train_demo", path)
        sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules["_edgekit_train_demo"]


def test_training_batches_mix_realistic_and_classic_renders_reproducibly(train_scans):
    td = _train_demo()
    x, y = train_scans
    a, ya = td.make_batch(np.random.default_rng([0, 1]), 24, 224, x, y)
    b, yb = td.make_batch(np.random.default_rng([0, 1]), 24, 224, x, y)
    assert all(np.array_equal(p, q) for p, q in zip(a, b)) and ya.tolist() == yb.tolist()
    assert all(img.shape == (224, 224, 3) and img.dtype == np.uint8 for img in a)
    assert set(ya.tolist()) <= set(range(10)) and len(set(ya.tolist())) >= 5
    classic, _ = td.make_batch(np.random.default_rng([0, 1]), 24, 64, x, y, renderer="classic")
    realistic, _ = td.make_batch(np.random.default_rng([0, 1]), 24, 64, x, y)
    assert not all(np.array_equal(p, q) for p, q in zip(classic, realistic))


def test_bundled_classifier_cards_report_both_held_out_sets():
    import json

    from edgekit.errors import ModelLoadError
    from edgekit.evaluation.accuracy import evaluate
    from edgekit.zoo import hub

    for name in ("demo:digits", "demo:digits-mnv2"):
        try:
            card = json.loads(hub.resolve(name).with_suffix(".json").read_text())
        except ModelLoadError as exc:  # a checkout without the bundled models
            pytest.skip(f"{name} is not bundled here: {exc}")
        held = card["held_out"]
        assert set(held) >= {"demo-test", "demo-hard"} and str(HARD_SEED) in held["demo-hard"]["what"]
        assert held["demo-test"]["accuracy"] == card["held_out_accuracy"] >= 0.97
        assert held["demo-hard"]["accuracy"] == card["hard_accuracy"] < card["held_out_accuracy"]
    measured = evaluate("demo:digits", hard_digits(64), backend="onnxruntime").metrics.accuracy
    card = json.loads(hub.resolve("demo:digits").with_suffix(".json").read_text())
    assert measured == pytest.approx(card["hard_accuracy"], abs=0.002)
