"""NNCF reads as many calibration samples as the data needs (10 per class, 100..300), not always all."""

from __future__ import annotations

import pytest

from edgekit.compress.int8 import nncf_subset_size, quantize_openvino


@pytest.mark.parametrize("n, classes, expected", [(300, 10, 100), (300, 1000, 300), (60, 10, 60), (300, None, 100),
                                                  (500, 25, 250)])
def test_subset_size_follows_the_classes_within_bounds(n, classes, expected):
    assert nncf_subset_size(n, classes) == expected


def test_nncf_records_the_subset_it_used_and_fast_bias_correction(tmp_path, tiny, calib):
    q = quantize_openvino(tiny, calib, tmp_path / "q.xml")  # 4 classes, 120 feeds -> 100
    settings = q.metadata["compression"]
    assert settings["calibration_samples"] == 100 and settings["fast_bias_correction"] is True
    assert quantize_openvino(tiny, calib, tmp_path / "all.xml", subset_size=120).metadata["compression"][
        "calibration_samples"] == 120


def test_calibration_progress_counts_each_pass_over_the_set():
    """NNCF's accuracy-controlled search reads the calibration set again per attempt: each pass counts
    1..N again (it said "100/100 samples" on every sample after the first pass)."""
    from edgekit.compress.int8 import _Counter

    seen = []
    count = _Counter(lambda event: seen.append(event.done), total=4)
    for _ in range(8):
        count()
    assert seen == [1, 2, 3, 4, 1, 2, 3, 4]
