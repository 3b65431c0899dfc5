"""A labelled dataset decoded and preprocessed once: model inputs as one array.

Why: the planner measures the accuracy of many candidates (FP32, FP16, INT8
on every backend) on the *same* images with the *same* preprocessing.
Decoding and preprocessing every image again for each candidate cost more
than running the models (46 % of a plan's time went to re-rendering the demo
digits). :func:`prepare` does it once; every candidate then reads rows of
:attr:`Prepared.inputs`, and INT8 calibration feeds are views of the same rows.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.errors import DataError
from edgekit.progress import Progress, emit


@dataclass(frozen=True)
class Prepared:
    """Model inputs for every readable image of a dataset, and their labels.

    Attributes:
        inputs: ``(N, C, H, W)`` (or NHWC) float32, one row per readable image.
        labels: ``(N,)`` int64 class index *in the dataset's* ``classes``.
        classes: the dataset's class names.
        skipped: images that could not be decoded (left out).
        indices: position of each row in the source dataset.
        index_labels: the dataset's class names are the model's output indices
            (a manifest of ImageNet indices); :func:`~edgekit.data.check_classes` reads it.
    """

    inputs: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    skipped: int = 0
    indices: np.ndarray | None = None
    index_labels: bool = False

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def nbytes(self) -> int:
        """Memory held by the inputs."""
        return int(self.inputs.nbytes)

    def feeds(self, name: str, rows: Sequence[int] | None = None) -> list[dict[str, np.ndarray]]:
        """``{name: (1, ...) array}`` per row (views, no copy): a calibration set."""
        rows = range(len(self)) if rows is None else rows
        return [{name: self.inputs[int(i) : int(i) + 1]} for i in rows]


def prepare(
    dataset: Any,
    preprocess: Any,
    indices: Sequence[int] | None = None,
    chunk: int = 64,
    progress: Progress | None = None,
) -> Prepared:
    """Decode ``dataset`` (or the ``indices`` of it) and run ``preprocess`` once per image.

    Each loader thread decodes and preprocesses its image, written straight into the one
    array for the whole set (no per-chunk batch to stack and copy again).

    Args:
        dataset: indexable ``(image, label)`` pairs with ``len()`` and ``.classes``.
        preprocess: an :class:`edgekit.models.preprocess.Preprocess`.
        indices: which images (default: all), in this order.
        chunk: images between progress reports (and cancellation checks).
        progress: receives a "preparing" :class:`~edgekit.progress.ProgressEvent` (images done/total)
            after each chunk; may raise ``Cancelled``.

    Raises:
        DataError: the dataset is empty or no image could be decoded.

    Example:
        >>> from edgekit.data import demo_digits
        >>> p = prepare(demo_digits("test", 32), model.preprocess)   # doctest: +SKIP
        >>> p.inputs.shape                                           # doctest: +SKIP
        (539, 3, 32, 32)
    """
    from edgekit.data.datasets import UnreadableImage

    order = np.arange(len(dataset)) if indices is None else np.asarray(indices, np.int64)
    if len(order) == 0:
        raise DataError("the dataset is empty; give at least one labelled image")

    def load(i: int) -> tuple[np.ndarray, int] | None:
        """One image decoded and preprocessed, on a loader thread (OpenCV releases the GIL)."""
        try:
            image, label = dataset[int(i)]
        except UnreadableImage:  # the dataset counted and warned; the rest still count
            return None
        return preprocess.batch([image])[0], int(label)

    out: np.ndarray | None = None
    labels, kept, skipped, n = [], [], 0, 0
    with _loader_pool(len(order)) as pool:
        for start in range(0, len(order), chunk):
            rows = [int(i) for i in order[start : start + chunk]]
            for i, item in zip(rows, pool.map(load, rows) if pool else map(load, rows)):
                if item is None:
                    skipped += 1
                    continue
                if out is None:  # one allocation for the whole set, filled image by image
                    out = np.empty((len(order), *item[0].shape), np.float32)
                out[n] = item[0]
                n += 1
                labels.append(item[1])
                kept.append(i)
            done = min(start + chunk, len(order))
            emit(progress, "preparing", f"{done}/{len(order)} images", done=done, total=len(order),
                 fraction=done / len(order))
    if out is None:
        raise DataError(f"none of the {len(order)} images could be decoded; check the dataset's files")
    return Prepared(out[:n], np.asarray(labels, np.int64), tuple(str(c) for c in dataset.classes), skipped,
                    np.asarray(kept, np.int64), bool(getattr(dataset, "index_labels", False)))


@contextlib.contextmanager
def _loader_pool(n: int) -> Iterator[ThreadPoolExecutor | None]:
    """Threads that decode/render images side by side (``None`` for a handful, or one core).

    Why threads: OpenCV's decoders, resizes and blurs and numpy's array maths release
    the GIL, so on a 2-core device two loaders halve the time the planner waits for
    its validation images; results keep the dataset's order (``map``).
    """
    workers = min(4, os.cpu_count() or 1)
    if workers < 2 or n < 8:
        yield None
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="edgekit-prepare") as pool:
        yield pool
