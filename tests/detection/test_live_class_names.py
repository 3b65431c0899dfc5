"""A labelled stream scored against a model of other classes: matched by name, or not scored.

The digit stream's class 0 is the digit "0"; a COCO detector's class 0 is "person". Matched by
index, person boxes were scored against digits (a meaningless "mAP50 0%" in the app and the CLI).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgekit.backends import compile_session
from edgekit.detection.types import Detections
from edgekit.models import load_model
from edgekit.vision import LivePipeline
from edgekit.vision._detmap import RunningMap
from edgekit.vision.sources.files import BoxFolderSource

from .conftest import scene


def _found(boxes, ids, names):
    return tuple(Detections(np.asarray(boxes, np.float32), np.full(len(ids), 0.9, np.float32),
                            np.asarray(ids, np.int64)).to_list(names))


def test_source_classes_are_matched_to_the_model_by_name():
    model = ("person", "cat", "dog")
    meter = RunningMap(model, truth_names=("dog", "person", "okapi"))  # the source's own numbering
    truth = (np.asarray([[0, 0, 20, 20], [30, 30, 60, 60], [70, 0, 90, 20]], np.float32), np.asarray([0, 1, 2]))
    mapped = meter.to_model(truth)
    assert mapped[1].tolist() == [2, 0] and meter.unknown == 1  # dog -> 2, person -> 0, okapi left out
    meter.add(mapped, _found(mapped[0], mapped[1], model))
    final = meter.final()
    assert final["map50"] == pytest.approx(1.0) and final["boxes"] == 2
    assert final["unknown"] == 1 and final["unknown_classes"] == ["okapi"]


def test_a_source_of_none_of_the_models_classes_is_not_scored():
    meter = RunningMap(("person", "bicycle"), truth_names=tuple("0123456789"))
    truth = (np.asarray([[0, 0, 20, 20], [30, 30, 60, 60]], np.float32), np.asarray([3, 7]))
    for _ in range(4):
        meter.add(meter.to_model(truth), _found([[0, 0, 20, 20]], [0], ("person", "bicycle")))
    readout = meter.readout(fresh=True)
    assert not readout.scored and readout.frames == 0 and readout.unknown == 8
    assert readout.unknown_classes == ("3", "7") and readout.short() == "mAP n/a"
    assert meter.final()["boxes"] == 0 and meter.final()["unknown"] == 8


def test_the_same_classes_in_the_same_order_keep_their_ids():
    meter = RunningMap(tuple("0123456789"), truth_names=tuple("0123456789"))
    truth = (np.asarray([[0, 0, 20, 20]], np.float32), np.asarray([4]))
    assert meter.to_model(truth) is truth and meter.comparable


def _folder(root, names):
    """A YOLO folder of the two-square scene (red, green), numbered as ``names`` (its ``classes.txt``)."""
    image, boxes = scene()
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    h, w = image.shape[:2]
    for i in range(3):
        cv2.imwrite(str(root / "images" / f"{i}.png"), image)
        lines = [f"{names.index(colour) if colour in names else k} {(b[0] + b[2]) / 2 / w} {(b[1] + b[3]) / 2 / h} {(b[2] - b[0]) / w} {(b[3] - b[1]) / h}"
                 for (k, b), colour in zip(boxes.items(), ("red", "green"))]
        (root / "labels" / f"{i}.txt").write_text("\n".join(lines) + "\n")
    (root / "classes.txt").write_text("\n".join(names) + "\n")
    return root


def _run(session, folder, labels):
    with LivePipeline(BoxFolderSource(folder), session, labels=labels) as pipe:
        assert pipe.wait(60), "the pipeline did not finish"
    return pipe


def test_the_live_map_matches_a_labelled_folder_by_class_name(tiny_heads, tmp_path):
    session = compile_session(load_model(tiny_heads["ultralytics"]), "onnxruntime")
    try:
        same = _run(session, _folder(tmp_path / "same", ["red", "green"]), ["red", "green"])
        assert same.summary()["detection_metrics"]["map50"] == pytest.approx(1.0)
        # the folder numbers its classes the other way round: matched by name, still every box found
        swapped = _run(session, _folder(tmp_path / "swapped", ["green", "red"]), ["red", "green"])
        # the truth of "green" (the folder's 0) is the model's 1: matched by index, it scored 0 here
        final = swapped.summary()["detection_metrics"]
        assert final["map50"] == pytest.approx(1.0) and final["unknown"] == 0
        other = _run(session, _folder(tmp_path / "other", ["7", "3"]), ["red", "green"])
        final, readouts = other.summary()["detection_metrics"], other.readouts
        assert final["boxes"] == 0 and final["unknown"] == 6 and not readouts.det_map.scored
        assert "mAP n/a" in readouts.line()
    finally:
        session.close()
