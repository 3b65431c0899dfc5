"""Small running meters behind the readouts: rates, latency windows, a confusion count.

Each is updated by one pipeline thread and read by the render thread; the
readers copy before computing, so no lock is needed under the GIL.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from edgekit.evaluation.metrics import wilson_interval  # the same interval `edgekit eval` reports

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
        """Events per second over the last ``window_s`` up to the newest event; 0 when
        nothing happened in the last ``window_s``. O(1): ``tick`` keeps only the window."""
        now = time.monotonic() if now is None else now
        try:
            first, last, n = self._times[0], self._times[-1], len(self._times)
        except IndexError:  # emptied by the writer meanwhile
            return 0.0
        if n < 2 or now - last > self.window_s:
            return 0.0
        return (n - 1) / max(last - first, 1e-9)


class LatencyWindow:
    """The last ``size`` durations of one stage, in milliseconds."""

    def __init__(self, size: int = 300) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self._cached: tuple[float, tuple[float, float, int]] | None = None

    def add(self, ms: float) -> None:
        self._values.append(ms)

    def percentiles(self, now: float | None = None, max_age: float = 0.0) -> tuple[float, float, int]:
        """``(p50, p95, n)``; zeros when empty. With ``max_age`` a result computed
        less than ``max_age`` seconds before ``now`` is handed out again.

        Why cached: the readouts ask every frame, and percentiles of a few
        windows cost more than a tiny model's inference; a tenth of a second
        old is fresh enough for a human.
        """
        now = time.monotonic() if now is None else now
        if max_age and self._cached is not None and now - self._cached[0] < max_age:
            return self._cached[1]
        values = np.fromiter(self._values, dtype=np.float64)
        if values.size == 0:
            result = (0.0, 0.0, 0)
        else:
            p50, p95 = np.percentile(values, (50, 95))
            result = (float(p50), float(p95), int(values.size))
        self._cached = (now, result)
        return result


class Confusion:
    """A confusion count that grows one prediction at a time.

    Classes are indices into the model's labels; a true label the model
    does not know gets an index past them (always wrong, never predicted).
    Macro precision/recall/F1 average over the classes seen so far as truth
    or prediction (scikit-learn's default and ``compute_metrics``'), so a
    live camera shown only "7"s is not averaged over ten classes it never saw.

    Why per-class counters in plain Python: the summary is asked for every
    frame, and numpy's per-call overhead on a 10x10 matrix costs more than a
    small model's inference; this costs O(classes seen) and is cached per count.
    """

    def __init__(self, num_classes: int = 0) -> None:
        self.y_true: list[int] = []
        self.y_pred: list[int] = []
        self._tp: dict[int, int] = {}
        self._true: dict[int, int] = {}
        self._pred: dict[int, int] = {}
        self._cached: tuple[int, dict] | None = None

    def add(self, true: int, pred: int) -> None:
        self.y_true.append(true)
        self.y_pred.append(pred)
        self._true[true] = self._true.get(true, 0) + 1
        self._pred[pred] = self._pred.get(pred, 0) + 1
        if true == pred:
            self._tp[true] = self._tp.get(true, 0) + 1

    @property
    def n(self) -> int:
        return len(self.y_true)

    def summary(self) -> dict:
        """accuracy, Wilson low/high, macro precision/recall/F1, n, correct."""
        n = len(self.y_true)
        if self._cached is not None and self._cached[0] == n:
            return self._cached[1]
        correct = sum(self._tp.values())
        seen = self._true.keys() | self._pred.keys()
        precision = recall = f1 = 0.0
        for c in seen:
            tp, t, p = self._tp.get(c, 0), self._true.get(c, 0), self._pred.get(c, 0)
            precision += tp / p if p else 0.0
            recall += tp / t if t else 0.0
            f1 += 2 * tp / (t + p) if t + p else 0.0
        k = max(len(seen), 1)
        low, high = wilson_interval(correct, n) if n else (0.0, 0.0)
        result = {"n": n, "correct": correct, "accuracy": correct / n if n else 0.0, "low": low, "high": high,
                  "precision": precision / k, "recall": recall / k, "f1": f1 / k}
        self._cached = (n, result)
        return result


class CpuMeter:
    """CPU seconds spent per stage since the start, and in the pipeline's threads altogether.

    Why thread CPU time (``time.thread_time``) and not wall time: on a shared machine wall
    time swings with the neighbours' load and includes waiting for the camera; CPU time
    per frame is what the pipeline costs. Each stage is timed on the thread running it,
    so the stages of a frame are parts of the threads' totals and never add up to more.
    """

    def __init__(self, stages: tuple[str, ...]) -> None:
        self.seconds = dict.fromkeys(stages, 0.0)
        self._threads: dict[int, float] = {}  # thread ident -> its CPU seconds so far
        self._extra = 0.0  # drawing done on a consumer's thread (results(), a display)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float, outside: bool = False) -> None:
        """Count ``seconds`` for ``stage``; ``outside``: on a thread that is not the pipeline's."""
        with self._lock:
            self.seconds[stage] += max(seconds, 0.0)
            if outside:
                self._extra += max(seconds, 0.0)
            else:  # noted after the stage was measured: the thread's total covers it
                self._threads[threading.get_ident()] = time.thread_time()

    def span(self, stage: str, since: float) -> float:
        """Count the calling pipeline thread's CPU from ``since`` (a ``time.thread_time()``) to now
        for ``stage``; returns now, the start of whatever the thread does next.

        Why not ``add(stage, time.thread_time() - since)``: that reads the thread's clock twice, and
        each read is a system call (~1 us here; 15 a frame were a tenth of the live loop's own CPU)."""
        now = time.thread_time()
        with self._lock:
            self.seconds[stage] += max(now - since, 0.0)
            self._threads[threading.get_ident()] = now
        return now

    def thread_total(self) -> None:
        """Note the calling pipeline thread's CPU time so far (glue between the stages)."""
        with self._lock:
            self._threads[threading.get_ident()] = time.thread_time()

    def per_frame(self, frames: int) -> dict[str, float]:
        """Milliseconds per frame by stage, with ``total`` and ``beyond_inference``."""
        scale = 1e3 / max(frames, 1)
        with self._lock:
            out = {stage: s * scale for stage, s in self.seconds.items()}
            total = (sum(self._threads.values()) + self._extra) * scale
        out["total"] = total
        out["beyond_inference"] = out["total"] - out.get("inference", 0.0)
        return out
