"""``LiveConfig``: the one request of a live run -- built by ``edgekit demo`` and the app, saved as YAML, replayed."""

from __future__ import annotations

import json

import pytest

from edgekit.cli import main
from edgekit.errors import ConfigError, OutputExists
from edgekit.vision.config import LiveConfig


def test_yaml_round_trip_and_refusals(tmp_path):
    config = LiveConfig(model="m.onnx", source="clip.mp4", backend="openvino", compare="ref.onnx", fps=25.0,
                        seconds=None, loop=True)
    path = config.save(tmp_path / "live.yaml")
    assert LiveConfig.load(path) == config
    with pytest.raises(OutputExists):
        config.save(path)
    (tmp_path / "bad.yaml").write_text("live:\n  model: m.onnx\n  colour: red\n")
    with pytest.raises(ConfigError, match="colour"):
        LiveConfig.load(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="reference_every"):
        LiveConfig(reference_every=0)


def test_a_plan_candidate_keeps_its_backend_device_and_precision():
    from edgekit.planner import Candidate

    cand = Candidate("openvino/cpu/int8", "openvino", "cpu", "int8", "int8", {"path": "/m/int8.xml"})
    config = LiveConfig.choose(cand, "auto", "demo:digits", "onnxruntime", source="demo")
    assert (config.model, config.backend, config.device, config.precision) == ("/m/int8.xml", "openvino", "cpu", "int8")
    assert config.model_obj is cand and config.compare == "demo:digits" and config.compare_backend == "onnxruntime"
    assert config.describe() == "openvino/cpu/int8 on openvino"
    assert "model_obj" not in config.to_dict()


def test_demo_saves_its_settings_and_run_replays_them(tmp_path, tiny_path):
    saved, stats = tmp_path / "live.yaml", tmp_path / "stats.json"
    args = ["demo", "--model", tiny_path, "--seconds", "1", "--json", str(stats), "--save-config", str(saved)]
    assert main(args) == 0
    first = json.loads(stats.read_text())
    assert LiveConfig.load(saved).to_dict() == first["settings"]
    stats.unlink()
    assert main(["run", str(saved)]) == 0
    again = json.loads(stats.read_text())
    assert again["settings"] == first["settings"] and again["readouts"]["frames_inferred"] > 0


def test_run_of_a_live_config_with_json_prints_the_stats_not_the_table(tmp_path, tiny_path, capsys):
    """``edgekit run live.yaml --json`` gave the summary table, as if --json had not been passed."""
    saved = tmp_path / "live.yaml"
    LiveConfig(model=tiny_path, source="synthetic", seconds=1.0).save(saved)
    assert main(["run", str(saved), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["readouts"]["frames_inferred"] > 0 and stats["settings"]["source"] == "synthetic"


@pytest.mark.parametrize("line, words", [
    ("seconds: five", "field seconds must be a number (got 'five')"),  # was an internal TypeError
    ("loop: yes please", "field loop must be a boolean"),  # was text, so true: the video looped
    ("reference_every: 0.5", "field reference_every must be an integer"),
    ("fps: -3", "field fps must be greater than 0"),
    ("conf: 1.5", "field conf must be less than or equal to 1"),
])
def test_a_hand_edited_live_config_of_the_wrong_type_is_refused_naming_the_file_and_field(tmp_path, capsys, line,
                                                                                          words):
    path = tmp_path / "live.yaml"
    path.write_text(f"live:\n  model: demo:digits\n  source: synthetic\n  {line}\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and str(path) in err and "edgekit demo --help" in err and "internal error" not in err


@pytest.mark.parametrize("line, words", [
    ("backend: tensorrt", "backend: unknown backend 'tensorrt'"),
    ("compare_backend: onxruntime", "did you mean 'onnxruntime'"),
    ("precision: fp33", "precision: unknown precision 'fp33'; choose one of: fp32, fp16"),
])
def test_a_typo_in_a_live_configs_backend_or_precision_is_named_once_with_its_file(tmp_path, capsys, line, words):
    """It was found only when the model loaded: ``precision: fp33`` under ``backend: auto`` came back as
    "no backend can run this model here", the same unknown precision once per backend, no file named."""
    path = tmp_path / "live.yaml"
    path.write_text(f"live:\n  model: demo:digits\n  source: synthetic\n  compare: demo:digits\n  {line}\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and str(path) in err and "no backend can run" not in err and err.count("unknown") == 1
    assert LiveConfig(model="demo:digits", backend="ov", precision="FP16").backend == "ov"  # aliases, any case


def test_a_live_config_may_name_a_camera_by_number_and_classes_as_one_line(tmp_path):
    path = tmp_path / "live.yaml"
    path.write_text("live:\n  model: demo:digits\n  source: 0\n  classes: 5, 9\n  seconds: 2\n")
    config = LiveConfig.load(path)
    assert (config.source, config.classes, config.seconds) == ("0", ("5", "9"), 2.0)

