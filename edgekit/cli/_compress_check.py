"""``edgekit compress --data``: the new file's accuracy beside the original's, on the same images.

Why: INT8 can cost a model much of its accuracy (YOLOX-Nano's static INT8 kept 0.20 of its
0.415 mAP@0.5:0.95 on coco64) and ``compress`` had the labelled images in hand and said only
"wrote". The same images calibrated the INT8 model, so the figure is on data the quantizer saw:
it shows a collapse, it is no held-out estimate (``edgekit plan`` splits the data for that), and
the line says so for INT8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgekit.progress import Progress

CHECK_LIMIT = 500  # images per model: ImageNet-sized folders would otherwise double the command's time


@dataclass(frozen=True)
class AccuracyChange:
    """Both models on the same labelled images.

    Attributes:
        metric: ``top-1`` or ``mAP@0.5:0.95``.
        before / after: the original's and the new file's figure (0..1).
        images: images both were measured on.
        backend: the runtime both ran on (the one that loads the new file); ``torch -> onnxruntime``
            where the original is a PyTorch file (pruning writes ONNX, which PyTorch does not run).
        calibrated: what saw these images while the new file was made (``"INT8 was calibrated"``, ``"the
            pruned model was fine-tuned"``), so the figure is no held-out estimate; ``None``: nothing did.
    """

    metric: str
    before: float
    after: float
    images: int
    backend: str
    calibrated: str | None = None

    @property
    def drop_points(self) -> float:
        """Percentage points lost (negative: gained)."""
        return 100.0 * (self.before - self.after)

    def to_dict(self) -> dict:
        return {"metric": self.metric, "before": self.before, "after": self.after, "images": self.images,
                "backend": self.backend, "drop_points": self.drop_points,
                "calibration_images": "calibrated" in (self.calibrated or ""),  # INT8's; a fine-tune is not
                "seen_while_made": self.calibrated}

    def sentence(self, data: str) -> str:
        """``accuracy on coco64/ (64 images, openvino): mAP@0.5:0.95 41.5% -> 20.2% (-21.3 points)``, and for
        INT8 that its calibration saw these images (the user should not read it as a held-out figure)."""
        change = -self.drop_points + 0.0  # + 0.0: no change prints "+0.0", not "-0.0"
        said = (f"accuracy on {data} ({self.images} images, {self.backend}): {self.metric} "
                f"{100 * self.before:.1f}% -> {100 * self.after:.1f}% ({change:+.1f} points)")
        return said + (f"; {self.calibrated} on these images, so this is no held-out estimate" if self.calibrated
                       else "")


def accuracy_change(source: Any, result: Any, data: str, *, detector: bool,
                    progress: Progress | None = None) -> AccuracyChange:
    """Measure ``source`` and ``result`` on ``data``, each with the runtime that reads its file: the
    one that loads ``result`` for both where it reads ``source`` too.

    Raises:
        DataError: the data has no labels to score against (the caller says so and goes on).
    """
    backend = _runtime(result)
    ran = (_runtime(source, backend), backend)  # a pruned .pt: the original on torch, the new ONNX on onnxruntime
    said = backend if ran[0] == backend else f"{ran[0]} -> {backend}"
    if detector:
        from edgekit.detection.evaluate import evaluate_detection

        runs = [evaluate_detection(m, data, b, limit=CHECK_LIMIT, bootstrap=0, progress=progress)
                for m, b in zip((source, result), ran)]
        return AccuracyChange("mAP@0.5:0.95", runs[0].metrics.map, runs[1].metrics.map,
                              runs[1].metrics.n_images, said)
    from edgekit.data import open_dataset
    from edgekit.data.spec import image_size
    from edgekit.evaluation import evaluate

    dataset = open_dataset(data, image_size(source))
    runs = [evaluate(m, dataset, b, limit=CHECK_LIMIT, progress=progress) for m, b in zip((source, result), ran)]
    return AccuracyChange("top-1", runs[0].metrics.accuracy, runs[1].metrics.accuracy, runs[1].metrics.n, said)


def _runtime(model: Any, preferred: str | None = None) -> str:
    """``preferred`` where it reads ``model``'s file, else the reference runtime of its format (a PyTorch
    file, which no module-free runtime reads: the backend that loads it, torch)."""
    from edgekit.backends.registry import backends_for, format_backend, reference_backend
    from edgekit.errors import BackendUnavailable

    if preferred is not None and preferred in backends_for(model.format):
        return preferred
    try:
        return reference_backend(model.format)
    except BackendUnavailable:
        return format_backend(model.format)
