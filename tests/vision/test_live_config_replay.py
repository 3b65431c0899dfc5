"""``edgekit demo ... --save-config live.yaml`` then ``edgekit run live.yaml``: the card flags the user gave
(--mean/--std/--size/--resize/--labels...) are saved and applied again, a replay whose model nothing says how to
preprocess is refused as ``edgekit demo`` refuses it, and relative paths mean the YAML's folder, whichever folder
``edgekit run`` starts in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from edgekit.cli import main
from edgekit.errors import ConfigError
from edgekit.vision.config import LiveConfig

NAMES = [f"thing-{i}" for i in range(10)]
FLAGS = ["--mean", "0.5", "--std", "0.25,0.5,0.75", "--scale", "0.00392", "--size", "32", "--resize", "stretch",
         "--bgr", "--labels", "names.txt"]


@pytest.fixture
def work(tiny_path, tmp_path, monkeypatch) -> Path:
    """A folder holding a bare ONNX model (no card beside it), a labels file and a few frames; the cwd."""
    folder = tmp_path / "work"
    (folder / "frames").mkdir(parents=True)
    shutil.copy(tiny_path, folder / "bare.onnx")
    (folder / "names.txt").write_text("\n".join(NAMES) + "\n")
    rng = np.random.default_rng(0)
    for i in range(8):
        cv2.imwrite(str(folder / "frames" / f"{i}.png"), (rng.random((48, 64, 3)) * 255).astype(np.uint8))
    monkeypatch.chdir(folder)
    return folder


def _demo(*extra: str) -> list[str]:
    return ["demo", "bare.onnx", "--source", "frames", "--seconds", "30", "--backend", "onnxruntime",
            "--json", "stats.json", *extra]


def test_demo_saves_the_card_flags_and_run_replays_them_from_another_folder(work, tmp_path, monkeypatch):
    assert main(_demo(*FLAGS, "--save-config", "live.yaml")) == 0
    first = json.loads((work / "stats.json").read_text())
    assert first["seen"]["frames"] == 8 and {label for label, _ in first["seen"]["labels"]} <= set(NAMES)
    saved = yaml.safe_load((work / "live.yaml").read_text())["live"]
    assert saved["card_flags"] == {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.5, 0.75], "scale": 0.00392, "bgr": True,
                                   "size": 32, "resize": "stretch", "labels": "names.txt"}
    assert (saved["model"], saved["source"], saved["json_out"]) == ("bare.onnx", "frames", "stats.json")

    (work / "stats.json").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", str(work / "live.yaml")]) == 0  # the model, frames, labels and stats.json: beside the YAML
    again = json.loads((work / "stats.json").read_text())
    assert again["seen"] == first["seen"]  # every frame, the same top-1 under the same names
    (label, score), (label_again, score_again) = first["readouts"]["topk"][0], again["readouts"]["topk"][0]
    assert label_again == label and score_again == pytest.approx(score, rel=1e-4)  # the same preprocessing
    assert not list(elsewhere.iterdir())


def test_run_refuses_a_model_nothing_says_how_to_preprocess_as_demo_does(work, capsys):
    assert main(_demo()) == 2
    refused = capsys.readouterr().err
    assert "nothing says how to turn an image into its input" in refused
    (work / "live.yaml").write_text("live:\n  model: bare.onnx\n  source: frames\n  seconds: 5\n")
    assert main(["run", "live.yaml"]) == 2
    assert "nothing says how to turn an image into its input" in capsys.readouterr().err
    assert not (work / "stats.json").exists()


def test_paths_are_saved_relative_to_the_yaml_and_names_stay_names(work, tmp_path):
    config = LiveConfig(model="bare.onnx", source="frames", record="out.mp4",
                        card_flags={"labels": "names.txt", "size": 32, "mean": 0.5, "std": [0.2]})
    assert config.card_flags["mean"] == [0.5, 0.5, 0.5] and config.card_flags["std"] == [0.2, 0.2, 0.2]
    beside = LiveConfig.load(config.save(work / "beside.yaml"))
    assert (beside.model, beside.source, beside.record) == tuple(str(work / n) for n in ("bare.onnx", "frames",
                                                                                         "out.mp4"))
    assert beside.card_flags["labels"] == str(work / "names.txt")
    away = tmp_path / "away" / "live.yaml"
    away.parent.mkdir()
    config.save(away)
    written = yaml.safe_load(away.read_text())["live"]
    assert written["model"] == str(work / "bare.onnx") and written["card_flags"]["labels"] == str(work / "names.txt")
    assert written["record"] == str(work / "out.mp4")
    for i, (model, source) in enumerate((("demo:digits", "demo"), ("demo:digits", "0"), ("hub:mobilenetv2", "rtsp://cam/1"),
                                         ("no-such-file.onnx", "synthetic"))):
        named = LiveConfig(model=model, source=source)
        assert LiveConfig.load(named.save(tmp_path / "away" / f"{i}.yaml")) == named


def test_old_configs_load_and_bad_card_flags_are_refused(tmp_path):
    (tmp_path / "old.yaml").write_text("live:\n  model: demo:digits\n  source: demo\n  seconds: 2\n")
    assert LiveConfig.load(tmp_path / "old.yaml").card_flags is None
    for bad, word in (("{colour: red}", "colour"), ("{size: big}", "size"), ("{mean: [1, 2]}", "mean"),
                      ("{resize: sideways}", "resize"), ("[1, 2]", "card_flags"), ("{bgr: 3}", "bgr"),
                      ("{std: [0.2, 0, 0.2]}", r"card_flags\.std must be > 0"),  # saved fine, refused only at replay
                      ("{scale: 10000000}", r"card_flags\.scale must be > 0 and at most")):
        (tmp_path / "bad.yaml").write_text(f"live:\n  model: demo:digits\n  card_flags: {bad}\n")
        with pytest.raises(ConfigError, match=word):
            LiveConfig.load(tmp_path / "bad.yaml")
