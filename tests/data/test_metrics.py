"""Every metric cross-checked against scikit-learn (zero_division=0) and scipy's Wilson interval."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import DataError
from edgekit.evaluation.metrics import Metrics, agreement, compute_metrics, efficiency, wilson_interval

sk = pytest.importorskip("sklearn.metrics")


def _check_against_sklearn(t, p, k, scores=None):
    m = compute_metrics(t, p, scores, classes=[f"c{i}" for i in range(k)])
    labels = list(range(k))
    assert m.accuracy == pytest.approx(sk.accuracy_score(t, p))
    prec, rec, f1, sup = sk.precision_recall_fscore_support(t, p, labels=labels, zero_division=0)
    np.testing.assert_allclose(m.precision, prec)
    np.testing.assert_allclose(m.recall, rec)
    np.testing.assert_allclose(m.f1, f1)
    np.testing.assert_array_equal(m.support, sup)
    for avg in ("macro", "weighted"):
        ref = sk.precision_recall_fscore_support(t, p, average=avg, zero_division=0)
        assert getattr(m, f"{avg}_precision") == pytest.approx(ref[0])
        assert getattr(m, f"{avg}_recall") == pytest.approx(ref[1])
        assert getattr(m, f"{avg}_f1") == pytest.approx(ref[2])
    np.testing.assert_array_equal(np.asarray(m.confusion), sk.confusion_matrix(t, p, labels=labels))
    if scores is not None:
        for kk, value in m.top_k.items():
            assert value == pytest.approx(sk.top_k_accuracy_score(t, scores, k=kk, labels=labels)), kk
    return m


@pytest.mark.parametrize("seed", range(8))
def test_random_inputs_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 12))
    n = int(rng.integers(1, 300))
    t = rng.integers(0, k, n)
    p = np.where(rng.random(n) < 0.6, t, rng.integers(0, k, n))
    scores = rng.normal(size=(n, k)) + 20.0 * np.eye(k)[p]  # argmax == p
    m = _check_against_sklearn(t, p, k, scores)
    assert set(m.top_k) <= {1, 3, 5}
    assert m.top_k[1] == pytest.approx(m.accuracy)


def test_class_never_predicted_has_zero_precision():
    t = np.array([0, 1, 2, 2, 1])
    p = np.array([0, 1, 1, 1, 1])  # class 2 never predicted
    m = _check_against_sklearn(t, p, 3)
    assert m.precision[2] == 0.0 and m.recall[2] == 0.0 and m.f1[2] == 0.0


def test_class_absent_from_labels_has_zero_recall_and_is_in_macro():
    t = np.array([0, 0, 1, 1])
    p = np.array([0, 2, 1, 1])  # class 2 only predicted, never true
    m = _check_against_sklearn(t, p, 3)
    assert m.support[2] == 0 and m.recall[2] == 0.0 and m.precision[2] == 0.0


def test_class_seen_nowhere_is_left_out_of_macro_averages():
    t, p = np.array([0, 1, 1]), np.array([0, 1, 0])
    m = compute_metrics(t, p, classes=["a", "b", "c"])  # "c" neither true nor predicted
    ref = sk.precision_recall_fscore_support(t, p, average="macro", zero_division=0)
    assert m.macro_f1 == pytest.approx(ref[2])
    assert len(m.f1) == 3 and m.f1[2] == 0.0


def test_one_sample():
    m = _check_against_sklearn(np.array([1]), np.array([1]), 2)
    assert m.accuracy == 1.0 and m.n == 1
    lo, hi = m.accuracy_ci
    assert 0.0 < lo < 1.0 and hi == pytest.approx(1.0)
    wrong = _check_against_sklearn(np.array([1]), np.array([0]), 2)
    assert wrong.accuracy == 0.0 and wrong.macro_f1 == 0.0


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (7, 10), (539, 539), (530, 539), (3, 1000)])
def test_wilson_interval_matches_scipy(k, n):
    stats = pytest.importorskip("scipy.stats")
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(ref.low, abs=1e-9) and hi == pytest.approx(ref.high, abs=1e-9)


def test_top_k_omitted_when_k_not_below_class_count():
    scores = np.array([[0.1, 0.9], [0.8, 0.2]])
    m = compute_metrics([1, 1], [1, 0], scores)
    assert set(m.top_k) == {1}


def test_round_trip_through_dict():
    rng = np.random.default_rng(3)
    t, p = rng.integers(0, 4, 40), rng.integers(0, 4, 40)
    m = compute_metrics(t, p, rng.normal(size=(40, 4)))
    again = Metrics.from_dict(m.to_dict())
    assert again == m
    import json

    json.dumps(m.to_dict())


def test_bad_inputs_raise_data_error():
    with pytest.raises(DataError, match="empty"):
        compute_metrics([], [])
    with pytest.raises(DataError, match="3 labels but 2 predictions"):
        compute_metrics([0, 1, 1], [0, 1])
    with pytest.raises(DataError, match="0..1"):
        compute_metrics([0, 2], [0, 1], classes=["a", "b"])
    with pytest.raises(DataError, match="shape"):
        compute_metrics([0, 1], [0, 1], scores=np.zeros((3, 2)))


def test_agreement_and_efficiency():
    assert agreement([1, 2, 3, 4], [1, 2, 0, 4]) == pytest.approx(0.75)
    with pytest.raises(DataError):
        agreement([1, 2], [1])
    assert efficiency(0.98, 2.0) == pytest.approx(0.49)
    assert efficiency(0.9, 1.0) > efficiency(0.95, 2.0)
    with pytest.raises(DataError, match="positive latency"):
        efficiency(0.9, 0.0)
    with pytest.raises(DataError, match="accuracy"):
        efficiency(1.5, 1.0)
