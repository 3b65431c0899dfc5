"""An unfit calibration set is refused or warned about before quantizing."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit._io import sha256_file
from edgekit.compress import check_calibration, quantize_int8
from edgekit.errors import DataError, EdgekitWarning


def _feeds(n, seed=0, name="input"):
    rng = np.random.default_rng(seed)
    return [{name: rng.random((1, 3, 32, 32), dtype=np.float32)} for _ in range(n)]


def test_three_images_are_refused_and_nothing_is_written(tiny, tmp_path):
    before = sha256_file(tiny.path)
    with pytest.raises(DataError, match="3 sample"):
        quantize_int8(tiny, _feeds(3, name=tiny.input.name), tmp_path / "q.onnx")
    assert not (tmp_path / "q.onnx").exists() and sha256_file(tiny.path) == before


def test_identical_images_are_refused():
    one = _feeds(1)[0]
    with pytest.raises(DataError, match="same image"):
        check_calibration([one] * 50)


def test_nearly_identical_images_are_warned():
    base = _feeds(1)[0]["input"]
    rng = np.random.default_rng(1)
    alike = [{"input": base + rng.normal(0, 1e-4, base.shape).astype(np.float32)} for _ in range(120)]
    with pytest.warns(EdgekitWarning, match="nearly all alike"):
        check_calibration(alike)


def test_small_set_missing_classes_and_overlap_are_warned():
    feeds = _feeds(40)
    with pytest.warns(EdgekitWarning) as record:
        check_calibration(feeds, labels=[i % 3 for i in range(40)], num_classes=5, validation=feeds[:7] + _feeds(5, 9))
    text = " | ".join(str(w.message) for w in record)
    assert "only 40 calibration samples" in text
    assert "no samples of 2 of 5 classes (3, 4)" in text
    assert "7 of 12 validation samples are also in the calibration set" in text


def test_a_good_set_passes_quietly(recwarn):
    assert len(check_calibration(_feeds(150), labels=[i % 4 for i in range(150)], num_classes=4)) == 150
    assert not [w for w in recwarn if issubclass(w.category, EdgekitWarning)]
