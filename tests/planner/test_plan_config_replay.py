"""``edgekit plan ... --save-config p.yaml`` keeps the card flags the user gave (--mean/--std/--labels...) and
``edgekit run p.yaml`` applies them again, from any folder: relative paths mean the YAML's folder."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from edgekit.cli import main
from edgekit.errors import ConfigError
from edgekit.planner import PlanConfig

from .conftest import LABELS


def test_plan_saves_the_card_flags_and_run_replays_them_from_another_folder(world, tmp_path, monkeypatch, capsys):
    model, images = world
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(model.path, work / "bare.onnx")  # no card beside it: only the flags say how to preprocess
    shutil.copytree(images, work / "images")
    (work / "names.txt").write_text("\n".join(LABELS) + "\n")
    monkeypatch.chdir(work)
    flags = ["--mean", "0.5", "--std", "0.25", "--size", "32", "--resize", "stretch", "--labels", "names.txt"]
    args = ["plan", "bare.onnx", "--data", "images", "--methods", "fp32", "--seconds", "0.2",
            "--max-accuracy-drop", "0.5", "--json", "--no-cache"]
    assert main([*args, *flags, "--save-config", "p.yaml"]) == 0
    first = json.loads(capsys.readouterr().out)
    saved = yaml.safe_load((work / "p.yaml").read_text())["plan"]
    assert saved["card_flags"] == {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "size": 32,
                                   "resize": "stretch", "labels": "names.txt"}
    assert (saved["model"], saved["data"]) == ("bare.onnx", "images")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", str(work / "p.yaml"), "--json", "--no-cache"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["config"]["card_flags"]["labels"] == str(work / "names.txt")
    assert again["config"]["model"] == str(work / "bare.onnx") and again["config"]["data"] == str(work / "images")
    fp32 = [c for c in first["candidates"] if c["key"] == "onnxruntime/cpu/fp32"]
    fp32_again = [c for c in again["candidates"] if c["key"] == "onnxruntime/cpu/fp32"]
    assert fp32_again[0]["accuracy"] == fp32[0]["accuracy"]  # the same preprocessing, the same images


def test_plan_yaml_card_flags_are_checked_and_old_files_load(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.yaml").write_text("plan:\n  model: demo:digits-mnv2\n")
    assert PlanConfig.load(tmp_path / "old.yaml").card_flags is None
    (tmp_path / "bad.yaml").write_text("plan:\n  model: demo:digits-mnv2\n  card_flags: {std: [1, 2]}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*std"):
        PlanConfig.load(tmp_path / "bad.yaml")
    config = PlanConfig(model="demo:digits-mnv2", target="local", out="report", card_flags={"size": 32})
    path = config.save(tmp_path / "p.yaml")
    loaded = PlanConfig.load(path)
    assert (loaded.model, loaded.target, loaded.card_flags) == ("demo:digits-mnv2", "local", {"size": 32})
    assert loaded.out == str(tmp_path / "report")  # an output folder: beside the YAML


def test_the_library_replays_a_saved_plans_card_flags_as_the_cli_does(world, tmp_path):
    """``edgekit.planner.run_plan(PlanConfig.load("p.yaml"))`` loaded the model without the card flags the
    file keeps: a bare ONNX saved with --mean/--std/--labels was refused ("nothing says how to turn an image
    into its input"), while ``edgekit run p.yaml`` ran it."""
    from edgekit.planner import run_plan

    model, images = world
    shutil.copy(model.path, tmp_path / "bare.onnx")
    (tmp_path / "names.txt").write_text("\n".join(LABELS) + "\n")
    config = PlanConfig(model="bare.onnx", data=str(images), methods=("fp32",), seconds=0.2, max_accuracy_drop=0.5,
                        cache=False, card_flags={"mean": 0.5, "std": 0.25, "size": 32, "resize": "stretch",
                                                 "labels": "names.txt"})
    loaded = PlanConfig.load(config.save(tmp_path / "p.yaml"))
    report = run_plan(loaded)
    fp32 = next(c for c in report.candidates if c.key == "onnxruntime/cpu/fp32")
    assert fp32.accuracy is not None and fp32.accuracy > 0  # fed as the flags say, scored with their labels


def test_preprocessing_set_in_the_app_is_saved_as_card_flags_that_give_it_back(world, tmp_path):
    """The app's Optimize page saves a plan.yaml with the preprocessing the user set on the Model page as
    card flags (``flags_for``); they give a fresh load the same preprocessing, and a model whose file
    already says it gets none."""
    import dataclasses

    from edgekit.models import load_model
    from edgekit.models.card_options import flags_for, load_with_flags

    model, _ = world
    shutil.copy(model.path, tmp_path / "bare.onnx")
    bare = load_model(tmp_path / "bare.onnx")
    assert bare.preprocess is None
    edited = load_with_flags(tmp_path / "bare.onnx", {"mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3], "size": 32,
                                                      "bgr": True, "resize": "stretch"})
    flags = flags_for(edited)
    assert flags is not None and load_with_flags(tmp_path / "bare.onnx", flags).preprocess == edited.preprocess
    assert flags_for(load_model(model.path)) is None  # its card says it: nothing to replay
    other = dataclasses.replace(edited.preprocess, crop_ratio=0.5, resize="center_crop")
    assert flags_for(edited.replace(preprocess=other)) is None  # flags cannot say that crop: not saved wrong
