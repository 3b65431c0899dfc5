"""One bundle behind any serving engine: what KServe's predictor and Triton's python backend share.

Why a separate adapter: the engines differ in how tensors arrive (KServe's ``InferRequest``,
Triton's ``pb_utils.Tensor``, our own codec), not in what is done with them. Each engine turns
its tensors into numpy, calls :class:`BundleModel`, and turns the answer back; none of them
holds inference logic of its own, and all of them refuse the same inputs with the same words.

Only numpy, OpenCV and the bundle's backend are needed here, so the same file runs inside a
Triton python-backend stub, a KServe container and on the device.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.deployment.predictor import Predictor
from edgekit.errors import InputMismatch
from edgekit.serve.protocol import classification, datatype_of

CLASSIFICATION = "classification"
DETECTION = "detection"
IMAGE_INPUT = "image"  # a detection bundle's v2 image input: one BYTES element (JPEG/PNG) -> boxes/scores/classes/labels
MAX_BATCH = 64  # images per request: bounds memory per request in engines that set no body limit (KServe)


@dataclass(frozen=True)
class TensorMeta:
    """A tensor as the Open Inference Protocol describes it (``-1`` for a dynamic dim)."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    @classmethod
    def of(cls, spec) -> TensorMeta:
        """From a :class:`edgekit.models.TensorSpec`."""
        dims = tuple(d if isinstance(d, int) and d > 0 else -1 for d in spec.shape)
        return cls(spec.name, datatype_of(spec.dtype), dims)

    def to_dict(self) -> dict:
        """``{"name", "datatype", "shape"}`` as v2 metadata lists it."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class OutputWanted:
    """One requested output; ``classification`` > 0 asks for the top-k ``"score:index:label"`` strings."""

    name: str
    classification: int = 0


class BundleModel:
    """A verified bundle and the v2 view of it (inputs, outputs, infer, classify an image).

    Args:
        bundle: bundle folder or zip; every checksum is verified before the model loads.
        backend: force one of the bundle's allowed backends.

    Raises:
        BundleError: the bundle fails verification (the same sentence in every engine).
        BackendUnavailable: none of the bundle's backends runs here.
    """

    def __init__(self, bundle: str | Path, *, backend: str | None = None) -> None:
        self.path, self.backend_wanted = Path(bundle), backend
        self.predictor = Predictor.open(bundle, backend=backend)
        self.manifest = self.predictor.manifest
        self.name = self.manifest.serve_name
        self.task = str(getattr(self.manifest, "task", None) or CLASSIFICATION)
        model = self.predictor.session.model
        self.inputs = tuple(TensorMeta.of(s) for s in model.inputs)
        self.outputs = tuple(TensorMeta.of(s) for s in model.outputs)
        self._lock = threading.Lock()  # an OpenVINO infer request is not reentrant; ORT would not need it

    @property
    def backend(self) -> str:
        """The backend running the model."""
        return self.predictor.backend

    def infer(self, inputs: dict[str, np.ndarray], wanted: Sequence[OutputWanted] = ()) -> dict[str, np.ndarray]:
        """Run v2 input tensors; return the wanted outputs (all when none are named).

        NaN inside a binary tensor is the caller's business and runs, as in ``edgekit serve`` (a JSON
        body with a NaN literal is not JSON and is refused by each engine's parser before this).

        Raises:
            InputMismatch: unknown/missing input, wrong shape or dtype, a batch over
                ``MAX_BATCH``, unknown output.
        """
        image = self.task == DETECTION and set(inputs) == {IMAGE_INPUT} and IMAGE_INPUT not in {t.name for t in self.inputs}
        for name, array in inputs.items():
            if not image and array.ndim and array.shape[0] > MAX_BATCH:
                raise InputMismatch(f"input {name!r} holds a batch of {array.shape[0]}, over the limit of {MAX_BATCH}; "
                                    "split it into smaller requests")
        if image:  # a detector's encoded image: the boxes as tensors
            raw = self.detect_tensors(_one_image(inputs[IMAGE_INPUT]))
            wanted = tuple(w for w in wanted if not w.classification)
        else:
            with self._lock:
                raw = self.predictor.session.run(inputs)
        wanted = tuple(wanted) or tuple(OutputWanted(n) for n in raw)
        result = {}
        for out in wanted:
            if out.name not in raw:
                raise InputMismatch(f"unknown output {out.name!r}; this model has {sorted(raw)}")
            array = np.asarray(raw[out.name])
            if out.classification:
                array = classification(array, out.classification, self.predictor.labels)
            result[out.name] = array
        return result

    def classify(self, image_bytes: bytes, k: int = 5) -> dict:
        """The image convenience path: JPEG/PNG bytes -> ``Prediction.to_dict()``.

        Raises:
            InputMismatch: not a JPEG/PNG, too many pixels, undecodable, or a task this path cannot answer.
        """
        from edgekit.serve.images import decode
        from edgekit.serve.protocol import RequestError

        if self.task == DETECTION:  # the image path of a detector answers its boxes, as edgekit serve's /detect
            return self.detect(image_bytes)
        if self.task != CLASSIFICATION:
            raise InputMismatch(f"bundle {self.path} is a {self.task} model; the image path answers classification "
                                "and detection only, send tensors to /infer instead")
        try:
            image = decode(image_bytes)
        except RequestError as exc:
            raise InputMismatch(exc.message) from exc
        with self._lock:
            return self.predictor.predict(image, k=k).to_dict()

    def detect(self, image_bytes: bytes, conf: float | None = None) -> dict:
        """JPEG/PNG bytes -> ``{"task": "detection", "detections": [Detection.to_dict(), ...]}``, the answer of
        ``edgekit serve``'s ``/detect`` (boxes xyxy in the image's own pixels, best first).

        Raises:
            InputMismatch: a classification bundle, ``conf`` outside 0..1, or not a decodable JPEG/PNG.
        """
        found = self.detections(image_bytes, conf)
        return {"task": DETECTION, "detections": [d.to_dict() for d in found]}

    def detect_tensors(self, image_bytes: bytes, conf: float | None = None) -> dict[str, np.ndarray]:
        """The boxes as v2 tensors: ``boxes`` [N, 4] FP32 (xyxy pixels), ``scores`` [N] FP32,
        ``classes`` [N] INT32 and ``labels`` [N] BYTES; N = 0 gives empty tensors of those shapes."""
        return detection_tensors(self.detections(image_bytes, conf))

    def detections(self, image_bytes: bytes, conf: float | None = None) -> list:
        """The :class:`edgekit.detection.Detection` list of one encoded image (see :meth:`detect`)."""
        from edgekit.serve.images import decode
        from edgekit.serve.protocol import RequestError

        spec = self.predictor.detector_spec
        if spec is None:
            raise InputMismatch(f"bundle {self.path} is a {self.task} model; send the image to the classification "
                                "path instead")
        if conf is not None and not 0.0 <= float(conf) <= 1.0:
            raise InputMismatch(f"conf must be between 0 and 1, got {conf}")
        try:
            image = decode(image_bytes)
        except RequestError as exc:
            raise InputMismatch(exc.message) from exc
        config = None if conf is None else spec.config.replace(conf=float(conf))
        with self._lock:
            return self.predictor.detect(image, config)

    def close(self) -> None:
        """Release the session and a zip's extraction."""
        self.predictor.close()


def detection_tensors(found: Sequence) -> dict[str, np.ndarray]:
    """Detections as the v2 tensors every engine answers: boxes [N,4] FP32, scores [N] FP32,
    classes [N] INT32, labels [N] BYTES (object array of bytes, as the v2 codecs expect)."""
    return {
        "boxes": np.asarray([d.box for d in found], np.float32).reshape(-1, 4),
        "scores": np.asarray([d.score for d in found], np.float32).reshape(-1),
        "classes": np.asarray([d.class_id for d in found], np.int32).reshape(-1),
        "labels": np.asarray([str(d.label).encode() for d in found], dtype=object).reshape(-1),
    }


def _one_image(tensor: np.ndarray) -> bytes:
    """The encoded image of a v2 ``image`` tensor: one BYTES element holding the JPEG/PNG bytes (binary
    tensors, gRPC) or their base64 text (JSON: KServe's REST re-encodes every BYTES element as UTF-8
    text, so raw image bytes cannot pass there), or a UINT8 vector of the file (Triton's python stub
    mis-reads BYTES inputs under numpy 2)."""
    import base64
    import binascii

    if isinstance(tensor, np.ndarray) and tensor.dtype == np.uint8:  # Triton: the file as a UINT8 vector
        return tensor.tobytes()
    flat = np.asarray(tensor, dtype=object).reshape(-1)
    if flat.size != 1 or not isinstance(flat[0], (bytes, bytearray, np.bytes_, str)):
        raise InputMismatch(f"input {IMAGE_INPUT!r} must be one BYTES element holding a JPEG/PNG (or its base64), "
                            f"got {flat.size} element(s)")
    value = flat[0].encode() if isinstance(flat[0], str) else bytes(flat[0])
    if value.startswith((b"\x89PNG", b"\xff\xd8")):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value  # not base64 either: the decoder names what is wrong with it
