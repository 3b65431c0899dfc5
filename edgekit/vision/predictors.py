"""Make anything that predicts look the same to the pipeline.

The pipeline needs four things from a predictor: how to turn an image into
an input (``Preprocess``), how to run it, the class names, and what it runs
on (for the badge). A backends :class:`~edgekit.backends.base.Session` has
them as ``.model.preprocess``, ``.predict``, ``.model.labels`` and ``.info``;
a deployment bundle's ``Predictor`` wraps such a session (``.session``) or
exposes ``preprocess``/``labels``/``predict`` itself. :func:`adapt` accepts
all three shapes. A detector (a session whose model is one, or a detection
bundle) becomes a :class:`DetectionPipelinePredictor`: its ``scores`` are the raw
outputs and ``decode`` (run on the render thread) turns them into boxes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from edgekit.detection.detector import postprocess, prepare
from edgekit.detection.head import DetectorSpec, detector_spec, model_task
from edgekit.detection.letterboxing import fit
from edgekit.detection.track import IoUTracker
from edgekit.detection.types import Detection
from edgekit.errors import ConfigError, InputMismatch, warn_caller
from edgekit.models.card import require_task
from edgekit.models.model import Model
from edgekit.models.preprocess import Preprocess
from edgekit.types import Task
from edgekit.vision._blob import BlobWriter
from edgekit.vision._mailbox import Gate


class PipelinePredictor:
    """A predictor as the pipeline sees it.

    Attributes:
        target: the wrapped object (a ``Session`` or bundle ``Predictor``).
        preprocess: image -> input.
        labels: class names (index = class id).
        name, backend, device, precision: for the badge and readouts.
        task: what the scores mean; the readouts and overlays are those of a classifier.
        workers: concurrent calls the target was compiled to serve (``SessionInfo.workers``);
            more calls than that wait at ``gate``.
    """

    def __init__(self, target: Any, preprocess: Preprocess, labels: tuple[str, ...], *, name: str = "",
                 backend: str = "", device: str = "", precision: str = "",
                 task: Task = Task.CLASSIFICATION, workers: int = 1) -> None:
        self.target = target
        self.preprocess = preprocess
        self.labels = labels
        self.name, self.backend, self.device, self.precision = name, backend, device, precision
        self.task = task
        self.workers = max(1, int(workers))
        self.gate = Gate(self.workers)
        self._writer: BlobWriter | None = None

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """Image (any of BGR/gray/BGRA, any size) -> a batch of one."""
        return self.preprocess.batch([image])

    def prepare_pooled(self, image: np.ndarray) -> np.ndarray:
        """:meth:`prepare` into a reused blob (the same numbers); hand it back with :meth:`release`
        once inference is done with it. Why: the pipeline prepares every frame, and a fresh blob,
        resized image and canvas per frame cost more than the arithmetic."""
        if type(self).prepare not in (PipelinePredictor.prepare, DetectionPipelinePredictor.prepare):
            return self.prepare(image)  # a subclass prepares its own way
        writer = self._writer
        if writer is None or writer.pre is not self.preprocess:
            writer = self._writer = self._make_writer()
        return writer.write(image)

    def release(self, blob: np.ndarray | None) -> None:
        """Give back a blob from :meth:`prepare_pooled` (anything else is ignored)."""
        if self._writer is not None:
            self._writer.pool.release(blob)

    def _make_writer(self) -> BlobWriter:
        return BlobWriter(self.preprocess)

    def scores(self, batch: np.ndarray) -> np.ndarray:
        """Run a batch of one; return the class scores as a 1-D float array."""
        out = np.asarray(self.target.predict(batch))
        return out.reshape(out.shape[0], -1)[0] if out.ndim > 1 else out.reshape(-1)

    def label(self, index: int) -> str:
        """Name of class ``index`` (its number when the model has no labels)."""
        return self.labels[index] if 0 <= index < len(self.labels) else str(index)


def adapt(obj: Any, name: str | None = None) -> PipelinePredictor:
    """Wrap a ``Session``, a bundle ``Predictor`` or a duck-typed object.

    Raises:
        InputMismatch: ``obj`` has no ``predict`` or no way to preprocess images.
        TaskNotSupported: the model's task is not classification (the pipeline's
            readouts, running accuracy and overlay are top-1 labels).
    """
    if isinstance(obj, PipelinePredictor):
        return obj
    detector = detection_predictor(obj, name)  # a detector's session or bundle: boxes, not top-k
    if detector is not None:
        return detector
    inner = getattr(obj, "session", None)
    if inner is not None and hasattr(inner, "model") and not hasattr(obj, "model"):
        return adapt(inner, name)
    if not callable(getattr(obj, "predict", None)):
        if isinstance(obj, Model):  # what a script has in hand after load_model
            raise InputMismatch(f"model {obj.name} is loaded, not compiled: pass edgekit.compile_session(model) "
                                "(or a bundle's edgekit.Predictor.open(path)) to the live pipeline")
        raise InputMismatch(f"{type(obj).__name__} cannot be used as a predictor: it has no predict(batch) method")
    model = getattr(obj, "model", None)
    title = str(getattr(model, "name", "") or getattr(obj, "name", "") or type(obj).__name__)
    task = require_task(getattr(model, "task", None) or getattr(getattr(obj, "manifest", None), "task", None),
                        "the live pipeline", name=title)
    pre = getattr(model, "preprocess", None) or getattr(obj, "preprocess", None)
    if pre is None:
        pre = _default_preprocess(model)
        if pre is not None:  # `edgekit demo` refuses such a model; a script is told what it gets
            warn_caller(f"{title}: nothing says how to turn an image into its input (no card, no metadata); the "
                        f"live pipeline feeds it {pre.channel_order} pixels x 1/255, stretched to "
                        f"{pre.size[1]}x{pre.size[0]}, with no mean/std. If its classes look wrong, load it with "
                        "edgekit.load_model(path, preprocess=Preprocess(...)) or write a card once with "
                        "`edgekit card MODEL ... --save`")
    if pre is None:
        raise InputMismatch(
            f"{type(obj).__name__} has no preprocessing and no image-shaped input; "
            "load the model with load_model(..., preprocess=Preprocess(size=(h, w)))"
        )
    labels = getattr(model, "labels", None) or getattr(obj, "labels", None)
    if not labels:
        labels = tuple(str(i) for i in range(getattr(model, "num_classes", None) or 0))
    info = getattr(obj, "info", None)
    return PipelinePredictor(
        obj, pre, tuple(str(x) for x in labels),
        name=name or title, task=task,
        backend=str(getattr(info, "backend", "") or getattr(obj, "backend", "")),
        device=str(getattr(info, "device", "") or getattr(obj, "device", "")),
        precision=str(getattr(info, "precision", "") or getattr(obj, "precision", "")),
        workers=getattr(info, "workers", 1) or 1,
    )


def _default_preprocess(model: Any) -> Preprocess | None:
    """An image-shaped first input (N, C, H, W) or (N, H, W, C) gives a plain [0, 1] RGB preprocess."""
    spec = getattr(model, "input", None) if model is not None else None
    shape = getattr(spec, "shape", ())
    if len(shape) != 4:
        return None
    nhwc = getattr(spec, "layout", "") == "NHWC" or (shape[3] in (1, 3) and shape[1] not in (1, 3))
    c, h, w = (shape[3], shape[1], shape[2]) if nhwc else (shape[1], shape[2], shape[3])
    if not all(isinstance(d, int) and d > 0 for d in (h, w)):
        return None
    return Preprocess(size=(h, w), channel_order="GRAY" if c == 1 else "RGB", layout="NHWC" if nhwc else "NCHW")


def to_probabilities(scores: np.ndarray) -> np.ndarray:
    """Softmax, unless the scores already are probabilities (float64, the shape of ``scores``).

    A few scores (digits: 10) are worked in Python floats: numpy's per-call overhead on
    ten numbers cost 18 us a frame in the live loop, three times the arithmetic."""
    if 0 < scores.size <= _FEW:
        values = scores.reshape(-1).tolist()
        if min(values) >= 0.0 and abs(sum(values) - 1.0) < 1e-3:
            return np.array(values).reshape(scores.shape)
        top = max(values)
        exps = [math.exp(v - top) for v in values]
        total = sum(exps)
        return np.array([e / total for e in exps]).reshape(scores.shape)
    scores = scores.astype(np.float64, copy=False)
    if scores.size and scores.min() >= 0.0 and abs(float(scores.sum()) - 1.0) < 1e-3:
        return scores
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


class DetectionPipelinePredictor(PipelinePredictor):
    """A detector as the pipeline sees it: ``prepare`` letterboxes, ``scores`` returns the raw
    outputs, ``decode`` turns them into boxes in frame pixels.

    Attributes:
        spec: decoder, input size, pixel format, class names.
        config: thresholds in force (change them live: ``predictor.config = spec.config.replace(conf=0.5)``).
        classes: class ids to keep (``None``: all), a class filter for the viewer.
        tracker: an :class:`~edgekit.detection.track.IoUTracker` giving boxes ids across frames and
            holding a box that drops out briefly, so counts do not flicker (``None``: off).
    """

    def __init__(self, target: Any, spec: DetectorSpec, **info: Any) -> None:
        labels = spec.labels or ()
        pre = Preprocess(size=spec.size, scale=spec.scale, channel_order="RGB" if spec.rgb else "BGR",
                         resize="letterbox")
        super().__init__(target, pre, tuple(labels), task=Task.DETECTION, **info)
        self.spec, self.config = spec, spec.config
        self.classes: set[int] | None = None
        self.tracker: IoUTracker | None = None
        self._dtype = np.dtype(getattr(getattr(getattr(target, "model", None), "input", None), "dtype", "float32"))

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """Frame -> letterboxed ``(1, 3, H, W)`` tensor."""
        return prepare(image, self.spec)[0].astype(self._dtype, copy=False)

    def _make_writer(self) -> BlobWriter:
        return BlobWriter(self.preprocess, letterbox=(self.spec.config.pad, self.spec.config.pad_value),
                          dtype=self._dtype)

    def scores(self, batch: np.ndarray) -> list[np.ndarray]:
        """Raw outputs of the first image, in graph order (decoded later by :meth:`decode`)."""
        return [np.asarray(o)[0] for o in self.target.run(batch).values()]

    def decode(self, outputs: list[np.ndarray], shape: tuple[int, ...]) -> tuple[Detection, ...]:
        """Boxes in the pixels of a frame of ``shape``, after the class filter."""
        box = fit(shape[:2], self.spec.size, pad=self.spec.config.pad)
        found = postprocess(outputs, self.spec, box, self.config).to_list(self.labels)
        if self.classes is not None:
            found = [d for d in found if d.class_id in self.classes]
        return tuple(found) if self.tracker is None else self.tracker.update(found)

    def show(self, conf: float | None = None, classes: Iterable[str] | None = None, strict: bool = True) -> None:
        """What the viewer sees from the next frame on: boxes scoring at least ``conf`` (``None``: the
        card's threshold) of the named ``classes`` (``None``: all). Two plain assignments, so another
        thread (the GUI's) may call it while the pipeline runs.

        Raises:
            ConfigError: a name that is not one of the model's classes (unless ``strict`` is false,
                as for an A/B reference with other classes: unknown names are then left out).
        """
        ids = None if classes is None else class_ids(self.labels, classes, self.name, strict)
        self.config = self.config.replace(conf=self.spec.config.conf if conf is None else float(conf))
        self.classes = ids

    @property
    def shown_classes(self) -> tuple[str, ...] | None:
        """Names of the classes the filter keeps (``None``: all)."""
        ids = self.classes
        return None if ids is None else tuple(self.label(i) for i in sorted(ids))


def class_ids(labels: tuple[str, ...], names: Iterable[str], model: str = "the model",
              strict: bool = True) -> set[int]:
    """Indices of class ``names`` among ``labels``.

    Raises:
        ConfigError: (``strict``) a name the model does not know, listing a few it does.
    """
    index, names = {name: i for i, name in enumerate(labels)}, tuple(names)
    unknown = [n for n in names if n not in index]
    if unknown and strict:
        some = ", ".join(labels[:8]) + (f", ... ({len(labels)} in all)" if len(labels) > 8 else "")
        raise ConfigError(f"classes (--classes): {model} has no class {unknown[0]!r}; choose from its classes, "
                          f"e.g. {some}")
    return {index[n] for n in names if n in index}


def detection_predictor(obj: Any, name: str | None = None) -> DetectionPipelinePredictor | None:
    """A :class:`DetectionPipelinePredictor` for a detector ``Session`` or detection bundle
    ``Predictor``; ``None`` when ``obj`` is not a detector."""
    spec = getattr(obj, "detector_spec", None)  # a bundle Predictor: the manifest's settings
    session = getattr(obj, "session", None) if spec is not None else obj
    model = getattr(session, "model", None)
    if spec is None and model is not None and hasattr(model, "outputs") and model_task(model) == Task.DETECTION:
        spec = detector_spec(model)
    if spec is None or session is None or not callable(getattr(session, "run", None)):
        return None
    info = getattr(session, "info", None)
    return DetectionPipelinePredictor(
        session, spec, name=name or str(getattr(model, "name", "") or type(obj).__name__),
        backend=str(getattr(info, "backend", "")), device=str(getattr(info, "device", "")),
        precision=str(getattr(info, "precision", "")), workers=getattr(info, "workers", 1) or 1)


_FEW = 64  # scores up to which to_probabilities works in Python floats
