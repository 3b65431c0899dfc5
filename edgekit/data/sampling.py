"""Deterministic stratified splits and calibration sets built from any dataset.

A calibration set is what INT8 post-training quantization reads (onnxruntime's
``CalibrationDataReader``, NNCF's ``Dataset``): a list of ``{input_name:
array}`` feeds, made with the model's *own* preprocessing so the value ranges
seen during calibration are the ones seen in use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from edgekit._text import first_few
from edgekit.data.datasets import Dataset
from edgekit.data.layouts import names_detection_folders
from edgekit.errors import DataError, require_argument, warn_caller


class Subset(Dataset):
    """A view of some indices of another dataset (same classes)."""

    def __init__(self, base: Dataset, indices: Sequence[int]):
        require_argument(base, "Subset", "a dataset of (image, label) pairs (edgekit.data.open_dataset(...))")
        self.base = base
        self.indices = np.asarray(indices, np.int64)
        self.classes = tuple(base.classes)
        self.index_labels = getattr(base, "index_labels", False)

    def __len__(self) -> int:
        return len(self.indices)

    def _load(self, index: int) -> tuple[np.ndarray, int]:
        return self.base[int(self.indices[index])]

    def _label(self, index: int) -> int:
        return self.base._label(int(self.indices[index]))


def stratified_split(ds: Dataset, fraction: float, seed: int = 0) -> tuple[Subset, Subset]:
    """Split into ``(rest, held_out)`` keeping each class's share; same seed, same split.

    ``held_out`` takes ``round(fraction * n_c)`` images of each class ``c``
    (at least one when a class has two or more images).

    Raises:
        DataError: ``fraction`` outside (0, 1).
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"split fraction must lie strictly between 0 and 1, not {fraction}")
    labels = ds.labels
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = round(len(idx) * fraction)
        if len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        held.extend(rng.choice(idx, k, replace=False).tolist())
    mask = np.zeros(len(labels), bool)
    mask[held] = True
    return Subset(ds, np.flatnonzero(~mask)), Subset(ds, np.flatnonzero(mask))


def at_most(ds: Dataset | None, n: int) -> Dataset | Subset | None:
    """``ds`` itself when it holds ``n`` images or fewer, else ``n`` of them keeping each class's share
    (:func:`stratified_split`, seed 0): a short fine-tune's images, in the planner and ``compress``."""
    if ds is None or len(ds) <= n:
        return ds
    return stratified_split(ds, n / len(ds), seed=0)[1]


def calibration_validation_split(ds: Dataset, seed: int = 0) -> tuple[Subset, Subset, str]:
    """Split ``ds`` into ``(calibration, validation, note)`` that works with one image per class.

    Classes with two or more images are split half/half (stratified, no overlap).
    A class with a single image cannot be split: its image validates *and* is in
    the calibration pool, and a warning says so. Why: a user's "one photo per
    class" set (e.g. 500 ImageNet photos) used to leave validation empty after
    500 images were given.

    Returns:
        ``note`` is one sentence for the plan log saying how the data was split.
    """
    require_argument(ds, "calibration_validation_split", "a dataset of (image, label) pairs (edgekit.data.open_dataset(...))")
    labels = ds.labels
    counts = np.bincount(labels) if len(labels) else np.zeros(0, np.int64)
    single = np.flatnonzero(counts == 1)
    if len(single) == 0:
        calib, val = stratified_split(ds, 0.5, seed)
        return calib, val, f"{len(val)} images validate, {len(calib)} calibrate (stratified half/half, no overlap)"
    shared = np.isin(labels, single)
    if shared.all():
        idx = np.arange(len(ds))
        note = (f"every class has a single image, so all {len(ds)} images validate and the same images "
                "calibrate (calibration overlaps validation; give --calib DIR for a separate set)")
        warn_caller(note)
        return Subset(ds, idx), Subset(ds, idx), note
    rest_idx = np.flatnonzero(~shared)
    rest_calib, rest_val = stratified_split(Subset(ds, rest_idx), 0.5, seed)
    shared_idx = np.flatnonzero(shared)
    calib = Subset(ds, np.concatenate([rest_idx[rest_calib.indices], shared_idx]))
    val = Subset(ds, np.concatenate([rest_idx[rest_val.indices], shared_idx]))
    note = (f"{len(val)} images validate, {len(calib)} calibrate; {len(single)} class(es) have a single image, "
            "which both validates and calibrates (give --calib DIR for a separate calibration set)")
    warn_caller(note)
    return calib, val, note


def check_classes(ds: Dataset, labels: Sequence[str] | None) -> np.ndarray:
    """Map a dataset's class indices to the model's label indices, by name.

    A dataset may hold a subset of the model's classes (e.g. 10 ImageNet
    classes for a 1000-class model) in any order; every class name must be
    one of the model's labels.

    Returns:
        ``mapping`` with ``mapping[dataset_label] == model_label`` (identity
        when the model has no labels).

    Raises:
        DataError: naming the dataset classes the model does not know and how to fix it.
    """
    require_argument(ds, "check_classes", "a dataset of (image, label) pairs (edgekit.data.open_dataset(...))")
    ours = [str(c) for c in ds.classes]
    if not labels:  # a model without names: folders called 0, 1, ... are its output indices
        numeric = all(c.isdecimal() for c in ours) and not getattr(ds, "index_labels", False)
        return np.asarray([int(c) for c in ours] if numeric else range(len(ours)), dtype=np.int64)
    if getattr(ds, "index_labels", False):  # labels are the model's output indices (e.g. ImageNet 0..999)
        if len(ours) > len(labels):
            raise DataError(f"the dataset's labels go up to {len(ours) - 1} but the model has {len(labels)} "
                            "outputs; integer labels must be the model's output indices (0-based)")
        return np.arange(len(ours), dtype=np.int64)
    index = {str(name): i for i, name in reversed(tuple(enumerate(labels)))}  # a name given twice: its first class
    missing = [c for c in ours if c not in index]
    if missing and names_detection_folders(ours):
        # a YOLO/VOC folder given to a classifier read as the classes 'images' and 'labels'
        root = getattr(ds, "root", None)
        raise DataError(f"{root or 'the data'} is a detection dataset (its sub-folders {', '.join(missing[:3])} hold "
                        "images and their boxes), and this model is a classifier; give a folder with one sub-folder "
                        "per class, or a path,label list (.csv)", path=root)
    if missing:
        raise DataError(_unknown_classes(missing, [str(name) for name in labels]))
    return np.asarray([index[c] for c in ours], np.int64)


def not_among(missing: Sequence[str], labels: Sequence[str], where: str = "") -> str:
    """"the dataset's classes 'a', 'b' ... (where) are not among the model's N labels": the head of a
    refusal of data labelled with classes the model does not have, for classification data here and
    for detection data (:func:`edgekit.detection.datasets.by_name`)."""
    names = first_few((repr(c) for c in missing), 5)
    return f"the dataset's classes {names}{f' ({where})' if where else ''} are not among the model's {len(labels)} labels"


def first_labels(labels: Sequence[str]) -> str:
    """The model's first five labels, "..." when there are more."""
    return first_few(labels, 5)


def _unknown_classes(missing: Sequence[str], labels: Sequence[str], shown: int = 3) -> str:
    """The error for dataset classes the model does not know, with the labels each could mean.

    Why: a model card makes duplicate names unique (ImageNet's two 'crane' classes become
    'crane (n02012849)' and 'crane (n03126707)'), so a dataset labelled 'crane' matches neither;
    without the candidates the user was left to guess why a plain ImageNet name was refused.
    """
    head = not_among(missing, labels)
    candidates = [(name, [lab for lab in labels if lab.startswith(f"{name} (")]) for name in missing]
    ambiguous = [(name, found) for name, found in candidates if found]
    known = first_labels(labels)
    if not ambiguous:
        return f"{head} ({known}); name the class folders (or manifest labels) after the model's labels"
    hints = "; ".join(f"{name!r} could be {_either(found)}" for name, found in ambiguous[:shown])
    more = f", and {len(ambiguous) - shown} more" if len(ambiguous) > shown else ""
    rest = ("" if len(ambiguous) == len(missing)
            else f"; name the others after the model's labels ({known})")
    return (f"{head}: {hints}{more}; use the full label (or, in a manifest, the 0-based class index)"
            f"{rest}")


def _either(options: list[str], shown: int = 3) -> str:
    """``'a' or 'b'``; ``'a', 'b' or 'c'``; ``'a', 'b', 'c' or 2 more``."""
    quoted = [repr(o) for o in options[:shown]]
    if len(options) > shown:
        return f"{', '.join(quoted)} or {len(options) - shown} more"
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def calibration_set(ds: Dataset, model: Any, n: int = 300, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """``n`` feeds ``{input_name: (1, ...) float32}`` drawn class-balanced from ``ds``.

    Args:
        ds: any dataset whose classes match the model's labels (when it has labels).
        model: an edgekit ``Model`` (uses its ``preprocess``, ``inputs`` and ``labels``).
        n: how many feeds; fewer when the dataset is smaller (with a warning).
        seed: which images are drawn.

    Raises:
        DataError: empty dataset, or classes that do not match the model's labels.
    """
    order = calibration_order(ds, model, n, seed)
    name = model.inputs[0].name
    pre = model.preprocess
    return [{name: pre(ds[int(i)][0])} for i in order]


def calibration_order(ds: Dataset, model: Any, n: int = 300, seed: int = 0) -> np.ndarray:
    """Which images :func:`calibration_set` uses, in order (checks the dataset against the model first).

    Raises:
        DataError: as :func:`calibration_set`.
    """
    if len(ds) == 0:
        raise DataError("the calibration dataset is empty; give at least one image")
    check_classes(ds, getattr(model, "labels", None))
    if getattr(model, "preprocess", None) is None:
        raise DataError(
            f"model {getattr(model, 'name', '')!r} has no preprocessing, so images cannot become "
            "calibration inputs; load it with preprocess=... (size, mean, std)"
        )
    if n > len(ds):
        warn_caller(f"calibration asked for {n} images but the dataset has {len(ds)}; using all")
    return _balanced_order(ds.labels, seed)[: min(n, len(ds))]


def _balanced_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """Indices interleaved class by class (round-robin over shuffled classes), so a prefix is balanced."""
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    out = []
    for r in range(max(len(p) for p in per_class)):
        out.extend(int(p[r]) for p in per_class if r < len(p))
    return np.asarray(out, np.int64)
