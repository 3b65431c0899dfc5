"""``Detector``: a compiled session plus its ``DetectorSpec``: image in, boxes out.

The three steps are public so the live pipeline and a bundle's Predictor can
run them apart (preprocess on the capture thread, inference, decode on the
render thread): :meth:`Detector.prepare`, the backend session, :func:`postprocess`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgekit.detection.decoders import DECODERS
from edgekit.detection.head import DetectorSpec, detector_spec
from edgekit.detection.letterboxing import Letterbox, letterbox, to_tensor
from edgekit.detection.suppression import nms
from edgekit.detection.types import Detection, DetectionConfig, Detections
from edgekit.errors import InputMismatch
from edgekit.imagelimits import pixels_of
from edgekit.models.preprocess import as_bgr

if TYPE_CHECKING:
    from typing_extensions import Self


def prepare(image: np.ndarray, spec: DetectorSpec) -> tuple[np.ndarray, Letterbox]:
    """One BGR (or gray/BGRA) image, or an image file's path -> ``(1, 3, H, W)`` float32 tensor and its letterbox.

    Raises:
        InputMismatch: ``image`` is not an image array, or not a readable image file.
    """
    try:
        bgr = as_bgr(np.asarray(pixels_of(image)))
    except ValueError as exc:
        raise InputMismatch(f"detect expects an image array (H, W[, 3|4]); {exc}") from exc
    canvas, box = letterbox(bgr, spec.size, pad=spec.config.pad, pad_value=spec.config.pad_value)
    return to_tensor(canvas, scale=spec.scale, rgb=spec.rgb), box


def postprocess(
    outputs: list[np.ndarray], spec: DetectorSpec, box: Letterbox, config: DetectionConfig | None = None,
    *, nms_method: str = "auto",
) -> Detections:
    """Outputs of ONE image (batch dim removed) -> boxes in original pixels after NMS.

    Args:
        outputs: the model's outputs for one image, in graph order.
        spec: the detector's spec.
        box: the letterbox :func:`prepare` returned for this image.
        config: thresholds to use instead of ``spec.config`` (a confidence slider).
        nms_method: ``"auto"``, ``"numpy"`` or ``"opencv"`` (see :func:`~edgekit.detection.suppression.nms`).
    """
    cfg = config or spec.config
    boxes, scores, ids = DECODERS[cfg.decoder](outputs, cfg, spec.size)
    if cfg.decoder != "nms" and len(scores):
        keep = nms(boxes, scores, None if cfg.class_agnostic else ids, iou=cfg.iou, max_det=cfg.max_det,
                   method=nms_method)
        boxes, scores, ids = boxes[keep], scores[keep], ids[keep]
    elif len(scores):
        order = np.argsort(-scores, kind="stable")[: cfg.max_det]
        boxes, scores, ids = boxes[order], scores[order], ids[order]
    return Detections(box.to_original(boxes), scores.astype(np.float32), ids.astype(np.int64))


class Detector:
    """A detection model compiled on one backend.

    Example:
        >>> detector = Detector.open("yolov8n.onnx", conf=0.25)      # doctest: +SKIP
        >>> [d.label for d in detector.detect(cv2.imread("bus.jpg"))]
        ['bus', 'person', 'person', 'person', 'person']
    """

    def __init__(self, session: Any, spec: DetectorSpec) -> None:
        self.session, self.spec = session, spec

    @classmethod
    def open(cls, model: Any, backend: str = "auto", device: str = "cpu", precision: str = "fp32",
             options: Any = None, **overrides: Any) -> Detector:
        """Load (when given a path) and compile a detector.

        Args:
            model: a :class:`~edgekit.models.Model` or anything ``load_model`` takes.
            backend, device, precision, options: as for ``compile_session``; ``"auto"``: the first
                backend that reads the model's format (:func:`~edgekit.backends.registry.format_backend`).
            overrides: :class:`DetectionConfig` fields (``conf``, ``iou``, ``max_det`` ...).

        Raises:
            ModelLoadError: the file is unreadable or its head is unknown.
            BackendUnavailable: the backend cannot run it here.
        """
        from edgekit.backends.registry import compile_session, format_backend
        from edgekit.models import Model, load_model

        loaded = model if isinstance(model, Model) else load_model(model)
        spec = detector_spec(loaded, **overrides)
        if backend == "auto":
            backend = format_backend(loaded.format, device, precision)
        return cls(compile_session(loaded, backend, device, precision, options), spec)

    @property
    def labels(self) -> tuple[str, ...] | None:
        """Class names."""
        return self.spec.labels

    def __repr__(self) -> str:
        """``<Detector yolox_nano: yolox head, 80 classes, conf 0.25, IoU 0.65 on onnxruntime cpu fp32>``."""
        cfg, info = self.spec.config, self.session.info
        classes = f", {len(self.labels)} classes" if self.labels else ""
        return (f"<Detector {self.session.model.name}: {cfg.decoder} head{classes}, conf {cfg.conf:g}, IoU {cfg.iou:g} "
                f"on {info.backend} {info.device} {info.precision}>")

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Raw outputs for a ``(B, 3, H, W)`` tensor, in graph order."""
        dtype = np.dtype(self.session.model.input.dtype)
        return list(self.session.run(tensor.astype(dtype, copy=False)).values())

    def detect_arrays(self, image: np.ndarray | str | Path, config: DetectionConfig | None = None) -> Detections:
        """Boxes of one image as arrays (original pixels)."""
        tensor, box = prepare(image, self.spec)
        outputs = self.run(tensor)
        return postprocess([o[0] for o in outputs], self.spec, box, config)

    def detect(self, image: np.ndarray | str | Path, config: DetectionConfig | None = None) -> list[Detection]:
        """Boxes of one BGR image (or an image file's path) as :class:`Detection` objects, best first."""
        return self.detect_arrays(image, config).to_list(self.labels)

    def close(self) -> None:
        """Release the session."""
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
