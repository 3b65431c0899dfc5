"""Running mAP of a detector on a labelled stream (frames that carry ground-truth boxes).

Why incremental: re-running COCO evaluation over a window of frames on the
render thread took hundreds of ms. Each frame is matched once when it arrives
(COCO's greedy matching at the ten IoU thresholds 0.5:0.95, per class, best
score first); the readout then only sorts the window's boxes and integrates
precision/recall with COCO's 101 recall points. With no crowd boxes, every
area and at most 100 boxes per frame this is COCO's mAP (a test checks it
against :func:`edgekit.detection.metrics.coco_evaluate`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import numpy as np

from edgekit.detection.datasets import GroundTruth, class_map
from edgekit.detection.suppression import box_iou
from edgekit.detection.types import Detection, Detections
from edgekit.vision.readouts import MapReadout

_MAX_FRAMES = 5000  # kept for the final score (a few kB each)
IOUS = np.linspace(0.5, 0.95, 10)
_RECALLS = np.linspace(0.0, 1.0, 101)


def _truth(boxes: np.ndarray, ids: np.ndarray) -> GroundTruth:
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return GroundTruth(boxes, np.asarray(ids, np.int64), area.astype(np.float64), np.zeros(len(boxes), bool))


def _arrays(found: tuple[Detection, ...]) -> Detections:
    if not found:
        return Detections.empty()
    return Detections(np.asarray([d.box for d in found], np.float32).reshape(-1, 4),
                      np.asarray([d.score for d in found], np.float32),
                      np.asarray([d.class_id for d in found], np.int64))


def match_frame(truth: GroundTruth, pred: Detections) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """COCO's greedy matching of one frame: ``(class ids, scores, matched (N, 10) bool, GT class ids)``."""
    order = np.argsort(-pred.scores, kind="mergesort")[:100]
    boxes, scores, ids = pred.boxes[order], pred.scores[order], pred.class_ids[order]
    matched = np.zeros((len(scores), len(IOUS)), bool)
    if len(scores) and len(truth.boxes):
        iou = box_iou(boxes.astype(np.float64), truth.boxes.astype(np.float64))
        iou[ids[:, None] != truth.class_ids[None, :]] = -1.0
        for t, thr in enumerate(IOUS):
            taken = np.zeros(len(truth.boxes), bool)
            for d in range(len(scores)):
                row = np.where(taken, -1.0, iou[d])
                g = int(np.argmax(row))
                if row[g] >= thr - 1e-10:
                    taken[g], matched[d, t] = True, True
    return ids, scores, matched, truth.class_ids


def average_precision(frames: list[tuple], classes: int) -> tuple[float, float]:
    """``(mAP@0.5, mAP@0.5:0.95)`` of matched frames, COCO's 101-point interpolation, mean over classes
    with ground truth."""
    if not frames:
        return 0.0, 0.0
    ids = np.concatenate([f[0] for f in frames])
    scores = np.concatenate([f[1] for f in frames])
    matched = np.concatenate([f[2] for f in frames]).reshape(-1, len(IOUS))
    gts = np.bincount(np.concatenate([f[3] for f in frames]).astype(np.int64), minlength=classes)
    aps = []
    for c in np.flatnonzero(gts):
        keep = ids == c
        order = np.argsort(-scores[keep], kind="mergesort")
        tp = np.cumsum(matched[keep][order], axis=0, dtype=np.float64)
        fp = np.cumsum(~matched[keep][order], axis=0, dtype=np.float64)
        row = np.zeros(len(IOUS))
        for t in range(len(IOUS)):
            if not len(order):
                break
            recall = tp[:, t] / gts[c]
            precision = tp[:, t] / np.maximum(tp[:, t] + fp[:, t], np.finfo(np.float64).eps)
            precision = np.maximum.accumulate(precision[::-1])[::-1]
            at = np.searchsorted(recall, _RECALLS, side="left")
            row[t] = np.where(at < len(precision), precision[np.minimum(at, len(precision) - 1)], 0.0).mean()
        aps.append(row)
    if not aps:  # no ground truth yet (or none of the classes the filter shows): nothing to average
        return 0.0, 0.0
    table = np.asarray(aps)
    return float(table[:, 0].mean()), float(table.mean())


class RunningMap:
    """Collects ``(truth, boxes)`` per labelled frame and scores them with COCO mAP.

    Args:
        classes: the detector's class names.
        window: frames the live readout scores (the most recent).
        every: re-score the readout after this many new frames...
        min_interval_s: ...and no sooner than this after the last scoring. Why: scoring the window
            costs milliseconds (every box of 300 frames, sorted per class); at a few hundred frames
            a second, every 5 frames it took more of the render thread than decoding the boxes.
            Nobody reads a running mAP faster than a display refreshes it.
        clock: where the time comes from (tests).
        conf: the detector's live confidence threshold (reported: mAP here counts only
            boxes above it, so it sits below an offline ``edgekit eval`` at conf 0.001).
        shown: the class filter in force (``None``: all classes), reported with the numbers; the
            caller leaves the ground truth of hidden classes out, so the mean runs over these.
        truth_names: the source's class names (``SourceInfo.classes``), which its ground-truth ids
            index; ``None``: the ids are the model's own. Why: the digit stream's id 0 is the digit
            "0", a COCO detector's class 0 is "person"; matched by index, its person boxes were
            scored against digits. By name, boxes of classes the model lacks are left out and
            counted (:attr:`MapReadout.unknown`), and with none in common nothing is scored.
    """

    def __init__(self, classes: tuple[str, ...] | list[str], window: int = 300, every: int = 5,
                 conf: float | None = None, shown: tuple[str, ...] | None = None, min_interval_s: float = 0.1,
                 clock: Callable[[], float] = time.monotonic, truth_names: tuple[str, ...] | None = None) -> None:
        self.classes = tuple(classes)
        self._truth_names = tuple(truth_names or ())
        # source class id -> model class id (-1: the model lacks it); None: the same numbering
        self._to_model = class_map(self._truth_names, self.classes)
        self.unknown, self._unknown_classes = 0, {}  # truth boxes left out; their class names (first seen first)
        self.window, self.every, self.conf = int(window), int(every), conf
        self.min_interval_s, self._clock, self._scored_at = float(min_interval_s), clock, 0.0
        self.shown = None if shown is None else tuple(shown)
        self._matched: deque[tuple] = deque(maxlen=_MAX_FRAMES)
        self._since = 0
        self._last: MapReadout | None = None

    def __len__(self) -> int:
        return len(self._matched)

    def to_model(self, truth: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """A frame's ground truth ``(boxes, class_ids)`` in the model's class ids, without (and
        counting) the boxes of classes the model does not have."""
        if self._to_model is None:
            return truth
        boxes, ids = np.asarray(truth[0]), np.asarray(truth[1], np.int64)
        inside = (ids >= 0) & (ids < len(self._to_model))
        mapped = np.full(ids.shape, -1, np.int64)
        mapped[inside] = self._to_model[ids[inside]]
        keep = mapped >= 0
        for i in ids[~keep].tolist():
            name = self._truth_names[i] if 0 <= i < len(self._truth_names) else str(i)
            self._unknown_classes.setdefault(name, None)
        self.unknown += int((~keep).sum())
        return boxes[keep], mapped[keep]

    @property
    def comparable(self) -> bool:
        """The source names at least one class the model has (else nothing is scored)."""
        return self._to_model is None or bool((self._to_model >= 0).any())

    def add(self, truth: tuple[np.ndarray, np.ndarray], found: tuple[Detection, ...]) -> None:
        """One labelled frame: its ground truth ``(boxes, class_ids)`` in the model's ids (see
        :meth:`to_model`) and the boxes found. A source with no class of the model's adds nothing."""
        if not self.comparable:
            return
        self._matched.append(match_frame(_truth(*truth), _arrays(found)))
        self._since += 1

    def _not_scored(self) -> MapReadout | None:
        return None if not self.unknown else MapReadout(conf=self.conf, classes=self.shown, unknown=self.unknown,
                                                        unknown_classes=tuple(self._unknown_classes)[:4])

    def readout(self, fresh: bool = False) -> MapReadout | None:
        """The running numbers over the last ``window`` frames, ``None`` before any labelled frame;
        ``fresh``: scored now, whenever it last was (the readout of a stream's last frame)."""
        if not self._matched:
            return self._not_scored()
        if fresh and self._since:
            self._last = None
        if self._last is None or (self._since >= self.every
                                  and self._clock() - self._scored_at >= self.min_interval_s):
            self._last = self._score(list(self._matched)[-self.window:])
            self._since, self._scored_at = 0, self._clock()
        return self._last

    def final(self) -> dict | None:
        """Every kept frame scored (for the run's summary), ``None`` without labelled frames."""
        score = self._score(list(self._matched)) if self._matched else self._not_scored()
        if score is None:
            return None
        return {"frames": score.frames, "boxes": score.boxes, "map50": score.map50, "map": score.map,
                "precision": score.precision, "recall": score.recall, "conf": self.conf,
                "classes": None if self.shown is None else list(self.shown), "unknown": score.unknown,
                "unknown_classes": list(score.unknown_classes)}

    def _score(self, frames: list) -> MapReadout:
        map50, mean = average_precision(frames, len(self.classes))
        found = sum(len(f[1]) for f in frames)
        hits = sum(int(f[2][:, 0].sum()) for f in frames)
        boxes = sum(len(f[3]) for f in frames)
        return MapReadout(frames=len(frames), boxes=boxes, map50=map50, map=mean,
                          recall=hits / boxes if boxes else 0.0, precision=hits / found if found else 0.0,
                          conf=self.conf, classes=self.shown, unknown=self.unknown,
                          unknown_classes=tuple(self._unknown_classes)[:4])
