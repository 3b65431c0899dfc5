"""Datasets as plain sequences of ``(image_bgr_uint8, label_int)`` with ``len()`` and ``.classes``.

- :class:`ImageFolder` (one sub-folder per class), :class:`ManifestDataset`
  (``path,label`` CSV), :class:`ArrayDataset` (in memory), :func:`demo_digits`
  (the held-out real handwriting the demo models are measured on);
- :func:`stratified_split` and :func:`calibration_set` (model inputs for INT8 calibration);
- :mod:`edgekit.data.demo_stream` (a labelled video-like stream) and
  :mod:`edgekit.data.render` (digits drawn as a camera sees them);
- :mod:`edgekit.data.scenes` (sheets with several digits and their boxes: ``demo-det-test``)
  and :mod:`edgekit.data.det_stream` (the labelled detection demo stream).
"""

from edgekit.data.datasets import ArrayDataset, Dataset, ImageFolder, ManifestDataset
from edgekit.data.digits import demo_digits
from edgekit.data.sampling import (
    Subset,
    calibration_set,
    calibration_validation_split,
    check_classes,
    stratified_split,
)
from edgekit.data.spec import open_dataset

__all__ = [
    "ArrayDataset",
    "Dataset",
    "ImageFolder",
    "ManifestDataset",
    "Subset",
    "calibration_set",
    "calibration_validation_split",
    "check_classes",
    "demo_digits",
    "open_dataset",
    "stratified_split",
]
