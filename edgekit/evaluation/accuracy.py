"""Accuracy of a model on a labelled dataset, through any backend.

The model's own :class:`~edgekit.models.preprocess.Preprocess` turns each
image into an input, a :class:`~edgekit.backends.base.Session` runs it, and
:func:`~edgekit.evaluation.metrics.compute_metrics` scores the top-1
predictions (and top-k from the logits).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.backends import Session, compile_session
from edgekit.backends.registry import format_backend
from edgekit.data.datasets import UnreadableImage
from edgekit.data.sampling import check_classes
from edgekit.errors import DataError
from edgekit.evaluation.metrics import Metrics, compute_metrics, json_ready
from edgekit.models import load_model
from edgekit.models.card import require_task
from edgekit.progress import Progress, emit
from edgekit.types import Task


@dataclass(frozen=True)
class EvalResult:
    """What :func:`evaluate` measured.

    Attributes:
        model: the model's name.
        backend, device, precision: where it ran.
        metrics: accuracy, P/R/F1, confusion matrix, top-k.
        labels: true class per evaluated image; ``predictions`` the model's top-1.
        scores: ``(n, n_classes)`` raw model outputs (not serialised).
        seconds: wall time of the whole evaluation (preprocessing included).
        skipped: images that could not be decoded when read (corrupt or cut short), left out.
        task: what was scored (classification: top-1/top-k against class labels).
        notes: what the runtime said about how it ran (its session's notes): a setting chosen for this
            CPU, or a caveat on the accuracy itself (OpenVINO INT8 on a CPU whose products saturate).
        caveats: those of the notes that bear on the accuracy itself (``SessionInfo.caveats``): the
            planner quotes them when it rejects a candidate for its accuracy.
    """

    model: str
    backend: str
    device: str
    precision: str
    metrics: Metrics
    # per image: left out of the repr, which a script prints (500 photos made it 3 MB with the metrics')
    labels: tuple[int, ...] = field(repr=False)
    predictions: tuple[int, ...] = field(repr=False)
    seconds: float
    scores: np.ndarray | None = field(default=None, compare=False, repr=False)
    skipped: int = 0
    task: Task = Task.CLASSIFICATION
    notes: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready dict (without the raw scores)."""
        return json_ready(
            {
                "model": self.model,
                "backend": self.backend,
                "device": self.device,
                "precision": self.precision,
                "metrics": self.metrics.to_dict(),
                "labels": list(self.labels),
                "predictions": list(self.predictions),
                "seconds": self.seconds,
                "skipped": self.skipped,
                "task": str(self.task),
                "notes": list(self.notes),
                "caveats": list(self.caveats),
            }
        )

    @classmethod
    def from_dict(cls, data: dict) -> EvalResult:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["metrics"] = Metrics.from_dict(data["metrics"])
        data["labels"], data["predictions"] = tuple(data["labels"]), tuple(data["predictions"])
        data["task"] = Task.parse(data.get("task", "classification"), "task")
        data["notes"], data["caveats"] = tuple(data.get("notes", ())), tuple(data.get("caveats", ()))
        return cls(**data)


def _session_for(model_or_session: Any, backend: str, device: str, precision: str):
    """Return ``(session, owned)``: compile a Model / path / name, or use a Session as is."""
    if isinstance(model_or_session, Session):
        return model_or_session, False
    model = model_or_session
    if isinstance(model, str | Path):
        model = load_model(model)
    if backend == "auto":
        backend = format_backend(model.format, device, precision)
    return compile_session(model, backend, device=device, precision=precision), True


def evaluate(
    model_or_session: Any,
    dataset: Any,
    backend: str = "auto",
    *,
    device: str = "cpu",
    precision: str = "fp32",
    batch_size: int = 32,
    limit: int | None = None,
    progress: Progress | None = None,
) -> EvalResult:
    """Run a model over a labelled dataset and compute its metrics.

    Args:
        model_or_session: a ``Model``, a model path/name (``"demo:digits"``) or a compiled ``Session``.
        dataset: ``(image_bgr, label)`` pairs with ``len()`` and ``.classes`` matching the model's labels,
            or what ``edgekit.data.open_dataset`` opens: a class folder, a ``path,label`` CSV, ``"demo-test"``.
        backend, device, precision: used when a session has to be compiled; ``"auto"``: the
            first backend that reads the model's format (onnxruntime for ONNX, openvino for an IR).
        batch_size: images per run (1 when the model's batch dimension is fixed to 1).
        limit: evaluate only the first ``limit`` images.
        progress: receives an ``"accuracy"`` :class:`~edgekit.progress.ProgressEvent` (images
            done/total) after each batch; may raise ``Cancelled``.

    Raises:
        DataError: empty dataset, classes that differ from the model's labels,
            or a model without preprocessing.
        TaskNotSupported: the model's task is not classification.

    Example:
        >>> from edgekit.data import demo_digits
        >>> result = evaluate("demo:digits", demo_digits("test"))   # doctest: +SKIP
        >>> result.metrics.accuracy > 0.97                            # doctest: +SKIP
        True
    """
    if isinstance(dataset, (str, Path)):  # as deploy(data=...) and plan(data=...) take it
        from edgekit.data import open_dataset

        dataset = open_dataset(str(dataset))
    _check_arguments(model_or_session, dataset)
    t0 = time.perf_counter()
    session, owned = _session_for(model_or_session, backend, device, precision)
    try:
        model = session.model
        # the dispatch point: these metrics score class labels; a detector needs box metrics (mAP)
        require_task(getattr(model, "task", None), "evaluate", name=model.name)
        if model.preprocess is None:
            raise DataError(
                f"model {model.name}: nothing says how to turn an image into its input (no card, no metadata); "
                "load it with edgekit.load_model(path, preprocess=Preprocess(size=..., mean=..., std=...)) or "
                "write a card once with `edgekit card MODEL ... --save`", path=getattr(model, "path", None)
            )
        mapping = check_classes(dataset, model.labels)
        total = len(dataset) if limit is None else min(limit, len(dataset))
        if total <= 0:
            raise DataError("the evaluation dataset is empty; give at least one labelled image")
        labels, scores, skipped = _run(session, dataset, total, _batch_size(model, batch_size), progress)
        labels = mapping[labels]
    finally:
        if owned:
            session.close()
    classes = tuple(model.labels) if model.labels else _unnamed_classes(dataset, scores.shape[1])

    predictions = scores.argmax(1)
    metrics = compute_metrics(
        labels, predictions, scores if scores.shape[1] == len(classes) else None, classes
    )
    return EvalResult(
        model.name,
        session.info.backend,
        session.info.device,
        session.info.precision,
        metrics,
        tuple(int(v) for v in labels),
        tuple(int(v) for v in predictions),
        time.perf_counter() - t0,
        scores,
        skipped,
        notes=tuple(session.info.notes),
        caveats=tuple(session.info.caveats),
    )


def _batch_size(model: Any, wanted: int) -> int:
    first = model.inputs[0].shape[0] if model.inputs and model.inputs[0].shape else None
    return first if isinstance(first, int) and first > 0 else max(1, wanted)


def _check_arguments(model: Any, dataset: Any) -> None:
    """TypeErrors that name what to pass (``evaluate(model, ["a", "b"])`` was an AttributeError)."""
    if model is None or isinstance(model, (int, float, bytes, list, tuple, dict)):
        raise TypeError(f"evaluate expects a Model, a model path/name or a compiled Session, not {type(model).__name__}")
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__") and hasattr(dataset, "classes")):
        raise TypeError(f"evaluate expects a dataset of (image, label) pairs with len() and .classes (ImageFolder, "
                        f"ArrayDataset, open_dataset(...)), not {type(dataset).__name__}")


def _unnamed_classes(dataset: Any, outputs: int) -> tuple[str, ...]:
    """Class names for a model without labels: its output indices ("0".."N-1") when the dataset's labels
    are indices (an index-labelled CSV, or folders named 0, 1, ...), else the dataset's names."""
    names = [str(c) for c in dataset.classes]
    if getattr(dataset, "index_labels", False) or all(n.isdecimal() for n in names):
        return tuple(str(i) for i in range(max(outputs, len(names))))
    return tuple(names)


def _run(session, dataset, total: int, batch: int, progress) -> tuple[np.ndarray, np.ndarray, int]:
    """Labels and raw outputs of the first ``total`` images, and how many could not be decoded."""
    pre, name = session.model.preprocess, session.model.inputs[0].name
    labels, outputs, skipped = [], [], 0
    for start in range(0, total, batch):
        items = []
        for i in range(start, min(start + batch, total)):
            try:
                items.append(dataset[i])
            except UnreadableImage:  # the dataset counted and warned; the rest still count
                skipped += 1
        if items:
            logits = np.asarray(session.predict({name: pre.batch([im for im, _ in items])}))
            outputs.append(logits.reshape(len(items), -1))
            labels.extend(y for _, y in items)
        done = min(start + batch, total)
        emit(progress, "accuracy", f"{done}/{total} images", done=done, total=total, fraction=done / total)
    if not outputs:
        raise DataError(f"none of the {total} images could be decoded; check the dataset's files")
    return np.asarray(labels, np.int64), np.concatenate(outputs).astype(np.float32), skipped
