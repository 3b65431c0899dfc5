"""Some preprocessing flags but no --mean/--std: the values filled in are said in one note.

Why: the real-data ShuffleNet evaluated with only ``--resize shorter-crop`` scored 22.4 % top-1
(75.6 % with ImageNet's mean and std), and nothing said that mean 0 / std 1 had been assumed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit.cli import main

NOTE = "given, so it runs on"


@pytest.fixture
def photos(class_photos):
    return class_photos


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if NOTE in line]


def test_resize_alone_names_every_value_assumed_and_the_imagenet_flags(tiny_onnx, photos, capsys):
    assert main(["eval", str(tiny_onnx), "--data", str(photos), "--resize", "shorter-crop"]) == 0
    [line] = notes(capsys.readouterr().err)  # once, though eval applies the flags twice
    assert "no --mean, --std, --scale or --bgr/--rgb given" in line
    assert "mean 0,0,0, std 1,1,1, pixels x 1/255, RGB." in line
    assert "--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225" in line and "--assume-defaults" in line
    assert "--resize given" not in line  # the user gave it


def test_size_alone_also_names_the_stretch_resize(tiny_onnx, photos, capsys):
    assert main(["eval", str(tiny_onnx), "--data", str(photos), "--size", "32", "--bgr"]) == 0
    [line] = notes(capsys.readouterr().err)
    assert "no --mean, --std, --scale or --resize given" in line and "stretch resize" in line
    assert "--bgr/--rgb" not in line and "RGB" not in line


@pytest.mark.parametrize("flags", [
    ["--resize", "stretch", "--mean", "0.5", "--std", "0.25"],
    ["--assume-defaults"],
    [],  # tinycnn has no card: eval refuses it, naming the flags, and says nothing assumed
])
@pytest.mark.filterwarnings("ignore::edgekit.errors.EdgekitWarning")  # --assume-defaults warns, as it should
def test_no_note_when_mean_and_std_are_stated_or_defaults_asked_for(tiny_onnx, photos, capsys, flags):
    main(["eval", str(tiny_onnx), "--data", str(photos), *flags])
    assert notes(capsys.readouterr().err) == []


def test_no_note_when_a_card_states_them(tiny_onnx_copy, photos, capsys):
    tiny_onnx_copy.with_suffix(".json").write_text(json.dumps(
        {"preprocess": {"size": [32, 32], "mean": [0.5] * 3, "std": [0.25] * 3}}))
    assert main(["eval", str(tiny_onnx_copy), "--data", str(photos), "--resize", "shorter-crop"]) == 0
    assert notes(capsys.readouterr().err) == []


REAL = Path(__file__).resolve().parents[3] / "shared" / "realdata"


@pytest.mark.skipif(not (REAL / "models" / "shufflenet-v2-12-qdq.onnx").is_file(),
                    reason="needs ../shared/realdata (the real INT8 ShuffleNet and its photos), absent here")
def test_what_the_note_warns_of_costs_a_real_model_its_accuracy(capsys):
    """The real ImageNet ShuffleNet on 100 of the real photos: far worse on the assumed numbers."""
    model, data = REAL / "models" / "shufflenet-v2-12-qdq.onnx", REAL / "labels" / "imagenet500.csv"
    flags = ["--data", str(data), "--limit", "100", "--resize", "shorter-crop", "--json"]
    assert main(["eval", str(model), *flags]) == 0
    out, err = capsys.readouterr()
    assumed = json.loads(out)["metrics"]["accuracy"]
    assert len(notes(err)) == 1
    assert main(["eval", str(model), *flags, "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"]) == 0
    out, err = capsys.readouterr()
    imagenet = json.loads(out)["metrics"]["accuracy"]
    assert notes(err) == [] and imagenet > 0.6 and assumed < imagenet - 0.3, (assumed, imagenet)
