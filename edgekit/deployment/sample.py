"""The validation sample a bundle carries, and the one routine that runs it.

Why a packaged sample: a device usually has no copy of the validation set, yet
its owner needs to know the model still gives the promised answers there
(another onnxruntime build, another CPU, another OpenCV resize). ``deploy``
runs the sample once and records inputs, labels, outputs and top-1;
``edgekit verify`` runs the same routine on the device and compares.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import BundleError, DataError

_MAX_IMAGE_BYTES = 8 << 20  # keep raw images only while the sample stays small
_WARMUP = 3
DEFAULT_SAMPLES = 64
MAX_SAMPLE_BYTES = 48 << 20  # of float32 inputs and outputs, before compression
MIN_AUTO_SAMPLES = 4


def sample_count(model: Any, asked: int | None) -> int:
    """How many images the sample keeps: ``asked``, or by default 64, fewer when one image's input and
    output tensors are large, so they take at most 48 MB (at least 4 images).

    Why: the sample stores each image's float32 input and output tensors; YOLOX-Nano's are 3.3 MB an
    image, so 64 images made an 87 MB bundle of a 4 MB model, copied to every device over SSH or in a
    fleet update. A shape not known until run time counts as nothing.
    """
    if asked is not None:
        return asked
    per_image = sum(_tensor_bytes(spec) for spec in (*model.inputs, *model.outputs))
    return max(MIN_AUTO_SAMPLES, min(DEFAULT_SAMPLES, MAX_SAMPLE_BYTES // max(per_image, 1)))


def _tensor_bytes(spec: Any) -> int:
    dims = list(getattr(spec, "shape", ()) or ())[1:]  # one image: the batch axis left out
    if not all(isinstance(d, int) and d > 0 for d in dims):
        return 0
    return int(np.prod(dims, dtype=np.int64)) * 4


@dataclass(frozen=True)
class SampleResult:
    """What one run of the sample gave.

    Attributes:
        samples: images run.
        accuracy: top-1 accuracy against the labels (``None`` without labels).
        agreement: share of images whose top-1 equals the recorded one (``None`` at record time).
        max_abs_diff: largest output difference from the recorded outputs.
        latency_ms: p50 of single-image inference (model only, no preprocessing).
        latency_p90_ms: p90 of the same.
        preprocess_max_diff: largest difference between recomputed and recorded inputs.
    """

    samples: int
    accuracy: float | None
    agreement: float | None = None
    max_abs_diff: float | None = None
    latency_ms: float = 0.0
    latency_p90_ms: float = 0.0
    preprocess_max_diff: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SampleResult:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


def pick(data: Any, n: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Take ``n`` images spread evenly over ``data`` (folders are often sorted by class).

    Raises:
        DataError: ``data`` is empty or does not yield ``(image, label)``.
    """
    try:
        total = len(data)
    except TypeError:
        data = list(data)
        total = len(data)
    if total == 0:
        raise DataError("the validation data for the bundle is empty; pass a dataset with images")
    index = sorted({int(i) for i in np.linspace(0, total - 1, num=min(n, total))})
    items = [data[i] for i in index] if hasattr(data, "__getitem__") else _nth(data, set(index))
    try:
        images = [np.asarray(img) for img, _ in items]
        labels = np.asarray([int(lab) for _, lab in items], dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"validation data must yield (image, label) pairs ({exc})") from exc
    return images, labels


def _nth(data: Any, wanted: set[int]) -> list:
    return [item for i, item in enumerate(data) if i in wanted]


def synthetic(preprocess: Any, n: int, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Seeded noise images of the model's size, labels ``-1`` (agreement only, no accuracy)."""
    h, w = preprocess.size
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)], np.full(n, -1, np.int64)


def record(session: Any, preprocess: Any, images: list[np.ndarray], labels: np.ndarray) -> tuple[dict, SampleResult]:
    """Run the sample once; return the arrays to save and what they gave."""
    inputs = preprocess.batch(images).astype(np.float32)
    outputs, times = run_inputs(session, inputs)
    arrays = {"inputs": inputs, "labels": labels, "outputs": outputs, "top1": outputs.argmax(axis=1)}
    if len({img.shape for img in images}) == 1 and sum(img.nbytes for img in images) <= _MAX_IMAGE_BYTES:
        arrays["images"] = np.stack([img.astype(np.uint8) for img in images])
    return arrays, _result(outputs, labels, times)


def run_inputs(session: Any, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run each input alone (batch 1, like a device sees them); return outputs and ms per run."""
    for i in range(min(_WARMUP, len(inputs))):
        session.predict(inputs[i : i + 1])
    outs, times = [], []
    for i in range(len(inputs)):
        start = time.perf_counter()
        out = session.predict(inputs[i : i + 1])
        times.append((time.perf_counter() - start) * 1e3)
        outs.append(np.asarray(out, dtype=np.float32).reshape(1, -1))
    return np.concatenate(outs), np.asarray(times)


def rerun(session: Any, preprocess: Any, arrays: dict, agree: Any = None) -> SampleResult:
    """Run a recorded sample again (from the raw images when they were kept) and compare.

    ``agree(outputs, recorded) -> float`` replaces top-1 agreement (a detector compares boxes: the
    argmax of a flattened box head means nothing)."""
    inputs = arrays["inputs"]
    pre_diff = None
    if "images" in arrays and preprocess is not None:
        fresh = preprocess.batch(list(arrays["images"])).astype(np.float32)
        pre_diff = float(np.abs(fresh - inputs).max()) if fresh.shape == inputs.shape else float("inf")
        inputs = fresh if fresh.shape == inputs.shape else inputs
    outputs, times = run_inputs(session, inputs)
    base = _result(outputs, arrays["labels"], times)
    same = outputs.shape == arrays["outputs"].shape
    if agree is not None:
        agreement = float(agree(outputs, arrays["outputs"])) if same else 0.0
    else:
        agreement = float(np.mean(outputs.argmax(axis=1) == arrays["top1"]))
    diff = float(np.abs(outputs - arrays["outputs"]).max()) if same else float("inf")
    extra = {"agreement": agreement, "max_abs_diff": diff, "preprocess_max_diff": pre_diff}
    return SampleResult(**{**base.to_dict(), **extra})


def _result(outputs: np.ndarray, labels: np.ndarray, times: np.ndarray) -> SampleResult:
    known = labels >= 0
    accuracy = float(np.mean(outputs.argmax(axis=1)[known] == labels[known])) if known.any() else None
    return SampleResult(
        samples=len(outputs),
        accuracy=accuracy,
        latency_ms=float(np.percentile(times, 50)),
        latency_p90_ms=float(np.percentile(times, 90)),
    )


def load(path: Path) -> dict:
    """Read ``validation/sample.npz`` without pickles.

    Raises:
        BundleError: unreadable or missing arrays.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise BundleError(f"validation sample {path} is unreadable ({exc}); re-create the bundle", path=path) from exc
    missing = {"inputs", "labels", "outputs", "top1"} - set(arrays)
    if missing:
        raise BundleError(f"validation sample {path} lacks {sorted(missing)}; re-create the bundle", path=path)
    return arrays


def output_kind(outputs: np.ndarray) -> str:
    """``"probabilities"`` when every row is non-negative and sums to 1, else ``"logits"``."""
    rows = outputs.reshape(len(outputs), -1)
    if len(rows) and (rows >= 0).all() and np.allclose(rows.sum(axis=1), 1.0, atol=1e-3):
        return "probabilities"
    return "logits"
