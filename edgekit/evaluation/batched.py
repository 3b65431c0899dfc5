"""Accuracy of a model on inputs already preprocessed (:class:`edgekit.data.prepared.Prepared`).

Why a second entry point beside :func:`edgekit.evaluation.evaluate`: when
several models are scored on the same images (the planner's candidates),
decoding and preprocessing once and running each model over the same array
is several times faster. Batches of ``batch_size`` rows are run where the
model's batch dimension is dynamic; a model fixed to batch 1 is run row by
row (views, no copies).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edgekit.data.prepared import Prepared
from edgekit.data.sampling import check_classes
from edgekit.errors import EdgekitError
from edgekit.evaluation.accuracy import EvalResult, _batch_size, _session_for, _unnamed_classes
from edgekit.evaluation.metrics import compute_metrics
from edgekit.progress import Progress, emit


def evaluate_prepared(
    model_or_session: Any,
    data: Prepared,
    backend: str = "auto",
    *,
    device: str = "cpu",
    precision: str = "fp32",
    batch_size: int | None = None,
    progress: Progress | None = None,
    max_seconds_per_image: float | None = None,
    timing: dict | None = None,
) -> EvalResult:
    """Run a model over prepared inputs and compute its metrics (same result as ``evaluate``).

    Args:
        model_or_session: a ``Model``, a model path/name or a compiled ``Session``.
        data: inputs made with *this model's* preprocessing (see :func:`edgekit.data.prepared.prepare`).
        backend, device, precision: used when a session has to be compiled.
        batch_size: rows per run where the batch dimension is dynamic (``None``: about
            :data:`BATCH_ELEMENTS` input values per run, at most 32 rows).
        max_seconds_per_image: stop with :class:`TooSlow` once (after the first batch, 16 images or
            more) the model runs slower than this per image: scoring a model that is clearly far
            slower than its baseline is wasted time when it will be rejected for speed anyway.
        timing: filled with ``per_image_s`` (inference only, first batch excluded).
        progress: receives an "accuracy" :class:`~edgekit.progress.ProgressEvent` (images done/total)
            after each batch; may raise ``Cancelled``.

    Raises:
        DataError: classes that differ from the model's labels.
    """
    t0 = time.perf_counter()
    session, owned = _session_for(model_or_session, backend, device, precision)
    try:
        model = session.model
        mapping = check_classes(data, model.labels)
        rows = batch_size if batch_size is not None else auto_batch(data.inputs)
        scores = _scores(session, data.inputs, _batch_size(model, rows), progress, max_seconds_per_image,
                         timing if timing is not None else {})
    finally:
        if owned:
            session.close()
    labels = mapping[data.labels]
    classes = tuple(model.labels) if model.labels else _unnamed_classes(data, scores.shape[1])
    predictions = scores.argmax(1)
    metrics = compute_metrics(labels, predictions, scores if scores.shape[1] == len(classes) else None, classes)
    return EvalResult(model.name, session.info.backend, session.info.device, session.info.precision, metrics,
                      tuple(int(v) for v in labels), tuple(int(v) for v in predictions),
                      time.perf_counter() - t0, scores, data.skipped, notes=tuple(session.info.notes),
                      caveats=tuple(session.info.caveats))


BATCH_ELEMENTS = 640_000  # input values per run: 4 images at 224x224, 32 at 64x64


def auto_batch(inputs: np.ndarray) -> int:
    """Rows per run that keep a batch's activations near the CPU's caches.

    Why not always 32: measured on a 2-core Xeon with MobileNetV2 x0.5 at 224x224,
    batches of 32 cost 2.9 ms per image on onnxruntime and 2.4 on OpenVINO, batches
    of 4 cost 2.5 and 1.95 (batch 1: 2.8 and 2.4): large batches of large images
    spill the caches, small batches of small images pay the call overhead.
    """
    per_row = int(np.prod(inputs.shape[1:])) if inputs.ndim > 1 else 1
    return max(1, min(32, BATCH_ELEMENTS // max(1, per_row)))


MIN_SPENT_S = 0.2  # a model this quick to score is never stopped: nothing to save, and tiny timings are noise


def _spans(total: int, batch: int, ramp: bool) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch. With ``ramp`` (a speed limit is being watched) the first
    batches are small, 4 then 8 and 8 rows, so a model far slower than its limit is caught after
    20 images instead of two full batches (64 images: seconds each for a 10x-slower candidate)."""
    sizes = [min(batch, 4), min(batch, 8), min(batch, 8)] if ramp else []
    spans, start = [], 0
    while start < total:
        size = sizes.pop(0) if sizes else batch
        spans.append((start, min(total, start + size)))
        start += size
    return spans


class TooSlow(EdgekitError):
    """A model scored slower per image than the limit it was given (see ``max_seconds_per_image``)."""

    def __init__(self, message: str, per_image_s: float) -> None:
        super().__init__(message)
        self.per_image_s = per_image_s


def _scores(session: Any, inputs: np.ndarray, batch: int, progress: Any, limit: float | None,
            timing: dict) -> np.ndarray:
    name = session.model.inputs[0].name
    total, outputs = len(inputs), []
    spent, counted = 0.0, 0
    for start, stop in _spans(total, batch, ramp=limit is not None):
        rows = inputs[start:stop]
        t0 = time.perf_counter()
        logits = np.asarray(session.predict({name: rows}))
        if start:  # the first batch pays for warm-up
            spent, counted = spent + time.perf_counter() - t0, counted + len(rows)
            timing["per_image_s"] = spent / counted
        if limit is not None and counted >= 16 and spent >= MIN_SPENT_S and spent / counted > limit:
            raise TooSlow(f"{1e3 * spent / counted:.3g} ms per image, over the {1e3 * limit:.3g} ms limit",
                          spent / counted)
        outputs.append(logits.reshape(len(rows), -1))
        done = stop
        emit(progress, "accuracy", f"{done}/{total} images", done=done, total=total, fraction=done / total)
    return np.concatenate(outputs).astype(np.float32)
