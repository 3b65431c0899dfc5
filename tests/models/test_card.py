"""The model card's ``task`` and ``validation``: read by load_model, carried by convert, obeyed downstream."""

from __future__ import annotations

import json

import pytest

from edgekit.errors import ModelLoadError, TaskNotSupported
from edgekit.models import Model, ValidationData, convert, load_model, require_task
from edgekit.types import Task


def _card(path, **fields) -> None:
    card = {"preprocess": {"size": [32, 32]}, "labels": [str(i) for i in range(10)], **fields}
    path.with_suffix(".json").write_text(json.dumps(card))


def test_a_card_without_task_or_validation_is_a_classifier_with_no_default_data(tiny_onnx_copy):
    _card(tiny_onnx_copy)
    model = load_model(tiny_onnx_copy)
    assert model.task is Task.CLASSIFICATION and model.validation is None


def test_the_card_names_its_validation_data_relative_to_itself(tiny_onnx_copy):
    (tiny_onnx_copy.parent / "val").mkdir()
    _card(tiny_onnx_copy, task="classification",
          validation={"dataset": "val", "calibration": "demo-train", "description": "our held-out set"})
    model = load_model(tiny_onnx_copy)
    assert model.validation == ValidationData(str(tiny_onnx_copy.parent / "val"), "demo-train", "our held-out set")
    assert "validation" not in model.metadata.get("card", {})  # a field of the model, not free-form metadata
    assert Model.from_dict(model.to_dict()) == model


def test_task_and_validation_survive_a_conversion(tiny_onnx_copy, tmp_path):
    pytest.importorskip("openvino")
    _card(tiny_onnx_copy, validation={"dataset": "demo-test"})
    ir, _ = convert(load_model(tiny_onnx_copy), to="openvino", out=tmp_path / "ir" / "m.xml")
    again = load_model(ir.path)  # a fresh load reads the card written beside the IR
    assert again.task is Task.CLASSIFICATION and again.validation.dataset == "demo-test"


def test_an_unknown_task_or_a_malformed_validation_names_the_card(tiny_onnx_copy):
    _card(tiny_onnx_copy, task="segmentation")
    with pytest.raises(ModelLoadError, match=r"model\.json.*segmentation.*classification, detection"):
        load_model(tiny_onnx_copy)
    _card(tiny_onnx_copy, validation="val/")
    with pytest.raises(ModelLoadError, match=r"model\.json: validation must be an object"):
        load_model(tiny_onnx_copy)


def test_the_task_argument_wins_over_the_card(tiny_onnx_copy):
    _card(tiny_onnx_copy, task="classification")
    assert load_model(tiny_onnx_copy, task="detection").task is Task.DETECTION


def test_a_part_that_only_classifies_says_so_for_a_detector():
    assert require_task(None, "edgekit deploy") is Task.CLASSIFICATION  # files from before the field existed
    with pytest.raises(TaskNotSupported, match="detection is not supported by edgekit deploy yet .*yolo's card"):
        require_task("detection", "edgekit deploy", name="yolo")


@pytest.mark.parametrize("name", ["demo:digits", "demo:digits-mnv2"])
def test_the_demo_models_name_their_held_out_digits(name):
    from edgekit.zoo.hub import resolve

    try:
        resolve(name)
    except ModelLoadError as exc:
        pytest.skip(f"{name} is not bundled here: {exc}")
    model = load_model(name)
    assert model.task is Task.CLASSIFICATION
    assert (model.validation.dataset, model.validation.calibration) == ("demo-test", "demo-train")
