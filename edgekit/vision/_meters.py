"""Small running meters behind the readouts: rates, latency windows, a confusion count.

Each is updated by one pipeline thread and read by the render thread; the
readers copy before computing, so no lock is needed under the GIL.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from edgekit.evaluate.metrics import wilson_interval  # the same interval `edgekit eval` reports

EMA_ALPHA = 0.1


class RateMeter:
    """Events per second: an exponential moving average and a count over the last ``window_s``."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self.count = 0
        self._last: float | None = None
        self._ema_dt: float | None = None
        self._times: deque[float] = deque()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self._last is not None:
            dt = max(now - self._last, 1e-9)
            self._ema_dt = dt if self._ema_dt is None else EMA_ALPHA * dt + (1 - EMA_ALPHA) * self._ema_dt
        self._last = now
        self.count += 1
        self._times.append(now)
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()

    def ema(self) -> float:
        return 0.0 if not self._ema_dt else 1.0 / self._ema_dt

    def windowed(self, now: float | None = None) -> float:
        """Events in the last ``window_s`` divided by the time they span."""
        times = list(self._times)
        now = time.monotonic() if now is None else now
        times = [t for t in times if t >= now - self.window_s]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9)


class LatencyWindow:
    """The last ``size`` durations of one stage, in milliseconds."""

    def __init__(self, size: int = 300) -> None:
        self._values: deque[float] = deque(maxlen=size)

    def add(self, ms: float) -> None:
        self._values.append(ms)

    def percentiles(self) -> tuple[float, float, int]:
        """``(p50, p95, n)``; zeros when empty."""
        values = np.fromiter(self._values, dtype=np.float64)
        if values.size == 0:
            return 0.0, 0.0, 0
        p50, p95 = np.percentile(values, (50, 95))
        return float(p50), float(p95), int(values.size)


class Confusion:
    """A confusion matrix that grows one prediction at a time.

    Classes are indices into the model's labels; a true label the model
    does not know gets an index past them (always wrong, never predicted).
    Macro precision/recall/F1 average over the classes seen so far as truth
    or prediction (scikit-learn's default), so a live camera shown only
    "7"s is not averaged over ten classes it never saw.
    """

    def __init__(self, num_classes: int) -> None:
        self.matrix = np.zeros((max(num_classes, 1),) * 2, dtype=np.int64)
        self.y_true: list[int] = []
        self.y_pred: list[int] = []

    def add(self, true: int, pred: int) -> None:
        size = max(true, pred) + 1
        if size > self.matrix.shape[0]:
            grown = np.zeros((size, size), dtype=np.int64)
            n = self.matrix.shape[0]
            grown[:n, :n] = self.matrix
            self.matrix = grown
        self.matrix[true, pred] += 1
        self.y_true.append(true)
        self.y_pred.append(pred)

    @property
    def n(self) -> int:
        return len(self.y_true)

    def summary(self) -> dict:
        """accuracy, Wilson low/high, macro precision/recall/F1, n, correct."""
        m = self.matrix
        n, correct = int(m.sum()), int(np.trace(m))
        tp, pred_tot, true_tot = np.diag(m).astype(float), m.sum(axis=0).astype(float), m.sum(axis=1).astype(float)
        seen = (pred_tot + true_tot) > 0
        precision = np.divide(tp, pred_tot, out=np.zeros_like(tp), where=pred_tot > 0)
        recall = np.divide(tp, true_tot, out=np.zeros_like(tp), where=true_tot > 0)
        denom = precision + recall
        f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
        low, high = wilson_interval(correct, n)
        macro = (lambda v: float(v[seen].mean()) if seen.any() else 0.0)
        return {"n": n, "correct": correct, "accuracy": correct / n if n else 0.0, "low": low, "high": high,
                "precision": macro(precision), "recall": macro(recall), "f1": macro(f1)}
