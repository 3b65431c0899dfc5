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
IMAGE_INPUT = "image"  # v2 image input: BYTES [N] of JPEG/PNG files -> a classifier's outputs + labels, or boxes
LABELS_OUTPUT = "labels"  # BYTES class names: one per detection (detector), the top-1 per image (classifier)
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
        self.image_inputs, self.image_outputs = image_meta(self.predictor)
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
        image = wants_image(inputs, self.inputs)
        for name, array in inputs.items():
            count = array.shape[0] if array.ndim and not (image and array.dtype == np.uint8) else 1
            if count > MAX_BATCH:
                raise InputMismatch(f"input {name!r} holds a batch of {count}, over the limit of {MAX_BATCH}; "
                                    "split it into smaller requests")
        if image:  # encoded images: decoded and preprocessed here, answered as tensors (+ labels)
            with self._lock:
                raw = image_outputs(self.predictor, inputs[IMAGE_INPUT])
            if self.task == DETECTION:
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
            if out.classification and array.dtype == object:
                raise InputMismatch(f"output {out.name!r} holds class names already; ask it without 'classification'")
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


def image_meta(predictor: Predictor) -> tuple[tuple[TensorMeta, ...], tuple[TensorMeta, ...]]:
    """The ``image`` input and what it answers, as v2 metadata lists them beside the model's own tensors:
    a detector's ``boxes``/``scores``/``classes``/``labels``, a classifier's ``labels`` (its other outputs
    are the model's own)."""
    inputs = (TensorMeta(IMAGE_INPUT, "BYTES", (-1,)),)
    if predictor.detector_spec is not None:
        return inputs, (TensorMeta("boxes", "FP32", (-1, 4)), TensorMeta("scores", "FP32", (-1,)),
                        TensorMeta("classes", "INT32", (-1,)), TensorMeta(LABELS_OUTPUT, "BYTES", (-1,)))
    return inputs, (TensorMeta(LABELS_OUTPUT, "BYTES", (-1,)),)


def wants_image(inputs: dict[str, np.ndarray], model_inputs: Sequence) -> bool:
    """Whether a request is the ``image`` input alone (and the model has no input of that name itself).

    Raises:
        InputMismatch: ``image`` sent beside other inputs, or a BYTES tensor anywhere else.
    """
    own = {t.name for t in model_inputs}
    if IMAGE_INPUT in inputs and IMAGE_INPUT not in own:
        if len(inputs) > 1:
            raise InputMismatch(f"input {IMAGE_INPUT!r} comes alone; send either the image or the model's own "
                                f"inputs {sorted(own)}")
        return True
    for name, array in inputs.items():
        if array.dtype == object:
            raise InputMismatch(f"input {name!r} is BYTES; only the {IMAGE_INPUT!r} input takes BYTES "
                                f"(JPEG/PNG files), the model's own inputs {sorted(own)} take numbers")
    return False


def image_outputs(predictor: Predictor, tensor: np.ndarray) -> dict[str, np.ndarray]:
    """Answer a v2 ``image`` tensor (see :func:`encoded_images`) with what the bundle's task gives.

    A detector takes one image and answers :func:`detection_tensors`; a classifier takes N, preprocessed
    with the model card as ``Predictor.predict`` does, and answers its raw outputs ([N, ...] each) plus
    ``labels`` [N] BYTES, the top-1 class name of each image.

    Raises:
        InputMismatch: not JPEG/PNG (nor base64 of one), too many pixels, undecodable, or N != 1 for a detector.
    """
    files = encoded_images(tensor)
    if predictor.detector_spec is not None:
        if len(files) != 1:
            raise InputMismatch(f"input {IMAGE_INPUT!r} of a detection model takes one image per request, got "
                                f"{len(files)}; the boxes of several images have no common tensor shape")
        return detection_tensors(predictor.detect(_decode(files[0], 0)))
    if not 1 <= len(files) <= MAX_BATCH:
        raise InputMismatch(f"input {IMAGE_INPUT!r} holds {len(files)} images; send between 1 and {MAX_BATCH} "
                            "per request")
    # one decoded image in memory at a time: 64 small PNGs may each declare tens of megapixels
    batch = np.concatenate([predictor.preprocess.batch([_decode(f, i)]) for i, f in enumerate(files)])
    batch = batch.astype(np.dtype(predictor.input.dtype), copy=False)
    fixed = predictor.input.shape[0] if predictor.input.shape else None
    step = fixed if isinstance(fixed, int) and fixed > 0 else len(batch)  # a fixed batch: chunks of that size
    parts = [predictor.session.run(batch[i : i + step]) for i in range(0, len(batch), step)]
    raw = {name: np.concatenate([np.asarray(p[name]) for p in parts]) for name in parts[0]}
    if LABELS_OUTPUT not in raw:
        top = predictor.scores(next(iter(raw.values())).reshape(len(files), -1)).argmax(axis=1)
        raw[LABELS_OUTPUT] = np.asarray([predictor.label_of(int(i)).encode() for i in top], dtype=object)
    return raw


def encoded_images(tensor: np.ndarray) -> list[bytes]:
    """The files of a v2 ``image`` tensor: BYTES [N], each element a JPEG/PNG's bytes (binary tensors,
    gRPC) or their base64 text (JSON, where BYTES elements are strings: KServe's REST re-encodes every
    BYTES element as UTF-8 text, so raw image bytes cannot pass there); or one file as a UINT8 vector
    (Triton's python stub mis-reads BYTES inputs under numpy 2).

    Raises:
        InputMismatch: another datatype, or an element that is neither an image nor base64.
    """
    import base64
    import binascii

    if isinstance(tensor, np.ndarray) and tensor.dtype == np.uint8 and tensor.ndim == 1:  # Triton: one file
        return [tensor.tobytes()]
    flat = np.asarray(tensor).reshape(-1)
    if flat.dtype.kind not in "OSU" or not all(isinstance(v, (bytes, bytearray, np.bytes_, str)) for v in flat):
        raise InputMismatch(f"input {IMAGE_INPUT!r} must be BYTES, shape [N], each element a JPEG/PNG file "
                            f"(base64 text in JSON), not {flat.dtype} values")
    files = []
    for i, item in enumerate(flat):
        value = item.encode() if isinstance(item, str) else bytes(item)
        if not value.startswith((b"\x89PNG", b"\xff\xd8")):
            try:
                value = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InputMismatch(f"input {IMAGE_INPUT!r} element {i} is neither a JPEG/PNG file nor base64 "
                                    "text of one; base64-encode the file's bytes") from exc
        files.append(value)
    return files


def _decode(data: bytes, index: int) -> np.ndarray:
    """One encoded image as BGR pixels, refused by its header's size first (see :mod:`edgekit.serve.images`)."""
    from edgekit.serve.images import decode
    from edgekit.serve.protocol import RequestError

    try:
        return decode(data)
    except RequestError as exc:
        reason = exc.message.replace("body is not", "it is not", 1)  # images.py speaks of a request body
        raise InputMismatch(f"input {IMAGE_INPUT!r} element {index}: {reason}") from exc
