"""Results and settings of object detection: ``Detection`` boxes and ``DetectionConfig``.

Boxes are always ``(x1, y1, x2, y2)`` in the pixels of the original image
(after the letterbox is undone), so a caller can draw or score them without
knowing what the model's input size was.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

DECODERS = ("ultralytics", "yolov5", "yolox", "nms")


@dataclass(frozen=True)
class Detection:
    """One detected object.

    Attributes:
        box: ``(x1, y1, x2, y2)`` in original image pixels.
        label: class name (the id as text when the model has no names).
        score: confidence in 0..1 (objectness x class score for YOLOv5/YOLOX).
        class_id: index into the model's classes.
        track_id: the object's id across frames when a tracker runs (:class:`~edgekit.detection.track.IoUTracker`).
    """

    box: tuple[float, float, float, float]
    label: str
    score: float
    class_id: int
    track_id: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (``track_id`` only when tracked)."""
        data = {"box": [round(float(v), 2) for v in self.box], "label": self.label,
                "score": round(float(self.score), 5), "class_id": int(self.class_id)}
        if self.track_id is not None:
            data["track_id"] = int(self.track_id)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Detection:
        """Inverse of :meth:`to_dict`."""
        box = tuple(float(v) for v in data["box"])
        track = data.get("track_id")
        return cls(box, str(data["label"]), float(data["score"]), int(data["class_id"]),  # type: ignore[arg-type]
                   None if track is None else int(track))


@dataclass(frozen=True)
class Detections:
    """All boxes of one image as arrays (the fast form metrics and overlays use).

    Attributes:
        boxes: ``(N, 4)`` float32 xyxy in original image pixels.
        scores: ``(N,)`` float32.
        class_ids: ``(N,)`` int64.
    """

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    @classmethod
    def empty(cls) -> Detections:
        """No boxes."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.scores)

    def to_list(self, labels: tuple[str, ...] | list[str] | None = None) -> list[Detection]:
        """The boxes as :class:`Detection` objects, best score first."""
        names = list(labels or ())
        out = []
        for box, score, cid in zip(self.boxes.tolist(), self.scores.tolist(), self.class_ids.tolist()):
            label = names[cid] if 0 <= cid < len(names) else str(cid)
            out.append(Detection(tuple(box), label, float(score), int(cid)))  # type: ignore[arg-type]
        return out


@dataclass(frozen=True)
class DetectionConfig:
    """How a detector's raw outputs become boxes (stored in the model card as ``detection``).

    Attributes:
        decoder: head format: ``ultralytics`` (``[1, 4+C, N]``, v8/v11), ``yolov5``
            (``[1, N, 5+C]`` with objectness), ``yolox`` (``[1, N, 5+C]``, grid
            decode outside the graph) or ``nms`` (the graph ends in NMS).
        conf: minimum score kept (0.25 for a demo; 0.001 for mAP evaluation).
        iou: IoU above which NMS drops the lower-scoring box.
        max_det: most boxes kept per image.
        class_agnostic: NMS across classes (a box suppresses any class) instead of per class.
        multi_label: keep every class above ``conf`` for a box, not only the best (mAP evaluation).
        strides: YOLOX grid strides.
        pad: letterbox position: ``center`` (Ultralytics) or ``topleft`` (YOLOX).
        pad_value: letterbox fill (114 for both).
        box_format: for ``nms`` models: ``xyxy`` or ``cxcywh``; ``normalized`` boxes are 0..1.
        normalized: ``nms`` models whose boxes are fractions of the input size.
    """

    decoder: str = "ultralytics"
    conf: float = 0.25
    iou: float = 0.45
    max_det: int = 300
    class_agnostic: bool = False
    multi_label: bool = False
    strides: tuple[int, ...] = (8, 16, 32)
    pad: str = "center"
    pad_value: int = 114
    box_format: str = "xyxy"
    normalized: bool = False

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ValueError(f"detection decoder must be one of {', '.join(DECODERS)}, not {self.decoder!r}")
        if self.pad not in ("center", "topleft"):
            raise ValueError(f"detection pad must be 'center' or 'topleft', not {self.pad!r}")
        if not 0.0 <= self.conf <= 1.0 or not 0.0 <= self.iou <= 1.0:
            raise ValueError(f"detection conf and iou must lie in 0..1 (got {self.conf}, {self.iou})")
        if self.max_det < 1:
            raise ValueError(f"detection max_det must be at least 1, not {self.max_det}")
        if self.box_format not in ("xyxy", "cxcywh"):
            raise ValueError(f"detection box_format must be 'xyxy' or 'cxcywh', not {self.box_format!r}")

    def replace(self, **changes) -> DetectionConfig:
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["strides"] = list(self.strides)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> DetectionConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``TypeError``."""
        data = dict(data)
        if "strides" in data:
            data["strides"] = tuple(int(s) for s in data["strides"])
        return cls(**data)
