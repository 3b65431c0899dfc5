"""Classification metrics from labels and predictions, with scikit-learn's definitions.

Why not call scikit-learn: it is a test dependency, not a runtime one (a
device running a bundle has numpy only). The tests check every number here
against scikit-learn.

Conventions (stated because edge cases differ between libraries):

- ``zero_division = 0``: the precision of a class that is never predicted,
  the recall of a class absent from the labels, and an F1 whose precision and
  recall are both 0 are all **0.0** (scikit-learn's ``zero_division=0``).
- Per-class arrays cover every entry of ``classes``. Macro averages run over
  the classes that occur in ``y_true`` or ``y_pred`` (scikit-learn's
  ``labels=None``), so a class seen nowhere does not drag the average to 0.
  Weighted averages weight each class by its number of true samples.
- F1 = 2·TP / (2·TP + FP + FN).
- Accuracy's interval is the 95% Wilson score interval (good for small n and
  for accuracies near 1, where the normal approximation goes above 100%).
- Confusion matrix rows are true classes, columns predicted classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from edgekit.errors import DataError

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (``(0, 1)`` when ``n == 0``)."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Metrics:
    """Everything :func:`compute_metrics` measures (see the module docstring for conventions).

    Attributes:
        n: samples.
        accuracy: top-1 accuracy; ``accuracy_ci`` its 95% Wilson interval.
        classes: class names; per-class tuples follow this order.
        precision, recall, f1, support: per class.
        macro_*: unweighted means over classes seen in labels or predictions.
        weighted_*: means weighted by ``support``.
        confusion: ``confusion[true][pred]`` counts.
        top_k: ``{k: accuracy}`` when scores were given (k=1 always, plus 3 and 5 when there are more classes).
    """

    n: int
    accuracy: float
    accuracy_ci: tuple[float, float]
    # per class: left out of the repr, which then reads as a summary (ImageNet's 1000 classes made a
    # printed result 3 MB, its confusion matrix most of it); per_class() and to_dict() have them
    classes: tuple[str, ...] = field(repr=False)
    precision: tuple[float, ...] = field(repr=False)
    recall: tuple[float, ...] = field(repr=False)
    f1: tuple[float, ...] = field(repr=False)
    support: tuple[int, ...] = field(repr=False)
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_precision: float
    weighted_recall: float
    weighted_f1: float
    confusion: tuple[tuple[int, ...], ...] = field(repr=False)
    top_k: dict[int, float] = field(default_factory=dict)

    def per_class(self) -> list[dict]:
        """One dict per class: name, precision, recall, f1, support."""
        return [
            {"class": c, "precision": p, "recall": r, "f1": f, "support": s}
            for c, p, r, f, s in zip(self.classes, self.precision, self.recall, self.f1, self.support)
        ]

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples become lists, top-k keys strings)."""
        data = asdict(self)
        data["top_k"] = {str(k): v for k, v in self.top_k.items()}
        return json_ready(data)

    @classmethod
    def from_dict(cls, data: dict) -> Metrics:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        for key in ("accuracy_ci", "classes", "precision", "recall", "f1", "support"):
            data[key] = tuple(data[key])
        data["confusion"] = tuple(tuple(row) for row in data["confusion"])
        data["top_k"] = {int(k): v for k, v in data.get("top_k", {}).items()}
        return cls(**data)


def json_ready(value):
    """Tuples -> lists, numpy scalars -> Python numbers, recursively."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def compute_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    scores: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
) -> Metrics:
    """Accuracy (+ Wilson interval), per-class/macro/weighted P/R/F1, confusion matrix, top-k.

    Args:
        y_true: true class indices.
        y_pred: predicted class indices (same length).
        scores: optional ``(n, n_classes)`` scores/logits for top-k accuracy.
        classes: class names; default ``"0".."K-1"`` for the largest index seen.

    Raises:
        DataError: empty input, lengths that differ, or indices outside ``classes``.

    Example:
        >>> m = compute_metrics([0, 1, 1], [0, 1, 0])
        >>> round(m.accuracy, 3), m.confusion
        (0.667, ((1, 0), (1, 1)))
    """
    t, p = np.asarray(y_true, np.int64).ravel(), np.asarray(y_pred, np.int64).ravel()
    names = _class_names(t, p, scores, classes)
    k = len(names)
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (t, p), 1)
    tp = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(1), cm.sum(0)
    prec = _safe_div(tp, predicted)
    rec = _safe_div(tp, support)
    f1 = _safe_div(2 * tp, support + predicted)
    seen = (support + predicted) > 0
    weights = support / support.sum()
    correct = int(tp.sum())
    return Metrics(
        n=len(t),
        accuracy=correct / len(t),
        accuracy_ci=wilson_interval(correct, len(t)),
        classes=names,
        precision=tuple(prec.tolist()),
        recall=tuple(rec.tolist()),
        f1=tuple(f1.tolist()),
        support=tuple(int(s) for s in support),
        macro_precision=float(prec[seen].mean()),
        macro_recall=float(rec[seen].mean()),
        macro_f1=float(f1[seen].mean()),
        weighted_precision=float((prec * weights).sum()),
        weighted_recall=float((rec * weights).sum()),
        weighted_f1=float((f1 * weights).sum()),
        confusion=tuple(tuple(int(v) for v in row) for row in cm),
        top_k=top_k_accuracy(t, scores) if scores is not None else {},
    )


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den == 0`` (zero_division = 0)."""
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _class_names(
    t: np.ndarray, p: np.ndarray, scores: np.ndarray | None, classes: Sequence[str] | None
) -> tuple[str, ...]:
    if len(t) == 0:
        raise DataError("no samples to compute metrics on; the dataset or prediction list is empty")
    if len(t) != len(p):
        raise DataError(f"{len(t)} labels but {len(p)} predictions; give one prediction per label")
    if scores is not None and (np.ndim(scores) != 2 or len(scores) != len(t)):
        raise DataError(f"scores must have shape (n, n_classes) with n={len(t)}, got {np.shape(scores)}")
    if classes is None:
        k = max(int(t.max()), int(p.max())) + 1
        if scores is not None:
            k = max(k, np.shape(scores)[1])
        classes = [str(i) for i in range(k)]
    names = tuple(str(c) for c in classes)
    lo, hi = min(int(t.min()), int(p.min())), max(int(t.max()), int(p.max()))
    if lo < 0 or hi >= len(names):
        raise DataError(
            f"class indices must lie in 0..{len(names) - 1} for {len(names)} classes, found {lo}..{hi}"
        )
    return names


def top_k_accuracy(y_true: np.ndarray, scores: np.ndarray, ks: Sequence[int] = (1, 3, 5)) -> dict[int, float]:
    """``{k: share of samples whose true class is among the k highest scores}`` for k < n_classes (and k=1)."""
    scores = np.asarray(scores)
    n_classes = scores.shape[1]
    order = np.argsort(-scores, axis=1, kind="stable")
    out = {}
    for k in ks:
        if k == 1 or k < n_classes:
            out[k] = float((order[:, :k] == np.asarray(y_true)[:, None]).any(1).mean())
    return out


def agreement(pred_a: Sequence[int] | np.ndarray, pred_b: Sequence[int] | np.ndarray) -> float:
    """Share of samples where two models' top-1 predictions are the same.

    Raises:
        DataError: empty or of different lengths.
    """
    a, b = np.asarray(pred_a).ravel(), np.asarray(pred_b).ravel()
    if len(a) == 0 or len(a) != len(b):
        raise DataError(
            f"agreement needs two prediction lists of the same, non-zero length (got {len(a)} and {len(b)})"
        )
    return float((a == b).mean())


def efficiency(accuracy: float, latency_ms: float) -> float:
    """Accuracy per millisecond (``accuracy / latency_ms``): higher ranks first.

    Raises:
        DataError: latency not positive or accuracy outside [0, 1].
    """
    if not latency_ms > 0:
        raise DataError(f"efficiency needs a positive latency in ms, got {latency_ms}")
    if not 0.0 <= accuracy <= 1.0:
        raise DataError(f"accuracy must lie in [0, 1], got {accuracy}")
    return accuracy / latency_ms
