"""A detector's live confidence threshold and class filter: changed mid-run (no restart), counts and
running mAP follow them, saved in live.yaml, refused with a clear sentence when they cannot apply."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.cli import main
from edgekit.data.det_stream import DetectionDemoStream
from edgekit.errors import ConfigError
from edgekit.vision import LivePipeline
from edgekit.vision.config import LiveConfig, compile_live_session
from edgekit.vision.sources.generated import DetectionDemoSource

PASS = 12  # frames in one pass of the looped labelled detection stream


@pytest.fixture(scope="module")
def detector():
    from edgekit.models import load_model

    session = compile_live_session(load_model("demo:digits-det"), "onnxruntime")
    yield session
    session.close()


class _TwoPasses:
    """The labelled detection stream's first ``PASS`` frames, played twice, then the end."""

    def __init__(self) -> None:
        self.inner = DetectionDemoSource(length=PASS, loop=True)
        self.info, self.read_frames = self.inner.info, 0

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def read(self):
        if self.read_frames >= 2 * PASS:
            return None
        self.read_frames += 1
        return self.inner.read()


def _two_passes(session, change) -> tuple[dict, dict, dict]:
    """Play the same ``PASS`` frames twice; ``change(pipe)`` runs on the render thread after the first
    pass, so every frame of the second pass is drawn with the new settings. Returns the readouts of
    each pass by frame index and the pipeline's final mAP."""
    first, second, holder = {}, {}, {}

    def on_result(frame, readouts) -> None:
        (first if readouts.seq < PASS else second)[readouts.seq % PASS] = readouts
        if readouts.seq == PASS - 1:
            change(holder["pipe"])

    pipe = LivePipeline(_TwoPasses(), session, on_result=on_result, draw=False)
    holder["pipe"] = pipe
    with pipe:
        assert pipe.wait(60), "the pipeline did not play two passes"
    assert len(first) == len(second) == PASS
    return first, second, pipe.summary()["detection_metrics"]


def test_raising_the_confidence_mid_run_draws_fewer_boxes(detector):
    first, second, _ = _two_passes(detector, lambda pipe: pipe.set_detection_view(conf=0.9))
    before = sum(len(r.detections) for r in first.values())
    after = sum(len(r.detections) for r in second.values())
    assert all(len(second[i].detections) <= len(first[i].detections) for i in range(PASS))
    assert after < before, (before, after)
    assert all(d.score >= 0.9 for r in second.values() for d in r.detections)
    assert second[PASS - 1].det_map.conf == 0.9  # the running mAP says which threshold it scores


def test_a_class_filter_leaves_only_that_class_and_scores_map_over_it(detector):
    first, second, final = _two_passes(detector, lambda pipe: pipe.set_detection_view(classes=("5",)))
    assert any(d.label != "5" for r in first.values() for d in r.detections)
    shown = [d for r in second.values() for d in r.detections]
    assert shown and {d.label for d in shown} == {"5"}
    last = second[PASS - 1]
    assert last.det_map.classes == ("5",) and last.det_map.frames <= PASS  # started again at the change
    stream = DetectionDemoStream(seed=0, length=PASS)
    fives = sum(int(np.sum(stream.frame(i)[2] == 5)) for i in range(PASS))
    assert final["classes"] == ["5"] and final["frames"] == PASS
    assert final["boxes"] == fives  # ground truth of hidden classes is not counted as missed


def test_a_classifier_refuses_conf_and_classes(digits_session):
    from edgekit.vision.sources import open_source

    pipe = LivePipeline(open_source("demo"), digits_session)
    pipe.set_detection_view()  # nothing asked: nothing to refuse
    with pytest.raises(ConfigError, match="apply to detection models"):
        pipe.set_detection_view(conf=0.5)


def test_an_unknown_class_names_it_and_some_valid_ones(detector):
    from edgekit.vision.predictors import adapt

    with pytest.raises(ConfigError, match=r"no class 'cat'.*0, 1, 2"):
        adapt(detector).show(classes=("3", "cat"))


def test_conf_and_classes_round_trip_through_live_yaml(tmp_path):
    config = LiveConfig(model="demo:digits-det", conf=0.55, classes=["3", "7"])
    assert config.classes == ("3", "7")
    path = config.save(tmp_path / "live.yaml")
    assert "classes:\n  - '3'\n  - '7'" in path.read_text()
    assert LiveConfig.load(path) == config
    with pytest.raises(ConfigError, match="conf must lie between 0 and 1"):
        LiveConfig(conf=1.5)


def test_cli_demo_filters_and_refuses_an_unknown_class(tmp_path, capsys):
    stats, saved = tmp_path / "s.json", tmp_path / "live.yaml"
    code = main(["demo", "demo:digits-det", "--conf", "0.6", "--classes", "5,9", "--seconds", "1.5",
                 "--json", str(stats), "--save-config", str(saved)])
    assert code == 0
    data = json.loads(stats.read_text())
    assert {d["label"] for d in data["readouts"]["detections"]} <= {"5", "9"}
    assert data["detection_metrics"]["classes"] == ["5", "9"] and data["detection_metrics"]["conf"] == 0.6
    assert LiveConfig.load(saved).classes == ("5", "9")
    stats.unlink()
    assert main(["run", str(saved)]) == 0  # replayed with the same filter
    assert json.loads(stats.read_text())["detection_metrics"]["classes"] == ["5", "9"]
    capsys.readouterr()
    assert main(["demo", "demo:digits-det", "--classes", "5,cat", "--seconds", "1"]) != 0
    err = capsys.readouterr().err
    assert "'cat'" in err and "0, 1, 2" in err
    assert main(["demo", "demo:digits", "--conf", "0.5", "--seconds", "1"]) != 0
    assert "apply to detection models" in capsys.readouterr().err


def test_a_filter_with_no_ground_truth_in_view_keeps_running(detector):
    """Frames without a box of the shown classes (or no class shown at all) score 0, never crash."""
    _, second, final = _two_passes(detector, lambda pipe: pipe.set_detection_view(classes=()))
    assert all(r.detections == () for r in second.values())
    assert final["boxes"] == 0 and final["map50"] == 0.0 and final["frames"] == PASS
