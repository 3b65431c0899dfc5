"""One reading of a ``--data`` value, shared by ``eval``, ``compress``, ``plan``, ``deploy`` and the app.

Why: four commands each parsed ``--data`` their own way, so ``demo-test``
worked in one and was "not a folder" in another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit._io import expand_user
from edgekit.data.datasets import ImageFolder, ManifestDataset
from edgekit.data.digits import demo_digits
from edgekit.data.layouts import detection_layout
from edgekit.errors import DataError

DEMO_NAMES = {"demo-test": "test", "demo:digits": "test", "demo-train": "train", "demo-hard": "hard"}
# demo-hard: the same held-out scans as demo-test, redrawn as pen/pencil/marker photos (edgekit.data.photo)
SCENE_NAMES = ("demo-det-test", "demo-det-handwriting", "demo-det-hard")  # held-out digit scenes (detection), edgekit.data.scenes


def open_dataset(spec: Any, size: int | None = None) -> Any:
    """A dataset from what a user passes as data.

    Args:
        spec: a dataset object (returned as is); ``"demo-test"`` (also
            ``"demo:digits"``) or ``"demo-train"``: the bundled real handwriting;
            ``"demo-hard"``: the held-out scans as realistic photos of pen on paper (harder);
            ``"demo-det-test"`` / ``"demo-det-handwriting"``: held-out digit scenes (a detection dataset);
            a folder with one sub-folder of images per class; a ``path,label``
            CSV/text manifest.
        size: image size for the demo digits (default 64).

    Raises:
        DataError: the path does not exist or is not a dataset, naming the choices.

    Example:
        >>> len(open_dataset("demo-test")) > 500     # doctest: +SKIP
        True
    """
    if spec is not None and not isinstance(spec, (str, Path)):
        return spec

    text = str(spec or "")
    if text in SCENE_NAMES:  # boxes, not class labels: the detection layer above reads them
        raise DataError(f"{text} is a detection dataset (held-out digit scenes with boxes); use it with a "
                        "detection model (edgekit eval demo:digits-det --data demo-det-test), or give labelled "
                        "images for a classifier")
    if text in DEMO_NAMES and DEMO_NAMES[text] == "hard":
        from edgekit.data.photo import hard_digits

        return hard_digits(size=size or 64)
    if text in DEMO_NAMES:
        return demo_digits(DEMO_NAMES[text], size=size or 64)
    path = expand_user(text)
    if path.is_dir():
        return ImageFolder(path)
    if path.is_file() and detection_layout(path) == "coco":  # read as a path,label list it "named 1 class"
        raise DataError(f"{path} is a COCO json (images with boxes), a detection dataset, and this model is a "
                        "classifier; give a folder with one sub-folder per class, or a path,label list (.csv)",
                        path=path)
    if path.is_file():
        return ManifestDataset(path)
    raise DataError(
        f"data {text!r} does not exist; give a folder with one sub-folder of images per class, "
        "a path,label CSV, demo-test, demo-hard or demo-train",
        path=path,
    )


def image_size(model: Any) -> int:
    """The side to render the demo digits at for ``model``: its input size, so the
    images are drawn once at the size the model sees (no second resampling)."""
    pre = getattr(model, "preprocess", None)
    return pre.size[0] if pre is not None else 64


def is_demo_name(spec: Any) -> bool:
    """True for the names of the bundled digits (``demo-test``, ``demo-hard``, ``demo-train``, ``demo:digits``)."""
    return isinstance(spec, str) and spec in DEMO_NAMES


def paired_calibration(spec: Any) -> str | None:
    """The named dataset disjoint from ``spec`` to calibrate on, when ``spec`` names one half of a
    split that ships with edgekit (``demo-test`` -> ``demo-train``); ``None`` otherwise.

    Why: validating on the held-out digits and calibrating on their training
    split keeps the two apart without halving the validation set.
    """
    return "demo-train" if is_demo_name(spec) and DEMO_NAMES[spec] in ("test", "hard") else None
