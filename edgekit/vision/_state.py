"""Running state per predictor, and turning the meters into a :class:`Readouts`."""

from __future__ import annotations

import time

import numpy as np

from edgekit.vision._meters import Confusion, LatencyWindow, RateMeter
from edgekit.vision.predictors import PipelinePredictor
from edgekit.vision.readouts import STAGES, AccuracyReadout, PredictorReadout, Rate, StageLatency

REFRESH_S = 0.1  # latency percentiles shown per frame may be this old (see LatencyWindow.percentiles)


class PredictorState:
    """One predictor's meters: rate, latency, confusion (reset when it is swapped in)."""

    def __init__(self, predictor: PipelinePredictor, window_s: float) -> None:
        self.predictor = predictor
        self.rate = RateMeter(window_s)
        self.latency = LatencyWindow()
        self.confusion = Confusion(len(predictor.labels))
        self._unknown: dict[str, int] = {}  # true labels that are none of the model's -> their index
        self.unknown = 0  # labelled frames whose truth is one of those
        self._index: tuple[tuple[str, ...] | None, dict[str, int]] = (None, {})  # labels -> {name: first index}
        self.declared = False

    def class_index(self, name: str) -> int:
        """Index of a true label among the model's labels; unknown names get indices past them.

        Why a dict: every labelled frame asks, and finding a name among ImageNet's 1000 labels
        by scanning the tuple cost 15 us a frame (a lookup: 0.04 us)."""
        labels = self.predictor.labels
        if self._index[0] is not labels:  # made once per labels (a predictor's may be replaced)
            self._index = (labels, {label: i for i, label in reversed(tuple(enumerate(labels)))})
        found = self._index[1].get(name)
        if found is not None:
            return found
        if name not in self._unknown:
            self._unknown[name] = len(labels) + len(self._unknown)
        return self._unknown[name]

    def class_names(self) -> list[str]:
        return list(self.predictor.labels) + sorted(self._unknown, key=self._unknown.get)

    def record(self, truth: str | None, pred: int, declared: bool) -> None:
        if truth is not None:
            index = self.class_index(truth)
            self.unknown += index >= len(self.predictor.labels)
            self.confusion.add(index, pred)
            self.declared = self.declared or declared

    def accuracy(self) -> AccuracyReadout | None:
        if self.confusion.n == 0:
            return None
        return AccuracyReadout(**self.confusion.summary(), declared=self.declared, unknown=self.unknown,
                               unknown_labels=tuple(list(self._unknown)[:4]))

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, float, float]:
        """Run the predictor on ``batch``: ``(scores, finished_at, ms)``; :meth:`count` it after.

        Why apart: with several inference workers the meters are updated in frame order by
        one thread at a time (the pipeline's hand-on), while the runs overlap."""
        with self.predictor.gate:  # a predictor not built for concurrent calls gets one at a time
            t0 = time.monotonic()
            scores = self.predictor.scores(batch)
            t1 = time.monotonic()
        return scores, t1, (t1 - t0) * 1e3

    def count(self, finished_at: float, ms: float) -> None:
        """Count one run of :meth:`infer` in the rate and latency meters."""
        self.rate.tick(finished_at)
        self.latency.add(ms)

    def readout(self, now: float, force: bool = False) -> PredictorReadout:
        """``force``: percentiles computed now, not up to ``REFRESH_S`` old."""
        p = self.predictor
        return PredictorReadout(p.name, p.backend, p.device, p.precision, rate(self.rate, now),
                                latency(self.latency, now, 0.0 if force else REFRESH_S), self.rate.count,
                                self.accuracy())


def rate(meter: RateMeter, now: float) -> Rate:
    return Rate(meter.ema(), meter.windowed(now))


def latency(window: LatencyWindow, now: float | None = None, max_age: float = 0.0) -> StageLatency:
    return StageLatency(*window.percentiles(now, max_age))


class StageMeters:
    """Latency windows of every stage, with percentiles cached for ``refresh_s``
    (see :meth:`LatencyWindow.percentiles`)."""

    def __init__(self, refresh_s: float = REFRESH_S) -> None:
        self.windows = {stage: LatencyWindow() for stage in STAGES}
        self.refresh_s = refresh_s

    def add(self, stage: str, ms: float) -> None:
        self.windows[stage].add(ms)

    def snapshot(self, now: float | None = None, force: bool = False) -> dict[str, StageLatency]:
        now = time.monotonic() if now is None else now
        max_age = 0.0 if force else self.refresh_s
        return {stage: latency(w, now, max_age) for stage, w in self.windows.items()}


def topk(predictor: PipelinePredictor, probs: np.ndarray, k: int) -> tuple[tuple[str, float], ...]:
    """``(label, probability)`` of the ``k`` best classes, best first (ties: the lower class id first).

    A few classes (digits: 10) are sorted as a Python list, which costs less than numpy's
    per-call overhead; a thousand (ImageNet) are partitioned by numpy first."""
    k = min(k, probs.size)
    if probs.size <= _SMALL:
        values = probs.reshape(-1).tolist()
        best = sorted(range(len(values)), key=values.__getitem__, reverse=True)[:k]  # stable: ties keep id order
        return tuple((predictor.label(i), float(values[i])) for i in best)
    best = np.argpartition(-probs, k - 1)[:k] if k < probs.size else np.arange(probs.size)
    best = best[np.lexsort((best, -probs[best]))]  # by probability, then class id
    return tuple((predictor.label(int(i)), float(probs[i])) for i in best)


_SMALL = 64  # classes up to which topk sorts in Python
