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
