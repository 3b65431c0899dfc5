"""The device runtime: open a bundle, check it, run images through it.

Needs only numpy, OpenCV and a backend runtime (onnxruntime, or openvino when
the bundle prefers it): no torch, no Qt, no server stack. The model is built
from the manifest, so not even ``onnx`` has to parse the file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgekit.deployment.bundle import Bundle
from edgekit.detection.detector import postprocess, prepare
from edgekit.detection.head import DetectorSpec
from edgekit.errors import BackendUnavailable, BundleError, InputMismatch, warn_caller
from edgekit.imagelimits import pixels_of
from edgekit.models.card import require_task
from edgekit.types import Task

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

    from edgekit.detection import Detection, DetectionConfig


@dataclass(frozen=True)
class Prediction:
    """One image's answer.

    Attributes:
        label: class name (the index as text when the bundle has no labels).
        index: class id.
        score: probability of that class (softmax of logits when the model gives logits).
        topk: ``((label, index, score), ...)`` best first.
        latency_ms: preprocessing + inference time; for a batch, the batch time / images.
        task: what kind of answer this is (a classification: top-k labels); a reader dispatches on it.
    """

    label: str
    index: int
    score: float
    topk: tuple[tuple[str, int, float], ...]
    latency_ms: float
    task: Task = Task.CLASSIFICATION

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"task": str(self.task), "label": self.label, "index": self.index, "score": self.score,
                "latency_ms": self.latency_ms,
                "topk": [{"label": lab, "index": i, "score": s} for lab, i, s in self.topk]}

    @classmethod
    def from_dict(cls, data: dict) -> Prediction:
        """Inverse of :meth:`to_dict`."""
        topk = tuple((t["label"], int(t["index"]), float(t["score"])) for t in data["topk"])
        return cls(data["label"], int(data["index"]), float(data["score"]), topk, float(data["latency_ms"]),
                   Task.parse(data.get("task", "classification"), "task"))


class Predictor:
    """A verified bundle compiled on the best backend it allows here.

    Example:
        >>> predictor = Predictor.open("digits.zip")        # doctest: +SKIP
        >>> predictor.predict(cv2.imread("seven.png")).label
        '7'
    """

    def __init__(self, bundle: Bundle, session: Any) -> None:
        if not isinstance(bundle, Bundle):
            raise TypeError(f"Predictor(bundle, session) takes an opened Bundle, not {type(bundle).__name__}; "
                            "use Predictor.open(path)")
        self.bundle, self.session = bundle, session
        self.manifest = bundle.manifest
        model = session.model  # not kept as .model: vision.adapt() then unwraps .session for batches
        self.preprocess = model.preprocess
        self.labels = model.labels
        self.input = model.input
        batch = model.input.shape[0] if model.input.shape else None
        self._max_batch = batch if isinstance(batch, int) and batch > 0 else None
        self.detector_spec = _detector_spec(bundle)  # None for a classifier

    @classmethod
    def open(cls, bundle: str | Path | Bundle, *, backend: str | None = None, device: str | None = None) -> Predictor:
        """Verify a bundle (every checksum, the schema) and compile it.

        Args:
            bundle: folder, ``.zip`` or an opened :class:`Bundle`.
            backend: force one backend (must be one the bundle allows).
            device: override the manifest's device.

        Raises:
            BundleError: tampered with, incomplete or from a newer schema.
            BackendUnavailable: none of the bundle's backends can run here (with each reason).
            TaskNotSupported: the bundle's task is not classification.
        """
        if not isinstance(bundle, (str, Path, Bundle)):
            raise TypeError(f"Predictor.open expects a bundle folder or .zip path (str or Path) or a Bundle, "
                            f"not {type(bundle).__name__}")
        opened = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
        # the one dispatch point of the device runtime: Prediction is a top-k answer
        require_task(opened.manifest.task, "the bundle Predictor", name=opened.manifest.name,
                     supported=(Task.CLASSIFICATION, Task.DETECTION))
        return cls(opened, _compile(opened, backend, device))

    @property
    def backend(self) -> str:
        """The backend actually running the model."""
        return self.session.info.backend

    def __repr__(self) -> str:
        """``<Predictor yolox_nano (detection) from yb on onnxruntime cpu fp32>``."""
        info = self.session.info
        return (f"<Predictor {self.manifest.name} ({self.manifest.task}) from {self.bundle.path.name} on "
                f"{info.backend} {info.device} {info.precision}>")

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Run preprocessed inputs; return the first output, split into the model's batch size."""
        if self._max_batch is None or len(inputs) <= self._max_batch:
            return np.asarray(self.session.predict(inputs))
        step = self._max_batch
        parts = [np.asarray(self.session.predict(inputs[i : i + step])) for i in range(0, len(inputs), step)]
        return np.concatenate(parts)

    def predict(self, image: np.ndarray | str | Path, k: int = 5) -> Prediction | list[Detection]:
        """Classify one BGR uint8 image (grayscale/BGRA accepted), or the image file a path names; a
        detection bundle answers its boxes (:meth:`detect`).

        Raises:
            InputMismatch: ``image`` is not an image array, or not a readable image file.
        """
        if self.detector_spec is not None:
            return self.detect(image)
        return self.predict_batch([image], k)[0]

    def detect(self, image: np.ndarray | str | Path, config: DetectionConfig | None = None) -> list[Detection]:
        """Boxes of one BGR image in its own pixels, best first (detection bundles only).

        Args:
            image: ``(H, W[, 3|4])`` uint8, or an image file's path.
            config: thresholds instead of the bundle's (``predictor.detector_spec.config.replace(conf=0.5)``).

        Raises:
            InputMismatch: not an image, or the bundle is a classifier.
        """
        if self.detector_spec is None:
            raise InputMismatch(f"bundle {self.bundle.path} is a {self.manifest.task} model; use predict()")
        tensor, box = prepare(_check_image(image), self.detector_spec)
        outputs = self.session.run(tensor.astype(np.dtype(self.input.dtype), copy=False))
        found = postprocess([o[0] for o in outputs.values()], self.detector_spec, box, config)
        return found.to_list(self.detector_spec.labels or self.labels)

    def predict_batch(self, images: list[np.ndarray], k: int = 5) -> list[Prediction] | list[list[Detection]]:
        """Classify several images in one run (split to the model's batch size when fixed); a detection
        bundle answers each image's boxes."""
        if self.detector_spec is not None:
            return [self.detect(image) for image in images]
        if isinstance(images, np.ndarray) and images.ndim in (2, 3) and images.dtype != object:
            raise TypeError("predict_batch expects a list of images; for one image call predict(image)")
        if not len(images):
            return []
        images = [_check_image(image) for image in images]
        start = time.perf_counter()
        try:
            batch = self.preprocess.batch(list(images))
        except (ValueError, AttributeError) as exc:
            raise InputMismatch(f"predict expects images as numpy arrays (H, W[, 3|4]); {exc}") from exc
        outputs = self.run(batch.astype(np.dtype(self.input.dtype), copy=False))
        each_ms = (time.perf_counter() - start) * 1e3 / len(images)
        return [self._prediction(row, k, each_ms) for row in outputs.reshape(len(images), -1)]

    def scores(self, outputs: np.ndarray) -> np.ndarray:
        """Outputs -> probabilities (softmax unless the bundle says they already are)."""
        rows = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
        if self.manifest.output_kind == "probabilities":
            return rows
        shifted = np.exp(rows - rows.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def label_of(self, index: int) -> str:
        """Class name of ``index``."""
        return self.labels[index] if self.labels and 0 <= index < len(self.labels) else str(index)

    def _prediction(self, row: np.ndarray, k: int, latency_ms: float) -> Prediction:
        probs = self.scores(row[None])[0]
        order = np.argsort(-probs, kind="stable")[: max(1, k)]
        topk = tuple((self.label_of(int(i)), int(i), float(probs[i])) for i in order)
        return Prediction(topk[0][0], topk[0][1], topk[0][2], topk, latency_ms)

    def close(self) -> None:
        """Release the session and a zip's extraction."""
        self.session.close()
        self.bundle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _detector_spec(bundle: Bundle) -> DetectorSpec | None:
    """The manifest's decoder settings for a detection bundle (``None`` for a classifier)."""
    m = bundle.manifest
    if m.task != Task.DETECTION:
        return None
    try:
        return DetectorSpec.from_dict(m.detection or {})
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"bundle {bundle.path}: manifest field `detection` is missing or invalid ({exc}); "
                          "re-create the bundle with edgekit deploy", path=bundle.path) from exc


def _check_image(image: Any) -> np.ndarray:
    """``image``, or the pixels of the image file it names; a clear error for what would otherwise fail
    deep inside OpenCV (None, a 0x0 array)."""
    image = pixels_of(image)
    if not isinstance(image, np.ndarray):
        raise TypeError(f"predict expects an image as a numpy array (H, W[, 3|4]) or an image file's path, not "
                        f"{type(image).__name__}")
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0 or (
            image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise InputMismatch(f"predict expects images of shape (H, W[, 1|3|4]) with H, W > 0, not {image.shape}")
    return image


def _compile(bundle: Bundle, backend: str | None, device: str | None) -> Any:
    """Try the bundle's backends in order; warn when a fallback is used."""
    from edgekit.backends.registry import compile_session, get_backend
    from edgekit.deployment.manifest_schema import resolve_options

    m = bundle.manifest
    entries = [e for e in m.backends if backend is None or e["backend"] == backend]
    if not entries:
        allowed = ", ".join(e["backend"] for e in m.backends)
        raise BackendUnavailable(f"bundle {bundle.path} allows backends {allowed}, not {backend!r}")
    model, reasons = bundle.model(), []
    for entry in entries:
        name = entry["backend"]
        options = resolve_options(m.runtime.get("options"), bundle.root) if name == m.backend else None
        try:
            ok, reason = get_backend(name).available()
            if not ok:
                raise BackendUnavailable(reason)
            session = compile_session(model, name, device or m.device, entry["precision"], options)
        except BackendUnavailable as exc:
            reasons.append(f"{name}: {exc}")
            continue
        if reasons:
            warn_caller(f"bundle prefers {m.backend}, which cannot run here ({'; '.join(reasons)}); "
                        f"using {name}, which the bundle allows")
        return session
    raise BackendUnavailable(f"no backend this bundle allows can run here: {'; '.join(reasons)}")
