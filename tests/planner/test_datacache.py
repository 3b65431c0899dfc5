"""Validation/calibration inputs prepared once and shared: same answers as the per-image path."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.data import ImageFolder, calibration_set, demo_digits
from edgekit.data.prepared import prepare
from edgekit.evaluation import evaluate
from edgekit.evaluation.batched import evaluate_prepared
from edgekit.planner.datacache import DataCache, calibration_feeds, dataset_token


def test_prepared_evaluation_matches_per_image_evaluation(world):
    model, folder = world
    ds = ImageFolder(folder)
    slow = evaluate(model, ds, "onnxruntime")
    fast = evaluate_prepared(model, prepare(ds, model.preprocess), "onnxruntime")
    assert fast.predictions == slow.predictions and fast.labels == slow.labels
    assert fast.metrics.accuracy == slow.metrics.accuracy
    np.testing.assert_allclose(fast.scores, slow.scores, rtol=1e-5, atol=1e-5)


def test_cache_prepares_a_dataset_once_per_preprocessing(world, tmp_path):
    model, folder = world
    cache = DataCache(spill_dir=tmp_path)
    calls = []
    first = cache.get(ImageFolder(folder), model.preprocess, progress=lambda e: calls.append(e.done))
    again = cache.get(ImageFolder(folder), model.preprocess, progress=lambda e: calls.append(e.done))
    assert again is first and cache.misses == 1 and cache.hits == 1
    assert calls and calls[-1] == len(first)  # only the first call did any work
    other = cache.get(ImageFolder(folder), model.preprocess.__class__(size=(16, 16)))
    assert other.inputs.shape[-2:] == (16, 16) and cache.misses == 2


def test_large_sets_go_to_disk_and_are_read_back_by_a_new_cache(world, tmp_path):
    model, folder = world
    small = DataCache(max_bytes=1024, spill_dir=tmp_path)
    first = small.get(ImageFolder(folder), model.preprocess)
    assert isinstance(first.inputs, np.memmap) and list(tmp_path.glob("*.npy"))
    fresh = DataCache(max_bytes=1024, spill_dir=tmp_path)
    again = fresh.get(ImageFolder(folder), model.preprocess)
    assert fresh.misses == 0 and np.array_equal(np.asarray(again.inputs), np.asarray(first.inputs))


def test_a_set_on_disk_prepared_by_other_code_is_prepared_again(world, tmp_path, monkeypatch):
    from edgekit.planner import datacache

    model, folder = world
    DataCache(max_bytes=1024, spill_dir=tmp_path).get(ImageFolder(folder), model.preprocess)
    monkeypatch.setattr(datacache, "code_stamp", lambda: "edited")  # as an edit of edgekit's preprocessing would
    fresh = DataCache(max_bytes=1024, spill_dir=tmp_path)
    fresh.get(ImageFolder(folder), model.preprocess)
    assert fresh.misses == 1 and len(list(tmp_path.glob("*.npy"))) == 2


def test_a_changed_file_changes_the_key(world, tmp_path):
    import os
    import shutil

    _, folder = world
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    before = dataset_token(ImageFolder(copy))
    victim = next((copy / "a").glob("*.png"))
    os.utime(victim, ns=(1, 1))  # same bytes, another mtime: the file may have been replaced
    assert dataset_token(ImageFolder(copy)) != before


def test_calibration_feeds_equal_the_calibration_set(world):
    model, folder = world
    ds = ImageFolder(folder)
    slow = calibration_set(ds, model, n=20)
    fast = calibration_feeds(ds, model, n=20, cache=DataCache())
    assert len(fast) == len(slow) == 20
    for a, b in zip(fast, slow):
        assert a.keys() == b.keys()
        np.testing.assert_array_equal(next(iter(a.values())), next(iter(b.values())))


def test_demo_digits_carry_a_fingerprint_per_split_and_size():
    assert demo_digits("test", 32).fingerprint != demo_digits("train", 32).fingerprint
    assert demo_digits("test", 32).fingerprint != demo_digits("test", 64).fingerprint
    assert demo_digits("test", 32).fingerprint == demo_digits("test", 32).fingerprint


def test_an_anonymous_dataset_is_kept_alive_while_cached(world):
    from edgekit.data import ArrayDataset

    model, _ = world
    cache = DataCache()
    imgs = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    first = cache.get(ArrayDataset(imgs, [0, 1, 2, 3] * 2, ["a", "b", "c", "d"]), model.preprocess)
    other = cache.get(ArrayDataset(imgs[::-1].copy(), [0, 1, 2, 3] * 2, ["a", "b", "c", "d"]), model.preprocess)
    assert cache.misses == 2 and not np.array_equal(first.inputs, other.inputs)


def test_empty_dataset_is_refused_with_the_fix():
    from edgekit.data import ArrayDataset
    from edgekit.errors import DataError
    from edgekit.models import Preprocess

    with pytest.raises(DataError, match="at least one"):
        prepare(ArrayDataset(np.zeros((0, 8, 8, 3), np.uint8), [], ["a"]), Preprocess(size=(8, 8)))


def test_scoring_stops_when_a_model_runs_far_slower_than_its_limit(world, monkeypatch):
    from edgekit.evaluation import batched
    from edgekit.evaluation.batched import TooSlow
    from edgekit.planner.pace import FACTOR, Pace

    monkeypatch.setattr(batched, "MIN_SPENT_S", 0.0)  # the tiny model is quick: stop it anyway
    model, folder = world
    data = prepare(ImageFolder(folder), model.preprocess)
    timing = {}
    evaluate_prepared(model, data, "onnxruntime", batch_size=8, timing=timing)
    assert timing["per_image_s"] > 0
    with pytest.raises(TooSlow) as slow:
        evaluate_prepared(model, data, "onnxruntime", batch_size=8, max_seconds_per_image=1e-9)
    pace = Pace()
    pace.record("onnxruntime", timing, reference=True)
    assert pace.limit("openvino") == pytest.approx(FACTOR * timing["per_image_s"])  # the reference stands in
    assert "slower per image than" in pace.reason("onnxruntime", slow.value.per_image_s)


def test_prepared_and_per_image_evaluation_name_classes_alike_for_a_label_less_model(tmp_path):
    """A model without labels scored on index-labelled data: the planner's batched path names the classes by
    output index exactly as ``evaluate`` does (it used to fall back to the dataset's names and disagree)."""
    import cv2
    import numpy as np

    from edgekit.data import open_dataset
    from edgekit.data.prepared import prepare
    from edgekit.evaluation import evaluate
    from edgekit.evaluation.batched import evaluate_prepared

    from .conftest import onnx_model

    rows = ["path,label"]
    for i, label in enumerate([0, 2, 2, 1]):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((16, 16, 3), 40 * i, np.uint8))
        rows.append(f"{i}.png,{label}")
    (tmp_path / "set.csv").write_text("\n".join(rows))
    data = open_dataset(tmp_path / "set.csv")
    model = onnx_model(tmp_path)
    model = model.replace(labels=None)
    direct = evaluate(model, data)
    batched = evaluate_prepared(model, prepare(data, model.preprocess))
    assert direct.metrics.classes == batched.metrics.classes == tuple(str(i) for i in range(model.num_classes))
    assert direct.predictions == batched.predictions and direct.labels == batched.labels


def test_a_model_far_over_its_limit_is_stopped_within_twenty_images(monkeypatch):
    """A 10x-slower candidate used to run two full batches (64 images) before it could be stopped;
    a model that is quick to score anyway is never stopped (its timings would be noise)."""
    from edgekit.evaluation import batched
    from edgekit.evaluation.batched import TooSlow
    from edgekit.models.load import load_model

    model = load_model("demo:digits")
    data = prepare(demo_digits("test", 64), model.preprocess, indices=range(100))
    monkeypatch.setattr(batched, "MIN_SPENT_S", 1e9)  # as if the whole set took less than that to score
    quick = evaluate_prepared(model, data, "onnxruntime", batch_size=32, max_seconds_per_image=1e-9)
    assert len(quick.predictions) == 100  # nothing to save by stopping it: scored to the end
    monkeypatch.setattr(batched, "MIN_SPENT_S", 0.0)
    seen = []
    with pytest.raises(TooSlow):
        evaluate_prepared(model, data, "onnxruntime", batch_size=32, max_seconds_per_image=1e-9, progress=seen.append)
    assert seen and seen[-1].done <= 20  # images scored before the stop
    full = []
    evaluate_prepared(model, data, "onnxruntime", batch_size=32, progress=full.append)
    assert [e.done for e in full] == [32, 64, 96, 100]  # no limit: whole batches from the start


def test_images_prepared_side_by_side_keep_the_dataset_order_and_count_unreadable_ones(tmp_path):
    """Images are decoded by a few threads that finish out of order; rows and labels must still
    follow the dataset's order, and an image that fails to decode is skipped and counted."""
    import time

    from edgekit.data.datasets import UnreadableImage
    from edgekit.models.preprocess import Preprocess

    class Jittery:
        classes = ("a", "b", "c")

        def __len__(self):
            return 40

        def __getitem__(self, i):
            time.sleep((7 * i % 5) * 1e-3)  # later images often finish first
            if i in (7, 23):
                raise UnreadableImage(tmp_path / f"{i}.png")
            return np.full((20, 24, 3), i, np.uint8), i % 3

    pre = Preprocess(size=(16, 16), mean=(0, 0, 0), std=(1, 1, 1))
    data = prepare(Jittery(), pre, chunk=16)
    readable = [i for i in range(40) if i not in (7, 23)]
    assert data.skipped == 2 and data.indices.tolist() == readable
    assert data.labels.tolist() == [i % 3 for i in readable]
    np.testing.assert_array_equal(data.inputs, pre.batch([np.full((20, 24, 3), i, np.uint8) for i in readable]))


def test_batches_are_sized_by_the_input_not_fixed_at_32():
    """Large images in small batches (cache-sized), small images in batches of 32."""
    from edgekit.evaluation.batched import auto_batch

    assert auto_batch(np.zeros((2, 3, 224, 224), np.float32)) == 4
    assert auto_batch(np.zeros((2, 3, 64, 64), np.float32)) == 32
    assert auto_batch(np.zeros((2, 3, 640, 640), np.float32)) == 1
