"""Is this calibration set fit to quantize with? Refuse or warn before minutes of work.

INT8 scales come from the value ranges seen in calibration, so a bad set
gives a model that is silently worse. What we check, and why:

- **too few samples**: under :data:`MIN_SAMPLES` the ranges are noise -> refused;
  under :data:`FEW_SAMPLES` -> warned (300 is a good size).
- **classes missing** (when labels are known): ranges of unseen classes are
  guessed -> warned, naming them.
- **all alike**: identical or near-identical inputs (a frozen camera, one
  image repeated) -> refused when all are the same, warned when most are.
- **overlap with the validation set**: the accuracy measured afterwards would
  be optimistic -> warned with the count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from edgekit.errors import DataError, warn_caller

MIN_SAMPLES = 10
FEW_SAMPLES = 100
Feed = dict[str, np.ndarray]


def check_calibration(
    calibration: Iterable[Feed],
    *,
    labels: Iterable[int] | None = None,
    num_classes: int | None = None,
    validation: Iterable[Feed] | None = None,
) -> list[Feed]:
    """Check a calibration set; return it as a list.

    Args:
        calibration: feeds ``{input_name: array}``.
        labels: class ids of the calibration samples, in order, when known.
        num_classes: how many classes the model has (to name missing ones).
        validation: feeds used to measure accuracy afterwards (overlap check).

    Raises:
        DataError: too few samples, a malformed feed, or all samples identical.

    Warns:
        EdgekitWarning: few samples, classes missing, mostly duplicates, overlap.
    """
    feeds = list(calibration)
    if len(feeds) < MIN_SAMPLES:
        raise DataError(
            f"a calibration set of {len(feeds)} sample(s) is too small to set INT8 ranges; give at least "
            f"{MIN_SAMPLES} (300 recommended) representative images, e.g. with --data DIR"
        )
    if not all(isinstance(f, dict) and f for f in feeds):
        raise DataError("calibration samples must be dicts {input_name: array}; build them with edgekit.data.calibration_set")
    _check_alike(feeds)
    if len(feeds) < FEW_SAMPLES:
        _warn(f"only {len(feeds)} calibration samples; INT8 ranges may be off (300 recommended)")
    if labels is not None:
        _check_classes(list(labels), num_classes)
    if validation is not None:
        _check_overlap(feeds, list(validation))
    return feeds


def _digest(feed: Feed) -> str:
    h = hashlib.sha1()
    for name in sorted(feed):
        h.update(np.ascontiguousarray(feed[name]).tobytes())
    return h.hexdigest()


def _coarse(feed: Feed) -> bytes:
    """A fingerprint that ignores sensor noise: the input at 8x8, quantised to 16 levels."""
    arr = np.asarray(next(iter(feed.values())), np.float32).reshape(-1)
    chunks = np.array_split(arr, 64)
    means = np.array([c.mean() for c in chunks])
    span = float(np.ptp(arr)) or 1.0
    return np.round((means - arr.min()) / span * 15).astype(np.uint8).tobytes()


def _check_alike(feeds: list[Feed]) -> None:
    exact = {_digest(f) for f in feeds}
    if len(exact) == 1:
        raise DataError(
            f"all {len(feeds)} calibration samples are the same image; INT8 ranges would fit that one image only "
            "-- give varied, representative images"
        )
    coarse = {_coarse(f) for f in feeds}
    if len(coarse) <= max(1, len(feeds) // 4):
        _warn(f"the {len(feeds)} calibration samples are nearly all alike ({len(coarse)} distinct); "
              "use varied images so INT8 ranges cover real inputs")


def _check_classes(labels: list[int], num_classes: int | None) -> None:
    if not labels:
        return
    present = {int(x) for x in labels}
    total = num_classes or (max(present) + 1)
    missing = sorted(set(range(total)) - present)
    if missing:
        shown = ", ".join(map(str, missing[:10])) + ("..." if len(missing) > 10 else "")
        _warn(f"calibration set has no samples of {len(missing)} of {total} classes ({shown}); "
              "their value ranges are guessed -- add a few images of each class")


def _check_overlap(feeds: list[Feed], validation: list[Feed]) -> None:
    ours = {_digest(f) for f in feeds}
    shared = sum(1 for v in validation if _digest(v) in ours)
    if shared:
        _warn(f"{shared} of {len(validation)} validation samples are also in the calibration set; "
              "the accuracy measured after quantization will be optimistic -- split the data first")


def _warn(message: str) -> None:
    warn_caller(message)
