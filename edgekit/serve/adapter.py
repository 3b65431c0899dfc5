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

        Raises:
            InputMismatch: unknown/missing input, wrong shape or dtype, NaN or infinity, a batch over
                ``MAX_BATCH``, unknown output.
        """
        for name, array in inputs.items():
            if array.ndim and array.shape[0] > MAX_BATCH:
                raise InputMismatch(f"input {name!r} holds a batch of {array.shape[0]}, over the limit of {MAX_BATCH}; "
                                    "split it into smaller requests")
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise InputMismatch(f"input {name!r} holds NaN or infinite values; send finite numbers")
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

        if self.task != CLASSIFICATION:  # dispatch point: detection answers boxes once edgekit.detection lands
            raise InputMismatch(f"bundle {self.path} is a {self.task} model; the image path answers classification "
                                "only, send tensors to /infer instead")
        try:
            image = decode(image_bytes)
        except RequestError as exc:
            raise InputMismatch(exc.message) from exc
        with self._lock:
            return self.predictor.predict(image, k=k).to_dict()

    def close(self) -> None:
        """Release the session and a zip's extraction."""
        self.predictor.close()
