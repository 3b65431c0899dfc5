"""The model card seam in deploy: a bundle records its model's task, and the validation data the card
names is packaged when none is given (no special case for the demo models' names)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2

from edgekit.deployment import deploy
from edgekit.models import load_model


def _model_with_card(tiny_model, folder: Path, **fields):
    """A copy of the tiny model whose card adds ``fields``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.onnx"
    shutil.copyfile(tiny_model.path, path)
    card = {"preprocess": {"size": [32, 32]}, "labels": list(tiny_model.labels), **fields}
    path.with_suffix(".json").write_text(json.dumps(card))
    return load_model(path)


def test_a_bundle_records_the_task_and_packages_the_data_its_card_names(tiny_model, dataset, tmp_path):
    for i, (image, label) in enumerate(dataset[:16]):  # an image folder beside the model
        folder = tmp_path / "m" / "held-out" / tiny_model.labels[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i}.png"), image)
    model = _model_with_card(tiny_model, tmp_path / "m", validation={"dataset": "held-out"})

    bundle = deploy(model, out=tmp_path / "bundle", samples=8)  # no data= given

    assert bundle.manifest.task == "classification"
    assert bundle.manifest.validation["samples"] == 8
    assert bundle.manifest.validation["accuracy"] is not None  # labelled images, not seeded noise
    report = json.loads((bundle.path / "validation" / "report.json").read_text())
    assert report["data"] == "validation data"
