"""--mean/--std/--scale values that make every input garbage are refused in one line naming the flag; a
0..255 mean with pixels scaled to 0..1 is warned about; Preprocess and card files refuse them too."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit import errors
from edgekit.cli import main
from edgekit.errors import EdgekitError, ModelLoadError, PreprocessError
from edgekit.models import Preprocess, load_model
from edgekit.models.card_options import CardOptions, apply_card_options

FLAGS = ["--size", "32", "--resize", "stretch"]


@pytest.fixture
def photos(class_photos):
    return class_photos


def one_error_line(err: str, *words: str) -> None:
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error:"), err
    assert "internal error" not in err and "Usage" not in err and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize(("flag", "value", "words"), [
    ("--std", "0", ["--std must be > 0", "got 0"]),
    ("--std", "0.2,0,0.2", ["--std must be > 0 for every channel", "0.2,0,0.2"]),
    ("--std", "-1", ["--std must be > 0"]),
    ("--std", "1e-30", ["--std 1e-30 is too small"]),
    ("--std", "inf", ["--std must be > 0"]),
    ("--scale", "0", ["--scale must be > 0", "1/255"]),
    ("--scale", "nan", ["--scale must be > 0"]),
    ("--mean", "nan,0,0", ["--mean must be finite", "nan,0,0"]),
    ("--mean", "inf", ["--mean must be finite"]),
    ("--mean", "a,b,c", ["--mean 'a,b,c' is not a list of numbers", "0.485,0.456,0.406"]),
    ("--mean", "0.485,0.456", ["--mean '0.485,0.456': give 1 or 3 numbers", "not 2"]),
    ("--std", "[0.2,0.2", ["--std '[0.2,0.2' is not a list of numbers"]),
    ("--mean", "", ["--mean '': give 1 or 3 numbers", "not 0"]),
])
def test_bad_values_are_one_line_naming_the_flag(tiny_onnx, photos, capsys, flag, value, words):
    assert main(["eval", str(tiny_onnx), "--data", str(photos), *FLAGS, flag, value]) == 2
    one_error_line(capsys.readouterr().err, *words)


def test_demo_refuses_a_zero_std_in_one_line(tiny_onnx, capsys):
    assert main(["demo", str(tiny_onnx), "--source", "synthetic", "--seconds", "1", *FLAGS, "--std", "0"]) == 2
    one_error_line(capsys.readouterr().err, "--std must be > 0")


def test_card_save_writes_no_card_with_a_zero_std_or_scale(tiny_onnx_copy, capsys):
    assert main(["card", str(tiny_onnx_copy), *FLAGS, "--std", "0", "--scale", "0", "--save"]) == 2
    one_error_line(capsys.readouterr().err, "--std")
    assert not tiny_onnx_copy.with_suffix(".json").exists()
    assert main(["card", str(tiny_onnx_copy), *FLAGS, "--scale", "0", "--save"]) == 2
    one_error_line(capsys.readouterr().err, "--scale")
    assert not tiny_onnx_copy.with_suffix(".json").exists()


def test_python_lists_are_accepted(tiny_onnx, capsys):
    assert main(["card", str(tiny_onnx), *FLAGS, "--mean", "[0.485, 0.456, 0.406]", "--std", "(0.229, 0.224, 0.225)",
                 "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["preprocess"]["mean"] == [0.485, 0.456, 0.406] and card["preprocess"]["std"] == [0.229, 0.224, 0.225]


@pytest.mark.parametrize("fields", [
    {"std": (0.2, 0.0, 0.2)}, {"std": (-1.0,) * 3}, {"std": (1e-30,) * 3}, {"std": (float("inf"),) * 3},
    {"mean": (float("nan"), 0.0, 0.0)}, {"mean": (float("inf"),) * 3},
    {"scale": 0.0}, {"scale": -1 / 255}, {"scale": float("nan")}, {"scale": float("inf")},
])
def test_preprocess_refuses_values_that_make_every_input_garbage(fields):
    with pytest.raises(PreprocessError, match=f"{next(iter(fields))} ") as info:
        Preprocess(**fields)
    # an edgekit error, and a ValueError as Preprocess raised before (the GUI's editor catches that)
    assert isinstance(info.value, EdgekitError) and isinstance(info.value, ValueError)
    assert "PreprocessError" in errors.__doc__


def test_preprocess_takes_numpy_numbers():
    pre = Preprocess(mean=tuple(np.float32([0.5, 0.5, 0.5])), std=tuple(np.float32([0.25] * 3)), scale=np.float32(1 / 255))
    assert pre(np.zeros((40, 40, 3), np.uint8)).shape == (1, 3, 224, 224)


def test_sdk_card_options_refuse_a_zero_std(tiny_onnx):
    with pytest.raises(ModelLoadError, match="std must be > 0"):
        apply_card_options(load_model(tiny_onnx), CardOptions(std=(0.0,) * 3, size=32))


def card(path, std) -> None:
    path.write_text(json.dumps({"preprocess": {"size": [32, 32], "mean": [0.5] * 3, "std": std}}))


def test_a_card_beside_the_model_with_a_tiny_std_is_refused_naming_it(tiny_onnx_copy, photos, capsys):
    card(tiny_onnx_copy.with_suffix(".json"), [1e-30] * 3)
    with pytest.raises(ModelLoadError, match="model card .*model.json has an invalid preprocess: std .* too small"):
        load_model(tiny_onnx_copy)
    assert main(["eval", str(tiny_onnx_copy), "--data", str(photos)]) == 2
    one_error_line(capsys.readouterr().err, str(tiny_onnx_copy.with_suffix(".json")), "too small")


def test_a_card_file_with_a_tiny_std_is_refused_naming_it(tiny_onnx, photos, tmp_path, capsys):
    card(tmp_path / "mine.json", [0.2, 1e-9, 0.2])
    assert main(["eval", str(tiny_onnx), "--data", str(photos), "--card", str(tmp_path / "mine.json")]) == 2
    one_error_line(capsys.readouterr().err, f"model card {tmp_path / 'mine.json'}", "too small")


@pytest.mark.parametrize(("flags", "words"), [
    (["--mean", "123.7,116.3,103.5"], ["--mean 123.7,116.3,103.5 looks like 0..255", "1/255", "0..1",
                                       "--mean 0.4851,0.4561,0.4059", "--scale 1"]),
    (["--mean", "0.485,0.456,0.406", "--std", "58.4,57.1,57.4"], ["--std 58.4,57.1,57.4 looks like 0..255",
                                                                  "--std 0.229,", "--scale 1"]),
])
@pytest.mark.filterwarnings("always::edgekit.errors.EdgekitWarning")  # once by edgekit, not by Python's registry
def test_a_0_255_mean_or_std_with_pixels_scaled_to_0_1_is_warned_once(tiny_onnx, photos, capsys, flags, words):
    assert main(["eval", str(tiny_onnx), "--data", str(photos), *FLAGS, *flags, "--json"]) == 0  # warned, not refused
    err = capsys.readouterr().err
    assert err.count("like 0..255 pixel values") == 1, err  # eval applies the flags twice
    line = next(line for line in err.splitlines() if "like 0..255" in line)
    assert line.startswith("warning:"), line
    for word in words:
        assert word in line, (word, line)


@pytest.mark.parametrize("flags", [
    ["--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"],
    ["--mean", "123.7,116.3,103.5", "--std", "58.4,57.1,57.4", "--scale", "1"],
    ["--mean", "1", "--std", "1"],
])
def test_consistent_values_are_not_warned_about(tiny_onnx, capsys, flags):
    assert main(["card", str(tiny_onnx), *FLAGS, *flags]) == 0
    assert "warning" not in capsys.readouterr().err
