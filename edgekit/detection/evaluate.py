"""mAP of a detector on labelled images, through any backend: ``evaluate_detection``.

Thresholds for scoring differ from those for a demo: mAP needs the low-score
boxes too (conf 0.001), so each decoder gets the settings its authors validate
with (Ultralytics: multi-label, NMS IoU 0.7; YOLOX: best class, IoU 0.65)
unless the caller overrides them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.detection.datasets import NO_LABEL_FILE, DetectionDataset, GroundTruth, open_detection_dataset
from edgekit.detection.detector import Detector
from edgekit.detection.head import detector_spec, head_classes
from edgekit.detection.metrics import DetectionMetrics, coco_evaluate
from edgekit.detection.types import Detections
from edgekit.errors import DataError
from edgekit.models.model import Model
from edgekit.progress import Progress, emit

EVAL_SETTINGS = {
    "ultralytics": {"conf": 0.001, "iou": 0.7, "multi_label": True, "max_det": 300},
    "yolov5": {"conf": 0.001, "iou": 0.6, "multi_label": True, "max_det": 300},
    "yolox": {"conf": 0.001, "iou": 0.65, "multi_label": False, "max_det": 300},
    "nms": {"conf": 0.001},
}


@dataclass(frozen=True)
class DetectionEvalResult:
    """What :func:`evaluate_detection` measured.

    Attributes:
        model: the model's name.
        backend, device, precision: where it ran.
        metrics: COCO mAP, per-class AP, P/R/F1, intervals.
        data: the dataset folder or file.
        settings: the decoder and thresholds used.
        seconds: wall time.
        skipped: what the dataset reader left out, reason -> count.
        predictions: per image (not serialised); ``truths`` likewise.
    """

    model: str
    backend: str
    device: str
    precision: str
    metrics: DetectionMetrics
    data: str
    settings: dict
    seconds: float
    skipped: dict = field(default_factory=dict)
    predictions: tuple[Detections, ...] = field(default=(), compare=False, repr=False)
    truths: tuple[GroundTruth, ...] = field(default=(), compare=False, repr=False)

    def to_dict(self) -> dict:
        """JSON-ready dict (without the per-image boxes)."""
        return {"task": "detection", "model": self.model, "backend": self.backend, "device": self.device,
                "precision": self.precision, "metrics": self.metrics.to_dict(), "data": self.data,
                "settings": dict(self.settings), "seconds": self.seconds, "skipped": dict(self.skipped)}

    @classmethod
    def from_dict(cls, data: dict) -> DetectionEvalResult:
        """Inverse of :meth:`to_dict`."""
        return cls(data["model"], data["backend"], data["device"], data["precision"],
                   DetectionMetrics.from_dict(data["metrics"]), data["data"], dict(data["settings"]),
                   float(data["seconds"]), dict(data.get("skipped", {})))


def evaluate_detection(
    model: Any,
    data: str | Path | DetectionDataset,
    backend: str = "auto",
    *,
    device: str = "cpu",
    precision: str = "fp32",
    limit: int | None = None,
    report_conf: float = 0.25,
    bootstrap: int = 200,
    progress: Progress | None = None,
    **overrides: Any,
) -> DetectionEvalResult:
    """Run a detector over labelled images and compute COCO metrics.

    Args:
        model: a ``Model`` or a path/name ``load_model`` takes.
        data: a YOLO folder, a COCO json, a VOC folder or an opened :class:`DetectionDataset`.
        backend, device, precision: where to run it (``"auto"``: the first backend that reads
            the model's format).
        limit: evaluate only the first ``limit`` images.
        report_conf: confidence at which precision/recall/F1 are counted (mAP uses every box).
        bootstrap: resamples for the 95% intervals (0: none).
        progress: receives ``"accuracy"`` events (images done/total); may raise ``Cancelled``.
        overrides: decoder settings (``conf=0.01``, ``iou=0.6``, ``max_det=100``) instead of the
            per-decoder defaults of ``EVAL_SETTINGS``.

    Raises:
        DataError: unusable data; ModelLoadError: the model is no known detector.

    Example:
        >>> r = evaluate_detection("yolox_nano.onnx", "coco64/")      # doctest: +SKIP
        >>> round(r.metrics.map50, 3)
        0.52
    """
    from edgekit.models.load import load_model  # onnx: only when given a path

    t0 = time.perf_counter()
    loaded = model if isinstance(model, Model) else load_model(model)
    decoder = detector_spec(loaded).config.decoder
    settings = {**EVAL_SETTINGS[decoder], **{k: v for k, v in overrides.items() if v is not None}}
    detector = Detector.open(loaded, backend, device, precision, **settings)
    labels = detector.labels
    dataset = data if isinstance(data, DetectionDataset) else open_detection_dataset(
        data, labels=labels, num_classes=_num_classes(detector, loaded))
    try:
        truths, preds = _run(detector, dataset, limit, progress)
    finally:
        info = detector.session.info
        detector.close()
    classes = labels or dataset.classes or _num_classes(detector, loaded)
    metrics = coco_evaluate(truths, preds, classes, conf=report_conf, bootstrap=bootstrap)
    return DetectionEvalResult(loaded.name, info.backend, info.device, info.precision, metrics,
                               str(dataset.source), detector.spec.config.to_dict(), time.perf_counter() - t0,
                               _skipped(dataset, limit), tuple(preds), tuple(truths))


def _skipped(dataset: DetectionDataset, limit: int | None) -> dict:
    """What the reader left out; with ``limit``, images without a label file are counted among the
    images evaluated (``--limit 3`` on coco64 named 2 unlabelled images that lie past the first 3)."""
    skipped = dict(dataset.skipped)
    if limit is not None and NO_LABEL_FILE in skipped:
        unlabelled = sum(not s.labelled for s in dataset.samples[:limit])
        if unlabelled:
            skipped[NO_LABEL_FILE] = unlabelled
        else:
            del skipped[NO_LABEL_FILE]
    return skipped


def _num_classes(detector: Any, model: Any) -> int:
    if detector.labels:
        return len(detector.labels)
    return max(0, head_classes(model, detector.spec.config.decoder) or 0)


def _run(detector, dataset: DetectionDataset, limit: int | None, progress) -> tuple[list, list]:
    total = len(dataset) if limit is None else min(limit, len(dataset))
    if total <= 0:
        raise DataError(f"the detection dataset {dataset.source} is empty; give at least one labelled image")
    truths, preds = [], []
    for i in range(total):
        image, truth = dataset[i]
        preds.append(detector.detect_arrays(image))
        truths.append(truth)
        emit(progress, "accuracy", f"{i + 1}/{total} images", done=i + 1, total=total, fraction=(i + 1) / total)
    return truths, preds
