"""Object detection: decoders for the heads people export, letterbox, NMS, datasets and COCO mAP.

Light on import: only the result types come eagerly; everything else on first use.

Example:
    >>> from edgekit.detection import Detector                       # doctest: +SKIP
    >>> with Detector.open("yolox_nano.onnx", conf=0.3) as detector:
    ...     boxes = detector.detect(cv2.imread("bus.jpg"))
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports
from edgekit.detection.types import Detection, DetectionConfig, Detections

_LAZY = {
    "Detector": "edgekit.detection.detector",
    "IoUTracker": "edgekit.detection.track",
    "DetectorSpec": "edgekit.detection.head",
    "detector_spec": "edgekit.detection.head",
    "model_task": "edgekit.detection.head",
    "letterbox": "edgekit.detection.letterboxing",
    "nms": "edgekit.detection.suppression",
    "box_iou": "edgekit.detection.suppression",
    "prepare": "edgekit.detection.detector",
    "postprocess": "edgekit.detection.detector",
    "open_detection_dataset": "edgekit.detection.datasets",
    "DetectionSample": "edgekit.detection.datasets",
    "coco_evaluate": "edgekit.detection.metrics",
    "DetectionMetrics": "edgekit.detection.metrics",
    "evaluate_detection": "edgekit.detection.evaluate",
}

__all__ = [
    "Detection",
    "DetectionConfig",
    "DetectionMetrics",
    "DetectionSample",
    "Detections",
    "Detector",
    "DetectorSpec",
    "IoUTracker",
    "box_iou",
    "coco_evaluate",
    "detector_spec",
    "evaluate_detection",
    "letterbox",
    "model_task",
    "nms",
    "open_detection_dataset",
    "postprocess",
    "prepare",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
