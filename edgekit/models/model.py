"""The ``Model``: an artifact on disk (or a module in memory) plus what it needs to run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.models.card import ValidationData
from edgekit.models.preprocess import Preprocess
from edgekit.models.spec import TensorSpec
from edgekit.types import Format, Precision, Task


@dataclass(frozen=True)
class Model:
    """A loaded model. Never mutated: transformations return a new ``Model``.

    Attributes:
        name: human name ("demo:digits", file stem, ...).
        format: on-disk or in-memory format.
        path: the main artifact (``.onnx``, ``.xml``, ``.pt``); ``None`` for
            a module held only in memory.
        files: every file the artifact needs (``.xml`` + ``.bin``, external data).
        inputs: input tensors, in graph order.
        outputs: output tensors, in graph order.
        preprocess: how images become inputs, when known.
        labels: class names (index = class id), when known.
        precision: precision the weights are stored in (QDQ graphs -> ``int8``).
        sha256: hash over ``files`` (or the module's state for in-memory models).
        flops: multiply-adds x 2 for batch 1, when known.
        params: number of parameters, when known.
        module: the ``torch.nn.Module`` for PyTorch models (not serialised).
        metadata: free-form provenance (parent hash, compression settings...).
        task: what the outputs mean (classification unless the card says otherwise);
            predictions, metrics, overlays and bundles dispatch on it.
        validation: the data the model's card names for measuring it when the
            caller gives none (``None``: the caller must give data).
    """

    name: str
    format: Format
    path: Path | None
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    files: tuple[Path, ...] = ()
    preprocess: Preprocess | None = None
    # left out of the repr, as metadata below: 1000 ImageNet names made a printed Model 20 kB
    labels: tuple[str, ...] | None = field(default=None, repr=False)
    precision: Precision = Precision.FP32
    sha256: str = ""
    flops: int | None = None
    params: int | None = None
    module: Any = field(default=None, compare=False, repr=False)
    metadata: dict = field(default_factory=dict, compare=False, repr=False)
    task: Task = Task.CLASSIFICATION
    validation: ValidationData | None = None

    @property
    def input(self) -> TensorSpec:
        """The first (usually only) input."""
        return self.inputs[0]

    @property
    def size_bytes(self) -> int:
        """Total size of the files on disk (0 for in-memory modules)."""
        return sum(p.stat().st_size for p in self.files if p.exists())

    @property
    def num_classes(self) -> int | None:
        """Number of classes from the labels or the last output dim."""
        if self.labels:
            return len(self.labels)
        last = self.outputs[0].shape[-1] if self.outputs and self.outputs[0].shape else None
        return last if isinstance(last, int) else None

    def replace(self, **changes: Any) -> Model:
        """Return a copy with ``changes`` applied (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready dict (the in-memory module is left out)."""
        return {
            "name": self.name,
            "format": str(self.format),
            "path": None if self.path is None else str(self.path),
            "files": [str(p) for p in self.files],
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "preprocess": None if self.preprocess is None else self.preprocess.to_dict(),
            "labels": None if self.labels is None else list(self.labels),
            "precision": str(self.precision),
            "sha256": self.sha256,
            "flops": self.flops,
            "params": self.params,
            "metadata": self.metadata,
            "task": str(self.task),
            "validation": None if self.validation is None else self.validation.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        """Inverse of :meth:`to_dict` (without re-reading the files)."""
        pre = data.get("preprocess")
        validation = data.get("validation")
        return cls(
            name=data["name"],
            format=Format.parse(data["format"]),
            path=None if data.get("path") is None else Path(data["path"]),
            files=tuple(Path(p) for p in data.get("files", [])),
            inputs=tuple(TensorSpec.from_dict(t) for t in data["inputs"]),
            outputs=tuple(TensorSpec.from_dict(t) for t in data["outputs"]),
            preprocess=None if pre is None else Preprocess.from_dict(pre),
            labels=None if data.get("labels") is None else tuple(data["labels"]),
            precision=Precision.parse(data.get("precision", "fp32")),
            sha256=data.get("sha256", ""),
            flops=data.get("flops"),
            params=data.get("params"),
            metadata=dict(data.get("metadata", {})),
            task=Task.parse(data.get("task", "classification"), "task"),
            validation=None if validation is None else ValidationData.from_dict(validation),
        )
