"""What a model card says about the model's job: its ``task`` and its own ``validation`` data.

The card is the ``X.json`` beside ``X.onnx`` / ``X.xml`` / ``X.pt`` (read by
:func:`edgekit.zoo.hub.read_card`, applied by :func:`edgekit.models.load_model`).
Besides ``preprocess`` and ``labels`` it may hold::

    "task": "classification",              # or "detection" (edgekit.types.Task); default classification
    "validation": {
        "dataset": "demo-test",            # anything edgekit.data.open_dataset takes; a relative
        "calibration": "demo-train",       #   path is read from the card's folder
        "description": "the held-out real handwritten digits"
    }

Why: the planner, ``deploy`` and ``compress`` need validation (and calibration)
data when the user gives none. The model that knows where its held-out data
lives says so here, instead of those parts recognising its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.errors import ModelLoadError, TaskNotSupported
from edgekit.types import Task


@dataclass(frozen=True)
class ValidationData:
    """The data a model is measured (and calibrated) on when the caller gives none.

    Attributes:
        dataset: what :func:`edgekit.data.open_dataset` takes (``"demo-test"``, a folder, a CSV).
        calibration: the same for INT8 calibration; ``None`` = split ``dataset`` in two.
        description: one phrase for reports ("the held-out real handwritten digits").
    """

    dataset: str
    calibration: str | None = None
    description: str = ""

    def to_dict(self) -> dict:
        """JSON-ready dict (the card's ``validation`` field)."""
        return {"dataset": self.dataset, "calibration": self.calibration, "description": self.description}

    @classmethod
    def from_dict(cls, data: dict) -> ValidationData:
        """Inverse of :meth:`to_dict`."""
        calibration = data.get("calibration")
        return cls(str(data["dataset"]), None if calibration is None else str(calibration),
                   str(data.get("description", "")))


def card_task(card: dict, where: Path | None) -> Task:
    """The card's ``task`` (classification when absent).

    Raises:
        ModelLoadError: an unknown task, naming the card and the choices.
    """
    value = card.get("task", Task.CLASSIFICATION)
    try:
        return Task.parse(value, "task")
    except ValueError as exc:
        raise ModelLoadError(f"{_card_name(where)}: {exc}", path=_card_path(where)) from exc


def card_validation(card: dict, where: Path | None) -> ValidationData | None:
    """The card's ``validation`` data (``None`` when absent), relative paths resolved from the card's folder.

    Raises:
        ModelLoadError: the field is not an object with a ``dataset`` string.
    """
    value: Any = card.get("validation")
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("dataset"), str):
        raise ModelLoadError(
            f'{_card_name(where)}: validation must be an object like {{"dataset": "val/"}}; fix or remove it',
            path=_card_path(where),
        )
    data = ValidationData.from_dict(value)
    folder = None if where is None else Path(where).parent
    return ValidationData(_beside(data.dataset, folder), None if data.calibration is None else
                          _beside(data.calibration, folder), data.description)


def require_task(task: Task | str | None, what: str, *, name: str = "",
                 supported: tuple[Task, ...] = (Task.CLASSIFICATION,)) -> Task:
    """The dispatch point of a part that handles only some tasks: returns the task, or says it is not handled.

    Args:
        task: the model's (or bundle's) task; ``None`` = classification (older files).
        what: the part asking, as a user knows it ("edgekit deploy", "the live pipeline").
        name: the model's name, for the message.
        supported: the tasks ``what`` handles.

    Raises:
        TaskNotSupported: ``task`` is not in ``supported``.

    Example:
        >>> require_task("classification", "edgekit deploy")
        <Task.CLASSIFICATION: 'classification'>
    """
    kind = Task.parse(task if task is not None else Task.CLASSIFICATION, "task")
    if kind not in supported:
        whose = f"{name}'s" if name else "the model's"
        raise TaskNotSupported(
            f"{kind} is not supported by {what} yet ({whose} card says task: {kind}); "
            f"use a {' or '.join(str(t) for t in supported)} model here"
        )
    return kind


def _beside(spec: str, folder: Path | None) -> str:
    """``spec`` as a path from the card's folder when such a file or folder exists there."""
    if folder is None or Path(spec).is_absolute():
        return spec
    candidate = folder / spec
    return str(candidate) if candidate.exists() else spec


def _card_path(where: Path | None) -> Path | None:
    return None if where is None else Path(where).with_suffix(".json")


def _card_name(where: Path | None) -> str:
    return "the model card" if where is None else f"model card {_card_path(where)}"


def check_class_scores(model: Any, what: str) -> None:
    """Refuse a "classifier" whose output is image-shaped (``[N, C, H, W]`` with H, W > 1).

    Why: a segmenter, a super-resolution net or an autoencoder would otherwise be packaged and scored
    as a classifier, its argmax over pixels reported as a class. A classifier's output is ``[N, classes]``
    (``[N, classes, 1, 1]`` is accepted).

    Raises:
        TaskNotSupported: naming the output, its shape and the card field that would describe it.
    """
    for out in getattr(model, "outputs", ())[:1]:
        dims = [d for d in out.shape[1:]]
        spatial = [d for d in dims[1:] if not (isinstance(d, int) and d == 1)]
        if len(dims) >= 3 and len(spatial) >= 2:
            shape = "[" + ", ".join(str(d) for d in out.shape) + "]"
            raise TaskNotSupported(
                f"{what}: {getattr(model, 'name', 'the model')}'s output {out.name!r} is {shape}, an image-shaped "
                "map, not class scores [N, classes]; if it is a detector say so in its card (\"task\": "
                "\"detection\"); other tasks (segmentation, image-to-image) are not supported yet")
