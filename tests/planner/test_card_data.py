"""The planner takes its validation data from the model card when none is given."""

from __future__ import annotations

import json
import shutil

import pytest

from edgekit.errors import DataError
from edgekit.planner import plan

FAST = {"seconds": 0.3, "max_accuracy_drop": 0.5, "methods": ("fp32",), "cache": False}


def test_a_card_that_names_its_data_is_planned_without_data(world, tmp_path):
    model, images = world
    folder = tmp_path / "m"
    shutil.copytree(images, folder / "held-out")
    path = folder / "tiny.onnx"
    shutil.copyfile(model.path, path)
    card = {"preprocess": model.preprocess.to_dict(), "labels": list(model.labels),
            "validation": {"dataset": "held-out", "description": "our held-out photos"}}
    path.with_suffix(".json").write_text(json.dumps(card))

    report = plan(path, **FAST)

    said = " ".join(report.log)
    assert "our held-out photos" in said and "calibrate" in said  # the card's folder, split half/half
    assert report.best.accuracy is not None


def test_without_data_or_a_card_that_names_some_the_error_says_how(world):
    model, _ = world
    with pytest.raises(DataError, match=r"no validation data for .*--data DIR.*model card's \"validation\""):
        plan(model.path, **FAST)
